"""Tuning data for label sets that mix named-entity types with object classes: every answer passes the
validator, and the objects refiner, run on it, changes nothing (the data teaches the planner the rules
the refiner applies)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from reamo.agent import validate_answer
from reamo.agent.refiners.objects import ObjectRefiner
from reamo.agent.refiners.protocol import RefineRequest
from reamo.agent.validation import item_schemas
from reamo.finetune.corpora import Mention, Sentence
from reamo.finetune.data import Builder, DataPlan, TuningExample, build_examples, write_dataset
from reamo.finetune.objects import VARIANTS, ObjectExamples, names_from, object_examples, object_sentences
from reamo.schemas import Inputs, LabelSchema, Perception
from reamo.tools import ToolRegistry, build_registry
from reamo.tools.vision.classes import NE_PERSON_LOCATION_ORGANIZATION, coco_lexicon


def _sentence(sid: str, text: str, names: list[tuple[str, str]]) -> Sentence:
    return Sentence(
        corpus="conll2003",
        id=sid,
        text=text,
        entities=[Mention(t, label, text.index(t), text.index(t) + len(t)) for t, label in names],
    )


SENTENCES = [
    _sentence("s1", "Barack Obama met Angela Merkel in Berlin .", [("Barack Obama", "person"),
              ("Angela Merkel", "person"), ("Berlin", "location")]),
    _sentence("s2", "Reuters said the two buses collided near Rousse .", [("Reuters", "organization"),
              ("Rousse", "location")]),
    _sentence("s3", "A dog of Louis Booy ran into a bottle bank in Johannesburg , chased by a cyclist .",
              [("Louis Booy", "person"), ("Johannesburg", "location")]),
    _sentence("s4", "The Chicago Bulls beat UNICEF at the Apple Arena .", [("Chicago Bulls", "organization"),
              ("UNICEF", "organization"), ("Apple Arena", "location")]),
]  # fmt: skip


@pytest.fixture(scope="module")
def tools() -> ToolRegistry:
    return build_registry(plugins=False)  # the real ImageSegmentation and VideoTracking schemas


def _inputs(example: TuningExample) -> Inputs:
    user = example.messages[-1][1]
    text = None
    for line in user.splitlines():
        if line.startswith("Text: "):
            text = json.loads(line[len("Text: ") :])
    medium = "image" if "objects:text+image" in example.stage or example.stage == "objects:image" else "video"
    return Inputs.build(text=text, **{medium: f"{medium}.{'jpg' if medium == 'image' else 'mp4'}"})


def _labels(example: TuningExample) -> LabelSchema:
    user = example.messages[-1][1]
    listed = user[user.index("[") + 1 : user.index("]")]
    return LabelSchema(entity_types=[label.strip() for label in listed.split(",")])


def _check(example: TuningExample, perception: Perception, tools: ToolRegistry) -> dict[str, Any]:
    inputs, labels = _inputs(example), _labels(example)
    checked = validate_answer(
        example.answer, task="ner", labels=labels, inputs=inputs, registry=tools, perception=perception
    )
    assert checked.problems == [], (example.id, checked.problems)
    assert checked.seen == []  # nothing the validator had to add
    request = RefineRequest.build(
        "ner",
        inputs,
        labels,
        perception,
        entities=tuple(checked.entities),
        calls=tuple(checked.calls),
        call_schemas=item_schemas("ner", labels, inputs, tools)["calls"],
    )
    refined = ObjectRefiner().refine(request)
    assert [e.code for e in refined.effects] == [], (example.id, example.answer, refined.effects)
    answer: dict[str, Any] = json.loads(example.answer)
    return answer


def _examples(
    tools: ToolRegistry, per_variant: int = 12, seed: int = 0
) -> list[tuple[TuningExample, Perception]]:
    maker = ObjectExamples(Builder(tools, seed), names_from(SENTENCES))
    sources = object_sentences(SENTENCES)
    out = []
    for variant in VARIANTS:
        for i in range(per_variant):
            source = sources[i % len(sources)] if variant.startswith("text+") and i % 2 else None
            made = maker.make(f"k{i}", variant, source)
            assert made is not None
            out.append(made)
    return out


def test_training_sentences_that_write_objects(tools: ToolRegistry) -> None:
    found = {s.id: [w.text for w in written] for s, written in object_sentences(SENTENCES)}
    # "bottle bank": a bottle before another word is still written; names holding object words are not
    assert found == {"s2": ["buses"], "s3": ["dog", "bottle"]}
    names = names_from(SENTENCES)
    assert "Chicago Bulls" not in names["organization"]  # a name with an object word is never a filler
    assert "Barack Obama" in names["person"]


def test_every_answer_validates_and_follows_the_objects_rules(tools: ToolRegistry) -> None:
    kinds = {"written and seen": 0, "seen only": 0, "written only": 0, "person seen": 0, "person word": 0}
    for example, perception in _examples(tools):
        answer = _check(example, perception, tools)
        labels = _labels(example).entity_types
        by_text = {c["concept"]: c for c in answer["calls"]}
        for entity in answer["entities"]:
            cls = coco_lexicon().class_of(entity["label"])
            if entity["label"] in ("person", "PER", "people", "human"):
                kinds["person seen"] += entity["text"] == "person"
                kinds["person word"] += entity["text"] == "cyclist"  # a person word written is a person
                continue
            if entity["label"] in labels and cls is not None:
                # an object word is never typed as a person, location or organization
                assert entity["label"] not in NE_PERSON_LOCATION_ORGANIZATION
                written = entity["text"] in (_inputs(example).text or "")
                if entity["concept"]:
                    assert entity["text"] in by_text  # one call each
                    kinds["written and seen" if written else "seen only"] += 1
                else:
                    assert written
                    kinds["written only"] += 1
        assert len(by_text) == len(answer["calls"])  # one call per concept
    assert all(n > 0 for n in kinds.values()), kinds


def test_seen_only_image_entities_are_grounded_on_every_instance(tools: ToolRegistry) -> None:
    for example, _ in _examples(tools, per_variant=6):
        answer = json.loads(example.answer)
        if example.stage == "objects:image":
            assert answer["calls"], example.id
            assert all(c.get("instances") == "all" for c in answer["calls"])
            assert all(c["module"] == "ImageSegmentation" for c in answer["calls"])
        if example.stage == "objects:video":
            assert all(c["module"] == "VideoTracking" and "instances" not in c for c in answer["calls"])
        if example.stage in ("objects:image", "objects:video"):
            assert '"Text: ' not in example.messages[-1][1]
            assert all(e["concept"] for e in answer["entities"])


def test_the_examples_are_deterministic_per_seed(tools: ToolRegistry) -> None:
    corpora = {"conll2003": SENTENCES}
    first = [e.answer for e in object_examples(Builder(tools, 0), corpora, 4, 0)]
    again = [e.answer for e in object_examples(Builder(tools, 0), corpora, 4, 0)]
    other = [e.answer for e in object_examples(Builder(tools, 1), corpora, 4, 1)]
    assert first == again
    assert first != other
    assert len(first) == 4 * len(VARIANTS)


@pytest.mark.slow
def test_the_plan_adds_them_from_shared_data(tmp_path: Path, tools: ToolRegistry) -> None:
    data = Path(__file__).resolve().parents[2] / "shared" / "data"
    if not (data / "text").is_dir():
        pytest.skip("../shared/data is not beside this checkout")
    plan = DataPlan(
        ner_per_corpus=0, re_per_corpus=0, ee_per_corpus=0, meta_per_variant=0, objects_per_variant=3
    )
    card = write_dataset(build_examples(data, tools, plan), tmp_path / "a.jsonl")
    stages = {k.split("/")[1] for k in card["counts"]}
    assert stages == {f"objects:{v}" for v in VARIANTS}
    assert card["examples"] == 3 * len(VARIANTS)
