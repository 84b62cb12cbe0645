"""Shared fixtures: sample media the tests make, fake grounding tools and scripted planners."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile
from PIL import Image

from reamo import masks
from reamo.agent import ScriptedPlanner
from reamo.schemas import RLE, AudioSpan, ImageRegion, TrackFrame, VideoTrack
from reamo.sdk import Reamo
from reamo.tools import ToolArgs, ToolContext, ToolRegistry, tool
from reamo.tools.perception import metadata_perceivers

IMAGE_SIZE = (64, 48)  # width, height
AUDIO_SECONDS = 2.0
VIDEO_FRAMES = 5


@pytest.fixture
def media_dir(tmp_path: Path) -> Path:
    """A folder with photo.png (64x48), speech.wav (2 s, 16 kHz), clip/ (5 frames) and broken files."""
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 255, (IMAGE_SIZE[1], IMAGE_SIZE[0], 3), dtype=np.uint8)).save(
        tmp_path / "photo.png"
    )
    t = np.linspace(0, AUDIO_SECONDS, int(16000 * AUDIO_SECONDS), endpoint=False)
    soundfile.write(tmp_path / "speech.wav", 0.1 * np.sin(2 * np.pi * 220 * t), 16000)
    clip = tmp_path / "clip"
    clip.mkdir()
    for i in range(VIDEO_FRAMES):
        Image.new("RGB", IMAGE_SIZE, (i * 40, 0, 0)).save(clip / f"{i:05d}.jpg")
    (tmp_path / "empty.png").write_bytes(b"")
    (tmp_path / "corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 20)
    (tmp_path / "notes.txt").write_text("not media")
    return tmp_path


class SegmentArgs(ToolArgs):
    max_instances: int = 1


@tool("fake.image.segment.v1", module="ImageSegmentation", modality="image")
def fake_segment(args: SegmentArgs, ctx: ToolContext) -> list[ImageRegion]:
    """Segment what the instruction names (fake: knows 'Obama' and 'dog')."""
    boxes = {
        "obama": (2.0, 2.0, 30.0, 40.0),
        "dog": (30.0, 10.0, 60.0, 44.0),
        "the man": (2.0, 2.0, 30.0, 40.0),
    }
    box = boxes.get(args.instruction.lower())
    if box is None:
        return []
    img = ctx.perception.images[args.target]
    mask = masks.from_box(box, img.height, img.width)
    return [
        ImageRegion(
            media=args.target,
            box=box,
            mask=RLE(size=tuple(mask["size"]), counts=mask["counts"]),
            score=0.9,
            label=args.instruction,
        )
    ]


@tool("fake.audio.segment.v1", module="AudioSegmentation", modality="audio")
def fake_audio(args: ToolArgs, ctx: ToolContext) -> list[AudioSpan]:
    """Find where the instruction is spoken (fake: everything is heard at 0.5-1.0 s)."""
    return [AudioSpan(media=args.target, start=0.5, end=1.0, score=0.8, text=args.instruction)]


@tool("fake.video.track.v1", module="VideoTracking", modality="video")
def fake_track(args: ToolArgs, ctx: ToolContext) -> list[VideoTrack]:
    """Track the instruction through the video (fake: a fixed box on every frame)."""
    frames = [TrackFrame(frame=i, box=(1.0, 1.0, 20.0, 20.0), score=0.7) for i in range(VIDEO_FRAMES)]
    return [VideoTrack(media=args.target, frames=frames, score=0.7)]


@tool("fake.image.broken.v1", module="ImageSegmentation", modality="image")
def broken_segment(args: ToolArgs, ctx: ToolContext) -> list[ImageRegion]:
    """Segment (fake: fails for 'Merkel', works like fake_segment otherwise)."""
    if args.instruction == "Merkel":
        raise RuntimeError("segmenter crashed")
    if args.instruction == "slow":
        time.sleep(2)
    return fake_segment.run(SegmentArgs(instruction=args.instruction, target=args.target), ctx)


@pytest.fixture
def registry() -> ToolRegistry:
    return ToolRegistry([fake_segment, fake_audio, fake_track])


@pytest.fixture
def make_reamo(registry: ToolRegistry) -> Callable[..., Reamo]:
    """Build a Reamo with a scripted planner over the fake tools: ``make_reamo(answer1, answer2, ...)``.
    It runs no refiners unless ``refiners=[...]`` names some: a scripted answer is what the test checks."""

    def make(*answers: Any, tools: ToolRegistry | None = None, **settings: Any) -> Reamo:
        settings.setdefault("refiners", [])
        return Reamo(
            planner=ScriptedPlanner(list(answers)),
            registry=tools or registry,
            perceivers=metadata_perceivers(),
            plugins=False,
            **settings,
        )

    return make
