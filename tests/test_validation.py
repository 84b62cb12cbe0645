"""Tests for reamo.agent.validate_answer and answer_schema: typed records from a planner answer, with every
defect reported as a problem for the planner while the valid rest is kept."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from reamo.agent import ValidatedAnswer, answer_schema, validate_answer
from reamo.schemas import (
    AudioPerception,
    Entity,
    Event,
    Inputs,
    LabelSchema,
    MetaResponse,
    Perception,
    Relation,
    Task,
    Transcript,
)
from reamo.tools import ToolRegistry

TEXT = "Obama met Merkel in Berlin."
RE_LABELS = LabelSchema.default("re")
EE_LABELS = LabelSchema.default("ee")
NER_LABELS = LabelSchema.default("ner")

GOOD_ANSWER: dict[str, Any] = {
    "entities": [
        {"text": "Obama", "label": "person", "concept": True},
        {"text": "Merkel", "label": "person", "concept": True},
        {"text": "Berlin", "label": "location"},
    ],
    "relations": [{"head": "Obama", "label": "/per/per/peer", "tail": "Merkel"}],
    "events": [],
    "calls": [
        {"module": "ImageSegmentation", "instruction": "Obama", "target": "image:0"},
        {"module": "ImageSegmentation", "instruction": "the woman", "target": "image:0", "concept": "Merkel"},
    ],
}


@pytest.fixture
def image_inputs(media_dir: Path) -> Inputs:
    return Inputs.build(text=TEXT, image=[media_dir / "photo.png"])


@pytest.fixture
def text_inputs() -> Inputs:
    return Inputs.build(text=TEXT)


def _validate(
    answer: dict[str, Any] | str,
    inputs: Inputs,
    registry: ToolRegistry,
    task: Task = "re",
    labels: LabelSchema | None = None,
    perception: Perception | None = None,
) -> ValidatedAnswer:
    raw = answer if isinstance(answer, str) else json.dumps(answer)
    return validate_answer(
        raw,
        task=task,
        labels=labels or LabelSchema.default(task),
        inputs=inputs,
        registry=registry,
        perception=perception,
    )


def _codes(out: ValidatedAnswer) -> list[str]:
    return [p.code for p in out.problems]


def _messages(out: ValidatedAnswer) -> str:
    return "\n".join(p.message for p in out.problems)


# --------------------------------------------------------------------------
# A good answer
# --------------------------------------------------------------------------


def test_good_answer_gives_typed_records_with_ids(image_inputs: Inputs, registry: ToolRegistry) -> None:
    out = _validate(GOOD_ANSWER, image_inputs, registry)
    assert out.problems == []
    assert out.syntax == "json"
    assert out.entities == [
        Entity(id="e1", text="Obama", label="person", concept=True),
        Entity(id="e2", text="Merkel", label="person", concept=True),
        Entity(id="e3", text="Berlin", label="location", concept=False),
    ]
    assert out.relations == [Relation(head="e1", tail="e2", label="/per/per/peer")]
    assert out.calls == [
        MetaResponse(module="ImageSegmentation", instruction="Obama", target="image:0", concept="e1"),
        MetaResponse(module="ImageSegmentation", instruction="the woman", target="image:0", concept="e2"),
    ]


def test_events_get_trigger_and_event_ids_and_calls_resolve_triggers(
    image_inputs: Inputs, registry: ToolRegistry
) -> None:
    answer = {
        "entities": [{"text": "Obama", "label": "person"}, {"text": "Merkel", "label": "person"}],
        "events": [
            {
                "trigger": "met",
                "type": "Contact:Meet",
                "concept": True,
                "arguments": [{"text": "Obama", "role": "Entity"}, {"text": "Merkel", "role": "Entity"}],
            }
        ],
        "calls": [
            {"module": "ImageSegmentation", "instruction": "handshake", "target": "image:0", "concept": "t1"}
        ],
    }
    out = _validate(answer, image_inputs, registry, task="ee")
    assert out.problems == []
    assert len(out.events) == 1
    event = out.events[0]
    assert isinstance(event, Event)
    assert (event.id, event.type, event.trigger.id, event.trigger.text) == ("v1", "Contact:Meet", "t1", "met")
    assert [(a.entity, a.role) for a in event.arguments] == [("e1", "Entity"), ("e2", "Entity")]
    assert [(c.concept, c.instruction) for c in out.calls] == [("t1", "handshake")]


def test_call_by_entity_id_marks_the_entity_as_concept(image_inputs: Inputs, registry: ToolRegistry) -> None:
    answer = {
        "entities": [{"text": "Berlin", "label": "location"}],
        "calls": [
            {"module": "ImageSegmentation", "instruction": "the city", "target": "image:0", "concept": "e1"}
        ],
    }
    out = _validate(answer, image_inputs, registry, task="ner")
    assert out.problems == []
    assert out.entities[0].concept is True
    assert out.calls[0].concept == "e1"


def test_tool_options_pass_through_to_the_call(image_inputs: Inputs, registry: ToolRegistry) -> None:
    answer = {
        "entities": [{"text": "Obama", "label": "person", "concept": True}],
        "calls": [
            {"module": "ImageSegmentation", "instruction": "Obama", "target": "image:0", "max_instances": 3}
        ],
    }
    out = _validate(answer, image_inputs, registry, task="ner")
    assert out.problems == []
    assert out.calls[0].options == {"max_instances": 3}


def test_tag_syntax_answer_is_validated_the_same_way(image_inputs: Inputs, registry: ToolRegistry) -> None:
    raw = (
        "(Obama<concept>, person) (Merkel, person) (Obama, /per/per/peer, Merkel)\n"
        "<Module>ImageSegmentation</Module><Instruction>Obama</Instruction>"
    )
    out = _validate(raw, image_inputs, registry)
    assert out.problems == []
    assert out.syntax == "tags"
    assert [(e.id, e.text, e.concept) for e in out.entities] == [
        ("e1", "Obama", True),
        ("e2", "Merkel", False),
    ]
    assert out.relations == [Relation(head="e1", tail="e2", label="/per/per/peer")]
    assert out.calls == [
        MetaResponse(module="ImageSegmentation", instruction="Obama", target="image:0", concept="e1")
    ]


def test_unparseable_answer_is_one_parse_problem(image_inputs: Inputs, registry: ToolRegistry) -> None:
    out = _validate('{"entities": [', image_inputs, registry)
    assert _codes(out) == ["parse"]
    assert (out.entities, out.calls) == ([], [])


# --------------------------------------------------------------------------
# Defects: each is dropped with a problem phrased for the planner
# --------------------------------------------------------------------------


def test_unknown_label_is_dropped_and_the_allowed_labels_listed(
    image_inputs: Inputs, registry: ToolRegistry
) -> None:
    answer = {"entities": [{"text": "Obama", "label": "politician"}, {"text": "Berlin", "label": "location"}]}
    out = _validate(answer, image_inputs, registry, task="ner")
    assert [e.text for e in out.entities] == ["Berlin"]
    assert _codes(out) == ["schema"]
    message = _messages(out)
    assert "'politician'" in message
    for label in NER_LABELS.entity_types:
        assert label in message


def test_unknown_relation_label_lists_the_relation_labels(
    image_inputs: Inputs, registry: ToolRegistry
) -> None:
    answer = {**GOOD_ANSWER, "relations": [{"head": "Obama", "label": "friend_of", "tail": "Merkel"}]}
    out = _validate(answer, image_inputs, registry)
    assert out.relations == []
    assert "friend_of" in _messages(out)
    assert "/per/per/peer" in _messages(out)


def test_entity_not_in_text_only_input_is_a_span_problem(text_inputs: Inputs, registry: ToolRegistry) -> None:
    answer = {
        "entities": [
            {"text": "Putin", "label": "person", "concept": True},
            {"text": "Obama", "label": "person"},
        ]
    }
    out = _validate(answer, text_inputs, registry, task="ner")
    assert [e.text for e in out.entities] == ["Obama"]
    assert _codes(out) == ["span"]
    assert "Putin" in _messages(out)


def test_entity_found_ignoring_case_and_spacing_is_kept(text_inputs: Inputs, registry: ToolRegistry) -> None:
    answer = {"entities": [{"text": "obama", "label": "person"}, {"text": "Merkel  in", "label": "person"}]}
    out = _validate(answer, text_inputs, registry, task="ner")
    assert out.problems == []
    assert [e.text for e in out.entities] == ["obama", "Merkel  in"]


def test_concept_entity_only_in_the_image_is_kept(image_inputs: Inputs, registry: ToolRegistry) -> None:
    answer = {
        "entities": [{"text": "podium", "label": "miscellaneous", "concept": True}],
        "calls": [{"module": "ImageSegmentation", "instruction": "podium", "target": "image:0"}],
    }
    out = _validate(answer, image_inputs, registry, task="ner")
    assert out.problems == []
    assert [(e.id, e.text, e.concept) for e in out.entities] == [("e1", "podium", True)]
    assert [c.concept for c in out.calls] == ["e1"]


def test_non_concept_entity_only_in_the_image_is_a_span_problem(
    image_inputs: Inputs, registry: ToolRegistry
) -> None:
    answer = {"entities": [{"text": "podium", "label": "miscellaneous", "concept": False}]}
    out = _validate(answer, image_inputs, registry, task="ner")
    assert out.entities == []
    assert _codes(out) == ["span"]


def test_entity_heard_in_the_transcript_is_kept(media_dir: Path, registry: ToolRegistry) -> None:
    inputs = Inputs.build(text=TEXT, audio=[media_dir / "speech.wav"])
    perception = Perception(
        audio={
            "audio:0": AudioPerception(
                media="audio:0", duration=2.0, transcript=Transcript(text="hello Putin")
            )
        }
    )
    answer = {"entities": [{"text": "Putin", "label": "person"}]}
    out = _validate(answer, inputs, registry, task="ner", perception=perception)
    assert out.problems == []
    assert [e.text for e in out.entities] == ["Putin"]


def test_on_speech_alone_a_call_looks_for_its_concepts_words(media_dir: Path, registry: ToolRegistry) -> None:
    heard = "Thousands of demonstrators marched through Paris"
    perception = Perception(
        audio={"audio:0": AudioPerception(media="audio:0", duration=3.0, transcript=Transcript(text=heard))}
    )
    answer = {
        "entities": [
            {"text": "Paris", "label": "location", "concept": True},
            {"text": "demonstrators", "label": "person", "concept": True},
        ],
        "calls": [  # the planner's: Paris called with other words, the demonstrators with theirs
            {"module": "AudioSegmentation", "instruction": "Thousands of demonstrators", "concept": "Paris"},
            {"module": "AudioSegmentation", "instruction": "Thousands of demonstrators", "concept": "e2"},
        ],
    }
    speech = Inputs.build(audio=[media_dir / "speech.wav"])
    out = _validate(answer, speech, registry, task="ner", perception=perception)
    assert out.problems == []
    assert [(c.concept, c.instruction) for c in out.calls] == [
        ("e1", "Paris"),
        ("e2", "Thousands of demonstrators"),  # shares a word with its concept: the planner's own
    ]
    ((call, said),) = out.reworded
    assert (call.concept, said) == ("e1", "Thousands of demonstrators")
    (note,) = [a for a in out.additions(NER_LABELS) if a[0] == "instruction_off_concept"]
    assert note[2] == "e1"
    assert "'Thousands of demonstrators' names none of 'Paris'" in note[1]
    # with text, a concept may be said in other words than it is written: the instruction stays
    both = Inputs.build(text=heard, audio=[media_dir / "speech.wav"])
    out = _validate(answer, both, registry, task="ner", perception=perception)
    assert [c.instruction for c in out.calls] == ["Thousands of demonstrators"] * 2
    assert out.reworded == []


def test_relation_to_an_unlisted_entity_is_a_reference_problem(
    image_inputs: Inputs, registry: ToolRegistry
) -> None:
    answer = {
        "entities": [{"text": "Obama", "label": "person"}],
        "relations": [{"head": "Obama", "label": "/per/per/peer", "tail": "Merkel"}],
    }
    out = _validate(answer, image_inputs, registry)
    assert out.relations == []
    assert _codes(out) == ["reference"]
    assert "'Merkel'" in _messages(out)
    assert "entities" in _messages(out)


def test_relation_from_an_entity_to_itself_is_a_problem(image_inputs: Inputs, registry: ToolRegistry) -> None:
    answer = {
        "entities": [{"text": "Obama", "label": "person"}],
        "relations": [{"head": "Obama", "label": "/per/per/alternate_names", "tail": "obama"}],
    }
    out = _validate(answer, image_inputs, registry)
    assert out.relations == []
    assert "same entity" in _messages(out)


def test_event_argument_not_in_entities_is_dropped_but_event_kept(
    image_inputs: Inputs, registry: ToolRegistry
) -> None:
    answer = {
        "entities": [{"text": "Obama", "label": "person"}],
        "events": [
            {
                "trigger": "met",
                "type": "Contact:Meet",
                "arguments": [{"text": "Obama", "role": "Entity"}, {"text": "Merkel", "role": "Entity"}],
            }
        ],
    }
    out = _validate(answer, image_inputs, registry, task="ee")
    assert [(a.entity, a.role) for a in out.events[0].arguments] == [("e1", "Entity")]
    assert _codes(out) == ["reference"]
    assert "'Merkel'" in _messages(out)


def test_call_to_a_module_whose_medium_is_absent(image_inputs: Inputs, registry: ToolRegistry) -> None:
    answer = {
        "entities": [{"text": "Obama", "label": "person", "concept": True}],
        "calls": [{"module": "AudioSegmentation", "instruction": "Obama", "target": "audio:0"}],
    }
    out = _validate(answer, image_inputs, registry, task="ner")
    assert out.calls == []
    assert _codes(out) == ["target"]
    assert "AudioSegmentation" in _messages(out)
    assert "no audio" in _messages(out)


def test_unknown_module_lists_the_usable_modules(media_dir: Path, registry: ToolRegistry) -> None:
    inputs = Inputs.build(text=TEXT, image=[media_dir / "photo.png"], video=[media_dir / "clip"])
    answer = {
        "entities": [{"text": "Obama", "label": "person", "concept": True}],
        "calls": [{"module": "FaceRecognition", "instruction": "Obama", "target": "image:0"}],
    }
    out = _validate(answer, inputs, registry, task="ner")
    assert out.calls == []
    assert _codes(out) == ["module"]
    message = _messages(out)
    assert "'FaceRecognition'" in message
    assert "ImageSegmentation" in message
    assert "VideoTracking" in message
    assert "AudioSegmentation" not in message  # no audio given: not usable


def test_unknown_module_without_any_media_says_leave_calls_empty(
    text_inputs: Inputs, registry: ToolRegistry
) -> None:
    answer = {"calls": [{"module": "FaceRecognition", "instruction": "Obama", "target": "image:0"}]}
    out = _validate(answer, text_inputs, registry, task="ner")
    assert "leave calls empty" in _messages(out)


def test_target_not_present_lists_allowed_targets(image_inputs: Inputs, registry: ToolRegistry) -> None:
    answer = {
        "entities": [{"text": "Obama", "label": "person", "concept": True}],
        "calls": [{"module": "ImageSegmentation", "instruction": "Obama", "target": "image:3"}],
    }
    out = _validate(answer, image_inputs, registry, task="ner")
    assert out.calls == []
    assert _codes(out) == ["schema"]
    assert "'image:3'" in _messages(out)
    assert "image:0" in _messages(out).split("use one of:")[1]


def test_missing_target_defaults_to_the_only_image(image_inputs: Inputs, registry: ToolRegistry) -> None:
    answer = {
        "entities": [{"text": "Obama", "label": "person", "concept": True}],
        "calls": [{"module": "ImageSegmentation", "instruction": "Obama"}],
    }
    out = _validate(answer, image_inputs, registry, task="ner")
    assert out.problems == []
    assert [c.target for c in out.calls] == ["image:0"]


def test_missing_target_with_two_images_is_a_problem(media_dir: Path, registry: ToolRegistry) -> None:
    inputs = Inputs.build(text=TEXT, image=[media_dir / "photo.png", media_dir / "photo.png"])
    answer = {
        "entities": [{"text": "Obama", "label": "person", "concept": True}],
        "calls": [{"module": "ImageSegmentation", "instruction": "Obama"}],
    }
    out = _validate(answer, inputs, registry, task="ner")
    assert out.calls == []
    assert "target" in _messages(out)


def test_duplicate_calls_are_deduplicated(image_inputs: Inputs, registry: ToolRegistry) -> None:
    call = {"module": "ImageSegmentation", "instruction": "Obama", "target": "image:0"}
    answer = {
        "entities": [{"text": "Obama", "label": "person", "concept": True}],
        "calls": [call, call, {**call, "concept": "e1"}, {**call, "concept": "obama"}],
    }
    out = _validate(answer, image_inputs, registry, task="ner")
    assert out.problems == []
    assert out.calls == [
        MetaResponse(module="ImageSegmentation", instruction="Obama", target="image:0", concept="e1")
    ]


def test_duplicate_entities_are_merged(text_inputs: Inputs, registry: ToolRegistry) -> None:
    answer = {
        "entities": [
            {"text": "Obama", "label": "person"},
            {"text": "obama", "label": "person", "concept": True},
        ]
    }
    out = _validate(answer, text_inputs, registry, task="ner")
    assert out.entities == [Entity(id="e1", text="Obama", label="person", concept=True)]


def test_a_relation_written_twice_is_one_relation(text_inputs: Inputs, registry: ToolRegistry) -> None:
    peers = {"head": "Obama", "label": "/per/per/peer", "tail": "Merkel"}
    answer = {
        "entities": [{"text": "Obama", "label": "person"}, {"text": "Merkel", "label": "person"}],
        "relations": [peers, {**peers, "head": "obama"}, {**peers, "label": "/per/per/couple"}],
    }
    out = _validate(answer, text_inputs, registry)
    assert out.problems == []
    assert out.relations == [
        Relation(head="e1", tail="e2", label="/per/per/peer"),
        Relation(head="e1", tail="e2", label="/per/per/couple"),
    ]


def test_related_entities_take_the_types_their_relation_names(
    text_inputs: Inputs, registry: ToolRegistry
) -> None:
    answer = {
        "entities": [
            {"text": "Obama", "label": "location"},
            {"text": "Merkel", "label": "person"},
            {"text": "Berlin", "label": "organization"},
        ],
        "relations": [
            {"head": "Obama", "label": "/per/loc/place_of_residence", "tail": "Berlin"},
            {"head": "Merkel", "label": "/org/loc/locate_at", "tail": "Berlin"},  # Merkel: first typed here
            {"head": "Merkel", "label": "/per/per/peer", "tail": "Obama"},  # Obama is a person already
        ],
    }
    out = _validate(answer, text_inputs, registry)
    assert out.problems == []
    assert [(e.text, e.label) for e in out.entities] == [
        ("Obama", "person"),
        ("Merkel", "organization"),
        ("Berlin", "location"),
    ]


def test_events_of_one_type_on_one_trigger_are_merged(text_inputs: Inputs, registry: ToolRegistry) -> None:
    def meet(trigger: str, *roles: tuple[str, str], kind: str = "Contact:Meet") -> dict[str, Any]:
        arguments = [{"text": text, "role": role} for text, role in roles]
        return {"trigger": trigger, "type": kind, "arguments": arguments}

    answer = {
        "entities": [
            {"text": "Obama", "label": "person"},
            {"text": "Merkel", "label": "person"},
            {"text": "Berlin", "label": "location"},
        ],
        "events": [
            meet("met", ("Obama", "Entity"), ("Obama", "Entity")),
            meet("Met", ("Merkel", "Entity"), ("obama", "Entity")),
            meet("met", ("Berlin", "Place"), kind="Movement:Transport"),
        ],
    }
    out = _validate(answer, text_inputs, registry, task="ee")
    assert out.problems == []
    assert [(ev.id, ev.trigger.id, ev.type) for ev in out.events] == [
        ("v1", "t1", "Contact:Meet"),
        ("v2", "t2", "Movement:Transport"),
    ]
    assert [(a.entity, a.role) for a in out.events[0].arguments] == [("e1", "Entity"), ("e2", "Entity")]
    assert [(a.entity, a.role) for a in out.events[1].arguments] == [("e3", "Place")]


def test_extra_keys_in_a_call_are_rejected(image_inputs: Inputs, registry: ToolRegistry) -> None:
    answer = {
        "entities": [{"text": "Obama", "label": "person", "concept": True}],
        "calls": [
            {"module": "ImageSegmentation", "instruction": "Obama", "target": "image:0", "colour": "red"}
        ],
    }
    out = _validate(answer, image_inputs, registry, task="ner")
    assert out.calls == []
    assert _codes(out) == ["schema"]
    assert "colour" in _messages(out)
    assert "remove those keys" in _messages(out)


def test_bad_option_type_in_a_call_is_rejected(image_inputs: Inputs, registry: ToolRegistry) -> None:
    answer = {
        "entities": [{"text": "Obama", "label": "person", "concept": True}],
        "calls": [
            {
                "module": "ImageSegmentation",
                "instruction": "Obama",
                "target": "image:0",
                "max_instances": "all",
            }
        ],
    }
    out = _validate(answer, image_inputs, registry, task="ner")
    assert out.calls == []
    assert "max_instances" in _messages(out)


def test_call_for_a_concept_not_listed_is_a_reference_problem(
    image_inputs: Inputs, registry: ToolRegistry
) -> None:
    answer = {"calls": [{"module": "ImageSegmentation", "instruction": "Putin", "target": "image:0"}]}
    out = _validate(answer, image_inputs, registry, task="ner")
    assert out.calls == []
    assert _codes(out) == ["reference"]
    assert "'Putin'" in _messages(out)


def test_ner_task_with_relations_says_leave_relations_empty(
    image_inputs: Inputs, registry: ToolRegistry
) -> None:
    out = _validate(GOOD_ANSWER, image_inputs, registry, task="ner")
    assert out.relations == []
    assert _codes(out) == ["task"]
    assert "leave relations empty" in _messages(out)
    assert len(out.entities) == 3
    assert len(out.calls) == 2


def test_re_task_with_events_says_leave_events_empty(image_inputs: Inputs, registry: ToolRegistry) -> None:
    answer = {**GOOD_ANSWER, "events": [{"trigger": "met", "type": "Contact:Meet"}]}
    out = _validate(answer, image_inputs, registry, task="re")
    assert out.events == []
    assert "leave events empty" in _messages(out)


def test_unknown_top_level_key_and_non_list_value(image_inputs: Inputs, registry: ToolRegistry) -> None:
    out = _validate({"entities": {"text": "Obama"}, "notes": "hi"}, image_inputs, registry, task="ner")
    assert out.entities == []
    message = _messages(out)
    assert "unknown top-level key(s) notes" in message
    assert "entities must be a list, got dict" in message


def test_valid_part_is_kept_while_invalid_items_are_dropped(
    image_inputs: Inputs, registry: ToolRegistry
) -> None:
    answer = {
        "entities": [
            {"text": "Obama", "label": "person", "concept": True},  # ok
            {"text": "Merkel", "label": "chancellor"},  # bad label
            {"text": "Putin", "label": "person"},  # not in the input
            {"text": "Berlin", "label": "location"},  # ok
            "Paris",  # not an object
        ],
        "relations": [
            {"head": "Obama", "label": "/per/loc/place_of_residence", "tail": "Berlin"},  # ok
            {"head": "Obama", "label": "/per/per/peer", "tail": "Merkel"},  # Merkel was dropped
        ],
        "calls": [
            {"module": "ImageSegmentation", "instruction": "Obama", "target": "image:0"},  # ok
            {"module": "AudioSegmentation", "instruction": "Obama", "target": "audio:0"},  # no audio
            {"module": "ImageSegmentation", "instruction": "Berlin", "target": "image:9"},  # no such image
            {"module": "ImageSegmentation", "instruction": "Obama", "target": "image:0"},  # duplicate
        ],
    }
    out = _validate(answer, image_inputs, registry)
    assert [(e.id, e.text) for e in out.entities] == [("e1", "Obama"), ("e2", "Berlin")]
    assert out.relations == [Relation(head="e1", tail="e2", label="/per/loc/place_of_residence")]
    assert [(c.module, c.concept) for c in out.calls] == [("ImageSegmentation", "e1")]
    assert sorted(_codes(out)) == sorted(["schema", "span", "schema", "reference", "target", "schema"])
    assert len(out.problems) == 6


def test_unhashable_module_is_a_problem_not_a_crash(image_inputs: Inputs, registry: ToolRegistry) -> None:
    answer = {"calls": [{"module": ["ImageSegmentation"], "instruction": "Obama"}, {"module": {"a": 1}}]}
    out = _validate(answer, image_inputs, registry, task="ner")
    assert out.calls == []
    assert _codes(out) == ["module", "module"]


# --------------------------------------------------------------------------
# answer_schema: the same contract as one JSON Schema
# --------------------------------------------------------------------------


@pytest.mark.parametrize("task", ["ner", "re", "ee"])
def test_answer_schema_is_valid_draft_2020_12(
    task: Task, image_inputs: Inputs, registry: ToolRegistry
) -> None:
    schema = answer_schema(task, LabelSchema.default(task), image_inputs, registry)
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["required"] == ["entities", "relations", "events", "calls"]


def test_answer_schema_accepts_the_good_answer(image_inputs: Inputs, registry: ToolRegistry) -> None:
    validator = Draft202012Validator(answer_schema("re", RE_LABELS, image_inputs, registry))
    assert [e.message for e in validator.iter_errors(GOOD_ANSWER)] == []


def test_answer_schema_rejects_what_the_validator_rejects(
    image_inputs: Inputs, registry: ToolRegistry
) -> None:
    validator = Draft202012Validator(answer_schema("re", RE_LABELS, image_inputs, registry))
    bad_label = json.loads(json.dumps(GOOD_ANSWER))
    bad_label["entities"][0]["label"] = "politician"
    assert not validator.is_valid(bad_label)
    bad_target = json.loads(json.dumps(GOOD_ANSWER))
    bad_target["calls"][0]["target"] = "image:3"
    assert not validator.is_valid(bad_target)
    audio_call = json.loads(json.dumps(GOOD_ANSWER))
    audio_call["calls"][0] = {"module": "AudioSegmentation", "instruction": "Obama", "target": "audio:0"}
    assert not validator.is_valid(audio_call)
    with_events = {**GOOD_ANSWER, "events": [{"trigger": "met", "type": "Contact:Meet"}]}
    assert not validator.is_valid(with_events)


def test_answer_schema_without_media_allows_no_calls(text_inputs: Inputs, registry: ToolRegistry) -> None:
    schema = answer_schema("ner", NER_LABELS, text_inputs, registry)
    assert schema["properties"]["calls"] == {"type": "array", "maxItems": 0}


# --------------------------------------------------------------------------
# Adversarial answers
# --------------------------------------------------------------------------

_JSON_LEAVES = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
    | st.sampled_from(["Obama", "Merkel", "met", "person", "image:0", "image:1", "audio:0", "e1", "t1"])
)
JSON_VALUES = st.recursive(
    _JSON_LEAVES,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)


def _near(valid: list[Any]) -> st.SearchStrategy[Any]:
    """A value that is often valid and sometimes anything at all."""
    return st.sampled_from(valid) | JSON_VALUES


ITEMS = {
    "entities": st.fixed_dictionaries(
        {
            "text": _near(["Obama", "Merkel", "Berlin", "podium", ""]),
            "label": _near(["person", "location", "x"]),
        },
        optional={"concept": _near([True, False]), "extra": JSON_VALUES},
    ),
    "relations": st.fixed_dictionaries(
        {
            "head": _near(["Obama", "Merkel"]),
            "label": _near(["/per/per/peer", "peer"]),
            "tail": _near(["Merkel", "Berlin"]),
        }
    ),
    "events": st.fixed_dictionaries(
        {"trigger": _near(["met", "war"]), "type": _near(["Contact:Meet", "Meet"])},
        optional={
            "concept": _near([True]),
            "arguments": st.lists(
                st.fixed_dictionaries({"text": _near(["Obama"]), "role": _near(["Entity", "Nobody"])}),
                max_size=2,
            )
            | JSON_VALUES,
        },
    ),
    "calls": st.fixed_dictionaries(
        {
            "module": _near(["ImageSegmentation", "AudioSegmentation", "VideoTracking", "Nope"]),
            "instruction": _near(["Obama", "met", ""]),
        },
        optional={
            "target": _near(["image:0", "image:1", "audio:0", "video:0", "text"]),
            "concept": _near(["Obama", "e1", "t1", "e9"]),
            "max_instances": JSON_VALUES,
        },
    ),
}
ANSWERS = st.fixed_dictionaries(
    {},
    optional={key: st.lists(item | JSON_VALUES, max_size=4) | JSON_VALUES for key, item in ITEMS.items()},
)


def _check_invariants(out: ValidatedAnswer, labels: LabelSchema, inputs: Inputs) -> None:
    assert all(isinstance(p.message, str) and p.message for p in out.problems)
    assert {e.label for e in out.entities} <= set(labels.entity_types)
    assert {r.label for r in out.relations} <= set(labels.relation_types)
    assert {v.type for v in out.events} <= set(labels.event_types)
    present = set(inputs.media_ids())
    ids = {e.id for e in out.entities} | {v.trigger.id for v in out.events}
    for call in out.calls:
        assert call.target in present
        assert call.target != "text"
        assert call.concept in ids
    for rel in out.relations:
        assert {rel.head, rel.tail} <= {e.id for e in out.entities}


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=JSON_VALUES, task=st.sampled_from(["ner", "re", "ee"]))
def test_arbitrary_json_never_raises(
    value: Any, task: Task, image_inputs: Inputs, registry: ToolRegistry
) -> None:
    labels = LabelSchema.default(task)
    out = _validate(json.dumps(value), image_inputs, registry, task=task, labels=labels)
    _check_invariants(out, labels, image_inputs)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(answer=ANSWERS, task=st.sampled_from(["ner", "re", "ee"]))
def test_answer_shaped_garbage_never_raises(
    answer: dict[str, Any], task: Task, image_inputs: Inputs, registry: ToolRegistry
) -> None:
    labels = LabelSchema.default(task)
    out = _validate(json.dumps(answer), image_inputs, registry, task=task, labels=labels)
    _check_invariants(out, labels, image_inputs)


def test_a_concept_without_a_call_gets_the_applicable_calls(
    image_inputs: Inputs, registry: ToolRegistry
) -> None:
    answer = {
        "entities": [
            {"text": "Obama", "label": "person", "concept": True},
            {"text": "Merkel", "label": "person", "concept": True},
            {"text": "Berlin", "label": "location"},
        ],
        "calls": [{"module": "ImageSegmentation", "instruction": "Obama", "target": "image:0"}],
    }
    out = _validate(answer, image_inputs, registry, task="ner")
    assert [(c.module, c.target, c.concept) for c in out.calls] == [
        ("ImageSegmentation", "image:0", "e1"),
        ("ImageSegmentation", "image:0", "e2"),  # added: Merkel was a concept without a call
    ]
    assert [c.instruction for c in out.completed] == ["Merkel"]
    assert out.problems == []


def test_without_text_the_detected_objects_of_requested_labels_are_entities(
    media_dir: Path, registry: ToolRegistry
) -> None:
    from reamo.schemas import DetectedObject, ImagePerception

    inputs = Inputs.build(image=[media_dir / "photo.png"])
    objects = [
        DetectedObject(label=name, box=(1, 1, 9, 9), score=0.9) for name in ("dog", "dog", "person", "car")
    ]
    perception = Perception(
        images={"image:0": ImagePerception(media="image:0", width=64, height=48, objects=objects)}
    )
    labels = LabelSchema(entity_types=["dog", "person", "cat"])
    answer = {
        "entities": [{"text": "dog", "label": "dog", "concept": True}],
        "calls": [{"module": "ImageSegmentation", "instruction": "dog", "target": "image:0"}],
    }
    out = _validate(answer, inputs, registry, task="ner", labels=labels, perception=perception)
    assert [(e.id, e.text, e.label, e.concept) for e in out.entities] == [
        ("e1", "dog", "dog", True),
        ("e2", "person", "person", True),  # seen, left out by the planner: added
    ]  # the car is not a requested label
    assert [e.text for e in out.seen] == ["person"]
    assert [(c.concept, c.target) for c in out.calls] == [("e1", "image:0"), ("e2", "image:0")]
    assert out.unlabelled == {"car": ["image:0"]}
    told = [(code, message) for code, message, _ in out.additions(labels) if code == "seen_unlabelled"]
    assert told == [
        (
            "seen_unlabelled",
            "detected car (image:0), which no requested label (dog, person, cat) stands for, so not "
            "extracted: to get them, ask for them as labels (--labels car, or labels=[...] in Python)",
        )
    ]
    with_text = _validate(
        answer,
        Inputs.build(text="a dog", image=[media_dir / "photo.png"]),
        registry,
        "ner",
        labels,
        perception,
    )
    assert with_text.seen == []  # with text, the planner's answer stands
    assert with_text.unlabelled == {}


def test_a_video_s_seen_entities_are_its_subjects_not_its_background() -> None:
    from reamo.agent.planners.spacy import seen_classes, video_subjects
    from reamo.schemas import DetectedObject, FramePerception, ImagePerception, VideoPerception

    def frame(i: int) -> FramePerception:
        return FramePerception(
            frame=i,
            objects=[
                DetectedObject(label="car", box=(0, 0, 60, 40), score=0.6),  # salience 0.6 x 0.5 = 0.3
                DetectedObject(label="dog", box=(0, 0, 30, 30), score=0.5),  # 0.094, 31 % of the car's
                DetectedObject(label="person", box=(90, 50, 100, 70), score=0.9),  # 0.0375, 12 %: background
            ],
        )

    video = VideoPerception(media="video:0", width=120, height=40, frames=[frame(0), frame(5)])
    assert video_subjects(video) == {"car", "dog"}
    image = ImagePerception(media="image:0", width=120, height=40, objects=frame(0).objects)
    seen = seen_classes(
        Perception(images={"image:0": image}, videos={"video:0": video}), ["car", "dog", "person"]
    )
    assert seen == {
        ("car", "car"): ["image:0", "video:0"],
        ("dog", "dog"): ["image:0", "video:0"],
        ("person", "person"): ["image:0"],  # an image's entities are everything in it
    }
    assert video_subjects(VideoPerception(media="video:1")) == set()
