"""Overlays: PNGs of masks, boxes and labels on an image, and a strip of frames for a video track."""

from __future__ import annotations

import colorsys
import json
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from reamo import masks, media
from reamo.schemas import Entity, ExtractionResult, ImageRegion, Trigger, VideoTrack

STRIP_FRAMES = 6
STRIP_HEIGHT = 160


def _color(i: int) -> tuple[int, int, int]:
    r, g, b = colorsys.hsv_to_rgb((i * 0.618) % 1.0, 0.75, 1.0)
    return int(r * 255), int(g * 255), int(b * 255)


def _concepts(result: ExtractionResult) -> list[Entity | Trigger]:
    return [*result.entities, *(v.trigger for v in result.events)]


Region = tuple[str, Sequence[float], "Mapping[str, object] | None"]


def draw_regions(image: Image.Image, regions: Sequence[Region]) -> Image.Image:
    """Blend each mask in its colour and draw its box and label."""
    canvas = np.asarray(image.convert("RGB"), dtype=np.float32)
    boxes = []
    for i, (label, box, mask) in enumerate(regions):
        if mask is not None:
            m = masks.decode(mask)
            if m.shape == canvas.shape[:2]:
                canvas[m] = 0.5 * canvas[m] + 0.5 * np.array(_color(i), dtype=np.float32)
        boxes.append((label, box, _color(i)))
    out = Image.fromarray(canvas.clip(0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(out)
    for label, box, color in boxes:
        draw.rectangle((box[0], box[1], box[2], box[3]), outline=color, width=2)
        # the label on a filled tab above the box (inside it at the top edge), readable on any photo
        x, y = box[0], max(0.0, box[1] - 14)
        tab = draw.textbbox((x + 3, y + 1), label)
        draw.rectangle((x, y, tab[2] + 3, tab[3] + 2), fill=color)
        draw.text((x + 3, y + 1), label, fill=(0, 0, 0))
    return out


def image_overlay(result: ExtractionResult, media_id: str) -> Image.Image | None:
    """The image with every region grounded in it, or None when nothing is grounded there."""
    regions = [
        (f"{c.text} ({getattr(c, 'label', 'trigger')})", g.box, g.mask.model_dump() if g.mask else None)
        for c in _concepts(result)
        for g in c.groundings
        if isinstance(g, ImageRegion) and g.media == media_id
    ]
    if not regions:
        return None
    return draw_regions(media.open_image(result.inputs.get(media_id).path), regions)


def track_strip(result: ExtractionResult, media_id: str, frames: int = STRIP_FRAMES) -> Image.Image | None:
    """Evenly spaced frames of a video with its tracks drawn, side by side (frame folders and files)."""
    tracks = [
        (c, g)
        for c in _concepts(result)
        for g in c.groundings
        if isinstance(g, VideoTrack) and g.media == media_id
    ]
    if not tracks:
        return None
    indices = sorted({f.frame for _, t in tracks for f in t.frames})
    picked = [
        indices[round(i * (len(indices) - 1) / max(frames - 1, 1))] for i in range(min(frames, len(indices)))
    ]
    images = read_frames(result.inputs.get(media_id).path, sorted(set(picked)))
    tiles = []
    for index, img in images.items():
        regions: list[Region] = [
            (c.text, f.box, f.mask.model_dump() if f.mask else None)
            for c, t in tracks
            for f in t.frames
            if f.frame == index
        ]
        tile = draw_regions(img, regions)
        tiles.append(tile.resize((max(1, tile.width * STRIP_HEIGHT // tile.height), STRIP_HEIGHT)))
    if not tiles:
        return None
    strip = Image.new("RGB", (sum(t.width for t in tiles), STRIP_HEIGHT))
    x = 0
    for tile in tiles:
        strip.paste(tile, (x, 0))
        x += tile.width
    return strip


def read_frames(path: Path, indices: list[int]) -> dict[int, Image.Image]:
    """Frames by index from a frame folder or, when OpenCV is installed, a video file."""
    if path.is_dir():
        files = media.frame_files(path)
        return {i: media.open_image(files[i]) for i in indices if i < len(files)}
    try:
        import cv2  # optional: the video tools install it
    except ImportError:
        return {}
    cap = cv2.VideoCapture(str(path))
    out = {}
    try:
        for i in indices:
            cap.set(cv2.CAP_PROP_POS_FRAMES, i)
            ok, frame = cap.read()
            if ok:
                out[i] = Image.fromarray(frame[:, :, ::-1])
    finally:
        cap.release()
    return out


def save_overlays(result: ExtractionResult, folder: str | Path) -> list[Path]:
    """Write result.json and one overlay PNG per grounded image and video; returns the files written."""
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    written = [out / "result.json"]
    written[0].write_text(json.dumps(result.model_dump(mode="json"), indent=2), encoding="utf-8")
    for item in result.inputs.images:
        img = image_overlay(result, item.id)
        if img is not None:
            written.append(out / f"{item.id.replace(':', '_')}_overlay.png")
            img.save(written[-1])
    for item in result.inputs.videos:
        strip = track_strip(result, item.id)
        if strip is not None:
            written.append(out / f"{item.id.replace(':', '_')}_tracks.png")
            strip.save(written[-1])
    return written
