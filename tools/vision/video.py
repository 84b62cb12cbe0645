"""Video decoding with bounded memory: one frame at a time from a file (OpenCV) or a folder of frames.

Corrupt, truncated, zero-frame and oversized videos become typed ``UnreadableMediaError``s saying what to do.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from reamo import media
from reamo.errors import BackendUnavailableError, UnreadableMediaError

MAX_FRAMES = 18_000
"""Frames read from one video at most (10 minutes at 30 fps); later frames are ignored."""
Frame = npt.NDArray[np.uint8]


def _cv2() -> Any:
    try:
        import cv2
    except ImportError as exc:
        raise BackendUnavailableError(
            "Reading video files needs OpenCV: pip install opencv-contrib-python==5.1.0.95"
        ) from exc
    return cv2


@dataclass(frozen=True)
class VideoInfo:
    """What a video says about itself before decoding (frame count and fps may be unknown: None)."""

    width: int
    height: int
    frame_count: int | None
    fps: float | None


class VideoSource:
    """Frames of a video file or a frame folder, decoded lazily in order as RGB uint8 arrays."""

    def __init__(
        self, path: Path, *, max_pixels: int = media.MAX_IMAGE_PIXELS, max_frames: int = MAX_FRAMES
    ) -> None:
        self.path = path
        self.max_pixels = max_pixels
        self.max_frames = max_frames
        if not path.exists():
            raise UnreadableMediaError(f"{str(path)!r} does not exist; check the path.")
        self.info = self._probe()

    def _probe(self) -> VideoInfo:
        if self.path.is_dir():
            files = media.frame_files(self.path)
            if not files:
                raise UnreadableMediaError(
                    f"the folder {str(self.path)!r} has no frames; put image files named 00000.jpg, "
                    "00001.jpg, ... in it."
                )
            first = media.open_image(files[0], max_pixels=self.max_pixels)
            return VideoInfo(first.width, first.height, len(files), None)
        cv2 = _cv2()
        cap = cv2.VideoCapture(str(self.path))
        try:
            if not cap.isOpened():
                raise UnreadableMediaError(
                    f"{str(self.path)!r} could not be opened as a video (corrupt, truncated or an unknown "
                    "codec); check the file or convert it to mp4 (H.264), e.g. with ffmpeg."
                )
            width = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH))
            height = int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
            count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
            fps = float(cap.get(cv2.CAP_PROP_FPS))
        finally:
            cap.release()
        if width <= 0 or height <= 0:
            raise UnreadableMediaError(
                f"{str(self.path)!r} has no video stream (or a stream with no size); give a video with "
                "frames, or convert it with ffmpeg."
            )
        if width * height > self.max_pixels:
            raise UnreadableMediaError(
                f"{str(self.path)!r} has {width}x{height} frames, over the limit of {self.max_pixels:,} "
                "pixels; downscale it first (e.g. ffmpeg -vf scale=1280:-2) or raise max_image_pixels."
            )
        return VideoInfo(width, height, count if count > 0 else None, fps if 0 < fps < 1000 else None)

    def time_of(self, index: int) -> float | None:
        return index / self.info.fps if self.info.fps else None

    def frames(self, indices: set[int] | None = None) -> Iterator[tuple[int, Frame]]:
        """``(index, frame)`` in order; with ``indices``, only those (others are skipped, not kept)."""
        if self.path.is_dir():
            yield from self._folder_frames(indices)
            return
        yield from self._file_frames(indices)

    def _folder_frames(self, indices: set[int] | None) -> Iterator[tuple[int, Frame]]:
        size = None
        for i, file in enumerate(media.frame_files(self.path)[: self.max_frames]):
            if indices is not None and i not in indices:
                continue
            img = media.open_image(file, max_pixels=self.max_pixels)
            if size is None:
                size = img.size
            elif img.size != size:
                img = img.resize(size)
            yield i, np.asarray(img)

    def _file_frames(self, indices: set[int] | None) -> Iterator[tuple[int, Frame]]:
        cv2 = _cv2()
        cap = cv2.VideoCapture(str(self.path))
        read = 0
        try:
            while read < self.max_frames:
                if indices is not None and read not in indices:
                    if not cap.grab():
                        break
                    read += 1
                    continue
                ok, frame = cap.read()
                if not ok or frame is None:
                    break
                yield read, np.ascontiguousarray(frame[:, :, ::-1])
                read += 1
        finally:
            cap.release()
        if read == 0:
            raise UnreadableMediaError(
                f"{str(self.path)!r} has no decodable frames (zero frames, or corrupt); check the file or "
                "convert it to mp4 (H.264), e.g. with ffmpeg."
            )

    def count_frames(self) -> int:
        """The number of frames, by grabbing them when the container does not say (bounded by max_frames)."""
        if self.info.frame_count is not None:
            return min(self.info.frame_count, self.max_frames)
        cap = _cv2().VideoCapture(str(self.path))
        n = 0
        try:
            while n < self.max_frames and cap.grab():
                n += 1
        finally:
            cap.release()
        return n
