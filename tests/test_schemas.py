"""The published JSON Schemas (pinned by golden files) and the typed grounding contracts."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from _golden import check_golden_json
from conftest import IMAGE_SIZE, SegmentArgs, fake_segment
from jsonschema import Draft202012Validator
from pydantic import TypeAdapter, ValidationError

from reamo import AudioSpan, ImageRegion, Reamo, TextSpan, VideoTrack, masks
from reamo.schemas import (
    RLE,
    Entity,
    Grounding,
    ImagePerception,
    Inputs,
    Perception,
    TrackFrame,
    json_schemas,
)
from reamo.tools import ToolContext

PUBLISHED = [
    "inputs",
    "labels",
    "label_set",
    "grounding",
    "entity",
    "relation",
    "event",
    "meta_response",
    "planner_answer",
    "perception",
    "result",
    "progress_event",
]
GROUNDINGS = TypeAdapter(Grounding)
WIDTH, HEIGHT = IMAGE_SIZE

SAMPLES: dict[str, dict[str, Any]] = {
    "text": {"kind": "text", "start": 4, "end": 9, "text": "Obama"},
    "image": {
        "kind": "image",
        "media": "image:0",
        "box": [1, 2, 10, 20],
        "score": 0.5,
        "mask": {"size": [48, 64], "counts": masks.from_box((1, 2, 10, 20), 48, 64)["counts"]},
    },
    "audio": {"kind": "audio", "media": "audio:1", "start": 0.25, "end": 1.5, "score": 0.9, "text": "Obama"},
    "video": {
        "kind": "video",
        "media": "video:0",
        "score": 0.7,
        "frames": [
            {"frame": 0, "box": [0, 0, 5, 5], "score": 0.7},
            {"frame": 3, "time": 0.1, "box": [1, 1, 6, 6], "score": 0.6},
        ],
    },
}
TYPES = {"text": TextSpan, "image": ImageRegion, "audio": AudioSpan, "video": VideoTrack}


# --------------------------------------------------------------------------
# Published JSON Schemas
# --------------------------------------------------------------------------


def test_the_published_schemas() -> None:
    assert list(json_schemas()) == PUBLISHED


@pytest.mark.parametrize("name", PUBLISHED)
def test_schema_is_pinned_and_valid_draft_2020_12(name: str) -> None:
    schema = json_schemas()[name]
    Draft202012Validator.check_schema(schema)
    check_golden_json(f"schemas/{name}.json", schema)


def test_a_real_result_validates_against_the_result_schema(
    make_reamo: Callable[..., Reamo], media_dir: Path
) -> None:
    answer = {
        "entities": [
            {"text": "Barack Obama", "label": "person", "concept": True},
            {"text": "Angela Merkel", "label": "person"},
        ],
        "relations": [{"head": "Barack Obama", "label": "/per/per/peer", "tail": "Angela Merkel"}],
        "calls": [
            {
                "module": "ImageSegmentation",
                "instruction": "Obama",
                "target": "image:0",
                "concept": "Barack Obama",
            },
            {
                "module": "AudioSegmentation",
                "instruction": "Obama",
                "target": "audio:0",
                "concept": "Barack Obama",
            },
            {"module": "VideoTracking", "instruction": "Obama", "target": "video:0", "concept": "e1"},
        ],
    }
    result = make_reamo(answer).extract(
        "re",
        text="Barack Obama met Angela Merkel.",
        image=media_dir / "photo.png",
        audio=media_dir / "speech.wav",
        video=media_dir / "clip",
    )
    assert {g.kind for g in result.entities[0].groundings} == {"text", "image", "audio", "video"}
    validator = Draft202012Validator(json_schemas()["result"])
    data = result.model_dump(mode="json")
    assert list(validator.iter_errors(data)) == []

    data["entities"][0]["groundings"][0]["kind"] = "smell"
    assert not validator.is_valid(data)


@pytest.mark.parametrize("kind", list(SAMPLES))
def test_each_grounding_validates_against_the_grounding_schema(kind: str) -> None:
    validator = Draft202012Validator(json_schemas()["grounding"])
    assert (
        list(
            validator.iter_errors(
                GROUNDINGS.dump_python(GROUNDINGS.validate_python(SAMPLES[kind]), mode="json")
            )
        )
        == []
    )


# --------------------------------------------------------------------------
# Groundings: a discriminated union
# --------------------------------------------------------------------------


@pytest.mark.parametrize("kind", list(SAMPLES))
def test_grounding_union_parses_each_kind(kind: str) -> None:
    parsed = GROUNDINGS.validate_python(SAMPLES[kind])
    assert type(parsed) is TYPES[kind]
    assert parsed.kind == kind
    assert GROUNDINGS.validate_json(GROUNDINGS.dump_json(parsed)) == parsed


def test_an_entity_parses_mixed_groundings_from_dicts() -> None:
    entity = Entity.model_validate(
        {"id": "e1", "text": "Obama", "label": "person", "groundings": list(SAMPLES.values())}
    )
    assert [type(g) for g in entity.groundings] == [TextSpan, ImageRegion, AudioSpan, VideoTrack]
    assert entity.grounded_in("audio:1") == [entity.groundings[2]]
    text = entity.groundings[0]
    assert isinstance(text, TextSpan)
    assert text.media == "text"


@pytest.mark.parametrize(
    "data",
    [
        {"start": 0, "end": 5, "text": "Obama"},  # no kind
        {"kind": "smell", "start": 0, "end": 5, "text": "Obama"},
        {**SAMPLES["image"], "kind": "audio"},  # an image region tagged as audio
    ],
)
def test_grounding_union_rejects_missing_or_wrong_kind(data: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        GROUNDINGS.validate_python(data)


@pytest.mark.parametrize(
    ("start", "end", "text"), [(0, 5, "Obam"), (0, 5, "Obama!"), (3, 3, "x"), (5, 0, "")]
)
def test_text_span_rejects_text_that_is_not_its_slice_length(start: int, end: int, text: str) -> None:
    with pytest.raises(ValidationError):
        TextSpan(start=start, end=end, text=text)


def test_text_span_accepts_its_slice() -> None:
    text = "Barack Obama met Angela Merkel."
    span = TextSpan(start=7, end=12, text=text[7:12])
    assert (span.text, span.media, span.kind) == ("Obama", "text", "text")
    assert TextSpan(start=3, end=3, text="").text == ""


@pytest.mark.parametrize("box", [(10, 2, 5, 20), (1, 20, 10, 2), (10, 20, 1, 2)])
def test_image_region_and_track_frame_reject_inverted_boxes(box: tuple[float, float, float, float]) -> None:
    with pytest.raises(ValidationError, match="x1 < x0 or y1 < y0"):
        ImageRegion(media="image:0", box=box, score=0.5)
    with pytest.raises(ValidationError, match="x1 < x0 or y1 < y0"):
        TrackFrame(frame=0, box=box, score=0.5)


@pytest.mark.parametrize(
    "make",
    [
        lambda: ImageRegion(media="audio:0", box=(0, 0, 1, 1), score=0.5),  # wrong medium
        lambda: ImageRegion(media="image:0", box=(0, 0, 1, 1), score=1.5),  # score outside [0, 1]
        lambda: AudioSpan(media="audio:0", start=2.0, end=1.0, score=0.5),  # ends before it starts
        lambda: AudioSpan(media="image:0", start=0.0, end=1.0, score=0.5),
        lambda: VideoTrack(media="video:0", frames=[], score=0.5),  # a track has at least one frame
    ],
)
def test_other_invalid_groundings_are_rejected(make: Callable[[], Any]) -> None:
    with pytest.raises(ValidationError):
        make()


def test_groundings_are_immutable() -> None:
    span = TextSpan(start=0, end=5, text="Obama")
    with pytest.raises(ValidationError):
        span.start = 1  # type: ignore[misc]


# --------------------------------------------------------------------------
# Masks
# --------------------------------------------------------------------------


@pytest.fixture
def dog_region(media_dir: Path) -> ImageRegion:
    """The region a (fake) grounding tool returns for "dog" in the sample photo."""
    inputs = Inputs.build(image=media_dir / "photo.png")
    perception = Perception(images={"image:0": ImagePerception(media="image:0", width=WIDTH, height=HEIGHT)})
    [region] = fake_segment.run(
        SegmentArgs(instruction="dog", target="image:0"), ToolContext(inputs=inputs, perception=perception)
    )
    assert isinstance(region, ImageRegion)
    return region


def test_rle_of_a_grounding_decodes_to_its_box(dog_region: ImageRegion) -> None:
    assert dog_region.mask is not None
    rle = dog_region.mask.model_dump()
    mask = masks.decode(rle)
    assert mask.shape == (HEIGHT, WIDTH)
    assert mask.dtype == np.bool_
    x0, y0, x1, y1 = (int(v) for v in dog_region.box)
    assert mask[y0:y1, x0:x1].all()
    assert int(mask.sum()) == (x1 - x0) * (y1 - y0) == masks.area(rle)
    assert masks.to_box(rle) == dog_region.box
    # the mask survives the JSON round trip of its grounding
    again = ImageRegion.model_validate_json(dog_region.model_dump_json())
    assert again.mask == dog_region.mask
    assert np.array_equal(masks.decode(again.mask.model_dump()), mask)  # type: ignore[union-attr]


@pytest.mark.filterwarnings("ignore::DeprecationWarning:pycocotools")  # its own numpy 2 warning
def test_rle_of_a_grounding_matches_pycocotools(dog_region: ImageRegion) -> None:
    mask_utils = pytest.importorskip("pycocotools.mask")
    assert dog_region.mask is not None
    size, counts = dog_region.mask.size, dog_region.mask.counts
    reference = mask_utils.decode({"size": list(size), "counts": counts.encode("ascii")})
    assert np.array_equal(reference.astype(bool), masks.decode(dog_region.mask.model_dump()))


def test_rle_model_checks_its_fields() -> None:
    rle = RLE(size=(2, 3), counts=str(masks.encode(np.ones((2, 3)))["counts"]))
    assert masks.decode(rle.model_dump()).all()
    with pytest.raises(ValidationError):
        RLE(size=(2,), counts="")  # type: ignore[arg-type]
