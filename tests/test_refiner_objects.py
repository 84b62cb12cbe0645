"""The ``objects`` refiner through the graph: a scripted planner, fake perception (detected objects) and
fake grounding tools that find what perception saw. Object classes beside named-entity types in one
label set: written and seen is one entity of its class with one call, seen only is an image entity,
written only is a text entity, an object word is never a person."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

import pytest
from pydantic import BaseModel

from reamo import masks
from reamo.agent import ScriptedPlanner
from reamo.agent.refiners.objects import ObjectRefiner
from reamo.agent.refiners.protocol import RefineRequest, RefinerSetup
from reamo.config import ReamoConfig
from reamo.errors import ConfigError
from reamo.schemas import (
    RLE,
    DetectedObject,
    Entity,
    ExtractionResult,
    FramePerception,
    ImagePerception,
    ImageRegion,
    Inputs,
    LabelSchema,
    MediaInput,
    MetaResponse,
    Modality,
    Perception,
    TextSpan,
    TrackFrame,
    VideoPerception,
    VideoTrack,
)
from reamo.sdk import Reamo
from reamo.tools import Resources, ToolArgs, ToolContext, ToolRegistry, tool
from reamo.tools.perception import MetadataPerceiver
from reamo.tools.vision.classes import OPEN_VOCABULARY, coco_lexicon

NE = ["person", "location", "organization", "miscellaneous"]
LABELS = [*NE, "dog", "car", "giraffe", "cow"]
DOG, CAR, CAR2, PERSON = (
    (30.0, 10.0, 60.0, 44.0),
    (2.0, 30.0, 20.0, 46.0),
    (40.0, 2.0, 62.0, 9.0),
    (2.0, 2.0, 25.0, 40.0),
)


class Seen(MetadataPerceiver):
    """Perceives an image or a video as the file's facts plus the objects it is told are there."""

    def __init__(
        self, modality: Modality, objects: list[tuple[str, tuple[float, float, float, float]]]
    ) -> None:
        super().__init__(modality)
        self.objects = [DetectedObject(label=label, box=box, score=0.8) for label, box in objects]

    def perceive(self, item: MediaInput, resources: Resources) -> BaseModel:
        found = super().perceive(item, resources)
        if isinstance(found, ImagePerception):
            return found.model_copy(update={"objects": self.objects})
        assert isinstance(found, VideoPerception)
        frames = [FramePerception(frame=i, objects=self.objects) for i in range(found.frame_count or 1)]
        return found.model_copy(update={"frames": frames})


class SegmentArgs(ToolArgs):
    instances: Literal["auto", "one", "all"] = "auto"


def _class(instruction: str) -> str:
    return coco_lexicon().class_of(instruction) or instruction.lower()


@tool("test.objects.segment.v1", module="ImageSegmentation", modality="image")
def segment(args: SegmentArgs, ctx: ToolContext) -> list[ImageRegion]:
    """Segment the instruction's class where perception saw it (fake: the detected boxes)."""
    image = ctx.perception.images[args.target]
    found = [o for o in image.objects if o.label == _class(args.instruction)]
    chosen = found if args.instances == "all" else found[:1]
    regions = []
    for o in chosen:
        rle = masks.from_box(o.box, image.height, image.width)
        mask = RLE(size=tuple(rle["size"]), counts=rle["counts"])
        regions.append(ImageRegion(media=args.target, box=o.box, mask=mask, score=o.score, label=o.label))
    return regions


@tool("test.objects.track.v1", module="VideoTracking", modality="video")
def track(args: ToolArgs, ctx: ToolContext) -> list[VideoTrack]:
    """Track the instruction's class through the frames where perception saw it (fake)."""
    video = ctx.perception.videos[args.target]
    frames = [
        TrackFrame(frame=f.frame, box=o.box, score=o.score)
        for f in video.frames
        for o in f.objects
        if o.label == _class(args.instruction)
    ]
    return [VideoTrack(media=args.target, frames=frames, score=0.8)] if frames else []


