"""Quieter output: native libraries' noise stays off stderr while everything else gets through, and the
tables printed to a pipe keep their names and paths whole."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import numpy as np
import pytest

from reamo.cli import main
from reamo.quiet import native_noise_filtered


def test_native_noise_is_dropped_and_other_stderr_lines_are_kept(capfd: pytest.CaptureFixture[str]) -> None:
    with native_noise_filtered():
        os.write(2, b"INFO: Created TensorFlow Lite XNNPACK delegate for CPU.\n")
        os.write(2, b"[src/libmpg123/id3.c:INT123_parse_new_id3():1089] error: Whoa! ID3v2 frame\n")
        os.write(2, b"Warning: Xing stream size off by more than 1%, fuzzy seeking may be even more fuzzy\n")
        with native_noise_filtered():  # nested or overlapping blocks share one capture
            os.write(
                2, b"W0000 00:00:1796362536.729496   20601 inference_feedback_manager.cc:114] Feedback\n"
            )
        os.write(2, b"error: something the user must see\n")
    os.write(2, b"after\n")
    assert capfd.readouterr().err == "error: something the user must see\nafter\n"


def test_tables_printed_to_a_pipe_keep_their_names_whole(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["tools"]) == 0
    out = capsys.readouterr().out
    for name in ("audio.segment.v1", "AudioSegmentation", "image.segment.v1", "ImageSegmentation"):
        assert name in out
    assert "…" not in out
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    assert "smollm2-135m-onnx-int4" in out
    assert "…" not in out


@pytest.mark.models
def test_an_mp3_decodes_without_libmpg123_notes(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    import soundfile

    from reamo.tools.audio.decode import load_audio, probe

    clean = tmp_path / "clean.mp3"
    tone = (0.2 * np.sin(np.arange(22050) / 22050 * 2 * np.pi * 220)).astype(np.float32)
    soundfile.write(clean, tone, 22050, format="MP3", subtype="MPEG_LAYER_III")
    tagged = tmp_path / "tagged.mp3"  # an ID3 tag whose frame claims more bytes than the tag holds
    tagged.write_bytes(b"ID3\x03\x00\x00\x00\x00\x00\x0a0123456789" + clean.read_bytes())
    cut = tmp_path / "cut.mp3"
    cut.write_bytes(clean.read_bytes()[: clean.stat().st_size // 2])
    for path in (tagged, cut):
        assert probe(path).duration > 0
        assert len(load_audio(path)) > 0
    assert capfd.readouterr().err == ""


@pytest.mark.models
@pytest.mark.skipif(importlib.util.find_spec("mediapipe") is None, reason="needs mediapipe")
def test_the_person_segmenter_loads_and_runs_quietly(capfd: pytest.CaptureFixture[str]) -> None:
    from reamo.tools.vision.masking import PersonSegmenter

    segmenter = PersonSegmenter()
    image = np.zeros((96, 64, 3), np.uint8)
    segmenter(image, (4.0, 4.0, 60.0, 92.0))
    segmenter(image, (4.0, 4.0, 60.0, 92.0))
    assert capfd.readouterr().err == ""
