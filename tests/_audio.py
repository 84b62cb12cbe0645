"""Audio test media the tests make: tones and noise in every format, video with and without sound,
broken files, and (for the real-model tests) speech synthesised by piper with exact word times."""

from __future__ import annotations

import struct
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import soundfile


def tone(seconds: float, rate: int, channels: int = 1, freq: float = 220.0) -> npt.NDArray[np.float32]:
    """A sine of ``seconds`` at ``rate``, shaped (samples, channels), each channel a little different."""
    t = np.arange(int(seconds * rate)) / rate
    cols = [0.2 * np.sin(2 * np.pi * freq * (1 + 0.1 * c) * t) for c in range(channels)]
    return np.stack(cols, axis=1).astype(np.float32)


def write_sndfile(path: Path, samples: npt.NDArray[np.float32], rate: int) -> Path:
    """wav, flac, ogg (vorbis) or mp3, by suffix, through libsndfile."""
    fmt = {".wav": ("WAV", "PCM_16"), ".flac": ("FLAC", "PCM_16"), ".ogg": ("OGG", "VORBIS")}
    fmt[".mp3"] = ("MP3", "MPEG_LAYER_III")
    kind, subtype = fmt[path.suffix]
    soundfile.write(path, samples, rate, format=kind, subtype=subtype)
    return path


def write_av(
    path: Path,
    samples: npt.NDArray[np.float32] | None,
    rate: int,
    *,
    codec: str = "aac",
    video_frames: int = 0,
) -> Path:
    """An m4a/mp4 (or any container FFmpeg writes) with one audio stream, and ``video_frames`` of video."""
    import av

    with av.open(str(path), "w") as out:
        vstream = None
        if video_frames:
            vstream = out.add_stream("mpeg4", rate=10)
            vstream.width, vstream.height, vstream.pix_fmt = 64, 48, "yuv420p"
        astream = None
        if samples is not None:
            astream = out.add_stream(codec, rate=rate)
            channels = samples.shape[1]
            astream.layout = "stereo" if channels == 2 else "mono"
        for i in range(video_frames):
            img = np.full((48, 64, 3), (i * 7) % 255, np.uint8)
            frame = av.VideoFrame.from_ndarray(img, format="rgb24")
            for packet in vstream.encode(frame):  # type: ignore[union-attr]
                out.mux(packet)
        if vstream is not None:
            for packet in vstream.encode(None):
                out.mux(packet)
        if astream is not None and samples is not None:
            planar = np.ascontiguousarray(samples.T)
            step = 1024
            for n, start in enumerate(range(0, planar.shape[1], step)):
                chunk = np.ascontiguousarray(planar[:, start : start + step])
                frame = av.AudioFrame.from_ndarray(chunk, format="fltp", layout=astream.layout.name)
                frame.sample_rate = rate
                frame.pts = n * step
                frame.time_base = Fraction(1, rate)
                for packet in astream.encode(frame):
                    out.mux(packet)
            for packet in astream.encode(None):
                out.mux(packet)
    return path


def unknown_codec_wav(path: Path, rate: int = 16000) -> Path:
    """A well-formed RIFF/WAVE file whose format tag (0x7777) names no codec anyone decodes."""
    data = b"\x01\x02" * 8000
    fmt = struct.pack("<HHIIHH", 0x7777, 1, rate, rate * 2, 2, 16)
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", len(data))
    path.write_bytes(b"RIFF" + struct.pack("<I", len(body) + len(data)) + body + data)
    return path


def speak(path: Path, text: str) -> list[Any]:
    """Synthesise ``text`` into ``path`` with piper (the ``tts`` extra); the words with exact times.
    The voice has no sampling noise, so a test hears the same clip on every run."""
    from reamo.evaluation.tts import synthesize

    return list(synthesize(text, path, noise=False))


def music(seconds: float, rate: int = 16000) -> npt.NDArray[np.float32]:
    """A few bars of chords with harmonics and note onsets: music, no speech."""
    t = np.arange(int(seconds * rate)) / rate
    chords = [(261.6, 329.6, 392.0), (220.0, 261.6, 329.6), (174.6, 220.0, 261.6), (196.0, 246.9, 293.7)]
    out = np.zeros_like(t)
    for i, chord in enumerate(chords * int(seconds)):
        start = i * 0.5
        if start >= seconds:
            break
        env = np.clip((t - start) * 50, 0, 1) * np.exp(-np.clip(t - start, 0, None) * 3) * (t >= start)
        for f in chord:
            for h in (1, 2, 3):
                out += env * np.sin(2 * np.pi * f * h * t) / (h * 8)
    return (0.5 * out / np.abs(out).max()).astype(np.float32)[:, None]
