"""Spoken suites, made by text-to-speech with word times (``reamo.evaluation.tts``, piper: an optional
GPL-3 extra, ``pip install 'reamo[tts]'``), as the paper made its spoken test sets:

- ``twitter2017_ta_ner`` (text + its speech) and ``twitter2017_a_ner`` (speech alone): gold audio spans
  from the first word's start to the last word's end of each entity;
- ``mnre_a_re``: MNRE tweets spoken, RE from the audio alone.

Importing this module registers the builders in ``BUILDERS`` when ``reamo.evaluation.tts`` exists;
building needs piper installed, and says so when it is not.
"""

from __future__ import annotations

import difflib
import importlib
import importlib.util
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from reamo.agent.spans import normalise
from reamo.errors import SuiteError
from reamo.evaluation.builders.common import BuildStats
from reamo.evaluation.builders.text import build_mnre, build_twitter2017
from reamo.evaluation.suite import Gold, SuiteInputs, SuiteInstance

SPOKEN_LIMIT = 100
"""Default size of a spoken suite: synthesis and speech recognition make each instance slower."""

Synthesize = Callable[[str, Path], Sequence[Any]]


def _synthesizer() -> Synthesize:
    try:
        tts = importlib.import_module("reamo.evaluation.tts")
    except ImportError as exc:
        raise SuiteError(
            f"The spoken suites need text-to-speech: pip install 'reamo[tts]' (piper, GPL-3). ({exc})"
        ) from exc
    return tts.synthesize  # type: ignore[no-any-return]


def _word(w: Any) -> tuple[str, float, float]:
    if isinstance(w, dict):
        return str(w["text"]), float(w["start"]), float(w["end"])
    return str(w.text), float(w.start), float(w.end)


def align(tokens: Sequence[str], words: Sequence[tuple[str, float, float]]) -> dict[int, int]:
    """Token index -> spoken word index, over the tokens and words whose normalised text matches.

    Speech expands numbers and abbreviations and drops symbols, so counts differ; matching blocks of
    equal words (difflib) keep the alignment exact where it is given at all."""
    a = [normalise(t) for t in tokens]
    b = [normalise(w[0]) for w in words]
    matcher = difflib.SequenceMatcher(a=a, b=b, autojunk=False)
    out: dict[int, int] = {}
    for block in matcher.get_matching_blocks():
        for k in range(block.size):
            if a[block.a + k]:
                out[block.a + k] = block.b + k
    return out


def speakable(tokens: Sequence[str]) -> tuple[str, dict[int, int]]:
    """What a reader would say for tokenised tweet text, and source token -> spoken token.

    ``RT``, links and bare symbols are not read; ``@name`` and ``#tag`` are read as ``name`` and ``tag``;
    a clitic token (``'s``, ``n't``) joins the word before it. Tokens not read map to nothing."""
    spoken: list[str] = []
    where: dict[int, int] = {}
    for i, token in enumerate(tokens):
        word = token.lstrip("@#")
        if token == "RT" or token.startswith(("http", "www.")) or not normalise(word):
            continue
        if spoken and (word.startswith("'") or word.lower() == "n't"):
            spoken[-1] += word
        else:
            spoken.append(word)
        where[i] = len(spoken) - 1
    return " ".join(spoken), where


def _words(text: str, wav: Path, synthesize: Synthesize) -> list[tuple[str, float, float]] | str:
    """The spoken words with times (cached next to the wav: the T+A and A suites share their speech), or
    why the voice could not say the text as written."""
    cache = wav.with_suffix(".words.json")
    if cache.is_file():
        cached = json.loads(cache.read_text(encoding="utf-8"))
        if isinstance(cached, str):
            return cached
        return [(str(w), float(a), float(b)) for w, a, b in cached]
    wav.parent.mkdir(parents=True, exist_ok=True)
    try:
        words: list[tuple[str, float, float]] | str = [_word(w) for w in synthesize(text, wav)]
    except ValueError as exc:  # the voice said other words than written (tts.py explains)
        words = f"not spoken as written ({exc})"
    cache.write_text(json.dumps(words), encoding="utf-8")
    return words


