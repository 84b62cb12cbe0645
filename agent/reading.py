"""What a request's records are read from: the input text, else a transcript; and whether a transcript
reads the text aloud."""

from __future__ import annotations

from difflib import SequenceMatcher

from reamo.agent.spans import normalise
from reamo.schemas import Inputs, Perception

SPOKEN_COPY = 0.5
"""How much of the written text a transcript must repeat (difflib's ratio over their words) to count as
the text read aloud."""


def heard_texts(perception: Perception) -> list[str]:
    """The non-empty transcripts of the audio tracks, then of the videos."""
    transcripts = [a.transcript for a in perception.audio.values()]
    transcripts += [v.transcript for v in perception.videos.values()]
    return [t.text for t in transcripts if t is not None and t.text]


def reading_text(inputs: Inputs, perception: Perception) -> str | None:
    """The text the planner read: the input text, else the first transcript."""
    if inputs.text:
        return inputs.text
    return next(iter(heard_texts(perception)), None)


def speaks_text(inputs: Inputs, perception: Perception) -> bool:
    """Whether some audio transcript is the input text read aloud (its words match at least
    ``SPOKEN_COPY`` of them): then the text is what the request extracts from, and a name heard but not
    written is a mishearing of one that is."""
    if not inputs.text:
        return False
    written = normalise(inputs.text).split()
    return any(
        SequenceMatcher(None, written, normalise(said).split(), autojunk=False).ratio() >= SPOKEN_COPY
        for said in heard_texts(perception)
    )
