"""Text in images: PP-OCRv4 through ``rapidocr-onnxruntime`` (weights in the package).

rapidocr pulls ``opencv-python``, which must not sit beside ``opencv-contrib-python``: it is installed
with ``--no-deps`` (the Makefile does it) and its small pure-Python dependencies are listed in pyproject.
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np
import numpy.typing as npt

from reamo.errors import BackendUnavailableError
from reamo.schemas import OcrLine

MIN_SCORE = 0.5


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
