"""Image and video perception for the planner: detected objects (label, box, score), OCR lines, and for
video the same on sampled frames with the frame count, fps and the sound track's transcript.

Settings come from ``config.perception['image']``: ``min_score`` (0.2), ``ocr`` (true), ``ocr_min_score``
(0.8, for a line spelled as words; see ``legible``); and ``['video']``: ``min_score``, ``frames`` (frames
sampled, 8), ``transcribe`` (true). Video frames are not read for text.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping
from typing import Any

import numpy as np

from reamo import media
from reamo.config import ReamoConfig
from reamo.errors import BackendUnavailableError, InputError
from reamo.schemas import (
    BackendInfo,
    DetectedObject,
    FramePerception,
    ImagePerception,
    MediaInput,
    Modality,
    OcrLine,
    VideoPerception,
)
from reamo.tools.protocol import Resources
from reamo.tools.vision.backends import shared_detector
from reamo.tools.vision.detector import MIN_SCORE
from reamo.tools.vision.video import VideoSource

SAMPLED_FRAMES = 8
OCR_MIN_SCORE = 0.8
"""The floor of a line whose every word is spelled as a word: PP-OCR reads photos' textures as words
at 0.5-0.8 ("sw", "hounalernin.", "onule"), and a line of text makes the planner run (about 1.5 s)."""
SPELLED_MIN_SCORE = OCR_MIN_SCORE
LEGIBLE_MIN_SCORE = 0.95
"""The floor of a line with a word that is not in the dictionary (not a word, a name, a number or a
code): a misreading of text too small or too tilted to read ("OMO HOPPE" for a name tag's "COMO
HOPPER", at 0.87) more often than a name the dictionary lacks. Chosen with benchmarks/ocr_legibility.py
on text drawn onto photos no benchmark scores."""
MIN_OCR_CHARACTERS = 2
"""Letters or digits a line needs (a lone "A" or "F" on a jersey names nothing)."""


def spelled(word: str, dictionary: frozenset[str]) -> bool:
    """A word, a name (in the dictionary), a number or a code with digits (``EBY-584``, ``2676``). Words
    run together (PP-OCR drops the space between capitals: ``PARKAVENUE``) are not split: with the
    dictionary's many names, most misreadings split into words too ("COMOHOPPE")."""
    return any(ch.isdigit() for ch in word) or word.lower() in dictionary


def legible(
    line: OcrLine, spelled_min: float = SPELLED_MIN_SCORE, other_min: float = LEGIBLE_MIN_SCORE
) -> bool:
    """Whether a line of OCR text reads as written words: at least two letters or digits, sure enough,
    and surer still when one of its words is not spelled as a word (a misreading, most often). Without
    a dictionary every line needs ``other_min``."""
    from reamo.tools.vision.ocr import english_words, words_of

    words = words_of(line.text)
    if sum(ch.isalnum() for ch in line.text) < MIN_OCR_CHARACTERS or not words:
        return False
    dictionary = english_words()
    floor = spelled_min if dictionary and all(spelled(w, dictionary) for w in words) else other_min
    return line.score >= floor


def readable(lines: list[OcrLine], min_score: float = SPELLED_MIN_SCORE) -> list[OcrLine]:
    """The OCR lines worth reading (``legible``); ``min_score`` is the floor of a spelled line."""
    return [line for line in lines if legible(line, min_score, max(min_score, LEGIBLE_MIN_SCORE))]


def _objects(resources: Resources, image: Any, min_score: float) -> list[DetectedObject]:
    found = shared_detector(resources).detect(image, min_score=min_score)
    return [DetectedObject(label=d.label, box=d.box, score=round(d.score, 4)) for d in found]


def _ocr(resources: Resources) -> Any:
    from reamo.tools.vision.ocr import RapidOcr

    return resources.get("vision.ocr", RapidOcr)


class ImagePerceiver:
    """CenterNet COCO-80 objects and PP-OCRv4 text lines of an image."""

    modality: Modality = "image"

    def __init__(
        self, settings: Mapping[str, Any] | None = None, *, max_image_pixels: int = media.MAX_IMAGE_PIXELS
    ) -> None:
        settings = settings or {}
        self.min_score = float(settings.get("min_score", MIN_SCORE))
        self.ocr = bool(settings.get("ocr", True))
        self.ocr_min_score = float(settings.get("ocr_min_score", OCR_MIN_SCORE))
        self.max_image_pixels = max_image_pixels

    @classmethod
    def from_config(cls, config: ReamoConfig) -> ImagePerceiver:
        return cls(config.perception.get("image"), max_image_pixels=config.max_image_pixels)

    def describe(self) -> BackendInfo:
        ocr = " + PP-OCRv4 text (rapidocr)" if self.ocr else ""
        return BackendInfo(
            role="perception:image", name="centernet", detail=f"CenterNet COCO-80 objects{ocr}"
        )

    def perceive(self, item: MediaInput, resources: Resources) -> ImagePerception:
        image = np.asarray(media.open_image(item.path, max_pixels=self.max_image_pixels))
        height, width = image.shape[:2]
        lines = []
        if self.ocr:
            try:
                lines = readable(_ocr(resources).read(image), self.ocr_min_score)
            except BackendUnavailableError:
                lines = []  # objects still help the planner; the OCR install is reported by `reamo models`
        return ImagePerception(
            media=item.id,
            width=width,
            height=height,
            objects=_objects(resources, image, self.min_score),
            ocr=lines,
        )


def _transcribe(item: MediaInput, resources: Resources, settings: Mapping[str, Any]) -> Any:
    """The sound track's transcript through the speech tools, when they are installed; else None."""
    if importlib.util.find_spec("reamo.tools.audio") is None:
        return None
    from reamo.tools.audio import transcribe  # type: ignore[attr-defined,unused-ignore]

    return transcribe(item, resources, settings)


class VideoPerceiver:
    """Objects on evenly sampled frames, frame count, fps, and the transcript of the sound track."""

    modality: Modality = "video"

    def __init__(
        self,
        settings: Mapping[str, Any] | None = None,
        *,
        audio: Mapping[str, Any] | None = None,
        max_image_pixels: int = media.MAX_IMAGE_PIXELS,
    ) -> None:
        settings = settings or {}
        self.min_score = float(settings.get("min_score", MIN_SCORE))
        self.frames = max(1, int(settings.get("frames", SAMPLED_FRAMES)))
        self.transcribe = bool(settings.get("transcribe", True))
        self.audio = dict(audio or {})
        self.max_image_pixels = max_image_pixels

    @classmethod
    def from_config(cls, config: ReamoConfig) -> VideoPerceiver:
        return cls(
            config.perception.get("video"),
            audio=config.perception.get("audio"),
            max_image_pixels=config.max_image_pixels,
        )

    def describe(self) -> BackendInfo:
        return BackendInfo(
            role="perception:video",
            name="centernet",
            detail=f"CenterNet COCO-80 objects on {self.frames} sampled frames; transcript of the sound",
        )

    def perceive(self, item: MediaInput, resources: Resources) -> VideoPerception:
        source = VideoSource(item.path, max_pixels=self.max_image_pixels)
        total = source.count_frames()
        if total == 0:
            return VideoPerception(
                media=item.id, width=source.info.width, height=source.info.height, frame_count=0
            )
        wanted = sorted(
            {round(i * (total - 1) / max(1, self.frames - 1)) for i in range(min(self.frames, total))}
        )
        frames = [
            FramePerception(
                frame=i, time=source.time_of(i), objects=_objects(resources, image, self.min_score)
            )
            for i, image in source.frames(set(wanted))
        ]
        transcript = None
        if self.transcribe and not item.path.is_dir():
            try:
                transcript = _transcribe(item, resources, self.audio)
            except (InputError, BackendUnavailableError):
                transcript = None  # the pictures are still perceived when the sound track is not
        return VideoPerception(
            media=item.id,
            width=source.info.width,
            height=source.info.height,
            frame_count=total,
            fps=source.info.fps,
            frames=frames,
            transcript=transcript,
        )
