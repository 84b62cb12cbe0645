"""Text in images: PP-OCRv4 through ``rapidocr-onnxruntime`` (weights in the package).

rapidocr pulls ``opencv-python``, which must not sit beside ``opencv-contrib-python``: it is installed
with ``--no-deps`` (the Makefile does it) and its small pure-Python dependencies are listed in pyproject.
"""

from __future__ import annotations

import importlib.util
import re
import threading
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from reamo.errors import BackendUnavailableError
from reamo.schemas import OcrLine

MIN_SCORE = 0.5
DICTIONARY_PACKAGE = "pocketsphinx"
DICTIONARY_FILE = "model/en-us/cmudict-en-us.dict"
"""CMU's pronouncing dictionary in the pocketsphinx wheel (a dependency of the speech tools): 134k English
words and names, the spelling check of a line of OCR text."""


@cache
def english_words() -> frozenset[str]:
    """The lower-case words of the CMU dictionary; empty when pocketsphinx is not installed (then no line
    is judged by its spelling)."""
    spec = importlib.util.find_spec(DICTIONARY_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return frozenset()
    path = Path(next(iter(spec.submodule_search_locations))) / DICTIONARY_FILE
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return frozenset()
    return frozenset(re.sub(r"\(\d+\)$", "", line.split(" ", 1)[0]) for line in text.splitlines() if line)


def words_of(text: str) -> list[str]:
    """The words of a line of OCR text: runs of letters, digits and inner apostrophes or hyphens."""
    return re.findall(r"[^\W_]+(?:['\-][^\W_]+)*", text)


class RapidOcr:
    """``read(rgb)`` returns the text lines with their boxes and scores, top to bottom."""

    def __init__(self, min_score: float = MIN_SCORE) -> None:
        try:
            from rapidocr_onnxruntime import RapidOCR
        except ImportError as exc:
            raise BackendUnavailableError(
                "OCR needs rapidocr-onnxruntime: pip install --no-deps rapidocr-onnxruntime==1.4.4 "
                "pyclipper shapely pyyaml six (not its opencv-python dependency)"
            ) from exc
        self._engine: Any = RapidOCR()
        self._lock = threading.Lock()
        self.min_score = min_score

    def read(self, image: npt.NDArray[np.uint8]) -> list[OcrLine]:
        with self._lock:
            found, _ = self._engine(np.ascontiguousarray(image[:, :, ::-1]))
        lines = []
        for points, text, score in found or []:
            pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
            s = float(score)
            if not str(text).strip() or s < self.min_score:
                continue
            box = (
                float(pts[:, 0].min()),
                float(pts[:, 1].min()),
                float(pts[:, 0].max()),
                float(pts[:, 1].max()),
            )
            lines.append(OcrLine(text=str(text).strip(), box=box, score=min(1.0, max(0.0, s))))
        return sorted(lines, key=lambda line: (line.box[1], line.box[0]))