def extract(
    answer: dict[str, Any],
    text: str | None,
    objects: list[tuple[str, tuple[float, float, float, float]]],
    media: Path,
    *,
    labels: list[str] = LABELS,
    task: str = "ner",
    relations: list[str] | None = None,
    events: tuple[list[str], list[str]] = ([], []),
) -> ExtractionResult:
    modality: Modality = "video" if media.is_dir() else "image"
    reamo = Reamo(
        planner=ScriptedPlanner(
            [json.dumps({"entities": [], "relations": [], "events": [], "calls": [], **answer})]
        ),
        registry=ToolRegistry([segment, track]),
        perceivers={modality: Seen(modality, objects)},
        plugins=False,
        refiners=["objects"],
    )
    schema = LabelSchema(
        entity_types=labels, relation_types=relations or [], event_types=events[0], argument_roles=events[1]
    )
    return reamo.extract(task, text=text, labels=schema, **{modality: media})  # type: ignore[arg-type]


def by_text(result: ExtractionResult) -> dict[str, list[Entity]]:
    out: dict[str, list[Entity]] = {}
    for e in result.entities:
        out.setdefault(e.text, []).append(e)
    return out


def runs_for(result: ExtractionResult, entity: Entity) -> list[Any]:
    return [r for r in result.calls if r.call.instruction == entity.text]


def codes(result: ExtractionResult) -> list[str]:
    return [d.code for d in result.diagnostics if d.code.startswith("refine.objects")]


TEXT = "A dog runs past Barack Obama in Paris while a giraffe watches."
PLANNED = {
    "entities": [
        {"text": "A", "label": "dog"},  # the small planner's mistakes: a determiner typed dog, the
        {"text": "Barack Obama", "label": "person"},
        {"text": "Paris", "label": "location"},
    ]
}


def test_written_seen_dog_seen_only_car_and_written_only_giraffe(media_dir: Path) -> None:
    result = extract(PLANNED, TEXT, [("dog", DOG), ("car", CAR), ("car", CAR2)], media_dir / "photo.png")
    found = by_text(result)
    assert "A" not in found  # a determiner names no dog
    (dog,) = found["dog"]
    assert (dog.label, dog.concept) == ("dog", True)
    assert len(runs_for(result, dog)) == 1  # one call, to ImageSegmentation
    assert runs_for(result, dog)[0].call.module == "ImageSegmentation"
    spans = [g for g in dog.groundings if isinstance(g, TextSpan)]
    regions = [g for g in dog.groundings if isinstance(g, ImageRegion)]
    assert [(s.start, s.end, s.text) for s in spans] == [(2, 5, "dog")]
    assert [r.box for r in regions] == [DOG]
    # the cars are seen, not written: image entities, one a region (merge splits the one call's two)
    cars = found["car"]
    assert [c.label for c in cars] == ["car", "car"]
    assert sorted(g.box for c in cars for g in c.groundings if isinstance(g, ImageRegion)) == sorted(
        [CAR, CAR2]
    )
    assert not any(isinstance(g, TextSpan) for c in cars for g in c.groundings)
    assert len([r for r in result.calls if r.call.instruction == "car"]) == 1
    # the giraffe is written and not seen: a text entity, no call
    (giraffe,) = found["giraffe"]
    assert (giraffe.label, giraffe.concept) == ("giraffe", False)
    assert [type(g) for g in giraffe.groundings] == [TextSpan]
    assert runs_for(result, giraffe) == []
    assert (found["Barack Obama"][0].label, found["Paris"][0].label) == ("person", "location")
    assert "refine.objects.dropped" in codes(result)
    assert codes(result).count("refine.objects.added") == 3  # dog, giraffe, car


def test_a_cow_the_planner_typed_person_is_a_cow(media_dir: Path) -> None:
    planned = {
        "entities": [
            {"text": "cow", "label": "person", "concept": True},
            {"text": "Angela Merkel", "label": "person"},
        ],
        "calls": [
            {"module": "ImageSegmentation", "instruction": "cow", "target": "image:0", "concept": "cow"}
        ],
    }
    text = "The cow ignored Angela Merkel."
    unseen = extract(planned, text, [], media_dir / "photo.png")
    (cow,) = by_text(unseen)["cow"]
    assert (cow.label, cow.concept) == ("cow", False)  # written, not seen: no call left
    assert unseen.calls == []
    assert by_text(unseen)["Angela Merkel"][0].label == "person"
    assert {"refine.objects.retyped", "refine.objects.not_seen"} <= set(codes(unseen))
    seen = extract(planned, text, [("cow", DOG)], media_dir / "photo.png")
    (cow,) = by_text(seen)["cow"]
    assert (cow.label, cow.concept) == ("cow", True)
    assert [g.box for g in cow.groundings if isinstance(g, ImageRegion)] == [DOG]
    assert len(seen.calls) == 1  # the planner's call, kept


