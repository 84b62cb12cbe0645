"""Groundings: where an entity or trigger is in its media. A discriminated union on ``kind``."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Box = tuple[float, float, float, float]
"""A box as pixel corners ``(x0, y0, x1, y1)``, x1 and y1 exclusive."""


def _check_box(box: Box) -> None:
    x0, y0, x1, y1 = box
    if x1 < x0 or y1 < y0:
        raise ValueError(f"box {box} has x1 < x0 or y1 < y0: boxes are (x0, y0, x1, y1) corners")


class RLE(BaseModel):
    """A binary mask as COCO compressed run-length encoding (``pycocotools.mask`` compatible)."""

    model_config = ConfigDict(frozen=True)

    size: tuple[int, int] = Field(description="(height, width) of the mask")
    counts: str = Field(description="COCO compressed RLE string (column-major runs)")


class TextSpan(BaseModel):
    """A span of the input text: character offsets ``[start, end)`` and the slice they cut."""

    model_config = ConfigDict(frozen=True)

    kind: Literal["text"] = "text"
    media: Literal["text"] = "text"
    start: int = Field(ge=0)
    end: int = Field(ge=0)
    text: str
    score: float | None = None

    @model_validator(mode="after")
    def _ordered(self) -> TextSpan:
        if self.end < self.start:
            raise ValueError(f"text span end {self.end} < start {self.start}")
        if len(self.text) != self.end - self.start:
            raise ValueError(f"text {self.text!r} does not have the span's length {self.end - self.start}")
        return self


class ImageRegion(BaseModel):
    """A region of an image: box, optional mask and the tool's confidence."""

    model_config = ConfigDict(frozen=True)

    kind: Literal["image"] = "image"
    media: str = Field(pattern=r"^image:[0-9]+$")
    box: Box
    mask: RLE | None = None
    score: float = Field(ge=0.0, le=1.0)
    label: str | None = Field(default=None, description="what the backend saw there, e.g. a detector class")

    @model_validator(mode="after")
    def _valid_box(self) -> ImageRegion:
        _check_box(self.box)
        return self


class AudioSpan(BaseModel):
    """A time span of an audio track, in seconds."""

    model_config = ConfigDict(frozen=True)

    kind: Literal["audio"] = "audio"
    media: str = Field(pattern=r"^(audio|video):[0-9]+$")
    start: float = Field(ge=0.0)
    end: float = Field(ge=0.0)
    score: float = Field(ge=0.0, le=1.0)
    text: str | None = Field(default=None, description="what was heard in the span")

    @model_validator(mode="after")
    def _ordered(self) -> AudioSpan:
        if self.end < self.start:
            raise ValueError(f"audio span end {self.end} < start {self.start}")
        return self


class TrackFrame(BaseModel):
    """One frame of a video track."""

    model_config = ConfigDict(frozen=True)

    frame: int = Field(ge=0, description="frame index in the decoded video")
    time: float | None = Field(default=None, ge=0.0, description="seconds from the start, when known")
    box: Box
    mask: RLE | None = None
    score: float = Field(ge=0.0, le=1.0)

    @model_validator(mode="after")
    def _valid_box(self) -> TrackFrame:
        _check_box(self.box)
        return self


class VideoTrack(BaseModel):
    """An object followed through a video: a box and a mask per frame where it is visible."""

    model_config = ConfigDict(frozen=True)

    kind: Literal["video"] = "video"
    media: str = Field(pattern=r"^video:[0-9]+$")
    frames: list[TrackFrame] = Field(min_length=1)
    score: float = Field(ge=0.0, le=1.0)


Grounding = Annotated[TextSpan | ImageRegion | AudioSpan | VideoTrack, Field(discriminator="kind")]
GroundingKind = Literal["text", "image", "audio", "video"]
