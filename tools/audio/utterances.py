"""``audio.utterances.v1`` (planner module ``AudioUtterances``): the SHAS-style split of speech into
utterances, pDAC over per-frame speech probabilities.

Frame probabilities come from Silero VAD (the ONNX model inside faster-whisper, 32 ms frames) by default,
or, with ``{"backend": "wav2vec2", "checkpoint": PATH}``, from a wav2vec2 frame classifier through
transformers: SHAS's own model is an XLS-R wav2vec2 with a one-logit frame head, saved as
``Wav2Vec2ForAudioFrameClassification``.

The instruction filters: ``*`` (or ``all``) returns every utterance; any other phrase returns the
utterances in which the phrase is spoken (matched in the transcript like ``audio.segment.v1``).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path
from typing import Literal, Protocol

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from reamo.errors import BackendUnavailableError, ToolRunError
from reamo.schemas import AudioSpan, Word
from reamo.tools.audio.decode import SAMPLE_RATE, Samples, iter_windows, probe
from reamo.tools.audio.match import find
from reamo.tools.audio.pdac import Probs, pdac
from reamo.tools.audio.segment import min_score, transcript_of
from reamo.tools.protocol import Resources, ToolArgs, ToolContext, tool

ALL = ("*", "all")
SILERO_WINDOW = 512
"""Samples per Silero frame (32 ms at 16 kHz)."""


class UtteranceSettings(BaseModel):
    """The tool's settings (``tools={"audio.utterances.v1": {...}}``)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    backend: Literal["silero", "wav2vec2"] = "silero"
    checkpoint: str | None = Field(default=None, description="wav2vec2 frame-classifier folder")
    threshold: float = Field(default=0.5, gt=0.0, lt=1.0, description="speech probability to keep a frame")
    min_segment_s: float = Field(default=0.5, ge=0.0, description="no split closer than this to an end")
    smooth_s: float = Field(
        default=0.2, ge=0.0, description="split points chosen on a moving average this long"
    )
    window_s: float = Field(default=20.0, ge=1.0, description="seconds per classifier pass")


class UtteranceArgs(ToolArgs):
    """Which utterances (``*`` for all, else a phrase they must contain) in which audio."""

    max_segment_s: float = Field(default=8.0, gt=0.5, le=60.0, description="longest utterance, seconds")


class FrameScorer(Protocol):
    """Speech probability per frame of a 16 kHz mono array; ``fps`` frames per second."""

    fps: float

    def __call__(self, samples: Samples) -> Probs: ...


class SileroScorer:
    """Silero VAD v6 from faster-whisper's assets, via onnxruntime (no torch)."""

    fps = SAMPLE_RATE / SILERO_WINDOW

    def __init__(self) -> None:
        try:
            from faster_whisper.vad import get_vad_model
        except ImportError as exc:
            raise BackendUnavailableError(
                "Silero VAD needs faster-whisper==1.2.1 (it ships the model)"
            ) from exc
        self._model = get_vad_model()

    def __call__(self, samples: Samples) -> Probs:
        pad = (-len(samples)) % SILERO_WINDOW
        padded = np.pad(samples, (0, pad)).astype(np.float32)
        if not len(padded):
            return np.zeros(0)
        return np.asarray(self._model(padded), dtype=np.float64).reshape(-1)


class Wav2Vec2Scorer:
    """A transformers ``Wav2Vec2ForAudioFrameClassification`` checkpoint (SHAS's classifier), on CPU.
    One logit per frame -> sigmoid; two -> softmax, class 1 = speech."""

    def __init__(self, checkpoint: str) -> None:
        folder = Path(checkpoint).expanduser()
        if not (folder / "config.json").is_file():
            raise BackendUnavailableError(
                f"The wav2vec2 checkpoint {checkpoint!r} has no config.json: give the folder of a "
                "Wav2Vec2ForAudioFrameClassification model saved with save_pretrained."
            )
        import torch
        from transformers import Wav2Vec2ForAudioFrameClassification

        self._torch = torch
        self.model = Wav2Vec2ForAudioFrameClassification.from_pretrained(str(folder), local_files_only=True)
        self.model.train(False)
        stride = math.prod(self.model.config.conv_stride)
        self.fps = SAMPLE_RATE / stride

    def __call__(self, samples: Samples) -> Probs:
        if not len(samples):
            return np.zeros(0)
        x = (samples - samples.mean()) / np.sqrt(samples.var() + 1e-7)  # as Wav2Vec2FeatureExtractor
        with self._torch.inference_mode():
            logits = self.model(self._torch.from_numpy(x.astype(np.float32))[None]).logits[0]
        if logits.shape[-1] == 1:
            probs = self._torch.sigmoid(logits[:, 0])
        else:
            probs = self._torch.softmax(logits, dim=-1)[:, 1]
        return probs.double().numpy()