def test_the_label_set_without_a_class_leaves_the_planners_type(media_dir: Path) -> None:
    planned = {"entities": [{"text": "cow", "label": "person"}]}
    result = extract(planned, "The cow ignored us.", [("dog", DOG)], media_dir / "photo.png", labels=NE)
    assert [(e.text, e.label) for e in result.entities] == [("cow", "person")]
    assert codes(result) == []


def test_relations_over_objects_keep_their_entities(media_dir: Path) -> None:
    planned = {
        "entities": [
            {"text": "Barack Obama", "label": "person"},
            {"text": "dog", "label": "person"},  # mistyped, yet related
        ],
        "relations": [{"head": "Barack Obama", "label": "owns", "tail": "dog"}],
    }
    result = extract(
        planned,
        "Barack Obama walks his dog.",
        [("dog", DOG)],
        media_dir / "photo.png",
        task="re",
        relations=["owns"],
    )
    (dog,) = by_text(result)["dog"]
    assert (dog.label, dog.concept) == ("dog", True)
    assert [(result.entity(r.head).text, r.label, result.entity(r.tail).text) for r in result.relations] == [
        ("Barack Obama", "owns", "dog")
    ]


def test_event_arguments_that_are_objects_keep_their_entities(media_dir: Path) -> None:
    planned = {
        "entities": [{"text": "truck", "label": "organization"}, {"text": "Lima", "label": "location"}],
        "events": [
            {
                "trigger": "drove",
                "type": "Movement:Transport",
                "arguments": [{"text": "truck", "role": "Vehicle"}, {"text": "Lima", "role": "Destination"}],
            }
        ],
    }
    result = extract(
        planned,
        "A truck drove the aid to Lima.",
        [("truck", DOG)],
        media_dir / "photo.png",
        labels=[*NE, "truck"],
        task="ee",
        events=(["Movement:Transport"], ["Vehicle", "Destination"]),
    )
    (truck,) = by_text(result)["truck"]
    assert (truck.label, truck.concept) == ("truck", True)
    (event,) = result.events
    assert [(result.entity(a.entity).text, a.role) for a in event.arguments] == [
        ("truck", "Vehicle"),
        ("Lima", "Destination"),
    ]


def test_a_video_object_written_and_seen_is_tracked(media_dir: Path) -> None:
    planned = {"entities": [{"text": "Lisbon", "label": "location"}]}
    result = extract(planned, "Two dogs chase a giraffe in Lisbon.", [("dog", DOG)], media_dir / "clip")
    (dogs,) = by_text(result)["dogs"]
    assert (dogs.label, dogs.concept) == ("dog", True)
    (run,) = runs_for(result, dogs)
    assert (run.call.module, run.call.target) == ("VideoTracking", "video:0")
    assert [g.kind for g in dogs.groundings] == ["text", "video"]
    (giraffe,) = by_text(result)["giraffe"]
    assert giraffe.concept is False


def test_image_alone_with_labels_that_name_a_class_by_another_word(media_dir: Path) -> None:
    result = extract(
        {}, None, [("dog", DOG), ("person", PERSON)], media_dir / "photo.png", labels=[*NE, "puppies"]
    )
    assert sorted((e.text, e.label) for e in result.entities) == [("dog", "puppies"), ("person", "person")]
    assert all(e.concept and e.groundings for e in result.entities)


