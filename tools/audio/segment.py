"""``audio.segment.v1`` (planner module ``AudioSegmentation``): where in the audio an entity, trigger or
phrase is spoken, found in the word-timed transcript with tolerance for recognition errors."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import Field

from reamo import media
from reamo.errors import ToolRunError
from reamo.schemas import AudioSpan, Transcript
from reamo.tools.audio.asr import SpeechSettings
from reamo.tools.audio.match import MIN_SCORE, find
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


def transcript_of(target: str, ctx: ToolContext) -> Transcript:
    """The perceived transcript of ``target``, else one made now (cached per file and settings)."""
    perceived = ctx.perception.audio.get(target) or ctx.perception.videos.get(target)
    if perceived is not None and perceived.transcript is not None:
        return perceived.transcript
    item = ctx.media(target)
    settings = SpeechSettings.parse(ctx.settings)
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
    matches = find(
        args.instruction, transcript.words, min_score=min_score(ctx.settings), limit=args.max_spans
    )
    return [
        AudioSpan(media=args.target, start=m.start, end=m.end, score=min(1.0, m.score), text=m.text)
        for m in matches
    ]
