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


def _speak(
    instances: list[SuiteInstance],
    out: Path,
    folder: str,
    synthesize: Synthesize,
    stats: BuildStats,
) -> list[tuple[SuiteInstance, str, dict[str, tuple[float, float]]]]:
    """Synthesize each instance's text; return it with its wav path and each entity's audio span."""
    spoken = []
    for inst in instances:
        text = inst.inputs.text or ""
        rel = f"{folder}/{inst.id}.wav"
        (out / folder).mkdir(parents=True, exist_ok=True)
        cache = (out / rel).with_suffix(".words.json")
        if cache.is_file() and (out / rel).is_file():  # the T+A and A suites share their speech
            words = [tuple(w) for w in json.loads(cache.read_text(encoding="utf-8"))]
        else:
            words = [_word(w) for w in synthesize(text, out / rel)]
            cache.write_text(json.dumps(words), encoding="utf-8")
        tokens = text.split(" ")
        starts = [sum(len(t) + 1 for t in tokens[:i]) for i in range(len(tokens))]
        mapping = align(tokens, words)
        spans: dict[str, tuple[float, float]] = {}
        for entity in inst.gold.entities:
            if entity.text_span is None:
                continue
            first = starts.index(entity.text_span[0]) if entity.text_span[0] in starts else -1
            last = max(i for i, s in enumerate(starts) if s < entity.text_span[1])
            if first in mapping and last in mapping:
                spans[entity.id] = (words[mapping[first]][1], words[mapping[last]][2])
        if len(spans) < len(inst.gold.entities):
            stats.notes.append(f"{inst.id}: an entity's words were not found in the speech; skipped")
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