def _speak(
    instances: list[SuiteInstance],
    out: Path,
    folder: str,
    synthesize: Synthesize,
    stats: BuildStats,
) -> list[tuple[SuiteInstance, str, dict[str, tuple[float, float]]]]:
    """Speak each instance's text; return it with its wav path and each gold entity's audio span (from
    its first word's start to its last word's end). An instance whose entity is not heard is skipped."""
    spoken = []
    for inst in instances:
        tokens = (inst.inputs.text or "").split(" ")
        speech, where = speakable(tokens)
        rel = f"{folder}/{inst.id.rsplit('-', 1)[-1]}.wav"
        words = _words(speech, out / rel, synthesize)
        if isinstance(words, str):
            stats.notes.append(f"{inst.id}: {words}; skipped")
            continue
        heard = align(speech.split(" "), words)
        starts = [sum(len(t) + 1 for t in tokens[:i]) for i in range(len(tokens))]
        spans: dict[str, tuple[float, float]] = {}
        for entity in inst.gold.entities:
            if entity.text_span is None or entity.text_span[0] not in starts:
                continue
            first = starts.index(entity.text_span[0])
            last = max(i for i, s in enumerate(starts) if s < entity.text_span[1])
            if where.get(first) in heard and where.get(last) in heard:
                spans[entity.id] = (words[heard[where[first]]][1], words[heard[where[last]]][2])
        if len(spans) < len(inst.gold.entities):
            stats.notes.append(f"{inst.id}: an entity is not heard in the speech; skipped")
            continue
        spoken.append((inst, rel, spans))
    return spoken


def _with_audio(
    inst: SuiteInstance, rel: str, spans: dict[str, tuple[float, float]], *, keep_text: bool
) -> SuiteInstance:
    entities = [
        e.model_copy(
            update={"audio": spans[e.id]} if keep_text else {"audio": spans[e.id], "text_span": None}
        )
        for e in inst.gold.entities
    ]
    suffix = "ta" if keep_text else "a"
    return inst.model_copy(
        update={
            "id": f"{inst.id}-{suffix}",
            "inputs": SuiteInputs(text=inst.inputs.text if keep_text else None, audio=rel),
            "gold": Gold(entities=entities, relations=inst.gold.relations, events=inst.gold.events),
        }
    )


def _spoken_suite(
    base: Callable[[Path, Path, int | None], tuple[list[SuiteInstance], BuildStats]],
    folder: str,
    *,
    keep_text: bool,
) -> Callable[[Path, Path, int | None], tuple[list[SuiteInstance], BuildStats]]:
    def build(data: Path, out: Path, limit: int | None) -> tuple[list[SuiteInstance], BuildStats]:
        synthesize = _synthesizer()
        written, stats = base(data, out, limit)
        spoken = _speak(written, out, folder, synthesize, stats)
        instances = [_with_audio(inst, rel, spans, keep_text=keep_text) for inst, rel, spans in spoken]
        stats.written = len(instances)
        return instances, stats

    return build


def _register() -> None:
    from reamo.evaluation.builders import BUILDERS, SuiteBuilder

    for builder in (
        SuiteBuilder(
            "twitter2017_ta_ner",
            _spoken_suite(build_twitter2017, "spoken/twitter2017", keep_text=True),
            SPOKEN_LIMIT,
            "Twitter-2017 test, text + its speech (TTS), NER with gold audio spans",
        ),
        SuiteBuilder(
            "twitter2017_a_ner",
            _spoken_suite(build_twitter2017, "spoken/twitter2017", keep_text=False),
            SPOKEN_LIMIT,
            "Twitter-2017 test spoken (TTS), NER from the audio alone",
        ),
        SuiteBuilder(
            "mnre_a_re",
            _spoken_suite(build_mnre, "spoken/mnre", keep_text=False),
            SPOKEN_LIMIT,
            "MNRE test tweets spoken (TTS), RE from the audio alone",
        ),
    ):
        BUILDERS.setdefault(builder.name, builder)


if importlib.util.find_spec("reamo.evaluation.tts") is not None:
    _register()
