"""Perception backends: turn media into what a text planner can read (objects, OCR, transcripts).

The metadata perceivers here read sizes and durations without a model; the model-based perceivers
(object detection and OCR for images and frames, speech recognition for audio) register the same way.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, runtime_checkable

from pydantic import BaseModel

from reamo import media
from reamo.config import ReamoConfig
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


PerceiverFactory = Callable[[ReamoConfig], Perceiver]


def metadata_perceivers(config: ReamoConfig | None = None) -> dict[Modality, Perceiver]:
    """File facts only, for every media modality: no model is loaded."""
    pixels = (config or ReamoConfig()).max_image_pixels
    return {m: MetadataPerceiver(m, max_image_pixels=pixels) for m in ("image", "audio", "video")}


def model_perceivers() -> dict[Modality, PerceiverFactory]:
    """The model-based perceivers by modality (speech recognition; object detection and OCR). Each
    perception backend adds its factory here; a factory reads its settings from ``config.perception``."""
    from reamo.tools.audio import SpeechPerceiver
    from reamo.tools.vision import ImagePerceiver, VideoPerceiver

    factories: dict[Modality, PerceiverFactory] = {
        "audio": SpeechPerceiver.from_config,
        "image": ImagePerceiver.from_config,
        "video": VideoPerceiver.from_config,
    }
    return factories


def default_perceivers(config: ReamoConfig | None = None) -> dict[Modality, Perceiver]:
    """The model-based perceiver of each modality where one exists (unless ``config.perceive`` is off),
    else the metadata perceiver. Models load lazily, on the first medium of their modality."""
    config = config or ReamoConfig()
    perceivers = metadata_perceivers(config)
    if config.perceive:
        perceivers.update({m: factory(config) for m, factory in model_perceivers().items()})
    return perceivers
