"""Finding a phrase in the input text: exact first, then ignoring case, then ignoring spacing."""

from __future__ import annotations

import re


def find_spans(text: str, phrase: str) -> list[tuple[int, int]]:
    """Every ``[start, end)`` where ``phrase`` occurs in ``text``, by the strictest rule that finds any."""
    phrase = phrase.strip()
    if not phrase or not text:
        return []
    for flags in (0, re.IGNORECASE):
        found = [(m.start(), m.end()) for m in re.finditer(re.escape(phrase), text, flags)]
        if found:
            return found
    words = [re.escape(w) for w in re.split(r"\W+", phrase) if w]
    if not words:
        return []
    loose = re.compile(r"\W*".join(words), re.IGNORECASE)
    return [(m.start(), m.end()) for m in loose.finditer(text)]


def word_spans(text: str, phrase: str) -> list[tuple[int, int]]:
    """The ``find_spans`` of ``phrase`` that do not cut a word of ``text`` (a seen car is not the "Car" of
    "Carter"); an end of the phrase that is not a letter or digit may touch anything."""
    phrase = phrase.strip()
    return [
        (s, e)
        for s, e in find_spans(text, phrase)
        if not (s > 0 and text[s - 1].isalnum() and phrase[:1].isalnum())
        and not (e < len(text) and text[e].isalnum() and phrase[-1:].isalnum())
    ]


def normalise(text: str) -> str:
    """Lower-case, punctuation stripped, spaces collapsed: the benchmark's surface-text key."""
    return " ".join(re.sub(r"[^\w\s]", " ", text.lower()).split())
