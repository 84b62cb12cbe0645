"""Perception backends: turn media into what a text planner can read (objects, OCR, transcripts).

The metadata perceivers here read sizes and durations without a model; the model-based perceivers
(object detection and OCR for images and frames, speech recognition for audio) register the same way.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from pydantic import BaseModel

from reamo import media
from reamo.schemas import BackendInfo, MediaInput, Modality
from reamo.tools.protocol import Resources


@runtime_checkable
class Perceiver(Protocol):
    """Perceives one medium. Returns an ImagePerception, AudioPerception or VideoPerception."""

    modality: Modality

    def describe(self) -> BackendInfo: ...

    def perceive(self, item: MediaInput, resources: Resources) -> BaseModel: ...


class MetadataPerceiver:
    """Size, duration and frame count of a medium, read from the file without any model."""

    def __init__(self, modality: Modality, *, max_image_pixels: int = media.MAX_IMAGE_PIXELS) -> None:
        self.modality = modality
        self.max_image_pixels = max_image_pixels

    def describe(self) -> BackendInfo:
        return BackendInfo(
            role=f"perception:{self.modality}",
            name="metadata",
            detail="file facts only (size, duration, frames); no perception model",
        )

    def perceive(self, item: MediaInput, resources: Resources) -> BaseModel:
        if self.modality == "image":
            return media.probe_image(item, max_pixels=self.max_image_pixels)
        if self.modality == "audio":
            return media.probe_audio(item)
        return media.probe_video(item, max_pixels=self.max_image_pixels)


def default_perceivers(*, max_image_pixels: int = media.MAX_IMAGE_PIXELS) -> dict[Modality, Perceiver]:
    return {m: MetadataPerceiver(m, max_image_pixels=max_image_pixels) for m in ("image", "audio", "video")}
