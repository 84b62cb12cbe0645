"""Speech recognition: faster-whisper (int8) over Silero-VAD speech regions, window by window, with
word times sharpened by forced alignment. Silence, music or noise give an empty transcript."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from reamo.errors import ConfigError
from reamo.schemas import Transcript, Word
from reamo.tools.audio.align import Aligner, Segment
from reamo.tools.audio.decode import Samples, iter_windows
from reamo.tools.audio.models import MODEL_NAMES, load_whisper
from reamo.tools.protocol import Resources


class SpeechSettings(BaseModel):
    """Settings of speech recognition: ``perception={"audio": {...}}`` or a speech tool's settings."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    model: str = Field(default="base", description="base | tiny.en | path of a CTranslate2 Whisper folder")
    language: str | None = Field(default="en", description="spoken language; none: detect it")
    beam_size: int = Field(default=5, ge=1, le=10)
    align: bool = Field(default=True, description="sharpen word times with pocketsphinx forced alignment")
    vad: bool = Field(default=True, description="skip non-speech with Silero VAD")
    window_s: float = Field(default=300.0, ge=30.0, description="seconds decoded and recognised at once")
    threads: int = Field(default=0, ge=0, description="CPU threads for Whisper; 0: one per usable core")
    no_speech: float = Field(default=0.6, ge=0.0, le=1.0, description="drop segments likelier silent")
    prompt: str | None = Field(
        default=None, description="text that may be spoken (names, spelling) for Whisper"
    )

    @field_validator("model")
    @classmethod
    def _known_model(cls, model: str) -> str:
        if model not in MODEL_NAMES and not (Path(model).expanduser() / "model.bin").is_file():
            raise ValueError(
                f"unknown speech model {model!r}: use {' or '.join(MODEL_NAMES)}, or the path of a "
                "CTranslate2 Whisper folder (with model.bin)"
            )
        return model

    @classmethod
    def parse(cls, settings: object) -> SpeechSettings:
        if isinstance(settings, SpeechSettings):
            return settings
        try:
            return cls.model_validate(dict(settings or {}))  # type: ignore[call-overload]
        except (ValidationError, TypeError, ValueError) as exc:
            raise ConfigError(
                f"Invalid speech settings {settings!r}: {exc}. Known: {', '.join(cls.model_fields)}."
            ) from exc


def whisper(resources: Resources, settings: SpeechSettings) -> Any:
    """The Whisper model of these settings, loaded once per process."""
    key = f"audio.whisper:{settings.model}:{settings.threads}"
    return resources.get(key, lambda: load_whisper(settings.model, threads=settings.threads))


def aligner(resources: Resources) -> Aligner:
    aligned: Aligner = resources.get("audio.aligner", Aligner)
    return aligned


def recognise(model: Any, samples: Samples, settings: SpeechSettings) -> tuple[list[Segment], str | None]:
    """Whisper's segments of one window (times from the window's start), hallucinated ones dropped."""
    found, info = model.transcribe(
        samples,
        language=settings.language,
        beam_size=settings.beam_size,
        word_timestamps=True,
        vad_filter=settings.vad,
        condition_on_previous_text=False,
        initial_prompt=settings.prompt,
    )
    segments = []
    for seg in found:
        if seg.no_speech_prob > settings.no_speech and seg.avg_logprob < -1.0:
            continue
        words = [
            Word(
                text=w.word.strip(),
                start=max(0.0, w.start),
                end=max(w.start, w.end, 0.0),
                score=w.probability,
            )
            for w in seg.words or []
            if w.word.strip()
        ]
        if words:
            segments.append(Segment(start=words[0].start, end=words[-1].end, words=words))
    return segments, getattr(info, "language", None)


def _shift(words: Iterable[Word], offset: float) -> list[Word]:
    return [w.model_copy(update={"start": w.start + offset, "end": w.end + offset}) for w in words]


def transcribe_file(path: Path, resources: Resources, settings: SpeechSettings) -> Transcript:
    """The transcript of a whole file, window by window (bounded memory), word times aligned."""
    model = whisper(resources, settings)
    align = aligner(resources) if settings.align else None
    words: list[Word] = []
    texts: list[str] = []
    language = settings.language
    for offset, samples in iter_windows(path, window_s=settings.window_s):
        segments, heard = recognise(model, samples, settings)
        language = language or heard
        if align is not None:
            window_words, _ = align.align(samples, segments)
        else:
            window_words = [w for s in segments for w in s.words]
        words.extend(_shift(window_words, offset))
        texts.extend(" ".join(w.text for w in s.words) for s in segments)
    return Transcript(text=" ".join(texts), words=words, language=language)
