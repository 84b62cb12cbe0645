"""Label descriptions, end to end: the model, the SDK's label forms, the prompt, the CLI and the chat."""

from __future__ import annotations

import pytest
from _golden import check_golden_text
from pydantic import ValidationError

from reamo.agent.planners.protocol import Message
from reamo.agent.planners.spacy import map_label
from reamo.prompts import render_messages
from reamo.prompts.examples import few_shot_messages
from reamo.schemas import TASKS, DetectedObject, ImagePerception, Inputs, LabelSchema, Perception, Task
from reamo.tools import ToolRegistry

# --- the model ----------------------------------------------------------------------------------------


def test_descriptions_are_trimmed_and_read_back() -> None:
    described = {" couple ": "  two people in a romantic relationship "}
    schema = LabelSchema(entity_types=["person", "couple"], descriptions=described)
    assert schema.descriptions == {"couple": "two people in a romantic relationship"}
    assert schema.description("couple") == "two people in a romantic relationship"
    assert schema.description("person") is None
    assert schema.described("couple") == "couple: two people in a romantic relationship"
    assert schema.described("person") == "person"


def test_a_description_of_an_unknown_label_names_it_and_lists_the_labels() -> None:
    with pytest.raises(ValidationError) as info:
        LabelSchema(entity_types=["person"], argument_roles=["Agent"], descriptions={"couple": "two people"})
    message = str(info.value)
    assert "'couple'" in message
    assert "(person, Agent)" in message


@pytest.mark.parametrize("text", ["", "   "])
def test_an_empty_description_is_refused(text: str) -> None:
    with pytest.raises(ValidationError, match="description of 'person' is empty"):
        LabelSchema(entity_types=["person"], descriptions={"person": text})


def test_a_description_may_describe_any_list_and_a_shared_name_once() -> None:
    schema = LabelSchema(
        entity_types=["place"],
        event_types=["Life:Marry"],
        argument_roles=["place"],
        descriptions={"place": "where it happens", "Life:Marry": "a wedding"},
    )
    assert schema.names() == ["place", "Life:Marry"]
    assert schema.described("Life:Marry") == "Life:Marry: a wedding"


def test_old_json_without_descriptions_still_loads_and_new_json_round_trips() -> None:
    old = LabelSchema.model_validate_json('{"entity_types": ["person"], "relation_types": []}')
    assert old.descriptions == {}
    new = LabelSchema(entity_types=["couple"], descriptions={"couple": "two people"})
    assert LabelSchema.model_validate_json(new.model_dump_json()) == new


def test_the_schema_stays_frozen_and_compares_by_value() -> None:
    schema = LabelSchema(entity_types=["couple"], descriptions={"couple": "two people"})
    with pytest.raises(ValidationError):
        schema.descriptions = {}  # type: ignore[misc]
    assert schema == LabelSchema(entity_types=["couple"], descriptions={"couple": "two people"})
    assert schema != LabelSchema(entity_types=["couple"])


def test_for_task_takes_descriptions_of_its_labels_and_of_the_defaults() -> None:
    schema = LabelSchema.for_task("re", ["/per/per/couple"], {"/per/per/couple": "married or partners"})
    assert schema.relation_types == ["/per/per/couple"]
    assert schema.entity_types == LabelSchema.default("re").entity_types
    assert schema.described("/per/per/couple") == "/per/per/couple: married or partners"
    defaults = LabelSchema.for_task("ner", None, {"miscellaneous": "anything else with a name"})
    assert defaults.entity_types == LabelSchema.default("ner").entity_types
    assert defaults.description("miscellaneous") == "anything else with a name"
    assert LabelSchema.for_task("ner") == LabelSchema.default("ner")


# --- the prompt ---------------------------------------------------------------------------------------


def _prompt_inputs() -> tuple[Inputs, Perception]:
    inputs = Inputs.build(text="Barack Obama met Angela Merkel in Berlin.", image=["photo.png"])
    person = DetectedObject(label="person", box=(2, 2, 30, 40), score=0.9)
    seen = ImagePerception(media="image:0", width=64, height=48, objects=[person])
    return inputs, Perception(images={"image:0": seen})


def _shown(messages: list[Message]) -> str:
    return "".join(f"=== {m.role}\n{m.content}\n" for m in messages)


@pytest.mark.parametrize("task", TASKS)
def test_the_prompt_without_descriptions_is_pinned(task: Task, registry: ToolRegistry) -> None:
    """The tuned planner was trained on this prompt: labels without descriptions must render it byte
    for byte as before descriptions existed."""
    inputs, perception = _prompt_inputs()
    messages = render_messages(task, inputs, LabelSchema.default(task), perception, registry)
    shots = few_shot_messages(task, LabelSchema.default(task), map_label, ("ImageSegmentation", "image:0"))
    check_golden_text(f"prompt_{task}.txt", _shown([*messages, *shots]))


def test_the_prompt_lists_what_each_described_label_of_the_task_means(registry: ToolRegistry) -> None:
    inputs, perception = _prompt_inputs()
    labels = LabelSchema(
        entity_types=["person", "place"],
        relation_types=["couple", "lives_in"],
        descriptions={
            "couple": "two people in a romantic relationship",
            "place": "a city, country or building",
            "lives_in": "a person and where they live",
        },
    )
    body = render_messages("re", inputs, labels, perception, registry)[-1].content
    instruction, meanings, text = body.split("\n\n")[:3]
    assert "[person, place]" in instruction
    assert "[couple, lives_in]" in instruction
    assert meanings == (
        "What the candidate labels mean:\n"
        "- place: a city, country or building\n"
        "- couple: two people in a romantic relationship\n"
        "- lives_in: a person and where they live"
    )
    assert text.startswith("Text: ")
    ner = render_messages("ner", inputs, labels, perception, registry)[-1].content
    assert "- place: a city, country or building" in ner
    assert "couple" not in ner  # relation types are not NER's labels


def test_few_shot_turns_carry_the_descriptions_too() -> None:
    labels = LabelSchema.for_task("ner", None, {"person": "a human being"})
    shots = few_shot_messages("ner", labels, map_label, None)
    turns = [m.content for m in shots if m.role == "user"]
    assert turns
    assert all("- person: a human being" in turn for turn in turns)
