"""``video.track.v1`` (VideoTracking): detect on keyframes, follow with OpenCV CSRT/KCF between them,
associate by IoU, then a mask per frame for the tracks the instruction means.

Two passes over the decoded frames keep memory bounded: the first keeps only boxes, the second makes
masks for the chosen tracks. Settings (``config.tools['video.track.v1']``): ``stride`` (keyframe every N
frames, 5), ``tracker`` (kcf | csrt), ``min_iou`` (0.3), ``reach`` (a second chance by nearness, 0.5
diagonals; 0 = off), ``patience`` (keyframes a track may go unseen, 2), ``max_frames``, ``track_side``
(the trackers see frames scaled to this longer side, 480; 0 = full size), ``mask_every`` (segment every
Nth frame of a track and move that shape in between; 0, the default, segments every frame up to
``max_masks`` masks a track, 300, and spreads them evenly over a longer track), plus the image backend's
settings. Tracklets of one object, broken by an occlusion, are stitched back together (``stitch``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from pydantic import BaseModel, Field

from reamo import media
from reamo.errors import BackendUnavailableError, ConfigError
from reamo.masks import box_area, box_iou
from reamo.schemas import Box, Modality, TrackFrame, VideoTrack
from reamo.tools.protocol import ToolArgs, ToolContext
from reamo.tools.vision.backends import Image, Instance, Mask, SegmentBackend, get_backend
from reamo.tools.vision.phrases import Query, pick
from reamo.tools.vision.segment import RELATED_WEIGHT, Count, to_rle
from reamo.tools.vision.video import MAX_FRAMES, VideoSource

log = logging.getLogger(__name__)

STRIDE = 5
MIN_IOU = 0.3
PATIENCE = 2
REACH = 0.5
"""A track and a detection that miss ``MIN_IOU`` may still pair when their centres are closer than this
share of the larger box's diagonal (a drifted tracker, a partly hidden object)."""
STITCH_KEYFRAMES = 2
STITCH_REACH = 1.5
"""A tracklet that starts within ``STITCH_KEYFRAMES`` keyframes of another's end, this many diagonals
from it, continues it. Together with ``REACH``: DAVIS-2016 bmx-trees J 15.3 -> 43.3 (five tracklets of
the rider behind trees became one), the other nine videos unchanged."""
TRACK_SIDE = 480
MAX_MASKS = 300
"""Masks made for one track when ``mask_every`` is automatic: GrabCut takes ~80 ms a mask, so a long
track keeps within a tool call's time limit (120 s by default)."""


class TrackArgs(ToolArgs):
    """Arguments of VideoTracking."""

    instances: Count = Field(
        default="auto",
        description="auto: every track for a plural phrase, else the one meant; one; all",
    )
    stride: int | None = Field(
        default=None, ge=1, le=300, description="detect every N frames (default from the config, 5)"
    )


def make_tracker(kind: str) -> Any:
    try:
        import cv2
    except ImportError as exc:
        raise BackendUnavailableError("Tracking needs opencv-contrib-python==5.1.0.95") from exc
    makers: dict[str, Callable[[], Any]] = {
        "csrt": lambda: cv2.TrackerCSRT.create(),
        "kcf": lambda: cv2.TrackerKCF.create(),
    }
    if kind not in makers:
        raise ConfigError(f"Unknown tracker {kind!r} for video.track.v1; choose csrt or kcf.")
    return makers[kind]()


@dataclass
class Track:
    """One object followed through the video: its box on each frame and its keyframe scores."""

    label: str
    tracker: Any
    boxes: dict[int, Box] = field(default_factory=dict)
    scores: list[float] = field(default_factory=list)
    misses: int = 0
    active: bool = True

    @property
    def score(self) -> float:
        return float(np.mean(self.scores)) if self.scores else 0.0

    def last_box(self) -> Box | None:
        return self.boxes[max(self.boxes)] if self.boxes else None

    def mean_box(self) -> Box:
        arr = np.array(list(self.boxes.values()), dtype=np.float64)
        return (
            float(arr[:, 0].mean()),
            float(arr[:, 1].mean()),
            float(arr[:, 2].mean()),
            float(arr[:, 3].mean()),
        )


def _clip(box: Sequence[float], width: int, height: int) -> Box | None:
    x0, y0 = max(0.0, float(box[0])), max(0.0, float(box[1]))
    x1, y1 = min(float(width), float(box[2])), min(float(height), float(box[3]))
    return (x0, y0, x1, y1) if x1 - x0 >= 2 and y1 - y0 >= 2 else None


