"""Decoding any audio (wav, flac, mp3, ogg, m4a, the audio track of a video) to 16 kHz mono float32,
block by block, so that long recordings never sit in memory whole.

libsndfile (``soundfile``) reads wav, flac, ogg and mp3; everything else, and whatever libsndfile refuses,
goes through FFmpeg's libraries (PyAV). Channels are averaged to mono, then one stateful resampler takes
the audio to 16 kHz, so block boundaries leave no seams.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from reamo.errors import UnreadableMediaError, UnsupportedMediaError
from reamo.quiet import sndfile_noise_filtered

SAMPLE_RATE = 16_000
BLOCK_S = 10.0
"""Seconds of audio decoded per block."""
SNDFILE_SUFFIXES = (".wav", ".flac", ".ogg", ".oga", ".mp3")

Samples = npt.NDArray[np.float32]


@dataclass(frozen=True)
class AudioInfo:
    """What a file holds: its duration (seconds, 0 when unknown), native rate and channel count;
    ``has_audio`` is False for a video without an audio track."""

    duration: float
    sample_rate: int | None
    channels: int | None
    has_audio: bool = True


def _unreadable(path: Path, exc: BaseException | str) -> UnreadableMediaError:
    return UnreadableMediaError(
        f"{str(path)!r} is not readable audio ({exc}); check that the file is complete (not truncated "
        "or corrupt), or convert it to WAV or FLAC (e.g. `ffmpeg -i in.xyz -ar 16000 out.wav`)."
    )


def _unsupported(path: Path, what: str) -> UnsupportedMediaError:
    return UnsupportedMediaError(
        f"{str(path)!r}: {what}; convert it to WAV, FLAC or MP3 (e.g. `ffmpeg -i in.xyz out.wav`)."
    )


def _check_file(path: Path) -> None:
    if not path.is_file():
        raise UnreadableMediaError(f"{str(path)!r} is not a file; give the path of an audio or video file.")
    if path.stat().st_size == 0:
        raise UnreadableMediaError(f"{str(path)!r} is empty (0 bytes); give a complete file.")


def probe(path: Path) -> AudioInfo:
    """Duration, rate and channels of an audio file or a video's audio track, without decoding it."""
    _check_file(path)
    if path.suffix.lower() in SNDFILE_SUFFIXES:
        import soundfile

        try:
            with sndfile_noise_filtered(path):
                info = soundfile.info(str(path))
            return AudioInfo(float(info.duration), int(info.samplerate), int(info.channels))
        except (RuntimeError, soundfile.LibsndfileError):
            pass  # not libsndfile's: FFmpeg decides below
    av = _av()
    try:
        with av.open(str(path)) as container:
            if not container.streams.audio:
                return AudioInfo(0.0, None, None, has_audio=False)
            stream = container.streams.audio[0]
            if stream.codec_context is None:
                raise _unsupported(path, "its audio codec is not one FFmpeg decodes")
            duration = _stream_seconds(stream, container)
            return AudioInfo(duration, stream.rate or None, stream.channels or None)
    except av.FFmpegError as exc:
        raise _unreadable(path, exc) from exc


def _stream_seconds(stream: object, container: object) -> float:
    duration, base = getattr(stream, "duration", None), getattr(stream, "time_base", None)
    if duration is not None and base is not None:
        return float(duration * base)
    total = getattr(container, "duration", None)  # microseconds
    return float(total) / 1_000_000 if total else 0.0


def _av() -> Any:
    """PyAV, imported on first use (it loads FFmpeg's libraries)."""
    try:
        import av
    except ImportError as exc:  # a core dependency: only a broken install lacks it
        raise UnsupportedMediaError("Decoding this format needs PyAV (FFmpeg): pip install av") from exc
    return av


class _Resampler:
    """Mono float32 at any rate in, 16 kHz out; stateful across blocks (FFmpeg's swresample)."""

    def __init__(self, rate: int) -> None:
        av = _av()
        self.rate = rate
        self._av = av
        self._resampler = av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)

    def __call__(self, mono: Samples | None) -> Samples:
        if mono is None:
            frames = self._resampler.resample(None)
        else:
            if self.rate == SAMPLE_RATE:
                return mono
            frame = self._av.AudioFrame.from_ndarray(mono.reshape(1, -1), format="flt", layout="mono")
            frame.sample_rate = self.rate
            frames = self._resampler.resample(frame)
        if not frames:
            return np.zeros(0, np.float32)
        return np.concatenate([f.to_ndarray().reshape(-1) for f in frames]).astype(np.float32, copy=False)


def _downmix(block: npt.NDArray[np.floating]) -> Samples:
    """(samples, channels) or (samples,) -> mono float32, the channels averaged."""
    mono = block.mean(axis=1) if block.ndim == 2 else block
    return np.ascontiguousarray(mono, dtype=np.float32)