def test_a_person_seen_is_a_person_unless_a_written_one_is_grounded(media_dir: Path) -> None:
    objects = [("dog", DOG), ("person", PERSON)]
    alone = extract(
        {"entities": [{"text": "Paris", "label": "location"}]},
        "A dog in Paris.",
        objects,
        media_dir / "photo.png",
    )
    assert sorted((e.text, e.label, e.concept) for e in alone.entities) == [
        ("Paris", "location", False),
        ("dog", "dog", True),
        ("person", "person", True),
    ]
    planned = {
        "entities": [{"text": "Barack Obama", "label": "person", "concept": True}],
        "calls": [
            {
                "module": "ImageSegmentation",
                "instruction": "person",
                "target": "image:0",
                "concept": "Barack Obama",
            }
        ],
    }
    named = extract(planned, "Barack Obama and a dog.", objects, media_dir / "photo.png")
    assert sorted((e.text, e.label) for e in named.entities) == [("Barack Obama", "person"), ("dog", "dog")]
    (obama,) = by_text(named)["Barack Obama"]  # the person seen is a subject: the name stays grounded there
    assert obama.concept
    assert [g.box for g in obama.groundings if isinstance(g, ImageRegion)] == [PERSON]


def test_words_that_are_not_objects_of_their_class() -> None:
    refiner = ObjectRefiner()
    text = "Apple sold a golden retriever; they want to train the dogs near the train car."
    labels = LabelSchema(entity_types=[*NE, "dog", "train", "apple", "car"])
    entities = (
        Entity(id="e1", text="Apple", label="organization"),
        Entity(id="e2", text="golden", label="dog"),
        Entity(id="e3", text="Rex", label="dog"),
    )
    request = RefineRequest.build("ner", Inputs(text=text), labels, Perception(), entities=entities)
    refined = refiner.refine(request)
    assert [(e.text, e.label) for e in refined.entities] == [
        ("Apple", "organization"),  # a name, not the fruit
        ("Rex", "dog"),  # a named dog stays
        ("golden retriever", "dog"),
        ("dogs", "dog"),
        ("car", "car"),  # "train car": the car; "to train": a verb
    ]


def test_the_vocabulary_setting() -> None:
    setup = RefinerSetup(name="objects", options={"vocabulary": "open"}, config=ReamoConfig())
    assert ObjectRefiner.from_setup(setup).vocabulary.open
    assert not ObjectRefiner.from_setup(RefinerSetup(name="objects")).vocabulary.open  # embedded: COCO-80
    owl = ReamoConfig(tools={"image.segment.v1": {"backend": "owlv2-sam"}})
    assert ObjectRefiner.from_setup(RefinerSetup(name="objects", config=owl)).vocabulary.open
    with pytest.raises(ConfigError, match="unknown setting"):
        ObjectRefiner.from_setup(RefinerSetup(name="objects", options={"floor": 1}))


def test_a_seen_car_is_not_the_car_of_a_name(media_dir: Path) -> None:
    planned = {"entities": [{"text": "Sam Carter", "label": "person"}]}
    result = extract(planned, "Sam Carter took it.", [("car", CAR), ("car", CAR2)], media_dir / "photo.png")
    cars = by_text(result)["car"]
    assert len(cars) == 2  # two regions, two entities: no text span cut from "Carter" makes it written
    assert not any(isinstance(g, TextSpan) for c in cars for g in c.groundings)


def test_a_person_word_written_and_seen_is_the_person_grounded_not_the_name(media_dir: Path) -> None:
    planned = {
        "entities": [
            {"text": "Leo Martin", "label": "person", "concept": True},
            {"text": "Nairobi", "label": "location"},
        ],
        "calls": [
            {
                "module": "VideoTracking",
                "instruction": "Leo Martin",
                "target": "video:0",
                "concept": "Leo Martin",
            }
        ],
    }
    text = "Leo Martin filmed a cyclist in Nairobi."
    result = extract(planned, text, [("person", PERSON), ("car", CAR)], media_dir / "clip")
    found = by_text(result)
    (cyclist,) = found["cyclist"]
    assert (cyclist.label, cyclist.concept) == ("person", True)
    (run,) = runs_for(result, cyclist)
    assert (run.call.module, run.call.target) == ("VideoTracking", "video:0")
    assert [g.kind for g in cyclist.groundings] == ["text", "video"]
    (leo,) = found["Leo Martin"]
    assert (leo.label, leo.concept) == ("person", False)
    assert runs_for(result, leo) == []
    assert "person" not in found  # the person seen is the cyclist written
    (note,) = [d for d in result.diagnostics if d.code == "refine.objects.name_not_grounded"]
    assert "a person word written is grounded there" in note.message


