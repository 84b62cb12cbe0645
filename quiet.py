"""Library noise that a user cannot act on stays off the terminal; REAMO's own warnings and errors reach it.

Where a library has a switch, it is set where the library loads: onnxruntime sessions get a
``log_severity_level``, transformers is set to errors only (``quiet_transformers``), OpenCV and the FFmpeg
inside it read ``OPENCV_LOG_LEVEL`` and ``OPENCV_FFMPEG_LOGLEVEL`` (``quiet_native_logs``, before cv2
loads: a broken video's "moov atom not found" is REAMO's own error instead). Native code with no switch
writes to the process's stderr directly: libmpg123 inside libsndfile on MP3s ("Warning: Xing stream size
off", "[src/libmpg123/id3.c:...]"), and TensorFlow Lite and absl inside MediaPipe, which ignore
``TF_CPP_MIN_LOG_LEVEL`` and ``GLOG_minloglevel``. Those calls run inside ``native_noise_filtered``: file
descriptor 2 goes to a temporary file meanwhile, and afterwards every line that is not a known noise line
(``NOISE``) goes on to the real stderr, so nothing else is lost, only held back for the call's length.
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext, suppress
from pathlib import Path
from typing import IO

NATIVE_LOG_ENVIRONMENT = {
    "OPENCV_LOG_LEVEL": "ERROR",
    "OPENCV_FFMPEG_LOGLEVEL": "-8",  # AV_LOG_QUIET
}
"""Log levels that native libraries read from the environment; a value the user set is kept."""

NOISE = re.compile(
    rb"^(?:"
    rb"INFO: Created TensorFlow Lite .*delegate"  # TensorFlow Lite in MediaPipe
    rb"|WARNING: All log messages before absl::InitializeLog\(\) is called"  # absl in MediaPipe
    rb"|[IWE]\d{4} [\d:.]+ +\d+ \S+\.cc:\d+\] "  # absl/glog lines from MediaPipe's C++
    rb"|\[src/libmpg123/"  # libmpg123's messages, prefixed with their source file
    rb"|(?:Note|Warning): (?:Xing stream size|Illegal Audio-MPEG-Header|Trying to resync|Skipped \d+ bytes"
    rb"|Encountered more data after announced end of track|Big change)"  # libmpg123's notes
    rb")"
)
"""Lines that native libraries write to stderr and a user cannot act on."""

_lock = threading.Lock()
_depth = 0
_saved_fd: int | None = None
_capture: IO[bytes] | None = None


def quiet_native_logs() -> None:
    """Set the native libraries' log levels (``NATIVE_LOG_ENVIRONMENT``) unless the user set them."""
    for name, value in NATIVE_LOG_ENVIRONMENT.items():
        os.environ.setdefault(name, value)


def quiet_transformers() -> None:
    """transformers logs errors only: its warnings (sequence lengths, unused weights, generation
    settings) are about models REAMO configures, not about anything a user did."""
    from transformers.utils import logging

    logging.set_verbosity_error()  # type: ignore[no-untyped-call]


def _flush() -> None:
    for stream in (sys.stdout, sys.stderr):
        with suppress(AttributeError, OSError, ValueError):
            stream.flush()


def _start() -> None:
    global _saved_fd, _capture
    _flush()
    capture = tempfile.TemporaryFile()  # noqa: SIM115  # open across blocks: _stop closes it
    try:
        saved = os.dup(2)
    except OSError:  # no stderr to guard
        capture.close()
        return
    os.dup2(capture.fileno(), 2)
    _saved_fd, _capture = saved, capture


def _stop() -> None:
    global _saved_fd, _capture
    if _saved_fd is None or _capture is None:
        return
    _flush()
    os.dup2(_saved_fd, 2)
    os.close(_saved_fd)
    _capture.seek(0)
    kept = b"".join(line for line in _capture.read().splitlines(keepends=True) if not NOISE.match(line))
    _capture.close()
    _saved_fd = _capture = None
    if kept:
        os.write(2, kept)


def sndfile_noise_filtered(path: Path) -> AbstractContextManager[None]:
    """``native_noise_filtered`` around libsndfile on an MP3, whose libmpg123 writes to stderr; nothing
    around the other formats."""
    return native_noise_filtered() if path.suffix.lower() == ".mp3" else nullcontext()


@contextmanager
def native_noise_filtered() -> Iterator[None]:
    """Run a native call whose stderr lines that match ``NOISE`` are dropped; the others are written
    after it. Thread-safe: overlapping blocks share one capture, written out when the last one ends."""
    global _depth
    with _lock:
        if _depth == 0:
            _start()
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0:
                _stop()
