"""``audio.segment.v1`` (planner module ``AudioSegmentation``): where in the audio an entity, trigger or
phrase is spoken, found in the word-timed transcript with tolerance for recognition errors.

When the phrase is not in the transcript and the input has text as well, the audio is transcribed once
more with that text as Whisper's prompt (which fixes the spelling of names it misheard: "Wayne Ruining"
becomes "Wayne Rooney"). A phrase found only that way is kept when the plain transcript heard something
alike at the same time (similarity >= ``verify_score``), so that a prompt never plants words that were
not said. Settings: ``min_score``, ``verify_score``, ``prompt_with_text`` and the speech settings.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import Field

from reamo import media
from reamo.errors import ToolRunError
from reamo.schemas import AudioSpan, Transcript
from reamo.tools.audio.asr import SpeechSettings
from reamo.tools.audio.match import MIN_SCORE, find, normalise, similarity
from reamo.tools.audio.perceiver import transcribe
from reamo.tools.protocol import ToolArgs, ToolContext, tool


class AudioSegmentArgs(ToolArgs):
    """What to find in which audio (or video sound track)."""

    max_spans: int = Field(
        default=3, ge=1, le=20, description="most spans to return: a phrase may be said more than once"
    )


def min_score(settings: Mapping[str, Any]) -> float:
    """The acceptance threshold from the tool's settings (``min_score``, 0..1)."""
    value = settings.get("min_score", MIN_SCORE)
    if not isinstance(value, int | float) or not 0.0 < float(value) <= 1.0:
        raise ToolRunError(f"setting min_score must be a number in (0, 1], got {value!r}")
    return float(value)


VERIFY_SCORE = 0.5
"""How alike the plain transcript's words must be to a phrase found only with the text as prompt."""


def transcript_of(target: str, ctx: ToolContext, prompt: str | None = None) -> Transcript:
    """The perceived transcript of ``target``, else one made now (cached per file and settings); with a
    ``prompt``, always one made now with that prompt."""
    perceived = ctx.perception.transcript(target)
    if prompt is None and perceived is not None:
        return perceived
    item = ctx.media(target)
    settings = SpeechSettings.parse({**ctx.settings, "prompt": prompt})
    # cached per file version and settings; not inside Resources.get, whose lock is held by a factory
    cache: dict[str, Transcript | None] = ctx.resources.get("audio.transcripts", dict)
    key = f"{media.fingerprint(item)}:{settings.model_dump_json()}"
    if key not in cache:
        cache[key] = transcribe(item, ctx.resources, settings)
    found = cache[key]
    if found is None:
        raise ToolRunError(f"{target} has no sound track, so nothing in it is spoken")
    return found


@tool("audio.segment.v1", module="AudioSegmentation", modality="audio")
def segment_audio(args: AudioSegmentArgs, ctx: ToolContext) -> list[AudioSpan]:
    """Find the time spans where an entity, trigger or phrase is spoken, matched against the word-timed
    transcript with tolerance for misheard words; returns nothing when it is not said."""
    transcript = transcript_of(args.target, ctx)
    threshold = min_score(ctx.settings)
    matches = find(args.instruction, transcript.words, min_score=threshold, limit=args.max_spans)
    spans = [
        AudioSpan(media=args.target, start=m.start, end=m.end, score=min(1.0, m.score), text=m.text)
        for m in matches
    ]
    if spans or not ctx.inputs.text or not ctx.settings.get("prompt_with_text", True):
        return spans
    prompted = transcript_of(args.target, ctx, prompt=ctx.inputs.text)
    verify = float(ctx.settings.get("verify_score", VERIFY_SCORE))
    query = "".join(normalise(t) for t in args.instruction.split())
    for m in find(args.instruction, prompted.words, min_score=threshold, limit=args.max_spans):
        heard = [w for w in transcript.words if w.start < m.end + 0.1 and w.end > m.start - 0.1]
        agree = similarity(query, "".join(normalise(w.text) for w in heard))
        if agree >= verify:
            score = min(1.0, (m.score + agree) / 2)
            spans.append(AudioSpan(media=args.target, start=m.start, end=m.end, score=score, text=m.text))
    return spans