def tracking_view(image: Image, side: int) -> tuple[Image, float]:
    """The frame the trackers see: BGR, contiguous, its longer side at most ``side`` pixels (KCF's cost
    grows with the object's size in pixels); returns it with its scale to the frame."""
    import cv2

    h, w = image.shape[:2]
    scale = min(1.0, side / max(h, w)) if side > 0 else 1.0
    bgr = np.ascontiguousarray(image[:, :, ::-1])
    if scale == 1.0:
        return bgr, scale
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return np.asarray(cv2.resize(bgr, size, interpolation=cv2.INTER_AREA), dtype=np.uint8), scale


def _init(tracker: Any, view: tuple[Image, float], box: Box) -> None:
    bgr, scale = view
    x0, y0, x1, y1 = (round(v * scale) for v in box)
    tracker.init(bgr, (x0, y0, max(1, x1 - x0), max(1, y1 - y0)))


def _follow(track: Track, view: tuple[Image, float], width: int, height: int) -> Box | None:
    bgr, scale = view
    ok, (x, y, w, h) = track.tracker.update(bgr)
    if not ok:
        return None
    return _clip((x / scale, y / scale, (x + w) / scale, (y + h) / scale), width, height)


def _shape(mask: Mask, box: Box) -> Mask:
    """The part of a mask inside its box (the object's shape, relative to the box)."""
    x0, y0 = int(box[0]), int(box[1])
    x1, y1 = max(x0 + 1, int(np.ceil(box[2]))), max(y0 + 1, int(np.ceil(box[3])))
    return mask[y0:y1, x0:x1]


def _place(shape: Mask, box: Box, height: int, width: int) -> Mask:
    """A shape resized into a box of a full-size empty mask."""
    import cv2

    x0, y0 = int(box[0]), int(box[1])
    x1, y1 = min(width, max(x0 + 1, int(np.ceil(box[2])))), min(height, max(y0 + 1, int(np.ceil(box[3]))))
    out = np.zeros((height, width), dtype=bool)
    if shape.size == 0 or x1 <= x0 or y1 <= y0:
        return out
    resized = cv2.resize(shape.astype(np.uint8), (x1 - x0, y1 - y0), interpolation=cv2.INTER_NEAREST)
    out[y0:y1, x0:x1] = resized.astype(bool)
    return out


def _one_to_one(pairs: list[tuple[float, int, int]]) -> list[tuple[int, int]]:
    """``(track, detection)`` pairs taken greedily in the order of their key, each side used once."""
    used_t: set[int] = set()
    used_k: set[int] = set()
    out = []
    for _, t, k in sorted(pairs):
        if t not in used_t and k not in used_k:
            used_t.add(t)
            used_k.add(k)
            out.append((t, k))
    return out


def associate(boxes: Sequence[Box], found: Sequence[Instance], min_iou: float) -> list[tuple[int, int]]:
    """Greedy one-to-one pairs ``(track, detection)`` by IoU, best first, above ``min_iou``."""
    ious = ((box_iou(b, d.box), t, k) for t, b in enumerate(boxes) for k, d in enumerate(found))
    return _one_to_one([(-iou, t, k) for iou, t, k in ious if iou >= min_iou])


def associate_near(boxes: Sequence[Box], found: Sequence[Instance], reach: float) -> list[tuple[int, int]]:
    """Greedy one-to-one pairs ``(track, detection)`` by centre distance, nearest first, within ``reach``
    times the larger box's diagonal and at most 4x apart in area."""
    pairs = []
    for t, b in enumerate(boxes):
        for k, d in enumerate(found):
            area_b, area_d = box_area(b), box_area(d.box)
            if min(area_b, area_d) <= 0 or max(area_b, area_d) > 4 * min(area_b, area_d):
                continue
            diagonal = max(_diagonal(b), _diagonal(d.box))
            gap = float(np.hypot(*np.subtract(_centre(b), _centre(d.box)))) / diagonal
            if gap <= reach:
                pairs.append((gap, t, k))
    return _one_to_one(pairs)


def _diagonal(box: Box) -> float:
    return float(np.hypot(box[2] - box[0], box[3] - box[1]))


def _centre(box: Box) -> tuple[float, float]:
    return (box[0] + box[2]) / 2, (box[1] + box[3]) / 2


