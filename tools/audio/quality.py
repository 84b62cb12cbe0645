"""Measures of transcript quality against a reference with word times (spoken suites, tests, benchmarks):
word error rate, and how far heard word boundaries are from the true ones."""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass

from rapidfuzz.distance import Levenshtein

from reamo.schemas import Word
from reamo.tools.audio.match import normalise


def tokens(text: str) -> list[str]:
    """Normalised words of a text (case and punctuation dropped)."""
    return [t for t in (normalise(w) for w in text.split()) if t]


def word_error_rate(reference: str, heard: str) -> float:
    """Word-level edit distance over the reference's length (0 = perfect; 1.0 for an empty reference
    with something heard, 0.0 when both are empty)."""
    ref, hyp = tokens(reference), tokens(heard)
    if not ref:
        return float(bool(hyp))
    return Levenshtein.distance(ref, hyp) / len(ref)


@dataclass(frozen=True)
class TimingError:
    """Mean absolute start and end error (seconds) over the words heard right, and how many those were."""

    start: float
    end: float
    matched: int

    @property
    def mean(self) -> float:
        return (self.start + self.end) / 2


def timing_error(reference: Sequence[Word], heard: Sequence[Word]) -> TimingError:
    """Boundary error of the heard words that match a reference word (paired by a diff of the texts)."""
    ref = [normalise(w.text) for w in reference]
    hyp = [normalise(w.text) for w in heard]
    pairs = [
        (reference[block.a + k], heard[block.b + k])
        for block in difflib.SequenceMatcher(a=ref, b=hyp, autojunk=False).get_matching_blocks()
        for k in range(block.size)
    ]
    if not pairs:
        return TimingError(0.0, 0.0, 0)
    start = sum(abs(r.start - h.start) for r, h in pairs) / len(pairs)
    end = sum(abs(r.end - h.end) for r, h in pairs) / len(pairs)
    return TimingError(start, end, len(pairs))
