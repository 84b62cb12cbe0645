"""``extract`` end to end with the scripted planner and the fake tools: every modality mix, the three
tasks, the tag syntax, failing tools, and results pinned by golden files."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from _golden import check_golden_json
from conftest import AUDIO_SECONDS, IMAGE_SIZE, VIDEO_FRAMES, broken_segment, fake_audio, fake_track

from reamo import (
    AudioSpan,
    Entity,
    ExtractionResult,
    ImageRegion,
    Reamo,
    Relation,
    TextSpan,
    ToolArgs,
    ToolContext,
    ToolRegistry,
    VideoTrack,
    masks,
    tool,
)
from reamo.schemas import RLE, Argument, GroundingFailure, TrackFrame

TEXT = "Barack Obama met Angela Merkel in Berlin."
WIDTH, HEIGHT = IMAGE_SIZE
OBAMA_BOX = (2.0, 2.0, 30.0, 40.0)
MODULES = {"image": "ImageSegmentation", "audio": "AudioSegmentation", "video": "VideoTracking"}
TOOLS = {"image": "fake.image.segment.v1", "audio": "fake.audio.segment.v1", "video": "fake.video.track.v1"}
FILES = {"image": "photo.png", "audio": "speech.wav", "video": "clip"}
SPANS = {"Barack Obama": (0, 12), "Angela Merkel": (17, 30), "Berlin": (34, 40), "met": (13, 16)}


def media_args(media_dir: Path, modalities: tuple[str, ...]) -> dict[str, Any]:
    args: dict[str, Any] = {"text": TEXT} if "text" in modalities else {}
    args.update({m: media_dir / FILES[m] for m in modalities if m != "text"})
    return args


def check_text_span(entity: Entity | Any, text: str) -> None:
    spans = [g for g in entity.groundings if isinstance(g, TextSpan)]
    assert [(s.start, s.end) for s in spans] == [SPANS[entity.text]]
    assert spans[0].text == entity.text == text[spans[0].start : spans[0].end]


def check_obama_region(region: ImageRegion) -> None:
    assert region.media == "image:0"
    assert region.box == OBAMA_BOX
    assert region.mask is not None
    mask = masks.decode(region.mask.model_dump())
    assert mask.shape == (HEIGHT, WIDTH)
    assert int(mask.sum()) == 28 * 38
    assert masks.to_box(region.mask.model_dump()) == OBAMA_BOX


def roundtrips(result: ExtractionResult) -> bool:
    return ExtractionResult.model_validate_json(result.model_dump_json()) == result


def normalised(result: ExtractionResult, root: Path) -> dict[str, Any]:
    """The result as golden JSON: no timings, media paths relative to the sample folder."""
    data = result.model_dump(mode="json")
    assert set(data["timings"]) >= {"perceive", "plan", "validate", "merge", "total"}
    del data["timings"]
    for call in data["calls"]:
        assert call.pop("seconds") >= 0
    for window in data["windows"]:
        assert window.pop("seconds") >= 0
    for key in ("images", "audio", "videos"):
        for item in data["inputs"][key]:
            item["path"] = Path(item["path"]).relative_to(root).as_posix()
    assert str(root) not in json.dumps(data)
    return data


# --------------------------------------------------------------------------
# Every modality mix
# --------------------------------------------------------------------------

COMBOS = [
    ("text",),
    ("image",),
    ("audio",),
    ("video",),
    ("text", "image"),
    ("text", "audio"),
    ("text", "video"),
    ("image", "audio"),
    ("text", "image", "audio", "video"),
]


def combo_answer(modalities: tuple[str, ...]) -> tuple[dict[str, Any], list[tuple[str, str, str]]]:
    """A NER answer for these inputs (two people as concepts, one call per concept and medium) and the
    expected (tool, instruction, status) of each call."""
    has_text = "text" in modalities
    media = [m for m in modalities if m != "text"]
    people = (
        [("Barack Obama", "Obama"), ("Angela Merkel", "Merkel")]
        if has_text
        else [("Obama", "Obama"), ("Merkel", "Merkel")]
    )
    entities = [{"text": name, "label": "person", "concept": bool(media)} for name, _ in people]
    if has_text:
        entities.append({"text": "Berlin", "label": "location"})
    calls, expected = [], []
    for m in media:
        for name, short in people:
            calls.append({"module": MODULES[m], "instruction": short, "target": f"{m}:0", "concept": name})
            # the fake segmenter knows Obama, not Merkel; the fake audio and video tools find anything
            status = "not_found" if (m, short) == ("image", "Merkel") else "ok"
            expected.append((TOOLS[m], short, status))
    return {"entities": entities, "calls": calls}, expected


@pytest.mark.parametrize("modalities", COMBOS, ids=["+".join(c) for c in COMBOS])
def test_extract_grounds_each_modality_mix(
    modalities: tuple[str, ...], make_reamo: Callable[..., Reamo], media_dir: Path
) -> None:
    answer, expected_calls = combo_answer(modalities)
    result = make_reamo(answer).extract("ner", **media_args(media_dir, modalities))
    media = [m for m in modalities if m != "text"]

    assert result.inputs.modalities == list(modalities)
    assert result.complete is True
    assert result.planner_attempts == 1
    assert [(r.tool, r.call.instruction, r.status) for r in result.calls] == expected_calls
    assert all(r.call.concept in ("e1", "e2") for r in result.calls)

    obama, merkel = result.entities[:2]
    assert (obama.id, merkel.id) == ("e1", "e2")
    assert obama.concept is merkel.concept is bool(media)
    if "text" in modalities:
        assert [e.text for e in result.entities] == ["Barack Obama", "Angela Merkel", "Berlin"]
        for entity in result.entities:
            check_text_span(entity, TEXT)
    else:
        assert [e.text for e in result.entities] == ["Obama", "Merkel"]
        assert not [g for e in result.entities for g in e.groundings if isinstance(g, TextSpan)]

    by_kind = {
        who.id: {kind: [g for g in who.groundings if g.kind == kind] for kind in ("image", "audio", "video")}
        for who in (obama, merkel)
    }
    if "image" in media:
        [region] = by_kind["e1"]["image"]
        check_obama_region(region)
        assert by_kind["e2"]["image"] == []
        assert merkel.failures == [
            GroundingFailure(
                media="image:0",
                tool=TOOLS["image"],
                kind="not_found",
                message="'Merkel' was not found in image:0",
            )
        ]
        assert [(d.code, d.concept, d.level) for d in result.diagnostics] == [
            ("tool.not_found", "e2", "info")
        ]
        assert result.perception.images["image:0"].width == WIDTH
    else:
        assert merkel.failures == []
        assert result.diagnostics == []
    assert obama.failures == []
    if "audio" in media:
        for who, heard in (("e1", "Obama"), ("e2", "Merkel")):
            [span] = by_kind[who]["audio"]
            assert isinstance(span, AudioSpan)
            assert (span.media, span.start, span.end, span.text) == ("audio:0", 0.5, 1.0, heard)
        assert result.perception.audio["audio:0"].duration == pytest.approx(AUDIO_SECONDS)
    if "video" in media:
        for who in ("e1", "e2"):
            [track] = by_kind[who]["video"]
            assert isinstance(track, VideoTrack)
            assert track.media == "video:0"
            assert [f.frame for f in track.frames] == list(range(VIDEO_FRAMES))
        assert result.perception.videos["video:0"].frame_count == VIDEO_FRAMES
    for m in ("image", "audio", "video"):
        if m not in media:
            assert by_kind["e1"][m] == by_kind["e2"][m] == []

    backends = {(b.role, b.name) for b in result.backends}
    assert ("planner", "scripted") in backends
    assert {role for role, _ in backends} == {"planner"} | {f"perception:{m}" for m in media} | {
        f"tool:{TOOLS[m]}" for m in media
    }
    assert {(f"tool:{TOOLS[m]}", MODULES[m]) for m in media} <= backends
    assert roundtrips(result)


# --------------------------------------------------------------------------
# Answer syntaxes and tasks
# --------------------------------------------------------------------------


def test_tag_syntax_answer_works_end_to_end(make_reamo: Callable[..., Reamo], media_dir: Path) -> None:
    text = "Obama met Merkel in Berlin."
    answer = (
        "(Obama<concept>, person) (Merkel, person) (Berlin, location)\n"
        "<Module>ImageSegmentation</Module><Instruction>Obama</Instruction><Target>image:0</Target>"
    )
    result = make_reamo(answer).extract("ner", text=text, image=media_dir / "photo.png")

    assert result.complete is True
    assert result.diagnostics == []
    assert [(e.id, e.text, e.label, e.concept) for e in result.entities] == [
        ("e1", "Obama", "person", True),
        ("e2", "Merkel", "person", False),
        ("e3", "Berlin", "location", False),
    ]
    span, region = result.entities[0].groundings
    assert span == TextSpan(start=0, end=5, text="Obama")
    assert isinstance(region, ImageRegion)
    check_obama_region(region)
    assert [e.groundings for e in result.entities[1:]] == [
        [TextSpan(start=10, end=16, text="Merkel")],
        [TextSpan(start=20, end=26, text="Berlin")],
    ]
    assert [(r.call.concept, r.status) for r in result.calls] == [("e1", "ok")]
    assert roundtrips(result)


def test_ner_records_entities_with_spans(make_reamo: Callable[..., Reamo]) -> None:
    answer = {
        "entities": [{"text": "Barack Obama", "label": "person"}, {"text": "Berlin", "label": "location"}]
    }
    result = make_reamo(answer).extract("ner", text=TEXT, labels=["person", "location"])

    assert result.task == "ner"
    assert result.labels.entity_types == ["person", "location"]
    assert [(e.text, e.label) for e in result.entities] == [
        ("Barack Obama", "person"),
        ("Berlin", "location"),
    ]
    for entity in result.entities:
        check_text_span(entity, TEXT)
    assert (result.relations, result.events, result.calls) == ([], [], [])
    assert [b.role for b in result.backends] == ["planner"]


RE_ANSWER = {
    "entities": [
        {"text": "Barack Obama", "label": "person", "concept": True},
        {"text": "Angela Merkel", "label": "person"},
        {"text": "Berlin", "label": "location"},
    ],
    "relations": [
        {"head": "Barack Obama", "label": "/per/per/peer", "tail": "Angela Merkel"},
        {"head": "Angela Merkel", "label": "/per/loc/place_of_residence", "tail": "Berlin"},
    ],
    "calls": [
        {
            "module": "ImageSegmentation",
            "instruction": "Obama",
            "target": "image:0",
            "concept": "Barack Obama",
        },
    ],
}


def test_re_resolves_relations_to_entity_ids(make_reamo: Callable[..., Reamo], media_dir: Path) -> None:
    result = make_reamo(RE_ANSWER).extract(
        "re",
        text=TEXT,
        image=media_dir / "photo.png",
        labels=["/per/per/peer", "/per/loc/place_of_residence"],
    )

    assert result.complete is True
    assert [e.id for e in result.entities] == ["e1", "e2", "e3"]
    assert result.relations == [
        Relation(head="e1", tail="e2", label="/per/per/peer"),
        Relation(head="e2", tail="e3", label="/per/loc/place_of_residence"),
    ]
    assert [(result.entity(r.head).text, result.entity(r.tail).text) for r in result.relations] == [
        ("Barack Obama", "Angela Merkel"),
        ("Angela Merkel", "Berlin"),
    ]
    check_obama_region(result.entity("e1").groundings[1])  # type: ignore[arg-type]
    assert roundtrips(result)


EE_ANSWER = {
    "entities": [
        {"text": "Barack Obama", "label": "person", "concept": True},
        {"text": "Angela Merkel", "label": "person"},
        {"text": "Berlin", "label": "location"},
    ],
    "events": [
        {
            "trigger": "met",
            "type": "Contact:Meet",
            "concept": True,
            "arguments": [
                {"text": "Barack Obama", "role": "Entity"},
                {"text": "Angela Merkel", "role": "Entity"},
                {"text": "Berlin", "role": "Place"},
            ],
        }
    ],
    "calls": [
        {
            "module": "ImageSegmentation",
            "instruction": "Obama",
            "target": "image:0",
            "concept": "Barack Obama",
        },
        {"module": "ImageSegmentation", "instruction": "met", "target": "image:0"},
        {"module": "AudioSegmentation", "instruction": "met", "target": "audio:0"},
    ],
}


def test_ee_records_an_event_with_trigger_span_and_arguments(
    make_reamo: Callable[..., Reamo], media_dir: Path
) -> None:
    result = make_reamo(EE_ANSWER).extract(
        "ee", text=TEXT, image=media_dir / "photo.png", audio=media_dir / "speech.wav"
    )

    assert result.complete is True
    [event] = result.events
    assert (event.id, event.type) == ("v1", "Contact:Meet")
    assert (event.trigger.id, event.trigger.text, event.trigger.concept) == ("t1", "met", True)
    span, heard = event.trigger.groundings
    assert span == TextSpan(start=13, end=16, text="met")
    assert TEXT[span.start : span.end] == "met"
    assert heard == AudioSpan(media="audio:0", start=0.5, end=1.0, score=0.8, text="met")
    assert [(f.media, f.kind) for f in event.trigger.failures] == [("image:0", "not_found")]
    assert event.arguments == [
        Argument(entity="e1", role="Entity"),
        Argument(entity="e2", role="Entity"),
        Argument(entity="e3", role="Place"),
    ]
    assert [result.entity(a.entity).text for a in event.arguments] == [
        "Barack Obama",
        "Angela Merkel",
        "Berlin",
    ]
    assert [(r.call.concept, r.status) for r in result.calls] == [
        ("e1", "ok"),
        ("t1", "not_found"),
        ("t1", "ok"),
    ]
    assert roundtrips(result)


# --------------------------------------------------------------------------
# Failing tools fail their own concept only
# --------------------------------------------------------------------------

TWO_PEOPLE_IMAGE = {
    "entities": [
        {"text": "Barack Obama", "label": "person", "concept": True},
        {"text": "Angela Merkel", "label": "person", "concept": True},
    ],
    "calls": [
        {
            "module": "ImageSegmentation",
            "instruction": "Obama",
            "target": "image:0",
            "concept": "Barack Obama",
        },
        {
            "module": "ImageSegmentation",
            "instruction": "Merkel",
            "target": "image:0",
            "concept": "Angela Merkel",
        },
    ],
}


@pytest.fixture
def broken_registry() -> ToolRegistry:
    return ToolRegistry([broken_segment, fake_audio, fake_track])


def test_a_crashing_tool_fails_only_its_concept(
    make_reamo: Callable[..., Reamo], broken_registry: ToolRegistry, media_dir: Path
) -> None:
    result = make_reamo(TWO_PEOPLE_IMAGE, tools=broken_registry).extract(
        "ner", text=TEXT, image=media_dir / "photo.png"
    )

    obama, merkel = result.entities
    assert [type(g) for g in obama.groundings] == [TextSpan, ImageRegion]
    check_obama_region(obama.groundings[1])  # type: ignore[arg-type]
    assert obama.failures == []
    assert merkel.groundings == [TextSpan(start=17, end=30, text="Angela Merkel")]
    [failure] = merkel.failures
    assert (failure.media, failure.tool, failure.kind) == ("image:0", "fake.image.broken.v1", "error")
    assert "segmenter crashed" in failure.message
    assert [r.status for r in result.calls] == ["ok", "error"]
    assert [(d.code, d.concept, d.level) for d in result.diagnostics] == [("tool.error", "e2", "warning")]
    assert result.complete is True  # the planner's answer was whole; a tool failing is not a planner problem
    assert ("tool:fake.image.broken.v1", "ImageSegmentation") in {(b.role, b.name) for b in result.backends}
    assert roundtrips(result)


def test_a_tool_timeout_fails_only_its_concept(
    make_reamo: Callable[..., Reamo], broken_registry: ToolRegistry, media_dir: Path
) -> None:
    answer = {
        "entities": [
            {"text": "Obama", "label": "person", "concept": True},
            {"text": "slow", "label": "miscellaneous", "concept": True},
        ],
        "calls": [
            {"module": "ImageSegmentation", "instruction": "slow", "target": "image:0"},
            {"module": "ImageSegmentation", "instruction": "Obama", "target": "image:0"},
        ],
    }
    result = make_reamo(answer, tools=broken_registry, tool_timeout_s=0.2).extract(
        "ner", image=media_dir / "photo.png"
    )

    obama, slow = result.entities
    [failure] = slow.failures
    assert (failure.kind, failure.tool, failure.media) == ("timeout", "fake.image.broken.v1", "image:0")
    assert "0.2 s" in failure.message
    assert slow.groundings == []
    [region] = obama.groundings
    check_obama_region(region)  # type: ignore[arg-type]
    assert [(r.call.instruction, r.status) for r in result.calls] == [("slow", "timeout"), ("Obama", "ok")]
    assert [d.code for d in result.diagnostics] == ["tool.timeout"]


def test_a_concept_not_in_the_media_gets_a_not_found_failure(
    make_reamo: Callable[..., Reamo], media_dir: Path
) -> None:
    result = make_reamo(TWO_PEOPLE_IMAGE).extract("ner", text=TEXT, image=media_dir / "photo.png")
    obama, merkel = result.entities
    assert obama.failures == []
    assert [(f.kind, f.media, f.tool) for f in merkel.failures] == [("not_found", "image:0", TOOLS["image"])]
    assert not [g for g in merkel.groundings if not isinstance(g, TextSpan)]
    assert [(d.code, d.level, d.concept) for d in result.diagnostics] == [("tool.not_found", "info", "e2")]


@tool("test.image.outside.v1", module="ImageSegmentation", modality="image")
def outside_segment(args: ToolArgs, ctx: ToolContext) -> list[ImageRegion]:
    """Segment (test: 'far' lies beyond the image, 'edge' half outside, 'badmask' has a wrong-size mask)."""
    if args.instruction == "far":
        return [ImageRegion(media=args.target, box=(100.0, 100.0, 200.0, 150.0), score=0.5)]
    if args.instruction == "edge":
        return [ImageRegion(media=args.target, box=(50.0, 40.0, 100.0, 100.0), score=0.5)]
    small = masks.from_box((0, 0, 5, 5), 10, 10)
    return [
        ImageRegion(
            media=args.target,
            box=(0.0, 0.0, 5.0, 5.0),
            score=0.5,
            mask=RLE(size=(10, 10), counts=str(small["counts"])),
        )
    ]


@tool("test.audio.outside.v1", module="AudioSegmentation", modality="audio")
def outside_audio(args: ToolArgs, ctx: ToolContext) -> list[AudioSpan]:
    """Find speech (test: 'far' starts after the audio ends, 'edge' runs past its end)."""
    start, end = (5.0, 6.0) if args.instruction == "far" else (1.5, 3.0)
    return [AudioSpan(media=args.target, start=start, end=end, score=0.5)]


@tool("test.video.outside.v1", module="VideoTracking", modality="video")
def outside_track(args: ToolArgs, ctx: ToolContext) -> list[VideoTrack]:
    """Track (test: 'far' is on frames past the end, 'edge' on frames 3-7 of a 5-frame video)."""
    first = 10 if args.instruction == "far" else 3
    frames = [TrackFrame(frame=i, box=(1.0, 1.0, 5.0, 5.0), score=0.5) for i in range(first, first + 5)]
    return [VideoTrack(media=args.target, frames=frames, score=0.5)]


def test_groundings_outside_the_media_are_dropped_or_clipped(
    make_reamo: Callable[..., Reamo], media_dir: Path
) -> None:
    answer = {
        "entities": [
            {"text": "far", "label": "miscellaneous", "concept": True},
            {"text": "edge", "label": "miscellaneous", "concept": True},
            {"text": "badmask", "label": "miscellaneous", "concept": True},
        ],
        "calls": [
            *(
                {"module": MODULES[m], "instruction": name, "target": f"{m}:0"}
                for name in ("far", "edge")
                for m in ("image", "audio", "video")
            ),
            {"module": "ImageSegmentation", "instruction": "badmask", "target": "image:0"},
        ],
    }
    tools = ToolRegistry([outside_segment, outside_audio, outside_track])
    result = make_reamo(answer, tools=tools).extract(
        "ner", image=media_dir / "photo.png", audio=media_dir / "speech.wav", video=media_dir / "clip"
    )

    far, edge, badmask = result.entities
    # nothing of "far" is inside any medium: every grounding dropped, each with a failure
    assert far.groundings == []
    assert [(f.media, f.kind) for f in far.failures] == [
        ("image:0", "out_of_bounds"),
        ("audio:0", "out_of_bounds"),
        ("video:0", "out_of_bounds"),
    ]
    assert "lies outside the 64x48 image" in far.failures[0].message
    # "edge" is clipped to the media
    assert edge.failures == []
    region, span, track = edge.groundings
    assert isinstance(region, ImageRegion)
    assert region.box == (50.0, 40.0, float(WIDTH), float(HEIGHT))
    assert isinstance(span, AudioSpan)
    assert (span.start, span.end) == (1.5, AUDIO_SECONDS)
    assert isinstance(track, VideoTrack)
    assert [f.frame for f in track.frames] == [3, 4]
    # a mask of the wrong size cannot be placed on the image
    assert badmask.groundings == []
    [failure] = badmask.failures
    assert failure.kind == "out_of_bounds"
    assert "mask size" in failure.message

    assert [r.status for r in result.calls] == ["ok"] * 7  # the tools answered; merge judged the answers
    oob = [d for d in result.diagnostics if d.code == "grounding.out_of_bounds"]
    assert [(d.concept, d.stage, d.level) for d in oob] == [("e1", "merge", "warning")] * 3 + [
        ("e3", "merge", "warning")
    ]
    assert roundtrips(result)


# --------------------------------------------------------------------------
# Golden results
# --------------------------------------------------------------------------

GOLDEN_CASES: dict[str, tuple[str, tuple[str, ...], Any, Any]] = {
    "result_text_image.json": ("ner", ("text", "image"), TWO_PEOPLE_IMAGE, None),
    "result_re_text_image.json": (
        "re",
        ("text", "image"),
        RE_ANSWER,
        ["/per/per/peer", "/per/loc/place_of_residence"],
    ),
    "result_ee_text_image_audio.json": ("ee", ("text", "image", "audio"), EE_ANSWER, None),
}


@pytest.mark.parametrize("name", list(GOLDEN_CASES))
def test_full_results_are_pinned(name: str, make_reamo: Callable[..., Reamo], media_dir: Path) -> None:
    task, modalities, answer, labels = GOLDEN_CASES[name]
    result = make_reamo(answer).extract(task, labels=labels, **media_args(media_dir, modalities))
    check_golden_json(name, normalised(result, media_dir))


def test_a_concept_named_twice_is_joined_when_both_ground_to_one_region(
    make_reamo: Callable[..., Reamo], media_dir: Path
) -> None:
    # "the man" is only seen, not written; it is the same person as "Barack Obama" (one region)
    answer = {
        "entities": [
            {"text": "Barack Obama", "label": "person", "concept": True},
            {"text": "the man", "label": "person", "concept": True},
            {"text": "Angela Merkel", "label": "person"},
        ],
        "relations": [
            {"head": "the man", "label": "/per/per/peer", "tail": "Angela Merkel"},
            {"head": "Barack Obama", "label": "/per/per/alternate_names", "tail": "the man"},
        ],
        "calls": [
            {
                "module": "ImageSegmentation",
                "instruction": "Obama",
                "target": "image:0",
                "concept": "Barack Obama",
            },
            {"module": "ImageSegmentation", "instruction": "the man", "target": "image:0"},
        ],
    }
    result = make_reamo(answer).extract("re", text=TEXT, image=media_dir / "photo.png")

    assert [(e.id, e.text) for e in result.entities] == [("e1", "Barack Obama"), ("e3", "Angela Merkel")]
    obama = result.entity("e1")
    assert obama.groundings[0] == TextSpan(start=0, end=12, text="Barack Obama")
    regions = [g for g in obama.groundings if isinstance(g, ImageRegion)]
    assert regions
    assert {r.box for r in regions} == {OBAMA_BOX}
    # the relation on "the man" moves to e1; the one between the two names of e1 is dropped
    assert result.relations == [Relation(head="e1", tail="e3", label="/per/per/peer")]
    assert [d.code for d in result.diagnostics] == ["record.joined"]
    assert "kept e1" in result.diagnostics[0].message
    assert roundtrips(result)


def test_a_concept_the_planner_did_not_call_is_grounded_and_reported(
    make_reamo: Callable[..., Reamo], media_dir: Path
) -> None:
    answer = {"entities": [{"text": "Obama", "label": "person", "concept": True}], "calls": []}
    result = make_reamo(answer).extract("ner", text="Obama in Berlin", image=media_dir / "photo.png")
    assert [(r.call.module, r.call.target, r.call.concept) for r in result.calls] == [
        ("ImageSegmentation", "image:0", "e1")
    ]
    (note,) = [d for d in result.diagnostics if d.code == "planner.concept_without_call"]
    assert note.level == "info"
    assert note.concept == "e1"
    assert result.complete is True


def test_a_seen_only_entity_found_several_times_becomes_one_entity_per_region() -> None:
    from reamo.agent.nodes.merge import _one_per_instance
    from reamo.schemas import Entity, ImageRegion, Relation

    def region(x: float) -> ImageRegion:
        return ImageRegion(media="image:0", box=(x, 0, x + 10, 10), score=0.9)

    dogs = Entity(
        id="e1", text="dog", label="dog", concept=True, groundings=[region(0), region(20), region(40)]
    )
    cat = Entity(id="e2", text="cat", label="cat", concept=True, groundings=[region(60)])
    written = Entity(
        id="e3",
        text="Rex",
        label="dog",
        concept=True,
        groundings=[TextSpan(start=0, end=3, text="Rex"), region(0), region(20)],
    )
    out, notes = _one_per_instance([dogs, cat, written], [], [])
    assert [(e.id, e.text, [g.box[0] for g in e.groundings if isinstance(g, ImageRegion)]) for e in out] == [
        ("e1", "dog", [0]),
        ("e4", "dog", [20]),
        ("e5", "dog", [40]),
        ("e2", "cat", [60]),
        ("e3", "Rex", [0, 20]),  # written in the text: one mention, kept whole
    ]
    assert notes == [("'dog' was found 3 times: one entity each (e1, e4, e5)", "e1")]
    kept, _ = _one_per_instance([dogs, cat], [Relation(head="e1", tail="e2", label="chases")], [])
    assert len(kept) == 2  # a relation refers to e1: it stays whole
