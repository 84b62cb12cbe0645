"""Scoring one suite instance against one ``ExtractionResult``: the keys and regions ``metrics`` compares.

Extraction records become keys (``metrics.gold_keys`` / ``predicted_keys``); groundings become regions:
gold polygons, mask PNGs and boxes against predicted ``ImageRegion`` masks (boxes where no mask), gold
audio spans against ``AudioSpan``, gold per-frame masks against ``VideoTrack`` frames.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from reamo import masks
from reamo.evaluation.metrics import (
    IEKeys,
    IEScores,
    Interval,
    Mean,
    Region,
    Track,
    gold_keys,
    predicted_keys,
    score_aseg,
    score_ie,
    score_iseg,
    score_vtrck,
)
from reamo.evaluation.suite import SuiteInstance
from reamo.media import IMAGE_SUFFIXES, frame_files
from reamo.schemas import AudioSpan, ExtractionResult, ImageRegion, VideoTrack

__all__ = [
    "CallCounts",
    "InstanceScores",
    "count_calls",
    "gold_intervals",
    "gold_regions",
    "gold_tracks",
    "predicted_intervals",
    "predicted_regions",
    "predicted_tracks",
    "score_extraction",
    "score_instance",
]


@dataclass(frozen=True)
class InstanceScores:
    """Every metric's counts for one instance (or, added up, a suite)."""

    ie: IEScores = field(default_factory=IEScores)
    iseg: Mean = field(default_factory=Mean)
    aseg: Mean = field(default_factory=Mean)
    vtrck: Mean = field(default_factory=Mean)

    def __add__(self, other: InstanceScores) -> InstanceScores:
        return InstanceScores(
            self.ie + other.ie, self.iseg + other.iseg, self.aseg + other.aseg, self.vtrck + other.vtrck
        )


def _read_mask(path: Path) -> np.ndarray:
    with Image.open(path) as img:
        return np.asarray(img.convert("L")) > 0


def gold_regions(instance: SuiteInstance) -> list[Region]:
    """The gold image regions of an instance's entities, one per thing seen: polygons (all of one
    region's joined) and mask PNGs as masks, else boxes."""
    regions: list[Region] = []
    size: tuple[int, int] | None = None
    for img in (img for entity in instance.gold.entities for img in entity.image_regions()):
        if img.mask is not None:
            regions.append(_read_mask(Path(img.mask)))
        elif img.polygons:
            if size is None:
                with Image.open(str(instance.inputs.image)) as im:
                    size = (im.height, im.width)
            regions.append(masks.from_polygons(img.polygons, *size))
        elif img.box is not None:
            regions.append(img.box)
    return regions


def _is_box(region: Region) -> bool:
    return isinstance(region, tuple)


def predicted_regions(result: ExtractionResult, *, boxes: bool = False) -> list[Region]:
    """The predicted image regions of every entity: the mask when the tool gave one, else its box;
    only boxes with ``boxes`` (when the gold has only boxes, boxes stand in for masks)."""
    out: list[Region] = []
    for entity in result.entities:
        for g in entity.groundings:
            if isinstance(g, ImageRegion):
                out.append(g.mask if g.mask is not None and not boxes else g.box)
    return out


def gold_intervals(instance: SuiteInstance) -> list[Interval]:
    return [e.audio for e in instance.gold.entities if e.audio is not None]


def predicted_intervals(result: ExtractionResult) -> list[Interval]:
    return [
        (g.start, g.end)
        for e in result.entities
        for g in e.groundings
        if isinstance(g, AudioSpan) and g.media.startswith("audio:")
    ]


def _frame_index(video: Path) -> dict[str, int]:
    """Frame name (stem) -> frame index, for a folder of frames; empty for a video file."""
    return {p.stem: i for i, p in enumerate(frame_files(video))} if video.is_dir() else {}


def _frame_of(stem: str, index: dict[str, int]) -> int:
    if stem in index:
        return index[stem]
    try:
        return int(stem)
    except ValueError as exc:
        raise ValueError(
            f"gold frame {stem!r} names no frame of the video; name masks like the frames"
        ) from exc


def gold_tracks(instance: SuiteInstance) -> tuple[list[Track], list[int] | None]:
    """The gold tracks and the annotated frame indices (scored frames; None when no track names any)."""
    if not instance.inputs.video:
        return [], None
    index = _frame_index(Path(instance.inputs.video))
    tracks: list[Track] = []
    annotated: set[int] = set()
    for vid in (vid for entity in instance.gold.entities for vid in entity.video_tracks()):
        track: dict[int, Region] = {}
        if vid.masks is not None:
            for p in sorted(Path(vid.masks).iterdir()):
                if p.suffix.lower() in IMAGE_SUFFIXES:
                    track[_frame_of(p.stem, index)] = _read_mask(p)
        for stem, box in (vid.boxes or {}).items():
            track[_frame_of(stem, index)] = box
        annotated |= track.keys()
        tracks.append(track)
    return tracks, sorted(annotated) or None