def scorer(settings: UtteranceSettings, resources: Resources) -> FrameScorer:
    if settings.backend == "wav2vec2":
        if not settings.checkpoint:
            raise ToolRunError(
                "backend 'wav2vec2' needs a checkpoint: tools={'audio.utterances.v1': "
                "{'backend': 'wav2vec2', 'checkpoint': '/path/to/shas-classifier'}}"
            )
        path = settings.checkpoint
        found: FrameScorer = resources.get(f"audio.wav2vec2:{path}", lambda: Wav2Vec2Scorer(path))
        return found
    silero: FrameScorer = resources.get("audio.silero", SileroScorer)
    return silero


def frame_probabilities(path: Path, score: FrameScorer, window_s: float) -> Probs:
    """Per-frame speech probability of a whole file, window by window (bounded memory)."""
    parts: list[Probs] = []
    for offset, samples in _windows(path, window_s):
        frames = score(samples)
        # keep frames on the file's own grid, whatever the window boundaries
        start = round(offset * score.fps)
        parts.append(frames[: max(0, round((offset + len(samples) / SAMPLE_RATE) * score.fps) - start)])
    return np.concatenate(parts) if parts else np.zeros(0)


def _windows(path: Path, window_s: float) -> Iterator[tuple[float, Samples]]:
    yield from iter_windows(path, window_s=max(30.0, window_s), search_s=min(10.0, window_s / 2))


def utterances(
    path: Path, settings: UtteranceSettings, max_segment_s: float, resources: Resources
) -> list[tuple[float, float, float]]:
    """(start s, end s, mean speech probability) of each utterance."""
    score = scorer(settings, resources)
    probs = frame_probabilities(path, score, settings.window_s)
    spans = pdac(
        probs,
        max_frames=max(1, int(max_segment_s * score.fps)),
        min_frames=int(settings.min_segment_s * score.fps),
        threshold=settings.threshold,
        smooth_frames=max(1, round(settings.smooth_s * score.fps)),
    )
    return [(a / score.fps, b / score.fps, float(probs[a:b].mean())) for a, b in spans]


def _text(words: list[Word], start: float, end: float) -> str | None:
    inside = [w.text for w in words if w.start >= start - 0.05 and w.end <= end + 0.05]
    return " ".join(inside) or None


@tool("audio.utterances.v1", module="AudioUtterances", modality="audio")
def split_utterances(args: UtteranceArgs, ctx: ToolContext) -> list[AudioSpan]:
    """Split speech into utterances (SHAS pDAC over frame speech probabilities); instruction ``*`` for
    all of them, or a phrase to return only the utterances where it is spoken."""
    try:
        settings = UtteranceSettings.model_validate(dict(ctx.settings))
    except ValidationError as exc:
        raise ToolRunError(f"invalid settings for audio.utterances.v1: {exc}") from exc
    item = ctx.media(args.target)
    if not probe(item.path).has_audio:
        raise ToolRunError(f"{args.target} has no sound track, so it has no utterances")
    found = utterances(item.path, settings, args.max_segment_s, ctx.resources)
    perceived = ctx.perception.audio.get(args.target) or ctx.perception.videos.get(args.target)
    words = perceived.transcript.words if perceived is not None and perceived.transcript else []
    wanted = args.instruction.strip().lower() not in ALL
    if wanted:
        words = transcript_of(args.target, ctx).words
        said = find(args.instruction, words, min_score=min_score(ctx.settings), limit=20)
        found = [u for u in found if any(m.start < u[1] and m.end > u[0] for m in said)]
    return [
        AudioSpan(media=args.target, start=a, end=b, score=min(1.0, max(0.0, p)), text=_text(words, a, b))
        for a, b, p in found
    ]
