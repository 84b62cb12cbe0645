"""Checking and probing media files before any model sees them.

Every problem becomes a typed InputError that says what to do; a readable file gets its basic facts
(image size, audio duration, frame count) without loading a model.
"""

from __future__ import annotations

import os
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from reamo.errors import (
    EmptyInputError,
    MediaNotFoundError,
    UnreadableMediaError,
    UnsupportedMediaError,
)
from reamo.schemas import AudioPerception, ImagePerception, Inputs, MediaInput, Modality, VideoPerception

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff")
AUDIO_SUFFIXES = (".wav", ".flac", ".mp3", ".ogg", ".oga", ".opus", ".m4a", ".aac")
VIDEO_SUFFIXES = (".mp4", ".m4v", ".avi", ".webm", ".mov", ".mkv")
SUFFIXES: dict[Modality, tuple[str, ...]] = {
    "image": IMAGE_SUFFIXES,
    "audio": AUDIO_SUFFIXES + VIDEO_SUFFIXES,
    "video": VIDEO_SUFFIXES,
}
MAX_IMAGE_PIXELS = 100_000_000
"""Images above this many pixels are refused (decompression bombs)."""


def check_inputs(inputs: Inputs) -> None:
    """Raise a typed InputError for empty inputs or any media that is missing, unreadable or unsupported."""
    if inputs.is_empty():
        raise EmptyInputError(
            "Nothing to extract from: give text, or an image, audio or video file "
            '(e.g. `reamo extract --task ner --text "Obama met Merkel."`).'
        )
    for item in inputs.media:
        check_media(item)


def check_media(item: MediaInput) -> None:
    """Check that one media path exists, can be read and has a supported format."""
    path, modality = item.path, item.modality
    if not path.exists():
        raise MediaNotFoundError(
            f"{item.id}: {str(path)!r} does not exist. Check the path (relative paths are "
            f"resolved from {os.getcwd()!r})."
        )
    if path.is_dir():
        if modality != "video":
            raise UnsupportedMediaError(
                f"{item.id}: {str(path)!r} is a folder; only a video may be a "
                f"folder of frames: give a single {modality} file."
            )
        if not frame_files(path):
            raise UnreadableMediaError(
                f"{item.id}: the folder {str(path)!r} has no frames; put image "
                "files named 00000.jpg, 00001.jpg, ... in it "
                f"({', '.join(IMAGE_SUFFIXES)})."
            )
        return
    if path.suffix.lower() not in SUFFIXES[modality]:
        raise UnsupportedMediaError(
            f"{item.id}: {path.name!r} is not a supported {modality} format; use one of "
            f"{', '.join(SUFFIXES[modality])} (convert it first, e.g. with ffmpeg)."
        )
    if not os.access(path, os.R_OK):
        raise UnreadableMediaError(f"{item.id}: {str(path)!r} is not readable; check its permissions.")
    if path.stat().st_size == 0:
        raise UnreadableMediaError(f"{item.id}: {str(path)!r} is empty (0 bytes); give a complete file.")


def frame_files(folder: Path) -> list[Path]:
    """The image files of a frame folder, in name order."""
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)


def fingerprint(item: MediaInput) -> str:
    """Identifies a media file's content version cheaply (path, size, mtime): perception is cached by it."""
    stat = item.path.stat()
    return f"{item.path.resolve()}:{stat.st_size}:{stat.st_mtime_ns}"


def open_image(path: Path, *, max_pixels: int = MAX_IMAGE_PIXELS) -> Image.Image:
    """Open an image as RGB with EXIF rotation applied; typed errors for bombs and corrupt files."""
    try:
        with Image.open(path) as img:
            if img.width * img.height > max_pixels:
                raise UnreadableMediaError(
                    f"{str(path)!r} has {img.width}x{img.height} pixels, over the limit of {max_pixels:,}; "
                    "downscale it first or raise the limit in the config (max_image_pixels)."
                )
            from PIL import ImageOps

            img.load()
            return ImageOps.exif_transpose(img).convert("RGB")
    except UnidentifiedImageError as exc:
        raise UnreadableMediaError(
            f"{str(path)!r} is not a readable image (corrupt or not an image file); "
            "check the file, or convert it to PNG or JPEG."
        ) from exc
    except (OSError, SyntaxError, Image.DecompressionBombError) as exc:
        raise UnreadableMediaError(
            f"{str(path)!r} could not be decoded: {exc}. Check that the file is "
            "complete (not truncated), or convert it again."
        ) from exc


def probe_image(item: MediaInput, *, max_pixels: int = MAX_IMAGE_PIXELS) -> ImagePerception:
    img = open_image(item.path, max_pixels=max_pixels)
    return ImagePerception(media=item.id, width=img.width, height=img.height)


def probe_audio(item: MediaInput) -> AudioPerception:
    """Duration, rate and channels of an audio file (formats libsndfile reads; others report no duration)."""
    import soundfile

    from reamo.quiet import sndfile_noise_filtered

    try:
        with sndfile_noise_filtered(item.path):
            info = soundfile.info(str(item.path))
    except (RuntimeError, soundfile.LibsndfileError) as exc:
        if item.path.suffix.lower() in (".m4a", ".aac", *VIDEO_SUFFIXES):
            return AudioPerception(media=item.id, duration=0.0)
        raise UnreadableMediaError(
            f"{item.id}: {str(item.path)!r} is not readable audio: {exc}; check the "
            "file, or convert it to WAV or FLAC (e.g. with ffmpeg)."
        ) from exc
    return AudioPerception(
        media=item.id,
        duration=float(info.duration),
        sample_rate=int(info.samplerate),
        channels=int(info.channels),
    )


def probe_video(item: MediaInput, *, max_pixels: int = MAX_IMAGE_PIXELS) -> VideoPerception:
    """Frame count and size of a frame folder; a video file is checked for a known container signature."""
    if item.path.is_dir():
        frames = frame_files(item.path)
        first = open_image(frames[0], max_pixels=max_pixels)
        return VideoPerception(media=item.id, width=first.width, height=first.height, frame_count=len(frames))
    if not _is_video_container(_head(item.path)):
        raise UnreadableMediaError(
            f"{item.id}: {str(item.path)!r} does not look like a video container "
            "(mp4, mov, avi, webm, mkv); check that it is not corrupt or misnamed, "
            "or convert it to mp4 (e.g. with ffmpeg)."
        )
    return VideoPerception(media=item.id)


def _head(path: Path, n: int = 16) -> bytes:
    with path.open("rb") as f:
        return f.read(n)


def _is_video_container(head: bytes) -> bool:
    return (
        head[4:8] == b"ftyp"  # mp4, mov, m4v
        or head[4:8] in (b"moov", b"mdat", b"wide", b"free")  # older QuickTime
        or (head[:4] == b"RIFF" and head[8:12] == b"AVI ")
        or head[:4] == b"\x1a\x45\xdf\xa3"  # Matroska / WebM (EBML)
    )
