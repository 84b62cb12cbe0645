"""Finding a phrase in a transcript despite recognition errors: every run of words near the phrase's
length is scored by spelling (edit-distance ratio) and by sound (Metaphone codes), and the best runs above
a threshold that do not overlap are kept. Nothing is returned for a phrase that is not there.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import jellyfish
from rapidfuzz.distance import Indel

from reamo.schemas import Word

MIN_SCORE = 0.85
"""Default acceptance threshold (1.0 = the same letters)."""
SHORT = 4
"""Phrases of at most this many letters must match by spelling, not by sound alone."""
_NOT_WORD = re.compile(r"[^\w']+")


def normalise(text: str) -> str:
    """Lower case, letters, digits and apostrophes only (``"Berlin,"`` -> ``"berlin"``)."""
    return _NOT_WORD.sub("", text.lower()).strip("'")


def _sound(text: str) -> str:
    return jellyfish.metaphone(text) if text else ""


def similarity(query: str, heard: str) -> float:
    """How alike two normalised strings (spaces removed) are, 0..1: spelling, lifted by sound.

    ``macron``/``macaron`` 0.95; ``emmanuelmacron``/``amanualmacaron`` 0.82; ``berlin``/``paris`` 0.36.
    """
    if not query or not heard:
        return 0.0
    spelling = Indel.normalized_similarity(query, heard)
    if len(query) <= SHORT:
        return spelling
    sound = Indel.normalized_similarity(_sound(query), _sound(heard))
    return max(spelling, 0.6 * spelling + 0.4 * sound)


@dataclass(frozen=True)
class Match:
    """Words ``[first, last]`` of a transcript that say the phrase, with the match score."""

    first: int
    last: int
    score: float
    start: float
    end: float
    text: str


def find(phrase: str, words: Sequence[Word], *, min_score: float = MIN_SCORE, limit: int = 5) -> list[Match]:
    """The non-overlapping runs of ``words`` that say ``phrase`` (score >= ``min_score``), in time order."""
    query_tokens = [t for t in (normalise(p) for p in phrase.split()) if t]
    if not query_tokens or not words:
        return []
    query = "".join(query_tokens)
    kept = [(i, normalise(w.text)) for i, w in enumerate(words)]
    kept = [(i, t) for i, t in kept if t]
    n, m = len(kept), len(query_tokens)
    candidates: list[tuple[float, int, int, int]] = []
    for a in range(n):
        for length in range(max(1, m - 1), m + 3):
            b = a + length
            if b > n:
                break
            score = similarity(query, "".join(t for _, t in kept[a:b]))
            if score >= min_score:
                candidates.append((score, -abs(length - m), a, b - 1))
    chosen: list[tuple[float, int, int]] = []
    for score, _, a, b in sorted(candidates, reverse=True):
        if all(b < x or a > y for _, x, y in chosen):
            chosen.append((score, a, b))
        if len(chosen) == limit:
            break
    matches = []
    for score, a, b in sorted(chosen, key=lambda c: c[1]):
        first, last = kept[a][0], kept[b][0]
        run = words[first : last + 1]
        text = " ".join(w.text for w in run).strip(" ,.;:!?")
        matches.append(
            Match(first, last, round(score, 4), run[0].start, max(run[-1].end, run[0].start), text)
        )
    return matches
