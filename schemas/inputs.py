"""The inputs of one extraction: text and media, each media item with an id such as ``image:0``."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Modality = Literal["text", "image", "audio", "video"]
MEDIA_MODALITIES: tuple[Modality, ...] = ("image", "audio", "video")
TEXT_ID = "text"
MEDIA_ID_PATTERN = r"^(text|(image|audio|video):[0-9]+)$"
_MEDIA_ID = re.compile(MEDIA_ID_PATTERN)
PathArg = str | Path | list[str | Path] | tuple[str | Path, ...]


def media_id(modality: Modality, index: int) -> str:
    """The id of the ``index``-th item of a modality (``image:0``); text has the single id ``text``."""
    return TEXT_ID if modality == "text" else f"{modality}:{index}"


def modality_of(mid: str) -> Modality:
    """The modality a media id names; raises ValueError for a malformed id."""
    if not _MEDIA_ID.match(mid):
        raise ValueError(f"malformed media id {mid!r}: expected 'text' or 'image:N', 'audio:N', 'video:N'")
    return mid.split(":", 1)[0]  # type: ignore[return-value]


class MediaInput(BaseModel):
    """One media file (or, for video, a folder of frames) given to an extraction."""

    model_config = ConfigDict(frozen=True)

    id: str = Field(pattern=MEDIA_ID_PATTERN, description="media id, such as image:0")
    path: Path = Field(description="file path; for video also a folder of frames 00000.jpg, 00001.jpg, ...")

    @property
    def modality(self) -> Modality:
        return modality_of(self.id)


class Inputs(BaseModel):
    """Text and media of one extraction. At least one of them must be present."""

    model_config = ConfigDict(frozen=True)

    text: str | None = None
    images: tuple[MediaInput, ...] = ()
    audio: tuple[MediaInput, ...] = ()
    videos: tuple[MediaInput, ...] = ()

    @model_validator(mode="after")
    def _ids_match_modality(self) -> Inputs:
        for modality, items in (("image", self.images), ("audio", self.audio), ("video", self.videos)):
            for index, item in enumerate(items):
                expected = media_id(modality, index)  # type: ignore[arg-type]
                if item.id != expected:
                    raise ValueError(f"{modality} item {index} has id {item.id!r}, expected {expected!r}")
        return self

    @classmethod
    def build(
        cls,
        text: str | None = None,
        image: PathArg | None = None,
        audio: PathArg | None = None,
        video: PathArg | None = None,
    ) -> Inputs:
        """Number the media in the order given: ``image=["a.jpg", "b.jpg"]`` gives image:0 and image:1."""

        def items(modality: Modality, value: PathArg | None) -> tuple[MediaInput, ...]:
            if value is None:
                return ()
            paths = list(value) if isinstance(value, list | tuple) else [value]
            return tuple(MediaInput(id=media_id(modality, i), path=Path(p)) for i, p in enumerate(paths))

        return cls(
            text=text,
            images=items("image", image),
            audio=items("audio", audio),
            videos=items("video", video),
        )

    @property
    def media(self) -> tuple[MediaInput, ...]:
        """All media items, images first, then audio, then video."""
        return self.images + self.audio + self.videos

    def media_ids(self, modality: Modality | None = None) -> list[str]:
        """Ids present in this input, optionally of one modality (``text`` counts when text is given)."""
        ids = ([TEXT_ID] if self.text else []) + [m.id for m in self.media]
        return [i for i in ids if modality is None or modality_of(i) == modality]

    def get(self, mid: str) -> MediaInput:
        """The media item with this id; KeyError lists the ids that exist."""
        for item in self.media:
            if item.id == mid:
                return item
        raise KeyError(f"no media {mid!r} in this input; present: {', '.join(self.media_ids()) or 'none'}")

    @property
    def modalities(self) -> list[Modality]:
        """The modalities present, in the order text, image, audio, video."""
        present = {modality_of(i) for i in self.media_ids()}
        order: tuple[Modality, ...] = ("text", "image", "audio", "video")
        return [m for m in order if m in present]

    def is_empty(self) -> bool:
        return not (self.text and self.text.strip()) and not self.media