@dataclass(frozen=True)
class TrackerSettings:
    stride: int = STRIDE
    # KCF on frames scaled to 480 px: DAVIS-2016 J 53.5 at 2.5 s median a video, against CSRT's 50.9 at
    # 5.5 s on full frames (`reamo bench davis2016_v_ner.jsonl` with each `[tools."video.track.v1"]`)
    tracker: str = "kcf"
    min_iou: float = MIN_IOU
    patience: int = PATIENCE
    reach: float = REACH
    max_frames: int = MAX_FRAMES
    # 0: every frame segmented up to max_masks a track (DAVIS J 59.6 against 53.5 with every 5th, GrabCut of
    # one iteration), then evenly spread
    mask_every: int = 0
    max_masks: int = MAX_MASKS
    track_side: int = TRACK_SIDE

    def mask_stride(self, frames: int) -> int:
        """Every how many frames a track of ``frames`` frames is segmented."""
        if self.mask_every > 0:
            return self.mask_every
        return max(1, -(-frames // max(1, self.max_masks)))

    @classmethod
    def parse(cls, settings: Mapping[str, Any], stride: int | None = None) -> TrackerSettings:
        try:
            return cls(
                stride=int(stride or settings.get("stride", STRIDE)),
                tracker=str(settings.get("tracker", cls.tracker)).lower(),
                min_iou=float(settings.get("min_iou", MIN_IOU)),
                patience=int(settings.get("patience", PATIENCE)),
                reach=float(settings.get("reach", REACH)),
                max_frames=int(settings.get("max_frames", MAX_FRAMES)),
                mask_every=max(0, int(settings.get("mask_every", cls.mask_every))),
                max_masks=max(1, int(settings.get("max_masks", MAX_MASKS))),
                track_side=int(settings.get("track_side", TRACK_SIDE)),
            )
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"Invalid video.track.v1 settings {dict(settings)!r}: {exc}") from exc


def follow(
    frames: Iterator[tuple[int, Image]],
    find: Callable[[Image], list[Instance]],
    opts: TrackerSettings,
) -> list[Track]:
    """Pass one: every track of the queried class, as boxes per frame."""
    tracks: list[Track] = []
    for index, image in frames:
        h, w = image.shape[:2]
        view = tracking_view(image, opts.track_side)
        live = [t for t in tracks if t.active]
        keyframe = index % opts.stride == 0 or not tracks  # search every frame until found
        # a tracker that loses its object holds the last box until the next keyframe confirms or ends it
        predicted: list[Box | None] = [_follow(t, view, w, h) or t.last_box() for t in live]
        if not keyframe:
            for t, box in zip(live, predicted, strict=True):
                if box is not None:
                    t.boxes[index] = box
            continue
        found = find(image)
        matchable = [(t, b) for t, b in zip(live, predicted, strict=True) if b is not None]
        pairs = associate([b for _, b in matchable], found, opts.min_iou)
        if opts.reach > 0:  # a second chance for the left-over exact-class detections, by nearness
            paired_t, paired_k = {t for t, _ in pairs}, {k for _, k in pairs}
            rest_t = [i for i in range(len(matchable)) if i not in paired_t]
            rest_k = [k for k in range(len(found)) if k not in paired_k and not found[k].related]
            near = associate_near([matchable[i][1] for i in rest_t], [found[k] for k in rest_k], opts.reach)
            pairs += [(rest_t[t], rest_k[k]) for t, k in near]
        matched_t = {t for t, _ in pairs}
        matched_k = {k for _, k in pairs}
        for t_i, k in pairs:
            track, det = matchable[t_i][0], found[k]
            box = _clip(det.box, w, h)
            if box is None:
                continue
            track.boxes[index] = box
            track.scores.append(det.score * (RELATED_WEIGHT if det.related else 1.0))
            track.misses = 0
            track.tracker = make_tracker(opts.tracker)
            _init(track.tracker, view, box)
        for t_i, (track, box) in enumerate(matchable):
            if t_i not in matched_t:
                track.misses += 1
                if track.misses > opts.patience:
                    track.active = False
                else:
                    track.boxes[index] = box
        for k, det in enumerate(found):
            box = _clip(det.box, w, h)
            if k in matched_k or box is None or det.related:  # only the class asked starts a track
                continue
            track = Track(
                label=det.label, tracker=make_tracker(opts.tracker), boxes={index: box}, scores=[det.score]
            )
            _init(track.tracker, view, box)
            tracks.append(track)
    return tracks


def _between(a: Box, b: Box, w: float) -> Box:
    return (
        a[0] + w * (b[0] - a[0]),
        a[1] + w * (b[1] - a[1]),
        a[2] + w * (b[2] - a[2]),
        a[3] + w * (b[3] - a[3]),
    )


def stitch(tracks: Sequence[Track], gap: int, reach: float) -> list[Track]:
    """Tracklets of one object joined (in place): a track that starts at most ``gap`` frames after another
    of its class ended, near where it ended (``associate_near`` within ``reach``), continues the nearest
    in time; the frames between get boxes interpolated from both ends."""
    out: list[Track] = []
    for track in sorted(tracks, key=lambda t: min(t.boxes)):
        start = min(track.boxes)
        first = track.boxes[start]
        ended = sorted(
            (start - max(t.boxes), n)
            for n, t in enumerate(out)
            if t.label == track.label and 0 < start - max(t.boxes) <= gap
        )
        for _, n in ended:
            before = out[n]
            end = max(before.boxes)
            last = before.boxes[end]
            if associate_near([last], [Instance(track.label, first, 0.0)], reach):
                for i in range(end + 1, start):
                    before.boxes[i] = _between(last, first, (i - end) / (start - end))
                before.boxes.update(track.boxes)
                before.scores.extend(track.scores)
                break
        else:
            out.append(track)
    return out


def choose_tracks(tracks: Sequence[Track], query: Query, count: Count) -> list[Track]:
    """The tracks an instruction means: spatial words pick one, plurals or ``all`` keep all, else the
    strongest (most keyframe evidence: the sum of its detection scores)."""
    ranked = sorted(tracks, key=lambda t: -sum(t.scores))
    if not ranked:
        return []
    if query.spatial and count != "all":
        return [ranked[pick([t.mean_box() for t in ranked], query.spatial)]]
    if count == "all" or (count == "auto" and query.plural):
        return ranked
    return ranked[:1]


def track_video(
    source: VideoSource,
    backend: SegmentBackend,
    query: Query,
    count: Count,
    opts: TrackerSettings,
    media_id: str,
) -> list[VideoTrack]:
    """Both passes: tracks of the query's class, the chosen ones with a mask on every frame."""
    found = follow(source.frames(), lambda image: backend.find(image, query), opts)
    tracks = stitch(found, STITCH_KEYFRAMES * opts.stride, STITCH_REACH)
    chosen = choose_tracks(tracks, query, count)
    if not chosen:
        return []
    wanted = {i for t in chosen for i in t.boxes}
    every = [opts.mask_stride(len(t.boxes)) for t in chosen]
    frames: list[list[TrackFrame]] = [[] for _ in chosen]
    shapes: list[tuple[int, Mask] | None] = [None for _ in chosen]
    for index, image in source.frames(wanted):
        for n, track in enumerate(chosen):
            box = track.boxes.get(index)
            if box is None:
                continue
            # segment every `every[n]` frames; in between, the last shape is moved and scaled to the box
            last = shapes[n]
            if last is None or index - last[0] >= every[n]:
                mask = backend.masks(image, [Instance(track.label, box, track.score)])[0]
                shapes[n] = (index, _shape(mask, box))
            else:
                mask = _place(last[1], box, image.shape[0], image.shape[1])
            frames[n].append(
                TrackFrame(
                    frame=index,
                    time=source.time_of(index),
                    box=box,
                    mask=to_rle(mask),
                    score=round(track.score, 4),
                )
            )
    return [
        VideoTrack(media=media_id, frames=f, score=round(t.score, 4))
        for t, f in zip(chosen, frames, strict=True)
        if f
    ]


class VideoTracking:
    """The video grounding tool; backend and tracking settings from ``config.tools['video.track.v1']``."""

    name = "video.track.v1"
    module = "VideoTracking"
    modality: Modality = "video"
    description = (
        "Track the object an instruction names through a video (e.g. 'the dog', 'the car on the left'); "
        "returns a box and mask per frame, or nothing when it is not there"
    )
    args_model: type[ToolArgs] = TrackArgs
    result_model: type[BaseModel] = VideoTrack

    def run(self, args: TrackArgs, ctx: ToolContext) -> list[VideoTrack]:
        item = ctx.media(args.target)
        opts = TrackerSettings.parse(ctx.settings, args.stride)
        pixels = int(ctx.settings.get("max_image_pixels", media.MAX_IMAGE_PIXELS))
        source = VideoSource(item.path, max_pixels=pixels, max_frames=opts.max_frames)
        backend = get_backend(ctx.settings, ctx.resources)
        query = backend.parse(args.instruction)
        if query.label is None:
            log.info("%r names nothing the detector knows (%s): not tracked", args.instruction, query.how)
            return []
        return track_video(source, backend, query, args.instances, opts, args.target)
