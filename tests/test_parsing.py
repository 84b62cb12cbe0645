"""Tests for reamo.agent.parse_answer / parse_tags: JSON answers, the paper's tag syntax, and fuzzing."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reamo.agent import ParseError, parse_answer, parse_tags
from reamo.agent.parsing import ANSWER_KEYS
from reamo.schemas import LabelSchema

RE_LABELS = LabelSchema.default("re")
NER_LABELS = LabelSchema.default("ner")

ENTITIES = [
    {"text": "Obama", "label": "person", "concept": True},
    {"text": "Berlin", "label": "location", "concept": False},
]


def _empty(**lists: list[Any]) -> dict[str, list[Any]]:
    return {key: lists.get(key, []) for key in ANSWER_KEYS}


# --------------------------------------------------------------------------
# JSON answers
# --------------------------------------------------------------------------


def test_plain_json_answer() -> None:
    raw = json.dumps({"entities": ENTITIES, "relations": [], "events": [], "calls": []})
    assert parse_answer(raw) == (_empty(entities=ENTITIES), "json")


def test_json_answer_fills_missing_lists() -> None:
    data, syntax = parse_answer(json.dumps({"entities": ENTITIES}))
    assert syntax == "json"
    assert data == _empty(entities=ENTITIES)


def test_json_answer_keeps_unknown_keys_for_the_validator() -> None:
    data, _ = parse_answer(json.dumps({"entities": [], "comment": "x"}))
    assert data["comment"] == "x"
    assert set(ANSWER_KEYS) <= set(data)


def test_json_in_a_fence_with_chatter_around_it() -> None:
    raw = (
        "Sure! Here is the extraction:\n```json\n"
        + json.dumps({"entities": ENTITIES, "calls": []}, indent=2)
        + "\n```\nLet me know if you need anything else {really}."
    )
    assert parse_answer(raw) == (_empty(entities=ENTITIES), "json")


def test_json_in_a_bare_fence() -> None:
    raw = "```\n" + json.dumps({"entities": ENTITIES}) + "\n```"
    assert parse_answer(raw) == (_empty(entities=ENTITIES), "json")


def test_json_with_chatter_and_no_fence() -> None:
    raw = 'I found these: {"entities": [{"text": "Obama", "label": "person"}]} -- done.'
    data, syntax = parse_answer(raw)
    assert syntax == "json"
    assert data["entities"] == [{"text": "Obama", "label": "person"}]


def test_json_with_nested_braces_in_strings_and_objects() -> None:
    answer = {
        "entities": [{"text": "{weird} }name{", "label": "person", "concept": False}],
        "calls": [
            {"module": "ImageSegmentation", "instruction": "x", "target": "image:0", "extra": {"a": {"b": 1}}}
        ],
    }
    raw = "prefix {not json} " + json.dumps(answer) + " suffix {"
    data, syntax = parse_answer(raw)
    assert syntax == "json"
    assert data["entities"] == answer["entities"]
    assert data["calls"] == answer["calls"]


def test_json_object_without_answer_keys_is_skipped_for_a_later_one() -> None:
    raw = '{"thoughts": "thinking"} then {"entities": [{"text": "Obama", "label": "person"}]}'
    data, _ = parse_answer(raw)
    assert data["entities"] == [{"text": "Obama", "label": "person"}]
    assert "thoughts" not in data


def test_empty_json_object_means_nothing_found() -> None:
    assert parse_answer("{}") == (_empty(), "json")


@pytest.mark.parametrize(
    "raw",
    [
        '{"entities": [{"text": "Obama", "label": "per',
        '```json\n{"entities": [{"text": "Obama", "label": "person"}],\n  "calls": [\n```',
        'Answer: {"entities": [',
        '{"entities": ' + "[" * 20_000,  # a looping model: nesting past the recursion limit
    ],
)
def test_truncated_json_raises_a_parse_error_asking_for_complete_json(raw: str) -> None:
    with pytest.raises(ParseError, match=r"(?i)truncated|complete JSON"):
        parse_answer(raw)


@pytest.mark.parametrize("raw", ["", "   ", "\n\t\n"])
def test_empty_answer_raises(raw: str) -> None:
    with pytest.raises(ParseError, match="empty"):
        parse_answer(raw)


def test_prose_without_records_raises_with_an_example_of_the_format() -> None:
    with pytest.raises(ParseError, match="JSON object like"):
        parse_answer("I could not find anything interesting here")


@pytest.mark.parametrize("raw", ["None", "none.", "No entities", "[]", "nothing"])
def test_explicit_nothing_answers_give_empty_lists(raw: str) -> None:
    assert parse_answer(raw) == (_empty(), "tags")


# --------------------------------------------------------------------------
# Tag syntax
# --------------------------------------------------------------------------


def test_tag_entities_with_concept_mark() -> None:
    data, syntax = parse_answer("(Obama<concept>, person) (Berlin, location)")
    assert syntax == "tags"
    assert data == _empty(entities=ENTITIES)


def test_concept_mark_tolerates_spacing_and_case() -> None:
    data = parse_tags("(Obama < CONCEPT >, person)")
    assert data["entities"] == [{"text": "Obama", "label": "person", "concept": True}]


def test_tag_relation_is_recognised_by_its_label() -> None:
    data, syntax = parse_answer("(Obama, person) (Merkel, person) (Obama, /per/per/peer, Merkel)", RE_LABELS)
    assert syntax == "tags"
    assert data["relations"] == [{"head": "Obama", "label": "/per/per/peer", "tail": "Merkel"}]
    assert [e["text"] for e in data["entities"]] == ["Obama", "Merkel"]


def test_tag_relation_with_commas_in_head_and_tail() -> None:
    data = parse_tags("(Washington, D.C., /loc/loc/contain, Foggy Bottom, Inc.)", RE_LABELS)
    assert data["relations"] == [
        {"head": "Washington, D.C.", "label": "/loc/loc/contain", "tail": "Foggy Bottom, Inc."}
    ]


def test_tag_entity_whose_text_has_a_comma() -> None:
    data = parse_tags("(Washington, D.C., location)", NER_LABELS)
    assert data["entities"] == [{"text": "Washington, D.C.", "label": "location", "concept": False}]
    assert data["relations"] == []


def test_entity_text_keeps_its_own_spacing_around_commas() -> None:
    data = parse_tags("(Washington,D.C.<concept>, location)", NER_LABELS)
    assert data["entities"] == [{"text": "Washington,D.C.", "label": "location", "concept": True}]


def test_three_part_tuple_without_labels_is_a_relation() -> None:
    data = parse_tags("(Obama, peer_of, Merkel)")
    assert data["relations"] == [{"head": "Obama", "label": "peer_of", "tail": "Merkel"}]
    assert data["entities"] == []


def test_tag_event_with_arguments() -> None:
    data, syntax = parse_answer("[met<concept>, Contact:Meet, (Obama, Entity), (Merkel, Entity)]")
    assert syntax == "tags"
    assert data["events"] == [
        {
            "trigger": "met",
            "type": "Contact:Meet",
            "concept": True,
            "arguments": [{"text": "Obama", "role": "Entity"}, {"text": "Merkel", "role": "Entity"}],
        }
    ]
    # the argument tuples belong to the event, not to the entity list
    assert data["entities"] == []


def test_tag_event_without_arguments_and_entities_next_to_it() -> None:
    data = parse_tags("(Obama<concept>, person) [attack, Conflict:Attack]")
    assert data["events"] == [
        {"trigger": "attack", "type": "Conflict:Attack", "concept": False, "arguments": []}
    ]
    assert data["entities"] == [{"text": "Obama", "label": "person", "concept": True}]


def test_tag_call_without_target() -> None:
    data, syntax = parse_answer("<Module>ImageSegmentation</Module><Instruction>Obama</Instruction>")
    assert syntax == "tags"
    assert data == _empty(calls=[{"module": "ImageSegmentation", "instruction": "Obama"}])


def test_tag_call_with_target_and_whitespace() -> None:
    raw = "<Module> ImageSegmentation </Module>\n<Instruction>Obama</Instruction> <Target>image:0</Target>"
    data, _ = parse_answer(raw)
    assert data["calls"] == [{"module": "ImageSegmentation", "instruction": "Obama", "target": "image:0"}]


def test_tag_call_with_concept_and_concept_mark_in_instruction() -> None:
    raw = (
        "<Module>ImageSegmentation</Module><Instruction>the man<concept></Instruction>"
        "<Target>image:1</Target><Concept>Obama</Concept>"
    )
    assert parse_tags(raw)["calls"] == [
        {"module": "ImageSegmentation", "instruction": "the man", "target": "image:1", "concept": "Obama"}
    ]


def test_full_tag_answer_with_records_and_calls() -> None:
    raw = (
        "(Obama<concept>, person) (Merkel, person) (Obama, /per/per/peer, Merkel)\n"
        "<Module>ImageSegmentation</Module><Instruction>Obama</Instruction><Target>image:0</Target>\n"
        "<Module>AudioSegmentation</Module><Instruction>Merkel</Instruction>"
    )
    data, syntax = parse_answer(raw, RE_LABELS)
    assert syntax == "tags"
    assert [(e["text"], e["label"], e["concept"]) for e in data["entities"]] == [
        ("Obama", "person", True),
        ("Merkel", "person", False),
    ]
    assert data["relations"] == [{"head": "Obama", "label": "/per/per/peer", "tail": "Merkel"}]
    assert [(c["module"], c.get("target")) for c in data["calls"]] == [
        ("ImageSegmentation", "image:0"),
        ("AudioSegmentation", None),
    ]


def test_one_element_tuples_are_skipped() -> None:
    assert parse_tags("(just a remark) (Obama, person)")["entities"] == [
        {"text": "Obama", "label": "person", "concept": False}
    ]


# --------------------------------------------------------------------------
# Fuzzing
# --------------------------------------------------------------------------


def _parse_or_error(raw: str) -> tuple[tuple[dict[str, Any], str] | None, ParseError | None]:
    try:
        return parse_answer(raw), None
    except ParseError as exc:
        return None, exc


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw=st.text())
def test_arbitrary_text_parses_or_raises_parse_error(raw: str) -> None:
    parsed, error = _parse_or_error(raw)
    if error is not None:  # any other exception fails the test
        assert "answer" in str(error)  # the message tells the planner how to answer instead
        return
    assert parsed is not None
    data, syntax = parsed
    assert isinstance(data, dict)
    assert syntax in ("json", "tags")
    assert set(ANSWER_KEYS) <= set(data)


# letters, digits, spaces and a little punctuation: nothing the tag syntax reads as structure
_TAG_ALPHABET = st.characters(categories=["L", "N"], include_characters=" .-_&")
_TAG_TEXTS = st.text(_TAG_ALPHABET, min_size=1, max_size=20).map(str.strip).filter(bool)


@st.composite
def entity_lists(draw: st.DrawFn) -> list[dict[str, Any]]:
    return draw(
        st.lists(
            st.fixed_dictionaries(
                {
                    "text": _TAG_TEXTS,
                    "label": st.sampled_from(NER_LABELS.entity_types),
                    "concept": st.booleans(),
                }
            ),
            min_size=1,
            max_size=8,
        )
    )


def _render_tags(entities: list[dict[str, Any]]) -> str:
    return " ".join(f"({e['text']}{'<concept>' if e['concept'] else ''}, {e['label']})" for e in entities)


def _key(entities: list[dict[str, Any]]) -> list[tuple[str, str, bool]]:
    return [(e["text"], e["label"], bool(e.get("concept", False))) for e in entities]


@settings(max_examples=200, deadline=None)
@given(entities=entity_lists(), fenced=st.booleans())
def test_entity_round_trip_through_tags_and_json(entities: list[dict[str, Any]], fenced: bool) -> None:
    from_tags, tag_syntax = parse_answer(_render_tags(entities), NER_LABELS)
    as_json = json.dumps({"entities": entities})
    from_json, json_syntax = parse_answer(f"```json\n{as_json}\n```" if fenced else as_json, NER_LABELS)
    assert (tag_syntax, json_syntax) == ("tags", "json")
    assert _key(from_tags["entities"]) == _key(entities)
    assert _key(from_json["entities"]) == _key(entities)
    assert from_tags == from_json
