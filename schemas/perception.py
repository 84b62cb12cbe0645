"""What the perceive step made of the media, in a form a text planner can read."""

from __future__ import annotations

from pydantic import BaseModel, Field

from reamo.schemas.groundings import Box


class Word(BaseModel):
    text: str
    start: float = Field(ge=0.0)
    end: float = Field(ge=0.0)
    score: float | None = None


class Transcript(BaseModel):
    """Speech recognised in an audio track, with word times."""

    text: str
    words: list[Word] = Field(default_factory=list)
    language: str | None = None


class DetectedObject(BaseModel):
    label: str
    box: Box
    score: float = Field(ge=0.0, le=1.0)


class OcrLine(BaseModel):
    text: str
    box: Box
    score: float = Field(ge=0.0, le=1.0)


class ImagePerception(BaseModel):
    media: str
    width: int = Field(gt=0)
    height: int = Field(gt=0)
    objects: list[DetectedObject] = Field(default_factory=list)
    ocr: list[OcrLine] = Field(default_factory=list)


class AudioPerception(BaseModel):
    media: str
    duration: float = Field(ge=0.0, description="seconds")
    sample_rate: int | None = None
    channels: int | None = None
    transcript: Transcript | None = None


class FramePerception(BaseModel):
    frame: int = Field(ge=0)
    time: float | None = None
    objects: list[DetectedObject] = Field(default_factory=list)


class VideoPerception(BaseModel):
    media: str
    width: int | None = None
    height: int | None = None
    frame_count: int | None = Field(default=None, description="frames in the video, when known")
    fps: float | None = None
    frames: list[FramePerception] = Field(default_factory=list, description="sampled frames")
    transcript: Transcript | None = None


class Perception(BaseModel):
    """Everything perceived, keyed by media id. Cached in the graph state across chat turns."""

    images: dict[str, ImagePerception] = Field(default_factory=dict)
    audio: dict[str, AudioPerception] = Field(default_factory=dict)
    videos: dict[str, VideoPerception] = Field(default_factory=dict)

    def transcript(self, media: str) -> Transcript | None:
        """The transcript perceived for an audio track or a video's sound, if any."""
        holder = self.audio.get(media) or self.videos.get(media)
        return holder.transcript if holder is not None else None
