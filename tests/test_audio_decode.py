"""Decoding every audio format to 16 kHz mono, in blocks, and a typed error for every bad file."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from _audio import tone, unknown_codec_wav, write_av, write_sndfile

from reamo.errors import InputError, UnreadableMediaError, UnsupportedMediaError
from reamo.tools.audio import SAMPLE_RATE, iter_blocks, iter_windows, load_audio, probe
from reamo.tools.audio.decode import quiet_cut

SECONDS = 3.0


def _dominant_hz(samples: np.ndarray) -> float:
    spectrum = np.abs(np.fft.rfft(samples))
    return float(np.fft.rfftfreq(len(samples), 1 / SAMPLE_RATE)[int(np.argmax(spectrum))])


FORMATS: dict[str, tuple[Callable[[Path], Path], int, int]] = {
    "wav 44.1 kHz stereo": (lambda p: write_sndfile(p / "a.wav", tone(SECONDS, 44100, 2), 44100), 44100, 2),
    "wav 12345 Hz 3 channels": (
        lambda p: write_sndfile(p / "b.wav", tone(SECONDS, 12345, 3), 12345),
        12345,
        3,
    ),
    "wav 32 kHz 6 channels": (lambda p: write_sndfile(p / "c.wav", tone(SECONDS, 32000, 6), 32000), 32000, 6),
    "flac 8 kHz mono": (lambda p: write_sndfile(p / "a.flac", tone(SECONDS, 8000), 8000), 8000, 1),
    "ogg vorbis 48 kHz stereo": (
        lambda p: write_sndfile(p / "a.ogg", tone(SECONDS, 48000, 2), 48000),
        48000,
        2,
    ),
    "mp3 22.05 kHz mono": (lambda p: write_sndfile(p / "a.mp3", tone(SECONDS, 22050), 22050), 22050, 1),
    "m4a aac 44.1 kHz stereo": (lambda p: write_av(p / "a.m4a", tone(SECONDS, 44100, 2), 44100), 44100, 2),
    "mp4 video with aac track": (
        lambda p: write_av(p / "v.mp4", tone(SECONDS, 48000), 48000, video_frames=30),
        48000,
        1,
    ),
}


@pytest.mark.parametrize("name", FORMATS)
def test_every_format_decodes_to_16k_mono(name: str, tmp_path: Path) -> None:
    make, rate, channels = FORMATS[name]
    path = make(tmp_path)
    info = probe(path)
    assert (info.sample_rate, info.channels, info.has_audio) == (rate, channels, True)
    assert info.duration == pytest.approx(SECONDS, abs=0.05)
    samples = load_audio(path)
    assert samples.dtype == np.float32
    assert samples.ndim == 1
    # lossy codecs pad a few ms (encoder delay); the length is the file's duration at 16 kHz
    assert len(samples) / SAMPLE_RATE == pytest.approx(SECONDS, abs=0.05)
    # the tones survive the downmix: the strongest frequency is one channel's 220 * (1 + 0.1 c) Hz
    heard = _dominant_hz(samples[SAMPLE_RATE // 2 : 2 * SAMPLE_RATE])
    assert min(abs(heard - 220 * (1 + 0.1 * c)) for c in range(channels)) < 3
    assert 0.05 < float(np.abs(samples).max()) < 0.5


def test_blocks_are_bounded_and_seamless(tmp_path: Path) -> None:
    path = write_sndfile(tmp_path / "long.wav", tone(25.0, 44100), 44100)
    blocks = list(iter_blocks(path, block_s=4.0))
    assert max(len(b) for b in blocks) <= int(4.2 * SAMPLE_RATE)
    joined = np.concatenate(blocks)
    assert len(joined) == 25 * SAMPLE_RATE
    # a stateful resampler leaves no seam: the sine stays smooth across block boundaries
    expected = 0.2 * np.sin(2 * np.pi * 220 * np.arange(len(joined)) / SAMPLE_RATE)
    middle = slice(SAMPLE_RATE, len(joined) - SAMPLE_RATE)
    lag = int(
        np.argmax(
            np.correlate(joined[SAMPLE_RATE : 2 * SAMPLE_RATE], expected[SAMPLE_RATE : SAMPLE_RATE + 200])
        )
    )
    assert np.abs(joined[middle] - np.roll(expected, lag)[middle]).max() < 0.02


def test_windows_cover_the_file_and_cut_in_quiet(tmp_path: Path) -> None:
    # 70 s of tone bursts (0.9 s on, 0.6 s off): a window must end inside a pause
    t = np.arange(70 * 16000) / 16000
    signal = (0.3 * np.sin(2 * np.pi * 300 * t) * ((t % 1.5) < 0.9)).astype(np.float32)
    path = write_sndfile(tmp_path / "bursts.flac", signal[:, None], 16000)
    windows = list(iter_windows(path, window_s=30.0, search_s=5.0))
    assert len(windows) == 3
    assert sum(len(w) for _, w in windows) == len(signal)
    offset = 0.0
    for start, samples in windows:
        assert start == pytest.approx(offset)
        offset += len(samples) / SAMPLE_RATE
    for start, samples in windows[:-1]:
        end = start + len(samples) / SAMPLE_RATE
        assert end % 1.5 >= 0.9, f"window cut at {end:.2f} s falls in a burst"
        assert len(samples) <= 30 * SAMPLE_RATE


def test_quiet_cut_finds_the_silent_frame() -> None:
    samples = np.ones(5 * SAMPLE_RATE, np.float32)
    samples[int(3.2 * SAMPLE_RATE) : int(3.3 * SAMPLE_RATE)] = 0
    cut = quiet_cut(samples, search_s=4.0)
    assert 3.2 * SAMPLE_RATE <= cut <= 3.3 * SAMPLE_RATE


# --------------------------------------------------------------------------
# Bad input: a typed error that says what to do, never a crash
# --------------------------------------------------------------------------


def _truncated_m4a(p: Path) -> Path:
    full = write_av(p / "full.m4a", tone(SECONDS, 44100, 2), 44100)
    (p / "cut.m4a").write_bytes(full.read_bytes()[:3000])
    return p / "cut.m4a"


def _header_only_wav(p: Path) -> Path:
    full = write_sndfile(p / "full.wav", tone(1.0, 16000), 16000)
    (p / "head.wav").write_bytes(full.read_bytes()[:44])
    return p / "head.wav"


BAD: dict[str, tuple[Callable[[Path], Path], type[InputError], str]] = {
    "zero-length file": (lambda p: _write(p / "zero.wav", b""), UnreadableMediaError, "empty"),
    "random bytes named mp3": (
        lambda p: _write(p / "junk.mp3", b"\xff\xfb" + bytes(range(256)) * 20),
        UnreadableMediaError,
        "not readable audio",
    ),
    "text named m4a": (
        lambda p: _write(p / "junk.m4a", b"hello world" * 100),
        UnreadableMediaError,
        "convert",
    ),
    "truncated m4a": (_truncated_m4a, UnreadableMediaError, "truncated"),
    "wav header without samples": (_header_only_wav, UnreadableMediaError, "no audio samples"),
    "unknown codec in a wav": (lambda p: unknown_codec_wav(p / "odd.wav"), UnsupportedMediaError, "codec"),
    "video without a sound track": (
        lambda p: write_av(p / "mute.mp4", None, 48000, video_frames=20),
        UnsupportedMediaError,
        "no audio track",
    ),
}


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("name", BAD)
def test_bad_files_raise_typed_errors_that_say_what_to_do(name: str, tmp_path: Path) -> None:
    make, error, words = BAD[name]
    path = make(tmp_path)
    with pytest.raises(error, match=words) as caught:
        load_audio(path)
    assert str(path) in str(caught.value)


def test_probe_reports_a_video_without_sound_instead_of_failing(tmp_path: Path) -> None:
    info = probe(write_av(tmp_path / "mute.mp4", None, 48000, video_frames=20))
    assert not info.has_audio
    assert info.duration == 0.0


def test_truncated_wav_gives_the_audio_it_holds(tmp_path: Path) -> None:
    full = write_sndfile(tmp_path / "full.wav", tone(SECONDS, 44100, 2), 44100)
    cut = tmp_path / "cut.wav"
    cut.write_bytes(full.read_bytes()[: 44 + 44100 * 4])  # header + the first second
    assert len(load_audio(cut)) / SAMPLE_RATE == pytest.approx(1.0, abs=0.01)


def test_max_seconds_stops_decoding_early(tmp_path: Path) -> None:
    path = write_sndfile(tmp_path / "a.flac", tone(30.0, 16000), 16000)
    assert len(load_audio(path, max_seconds=2.5)) == int(2.5 * SAMPLE_RATE)