def _sndfile_blocks(path: Path, block_s: float) -> Iterator[tuple[int, Samples]] | None:
    """(native rate, mono block) from libsndfile, or None when libsndfile cannot open the file."""
    import soundfile

    try:
        with sndfile_noise_filtered(path):
            handle = soundfile.SoundFile(str(path))
    except (RuntimeError, soundfile.LibsndfileError):
        return None

    def blocks() -> Iterator[tuple[int, Samples]]:
        with handle:
            frames = max(1, int(handle.samplerate * block_s))
            while True:
                try:
                    with sndfile_noise_filtered(path):
                        block = handle.read(frames, dtype="float32", always_2d=True)
                except (RuntimeError, soundfile.LibsndfileError) as exc:
                    raise _unreadable(path, exc) from exc
                if not len(block):
                    return
                yield int(handle.samplerate), _downmix(block)

    return blocks()


def _av_blocks(path: Path, block_s: float) -> Iterator[tuple[int, Samples]]:
    """(native rate, mono block) of the first audio stream, decoded by FFmpeg."""
    av = _av()
    try:
        container = av.open(str(path))
    except av.FFmpegError as exc:
        raise _unreadable(path, exc) from exc
    with container:
        if not container.streams.audio:
            raise _unsupported(path, "it has no audio track")
        stream = container.streams.audio[0]
        if stream.codec_context is None:
            raise _unsupported(path, "its audio codec is not one FFmpeg decodes")
        # packed or planar, any sample format -> planar float at the native rate; channels kept
        to_float = av.AudioResampler(format="fltp", rate=stream.rate or None)
        pending: list[Samples] = []
        size, rate, target = 0, stream.rate or SAMPLE_RATE, 0
        try:
            for frame in container.decode(stream):
                rate = frame.sample_rate
                target = max(1, int(rate * block_s))
                for f in to_float.resample(frame):
                    pending.append(_downmix(f.to_ndarray().T))
                    size += f.samples
                if size >= target:
                    yield rate, np.concatenate(pending)
                    pending, size = [], 0
            for f in to_float.resample(None):
                pending.append(_downmix(f.to_ndarray().T))
        except av.FFmpegError as exc:
            raise _unreadable(path, exc) from exc
        except ValueError as exc:  # PyAV reports an unsupported sample format or layout this way
            raise _unsupported(path, f"its audio cannot be decoded ({exc})") from exc
        if pending:
            yield rate, np.concatenate(pending)


def iter_blocks(path: Path, *, block_s: float = BLOCK_S) -> Iterator[Samples]:
    """16 kHz mono float32 blocks of about ``block_s`` seconds, in order, the last one shorter.

    Raises UnreadableMediaError for a corrupt, truncated or empty file and UnsupportedMediaError for a
    file with no audio track or an unknown codec. A file with no samples at all is unreadable too.
    """
    _check_file(path)
    source = _sndfile_blocks(path, block_s) if path.suffix.lower() in SNDFILE_SUFFIXES else None
    if source is None:
        source = _av_blocks(path, block_s)
    resampler: _Resampler | None = None
    total = 0
    for rate, block in source:
        if resampler is None:
            resampler = _Resampler(rate)
        out = resampler(block)
        total += len(out)
        if len(out):
            yield out
    if resampler is not None:
        tail = resampler(None) if resampler.rate != SAMPLE_RATE else np.zeros(0, np.float32)
        total += len(tail)
        if len(tail):
            yield tail
    if total == 0:
        raise _unreadable(path, "no audio samples in it")


def load_audio(path: Path, *, max_seconds: float | None = None) -> Samples:
    """The whole file (or its first ``max_seconds``) as one 16 kHz mono array; for short clips."""
    blocks, total = [], 0
    limit = None if max_seconds is None else int(max_seconds * SAMPLE_RATE)
    for block in iter_blocks(path):
        blocks.append(block)
        total += len(block)
        if limit is not None and total >= limit:
            break
    samples = np.concatenate(blocks) if blocks else np.zeros(0, np.float32)
    return samples if limit is None else samples[:limit]


def iter_windows(
    path: Path, *, window_s: float = 300.0, search_s: float = 10.0
) -> Iterator[tuple[float, Samples]]:
    """(offset seconds, samples) windows of at most about ``window_s`` seconds covering the whole file.

    Each window ends at the quietest 0.1 s within its last ``search_s`` seconds, so that a cut rarely
    falls inside a word; the rest is carried into the next window. Memory stays at one window plus a block.
    """
    limit = int(window_s * SAMPLE_RATE)
    buffer = np.zeros(0, np.float32)
    offset = 0
    for block in iter_blocks(path):
        buffer = np.concatenate([buffer, block])
        while len(buffer) >= limit:
            cut = quiet_cut(buffer[:limit], search_s)
            yield offset / SAMPLE_RATE, buffer[:cut]
            offset += cut
            buffer = buffer[cut:]
    if len(buffer):
        yield offset / SAMPLE_RATE, buffer


def quiet_cut(samples: Samples, search_s: float) -> int:
    """The sample index at the centre of the quietest 0.1 s frame within the last ``search_s`` seconds."""
    frame = SAMPLE_RATE // 10
    start = max(0, len(samples) - int(search_s * SAMPLE_RATE))
    tail = samples[start:]
    n = len(tail) // frame
    if n < 2:
        return len(samples)
    energy = (tail[: n * frame].reshape(n, frame) ** 2).mean(axis=1)
    return start + int(np.argmin(energy)) * frame + frame // 2