def predicted_tracks(result: ExtractionResult, *, boxes: bool = False) -> list[Track]:
    """Every entity's tracks, a mask per frame where the tool gave one (only boxes with ``boxes``)."""
    return [
        {f.frame: (f.mask if f.mask is not None and not boxes else f.box) for f in g.frames}
        for e in result.entities
        for g in e.groundings
        if isinstance(g, VideoTrack)
    ]


def score_extraction(instance: SuiteInstance, result: ExtractionResult | None) -> IEScores:
    """NER, RE, ET and EA of one instance; ``None`` (a failed run) is an empty prediction."""
    has_text = instance.has_text
    pred = (
        predicted_keys(result.entities, result.relations, result.events, has_text=has_text)
        if result is not None
        else IEKeys()
    )
    return score_ie(gold_keys(instance.gold_dict(), has_text=has_text), pred)


def score_instance(instance: SuiteInstance, result: ExtractionResult | None) -> InstanceScores:
    """All metrics of one instance; ``None`` (a failed run) scores as an empty prediction, so its gold
    still counts. Grounding metrics count only where the instance has that medium."""
    iseg = aseg = vtrck = Mean()
    if instance.inputs.image:
        gold = gold_regions(instance)
        boxes = bool(gold) and all(_is_box(r) for r in gold)
        iseg = score_iseg(gold, predicted_regions(result, boxes=boxes) if result else [])
    if instance.inputs.audio:
        aseg = score_aseg(gold_intervals(instance), predicted_intervals(result) if result else [])
    if instance.inputs.video:
        tracks, frames = gold_tracks(instance)
        boxes = bool(tracks) and all(_is_box(r) for t in tracks for r in t.values())
        vtrck = score_vtrck(tracks, predicted_tracks(result, boxes=boxes) if result else [], frames)
    return InstanceScores(score_extraction(instance, result), iseg, aseg, vtrck)


@dataclass(frozen=True)
class CallCounts:
    """The planner's tool calls on an instance with media: every call it emitted (those the validator
    dropped included), the valid ones (they ran), the correctly targeted ones (a valid call whose
    concept is a gold entity that has a grounding in the call's medium), and the valid ones whose
    concept is a gold entity at all (``on_gold``: the calls whose target the gold can judge; a call on
    an entity the gold lacks is an extraction error, which NER, RE and EE F1 count)."""

    emitted: int = 0
    valid: int = 0
    correct: int = 0
    on_gold: int = 0

    def __add__(self, other: CallCounts) -> CallCounts:
        return CallCounts(
            self.emitted + other.emitted,
            self.valid + other.valid,
            self.correct + other.correct,
            self.on_gold + other.on_gold,
        )

    def rates(self) -> dict[str, float | int]:
        """Shares ×100 of the emitted calls, with the counts; ``targeted``: the correctly targeted share
        of the calls on gold entities."""
        share = (lambda n: round(100 * n / self.emitted, 1)) if self.emitted else (lambda n: 0.0)
        return {
            "emitted": self.emitted,
            "valid": share(self.valid),
            "correct": share(self.correct),
            "on_gold": share(self.on_gold),
            "targeted": round(100 * self.correct / self.on_gold, 1) if self.on_gold else 0.0,
        }


def count_calls(instance: SuiteInstance, result: ExtractionResult | None) -> CallCounts:
    """``CallCounts`` of one instance; a call to ``image:0`` is correct when its concept's text matches
    (case-insensitively) a gold entity with an image grounding, and likewise for audio and video."""
    if result is None:
        return CallCounts()
    dropped = {
        d.message.split("calls[", 1)[1].split("]", 1)[0]
        for d in result.diagnostics
        if d.stage == "validate" and "calls[" in d.message
    }
    texts = {e.id: (e.text or "").casefold() for e in result.entities}
    groundable = {
        medium: {(g.text or "").casefold() for g in instance.gold.entities if getattr(g, medium) is not None}
        for medium in ("image", "audio", "video")
    }
    gold = {(g.text or "").casefold() for g in instance.gold.entities}
    correct = sum(
        texts.get(run.call.concept, "") in groundable.get(run.call.target.split(":")[0], set())
        for run in result.calls
    )
    on_gold = sum(texts.get(run.call.concept, "") in gold for run in result.calls)
    return CallCounts(len(result.calls) + len(dropped), len(result.calls), correct, on_gold)
