"""Label descriptions, end to end: the model, the SDK's label forms, the prompt, the CLI and the chat."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from io import StringIO
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from _golden import check_golden_text
from jsonschema import Draft202012Validator
from pydantic import ValidationError
from rich.console import Console

from reamo import ExtractionResult, LabelSchemaError, Reamo
from reamo.agent.planners.protocol import Message, PlanRequest
from reamo.agent.planners.spacy import map_label
from reamo.chat import Chat
from reamo.cli import main
from reamo.label_sets import resolve_labels
from reamo.prompts import render_messages
from reamo.prompts.examples import few_shot_messages
from reamo.schemas import (
    TASKS,
    DetectedObject,
    ImagePerception,
    Inputs,
    Label,
    LabelSchema,
    LabelSet,
    Perception,
    Task,
)
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


# --- Reamo.extract's label forms ----------------------------------------------------------------------

COUPLE = "two people in a romantic relationship"
TEXT = "Barack Obama met Angela Merkel in Berlin."
ANSWER = {"entities": [{"text": "Barack Obama", "label": "person"}]}


class Prompted:
    """A scripted answer that keeps the task turn the planner was shown."""

    def __init__(self) -> None:
        self.turns: list[str] = []

    def __call__(self, request: PlanRequest) -> dict[str, Any]:
        self.turns.append(request.messages[-1].content)
        return ANSWER


@pytest.mark.parametrize(
    "labels",
    [
        [{"name": "couple", "description": COUPLE}, "person"],
        [Label(name="couple", description=COUPLE), "person"],
        f"couple: {COUPLE}, person",
        {"entity_types": [{"name": "couple", "description": COUPLE}, "person"]},
        LabelSet(entity_types=["couple", "person"], descriptions={"couple": COUPLE}),
    ],
    ids=["mappings", "label-models", "comma-string", "label-set-mapping", "label-set"],
)
def test_extract_takes_described_labels_and_the_planner_reads_them(
    labels: Any, make_reamo: Callable[..., Reamo]
) -> None:
    prompted = Prompted()
    result = make_reamo(prompted).extract("ner", text=TEXT, labels=labels)
    assert result.labels.entity_types == ["couple", "person"]
    assert result.labels.descriptions == {"couple": COUPLE}
    [turn] = prompted.turns
    assert f"What the candidate labels mean:\n- couple: {COUPLE}" in turn


def test_a_comma_string_keeps_colons_without_a_space_in_names() -> None:
    schema = resolve_labels("ee", "Conflict:Attack, Life:Die: someone dies")
    assert schema.event_types == ["Conflict:Attack", "Life:Die"]
    assert schema.descriptions == {"Life:Die": "someone dies"}


def test_a_label_set_keeps_the_tasks_defaults_for_the_lists_it_leaves_out() -> None:
    schema = resolve_labels("ee", {"event_types": [{"name": "Life:Marry", "description": "a wedding"}]})
    assert schema.event_types == ["Life:Marry"]
    assert schema.argument_roles == LabelSchema.default("ee").argument_roles
    assert schema.entity_types == LabelSchema.default("ee").entity_types
    assert schema.description("Life:Marry") == "a wedding"
    re_schema = resolve_labels("re", {"entity_types": ["person"], "relation_types": ["couple"]})
    assert (re_schema.entity_types, re_schema.relation_types) == (["person"], ["couple"])


def test_a_label_schema_json_is_a_label_set_too() -> None:
    schema = LabelSchema(entity_types=["person", "couple"], descriptions={"couple": COUPLE})
    assert resolve_labels("ner", schema.model_dump(mode="json")) == schema


@pytest.mark.parametrize(
    ("labels", "says"),
    [
        ([{"description": COUPLE}], "label 1 has no 'name': give its name as a non-empty string"),
        (["person", {"name": "  "}], "label 2 has the name '  '"),
        ([{"name": "couple", "meaning": COUPLE}], "label 1 has unknown key(s) 'meaning'"),
        ([{"name": "couple", "description": 3}], "label 1 ('couple') has the description 3: describe it"),
        ([{"name": "couple", "description": " "}], "has the description ' '"),
        ([3], 'label 1 is 3: give a label\'s name or {"name"'),
        ({"name": "couple", "description": COUPLE}, "is one label: put it in a list"),
        (
            {"entity_type": ["person"]},
            "Unknown key(s) 'entity_type' in the label set; its keys are entity_types",
        ),
        ({"entity_types": "person"}, "entity_types is 'person': give a list of labels"),
        ({"relation_types": [{"label": "x"}]}, "relation_types[0] has unknown key(s) 'label'"),
        (
            {
                "entity_types": [{"name": "place", "description": "a city"}],
                "argument_roles": [{"name": "place", "description": "where it happened"}],
            },
            "'place' is described twice ('a city' and 'where it happened'); give it one description",
        ),
        (["person", {"name": "person", "description": "a human"}], "duplicate labels: person"),
        ({"entity_types": ["person"], "descriptions": {"couple": COUPLE}}, "unknown label(s) 'couple'"),
        (3.5, "labels is 3.5: give a list of labels"),
    ],
)
def test_a_bad_label_is_a_label_schema_error_that_says_what_to_do(labels: Any, says: str) -> None:
    with pytest.raises(LabelSchemaError) as info:
        resolve_labels("ner", labels)
    assert says in str(info.value)


# --- the CLI and manifests ----------------------------------------------------------------------------


@pytest.fixture
def planner_file(tmp_path: Path) -> str:
    answers = tmp_path / "answers.json"
    answers.write_text(json.dumps([ANSWER]))
    return f"scripted:{answers}"


@pytest.fixture
def label_file(tmp_path: Path) -> Path:
    path = tmp_path / "labels.json"
    path.write_text(
        json.dumps(
            {
                "entity_types": ["person", {"name": "couple", "description": COUPLE}],
                "relation_types": [{"name": "married_to", "description": "husband and wife"}],
            }
        )
    )
    return path


def test_extract_reads_a_label_set_file_for_its_task(
    label_file: Path, planner_file: str, capsys: pytest.CaptureFixture[str]
) -> None:
    for task in ("ner", "re"):
        args = ["extract", "--task", task, "--text", TEXT, "--schema", str(label_file)]
        assert main([*args, "--planner", planner_file, "--json"]) == 0
        result = ExtractionResult.model_validate_json(capsys.readouterr().out)
        assert result.labels.entity_types == ["person", "couple"]
        assert result.labels.relation_types == ["married_to"]  # the file's lists, whatever the task
        assert result.labels.descriptions == {"couple": COUPLE, "married_to": "husband and wife"}


def test_extract_labels_may_say_what_they_mean(planner_file: str, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["extract", "--task", "ner", "--text", TEXT, "--labels", f"person, couple: {COUPLE}"]
    assert main([*args, "--planner", planner_file, "--json"]) == 0
    result = ExtractionResult.model_validate_json(capsys.readouterr().out)
    assert result.labels.descriptions == {"couple": COUPLE}


def test_labels_and_schema_together_are_refused(
    label_file: Path, planner_file: str, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["extract", "--task", "ner", "--text", TEXT, "--labels", "person", "--schema", str(label_file)]
    assert main([*args, "--planner", planner_file]) == 2
    assert "Give --labels or --schema, not both" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (None, "does not exist"),
        ("{not json", "is not UTF-8 JSON"),
        ('["person"]', "holds a JSON list; it must hold one object"),
        ('{"entity_types": [{"description": "x"}]}', "entity_types[0] has no 'name'"),
    ],
    ids=["missing", "not-json", "a-list", "no-name"],
)
def test_a_bad_label_set_file_is_named_in_the_error(
    content: str | None, says: str, tmp_path: Path, planner_file: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "schema.json"
    if content is not None:
        path.write_text(content)
    args = ["extract", "--task", "ner", "--text", TEXT, "--schema", str(path), "--planner", planner_file]
    assert main(args) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "LabelSchemaError" in err
    assert says in err


def test_schema_command_publishes_the_label_set_file_schema(
    label_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["schema", "label_set"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert schema == LabelSet.model_json_schema()
    Draft202012Validator(schema).validate(json.loads(label_file.read_text()))
    with pytest.raises(jsonschema.ValidationError):
        Draft202012Validator(schema).validate({"entity_types": [{"name": "x", "meaning": "y"}]})


def test_manifest_rows_take_described_labels_and_the_schema_default(
    label_file: Path, planner_file: str, tmp_path: Path
) -> None:
    rows = [
        {
            "id": "list",
            "inputs": {"text": TEXT},
            "labels": ["person", {"name": "couple", "description": COUPLE}],
        },
        {
            "id": "set",
            "inputs": {"text": TEXT},
            "schema": {"entity_types": [{"name": "pair", "description": "two"}]},
        },
        {"id": "default", "inputs": {"text": TEXT}},
        {"id": "bad", "inputs": {"text": TEXT}, "labels": [{"name": "couple", "desc": COUPLE}]},
    ]
    manifest = tmp_path / "rows.jsonl"
    manifest.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "out.jsonl"
    args = ["extract", "--manifest", str(manifest), "--out", str(out), "--schema", str(label_file)]
    assert main([*args, "--planner", planner_file]) == 0
    records = {r["id"]: r for r in map(json.loads, out.read_text().splitlines())}
    assert records["list"]["result"]["labels"]["descriptions"] == {"couple": COUPLE}
    assert records["set"]["result"]["labels"]["descriptions"] == {"pair": "two"}
    assert records["default"]["result"]["labels"]["entity_types"] == ["person", "couple"]  # --schema
    assert records["bad"]["error"]["type"] == "LabelSchemaError"
    assert "unknown key(s) 'desc'" in records["bad"]["error"]["message"]


# --- the chat -----------------------------------------------------------------------------------------


def chat_of(reamo: Reamo) -> tuple[Chat, StringIO]:
    out = StringIO()
    return Chat(reamo, console=Console(file=out, width=160, color_system=None)), out


def test_chat_labels_shows_sets_and_resets_the_label_set(make_reamo: Callable[..., Reamo]) -> None:
    prompted = Prompted()
    chat, out = chat_of(make_reamo(prompted, prompted))
    chat.run(["/labels", f"/labels person, couple: {COUPLE}, location", f"entities: {TEXT}"])
    shown = out.getvalue()
    assert (
        "labels for NER (defaults):\n  entity types: person, location, organization, miscellaneous" in shown
    )
    assert (
        f"labels for NER (yours):\n  entity types: person, couple, location\n    couple: {COUPLE}\n" in shown
    )
    assert f"- couple: {COUPLE}" in prompted.turns[-1]
    chat.run(["/labels defaults"])
    assert out.getvalue().endswith(
        "labels for NER (defaults):\n  entity types: person, location, organization, miscellaneous\n"
    )


def test_chat_labels_reads_a_label_set_file_kept_across_tasks(
    label_file: Path, make_reamo: Callable[..., Reamo]
) -> None:
    chat, out = chat_of(make_reamo(ANSWER, {**ANSWER, "relations": []}))
    chat.run([f"/labels {label_file}", f"entities: {TEXT}", "now the relations", "/labels"])
    shown = out.getvalue()
    assert f"labels for NER ({label_file}):\n  entity types: person, couple\n    couple: {COUPLE}" in shown
    assert "labels for RE" in shown
    assert "  relation types: married_to\n    married_to: husband and wife" in shown
    assert [r.task for r in chat.session.results] == ["ner", "re"]
    assert [r.labels.relation_types for r in chat.session.results] == [["married_to"]] * 2


def test_chat_refuses_a_bad_label_set_and_keeps_the_last(
    make_reamo: Callable[..., Reamo], tmp_path: Path
) -> None:
    chat, out = chat_of(make_reamo(ANSWER))
    chat.run(["/labels person, person", f"/labels {tmp_path / 'none.json'}", "/labels"])
    shown = out.getvalue()
    assert "LabelSchemaError: Bad label set" in shown
    assert "does not exist" in " ".join(shown.split())
    assert shown.endswith(
        "labels for NER (defaults):\n  entity types: person, location, organization, miscellaneous\n"
    )


def test_readme_labels_example_runs(
    make_reamo: Callable[..., Reamo], capsys: pytest.CaptureFixture[str]
) -> None:
    readme = (Path(__file__).parents[1] / "README.md").read_text()
    section = readme.split("### Your labels", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert code is not None
    answer = {
        "entities": [{"text": "Barack Obama", "label": "person"}, {"text": "Michelle", "label": "person"}],
        "relations": [{"head": "Barack Obama", "label": "couple", "tail": "Michelle"}],
    }
    namespace: dict[str, Any] = {"reamo": make_reamo(answer)}
    exec(compile(code.group(1), "README.md", "exec"), namespace)
    assert capsys.readouterr().out == f"couple: {COUPLE}\n"
    result = namespace["result"]
    texts = {e.id: e.text for e in result.entities}
    assert [(texts[r.head], r.label, texts[r.tail]) for r in result.relations] == [
        ("Barack Obama", "couple", "Michelle")
    ]
