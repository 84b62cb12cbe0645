"""Forced alignment of Whisper's words to the audio with pocketsphinx, which sharpens word times
(Whisper's own are off by ~0.1 s and may be zero-length). Words outside the 134k-word dictionary get a
pronunciation guessed from dictionary pieces and letter rules; a segment that will not align keeps
Whisper's times.
"""

from __future__ import annotations

import itertools
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from reamo.errors import BackendUnavailableError
from reamo.schemas import Word
from reamo.tools.audio.decode import SAMPLE_RATE, Samples

FRAME_S = 0.01
"""pocketsphinx frames: 100 a second."""
PAD_S = 0.4
"""Audio kept on each side of a segment when it is aligned."""
_TOKEN = re.compile(r"[^a-z']+")
FILLERS = ("<s>", "</s>", "<sil>", "[NOISE]", "[BREATH]", "[COUGH]", "[UH]", "[UM]", "[SMACK]")

# Letter rules for words outside the dictionary: digraphs first, then single letters (CMU phones).
DIGRAPHS = {
    "ch": "CH", "sh": "SH", "th": "TH", "ph": "F", "ck": "K", "ng": "NG", "qu": "K W", "wh": "W",
    "ee": "IY", "ea": "IY", "oo": "UW", "ou": "AW", "ow": "OW", "ai": "EY", "ay": "EY", "oa": "OW",
    "ie": "IY", "ei": "EY", "au": "AO", "aw": "AO", "oi": "OY", "oy": "OY", "er": "ER", "ir": "ER",
    "ur": "ER", "ar": "AA R", "or": "AO R", "gh": "G", "kh": "K", "zh": "ZH", "dj": "JH", "tz": "T S",
}  # fmt: skip
LETTERS = {
    "a": "AE", "b": "B", "c": "K", "d": "D", "e": "EH", "f": "F", "g": "G", "h": "HH", "i": "IH",
    "j": "JH", "k": "K", "l": "L", "m": "M", "n": "N", "o": "AA", "p": "P", "q": "K", "r": "R",
    "s": "S", "t": "T", "u": "AH", "v": "V", "w": "W", "x": "K S", "y": "IY", "z": "Z", "'": "",
}  # fmt: skip


def token(text: str) -> str:
    """A word as the dictionary spells it: lower case, letters and apostrophes only."""
    return _TOKEN.sub("", text.lower()).strip("'")


@dataclass
class Segment:
    """Words Whisper heard together, with the span of audio they came from."""

    start: float
    end: float
    words: list[Word]


class Aligner:
    """A pocketsphinx decoder (en-us model and dictionary from the wheel), one alignment at a time."""

    def __init__(self) -> None:
        try:
            from pocketsphinx import Decoder
        except ImportError as exc:
            raise BackendUnavailableError(
                "Word alignment needs pocketsphinx: pip install pocketsphinx==5.1.1"
            ) from exc
        self._decoder = Decoder(samprate=SAMPLE_RATE, bestpath=False, loglevel="FATAL")
        self._lock = threading.Lock()
        self._added: set[str] = set()

    def pronounce(self, word: str) -> str | None:
        """The dictionary's phones for ``word``, or None when it is not there."""
        phones = self._decoder.lookup_word(word)
        return str(phones) if phones else None

    def guess(self, word: str) -> str:
        """Phones for a word outside the dictionary: longest dictionary pieces (3+ letters) first, then
        letter rules, e.g. ``macron`` -> ``M AE K`` + ``R AA N``."""
        phones: list[str] = []
        i = 0
        while i < len(word):
            for j in range(len(word), i + 2, -1):
                piece = self.pronounce(word[i:j]) if len(word[i:j]) >= 3 else None
                if piece:
                    phones.append(piece)
                    i = j
                    break
            else:
                pair = word[i : i + 2]
                if pair in DIGRAPHS:
                    phones.append(DIGRAPHS[pair])
                    i += 2
                else:
                    phones.append(LETTERS.get(word[i], ""))
                    i += 1
        guess = " ".join(p for p in phones if p).split()
        return " ".join(guess) or "AH"

    def _known(self, word: str) -> None:
        if word not in self._added and self.pronounce(word) is None:
            self._decoder.add_word(word, self.guess(word), True)
            self._added.add(word)

    def align_segment(
        self, samples: Samples, segment: Segment, lo_s: float = 0.0, hi_s: float | None = None
    ) -> list[Word] | None:
        """Aligned copies of the segment's words, or None when it cannot be aligned. The audio aligned
        is the segment padded by PAD_S, kept within ``[lo_s, hi_s]`` (the neighbouring segments)."""
        tokens = [token(w.text) for w in segment.words]
        if not tokens or not all(tokens):  # digits or symbols: no pronunciation to align
            return None
        hi_s = len(samples) / SAMPLE_RATE if hi_s is None else hi_s
        lo = int(max(lo_s, segment.start - PAD_S) * SAMPLE_RATE)
        hi = min(len(samples), int(min(hi_s, segment.end + PAD_S) * SAMPLE_RATE))
        if hi - lo < SAMPLE_RATE // 10:
            return None
        pcm = (np.clip(samples[lo:hi], -1.0, 1.0) * 32767).astype(np.int16).tobytes()
        with self._lock:
            try:
                for t in tokens:
                    self._known(t)
                self._decoder.set_align_text(" ".join(tokens))
                self._decoder.start_utt()
                self._decoder.process_raw(pcm, full_utt=True)
                self._decoder.end_utt()
                seg = self._decoder.seg()
            except RuntimeError:
                return None
            found = [(s.start_frame, s.end_frame + 1) for s in (seg or []) if s.word not in FILLERS]
        if len(found) != len(tokens) or any(b[0] < a[1] for a, b in itertools.pairwise(found)):
            return None
        offset = lo / SAMPLE_RATE
        return [
            Word(text=w.text, start=offset + a * FRAME_S, end=offset + b * FRAME_S, score=w.score)
            for w, (a, b) in zip(segment.words, found, strict=True)
        ]

    def align(self, samples: Samples, segments: Sequence[Segment]) -> tuple[list[Word], int]:
        """Every segment's words aligned where possible; also how many words kept Whisper's times.

        Segments with no pause between them are aligned together (a cut inside speech would pull a
        neighbour's sounds into the window); a group that fails is retried segment by segment."""
        words: list[Word] = []
        kept = 0
        for group in _groups(segments):
            bounds = [s.start for s in group[1:]] + [group[-1].end + PAD_S]
            lo = max(0.0, group[0].start - PAD_S)
            if words:
                lo = max(lo, words[-1].end)
            joined = Segment(group[0].start, group[-1].end, [w for s in group for w in s.words])
            aligned = self.align_segment(samples, joined, lo, bounds[-1]) if len(group) > 1 else None
            if aligned is not None:
                words.extend(aligned)
                continue
            for segment, hi in zip(group, bounds, strict=True):
                lo = words[-1].end if words else 0.0
                one = self.align_segment(samples, segment, lo, max(hi, segment.end))
                if one is None:
                    kept += len(segment.words)
                    one = list(segment.words)
                words.extend(one)
        return words, kept


def _groups(
    segments: Sequence[Segment], gap_s: float = 2 * PAD_S, max_s: float = 30.0
) -> list[list[Segment]]:
    """Runs of segments with less than ``gap_s`` between them, each run at most ``max_s`` long."""
    groups: list[list[Segment]] = []
    for segment in segments:
        last = groups[-1] if groups else None
        if last and segment.start - last[-1].end < gap_s and segment.end - last[0].start <= max_s:
            last.append(segment)
        else:
            groups.append([segment])
    return groups