def test_a_name_is_not_grounded_on_people_in_the_background(media_dir: Path) -> None:
    far = (50.0, 40.0, 53.0, 44.0)  # a person of 12 pixels beside a car of 2,436: not a subject
    planned = {
        "entities": [{"text": "Sam Carter", "label": "person", "concept": True}],
        "calls": [
            {
                "module": "ImageSegmentation",
                "instruction": "person",
                "target": "image:0",
                "concept": "Sam Carter",
            }
        ],
    }
    objects = [("car", (2.0, 2.0, 60.0, 44.0)), ("person", far)]
    result = extract(planned, "Sam Carter photographed a car.", objects, media_dir / "photo.png")
    found = by_text(result)
    (sam,) = found["Sam Carter"]
    assert (sam.concept, [g.kind for g in sam.groundings]) == (False, ["text"])
    (car,) = found["car"]
    assert car.concept
    assert [g.kind for g in car.groundings] == ["text", "image"]
    (person,) = found["person"]  # the people an image shows are still entities, of what they are
    assert [g.box for g in person.groundings if isinstance(g, ImageRegion)] == [far]
    (note,) = [d for d in result.diagnostics if d.code == "refine.objects.name_not_grounded"]
    assert "no person is a subject there" in note.message


def test_person_words_beside_object_classes() -> None:
    text = "Rider Strong waved. People cheered as two cyclists passed the Kite Surfers Club."
    entities = (
        Entity(id="e1", text="Rider Strong", label="person"),
        Entity(id="e2", text="Kite Surfers Club", label="organization"),
    )
    mixed = LabelSchema(entity_types=[*NE, "dog"])
    request = RefineRequest.build("ner", Inputs(text=text), mixed, Perception(), entities=entities)
    refined = ObjectRefiner().refine(request)
    assert [(e.text, e.label) for e in refined.entities] == [
        ("Rider Strong", "person"),  # a name that starts with a person word stays a name
        ("Kite Surfers Club", "organization"),
        ("People", "person"),
        ("cyclists", "person"),
    ]
    named_only = LabelSchema(entity_types=NE)  # no object class asked: person words are not entities
    request = RefineRequest.build("ner", Inputs(text=text), named_only, Perception(), entities=entities)
    assert not ObjectRefiner().applies(request)


def test_a_place_is_not_grounded_by_a_closed_vocabulary(media_dir: Path) -> None:
    planned = {
        "entities": [{"text": "Valencia", "label": "location", "concept": True}],
        "calls": [
            {"module": "VideoTracking", "instruction": "Valencia", "target": "video:0", "concept": "Valencia"}
        ],
    }
    text = "In Valencia, a dog ran."
    closed = extract(planned, text, [("dog", DOG), ("person", PERSON)], media_dir / "clip")
    (valencia,) = by_text(closed)["Valencia"]
    assert (valencia.concept, runs_for(closed, valencia)) == (False, [])
    assert "refine.objects.text_type_not_grounded" in codes(closed)
    request = RefineRequest.build(
        "ner",
        Inputs(text=text),
        LabelSchema(entity_types=LABELS),
        Perception(),
        entities=(Entity(id="e1", text="Valencia", label="location", concept=True),),
        calls=(MetaResponse(module="VideoTracking", instruction="Valencia", target="video:0", concept="e1"),),
    )
    open_vocabulary = ObjectRefiner(OPEN_VOCABULARY).refine(request)  # it may know a landmark: left to it
    assert [c.instruction for c in open_vocabulary.calls] == ["Valencia"]
    assert [c.instruction for c in ObjectRefiner().refine(request).calls] == []


def test_a_capitalised_object_word_the_planner_typed_person_is_left_a_name() -> None:
    text = "Bear waved at us."
    entities = (Entity(id="e1", text="Bear", label="person"),)
    labels = LabelSchema(entity_types=[*NE, "bear"])
    request = RefineRequest.build("ner", Inputs(text=text), labels, Perception(), entities=entities)
    refined = ObjectRefiner().refine(request)
    assert [(e.text, e.label) for e in refined.entities] == [("Bear", "person")]
