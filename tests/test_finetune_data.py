"""Tuning data: corpus readers on small files the tests write, and every built answer passing the
validator the agent uses (so the tuned planner learns exactly the format the graph accepts)."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from reamo.agent import validate_answer
from reamo.errors import ConfigError
from reamo.finetune.corpora import Sentence, read_bio, read_casrel, read_mnre
from reamo.finetune.data import Builder, DataPlan, build_examples, relabelled, write_dataset
from reamo.schemas import Inputs, LabelSchema, Perception
from reamo.tools import ToolRegistry

GENERIC = ["person", "location", "organization", "miscellaneous"]
EVENT_SET = (["Contact:Meet", "Life:Die"], ["Entity", "Place"])


def test_read_bio_handles_bio_iob1_and_twitter_lines(tmp_path: Path) -> None:
    path = tmp_path / "train.txt"
    path.write_text(
        "-DOCSTART- O\n\nIMGID:1\nEU\tB-ORG\nrejects\tO\nGerman\tI-MISC\ncall\tO\n\n"
        "Barack I-PER\nObama I-PER\nmet O\nAngela B-PER\nMerkel I-PER\n\n"
    )
    first, second = read_bio(path, "c")
    assert [(m.text, m.label) for m in first.entities] == [
        ("EU", "organization"),
        ("German", "miscellaneous"),
    ]
    assert [(m.text, m.label) for m in second.entities] == [
        ("Barack Obama", "person"),
        ("Angela Merkel", "person"),
    ]
    for s in (first, second):
        assert all(s.text[m.start : m.end] == m.text for m in s.entities)


def test_read_casrel_keeps_triples_whose_entities_are_in_the_text(tmp_path: Path) -> None:
    path = tmp_path / "t.json"
    rows = [
        {
            "text": "Paris is in France .",
            "triple_list": [["France", "contains", "Paris"], ["Rome", "x", "Italy"]],
        }
    ]
    path.write_text(json.dumps(rows))
    (s,) = read_casrel(path, "w")
    assert [(t.head, t.label, t.tail) for t in s.relations] == [("France", "contains", "Paris")]
    assert {m.text for m in s.entities} == {"France", "Paris"}


def test_read_mnre_groups_pairs_by_tweet_and_types_entities_by_relation(tmp_path: Path) -> None:
    path = tmp_path / "mnre_train.txt"
    tokens = ["Obama", "met", "Merkel", "in", "Berlin"]
    records = [
        {"token": tokens, "h": {"name": "Berlin", "pos": [4, 5]}, "t": {"name": "Obama", "pos": [0, 1]},
         "img_id": "a.jpg", "relation": "None"},
        {"token": tokens, "h": {"name": "Obama", "pos": [0, 1]}, "t": {"name": "Merkel", "pos": [2, 3]},
         "img_id": "a.jpg", "relation": "/per/per/peer"},
        {"token": ["Rome"], "h": {"name": "Rome", "pos": [0, 1]}, "t": {"name": "Rome", "pos": [0, 1]},
         "img_id": "b.jpg", "relation": "None"},
    ]  # fmt: skip
    path.write_text("\n".join(repr(r) for r in records) + "\n")  # Python literals, as MNRE ships
    first, second = read_mnre(path)
    assert first.text == "Obama met Merkel in Berlin"
    assert [(t.head, t.label, t.tail) for t in first.relations] == [("Obama", "/per/per/peer", "Merkel")]
    # Obama is first seen in a None pair, then typed by the peer relation; Berlin is in None pairs only
    assert sorted((m.text, m.label) for m in first.entities) == [
        ("Berlin", "miscellaneous"),
        ("Merkel", "person"),
        ("Obama", "person"),
    ]
    assert second.relations == []
    assert [m.text for m in second.entities] == ["Rome"]


def test_re_with_a_fixed_schema_lists_every_relation_in_order() -> None:
    from reamo.schemas.labels import DEFAULT_ENTITY_TYPES, DEFAULT_RELATION_TYPES

    registry = ToolRegistry()
    example = Builder(registry).re(
        sentence(), list(DEFAULT_RELATION_TYPES), max_labels=None, entity_types=list(DEFAULT_ENTITY_TYPES)
    )
    prompt = "\n".join(content for _, content in example.messages)
    positions = [prompt.index(label) for label in DEFAULT_RELATION_TYPES]
    assert positions == sorted(positions)


def sentence() -> Sentence:
    from reamo.finetune.corpora import EventMention, Mention, Triple

    text = "Barack Obama met Angela Merkel in Berlin ."
    names = [("Barack Obama", "person"), ("Angela Merkel", "person"), ("Berlin", "location")]
    return Sentence(
        corpus="hand",
        id="hand-1",
        text=text,
        entities=[Mention(t, label, text.index(t), text.index(t) + len(t)) for t, label in names],
        relations=[Triple("Barack Obama", "peer", "Angela Merkel")],
        events=[EventMention("met", "Contact:Meet", (("Barack Obama", "Entity"), ("Berlin", "Place")))],
    )


def _validates(example, registry: ToolRegistry) -> None:
    user = example.messages[-1][1]
    labels = _labels_from_prompt(example)
    inputs = _inputs_for(example)
    checked = validate_answer(
        example.answer,
        task=example.task,
        labels=labels,
        inputs=inputs,
        registry=registry,
        perception=Perception(),
    )
    assert checked.problems == [], (example.id, checked.problems, user)


def _labels_from_prompt(example) -> LabelSchema:
    data = json.loads(example.answer)
    return LabelSchema(
        entity_types=sorted({e["label"] for e in data["entities"]}) or ["x"],
        relation_types=sorted({r["label"] for r in data["relations"]}),
        event_types=sorted({e["type"] for e in data["events"]}),
        argument_roles=sorted({a["role"] for e in data["events"] for a in e["arguments"]}),
    )


def _inputs_for(example) -> Inputs:
    stage = example.stage
    text = "Barack Obama met Angela Merkel in Berlin ."
    if stage == "meta:image":
        return Inputs.build(text=text, image="image.jpg")
    if stage == "meta:video":
        return Inputs.build(text=text, video="video.mp4")
    if stage == "meta:audio":
        return Inputs.build(audio="audio.wav")
    if stage == "meta:text+audio":
        return Inputs.build(text=text, audio="audio.wav")
    return Inputs(text=text)


def test_every_built_answer_passes_the_agent_validator(registry: ToolRegistry) -> None:
    builder = Builder(registry, seed=3)
    s = sentence()
    examples = [
        builder.ner(s, GENERIC),
        builder.re(s, ["peer", "couple", "member_of"]),
        builder.ee(s, *EVENT_SET, ["person", "location"]),
        *(builder.meta(s, GENERIC, v) for v in ("image", "video", "audio", "text+audio")),
        *(builder.meta(s, GENERIC, v, relation_set=["peer", "couple"]) for v in ("image", "audio")),
        *(builder.meta(s, GENERIC, v, event_set=EVENT_SET) for v in ("image", "audio", "text+audio")),
    ]
    for example in examples:
        assert example is not None
        _validates(example, registry)


def test_meta_answers_mark_what_the_medium_can_ground(registry: ToolRegistry) -> None:
    builder = Builder(registry, seed=0)
    image = json.loads(builder.meta(sentence(), GENERIC, "image").answer)  # type: ignore[union-attr]
    assert {c["instruction"] for c in image["calls"]} == {"Barack Obama", "Angela Merkel"}  # people are seen
    assert {e["text"] for e in image["entities"] if e["concept"]} == {"Barack Obama", "Angela Merkel"}
    audio = builder.meta(sentence(), GENERIC, "audio")
    assert audio is not None
    answer = json.loads(audio.answer)
    assert {c["module"] for c in answer["calls"]} == {"AudioSegmentation"}
    assert len(answer["calls"]) == 3  # everything said is heard
    assert '"Text: ' not in audio.messages[-1][1]  # audio alone: heard, not written


def test_re_meta_answers_keep_relations_and_call_only_entities(registry: ToolRegistry) -> None:
    builder = Builder(registry, seed=0)
    heard = builder.meta(sentence(), GENERIC, "audio", relation_set=["couple", "peer"])
    assert heard is not None
    assert (heard.task, heard.stage) == ("re", "meta:audio")
    answer = json.loads(heard.answer)
    assert answer["relations"] == [{"head": "Barack Obama", "label": "peer", "tail": "Angela Merkel"}]
    assert {c["concept"] for c in answer["calls"]} == {e["text"] for e in answer["entities"]}  # all heard
    assert "couple" in heard.messages[-1][1]  # the prompt gives the relation schema
    seen = json.loads(builder.meta(sentence(), GENERIC, "image", relation_set=["peer"]).answer)  # type: ignore[union-attr]
    assert {c["concept"] for c in seen["calls"]} == {"Barack Obama", "Angela Merkel"}  # only people are seen
    assert seen["relations"] == answer["relations"]


def test_ee_meta_answers_keep_events_and_call_only_argument_entities(registry: ToolRegistry) -> None:
    builder = Builder(registry, seed=0)
    heard = builder.meta(sentence(), GENERIC, "audio", event_set=EVENT_SET)
    assert heard is not None
    assert (heard.task, heard.stage) == ("ee", "meta:audio")
    answer = json.loads(heard.answer)
    assert {e["text"] for e in answer["entities"]} == {"Barack Obama", "Berlin"}  # the arguments only
    assert answer["events"] == [
        {
            "trigger": "met",
            "type": "Contact:Meet",
            "concept": False,
            "arguments": [{"text": "Barack Obama", "role": "Entity"}, {"text": "Berlin", "role": "Place"}],
        }
    ]
    assert {c["concept"] for c in answer["calls"]} == {"Barack Obama", "Berlin"}  # all heard
    assert "Life:Die" in heard.messages[-1][1]  # the prompt gives the event schema
    seen = json.loads(builder.meta(sentence(), GENERIC, "image", event_set=EVENT_SET).answer)  # type: ignore[union-attr]
    assert [c["concept"] for c in seen["calls"]] == ["Barack Obama"]  # of the arguments, only people are seen
    assert seen["events"] == answer["events"]


def test_ner_label_names_vary_but_answers_follow_them(registry: ToolRegistry) -> None:
    seen = set()
    for seed in range(30):
        example = Builder(registry, seed=seed).ner(sentence(), GENERIC)
        prompt = example.messages[-1][1]
        for entity in json.loads(example.answer)["entities"]:
            assert entity["label"] in prompt
            seen.add(entity["label"])
    assert seen - set(GENERIC)  # some examples rename labels (PER, place, ...)


def test_a_verbalised_example_writes_its_whole_schema_another_way_and_the_answer_follows(
    registry: ToolRegistry,
) -> None:
    s = sentence()
    styles = set()
    for seed in range(40):
        builder = Builder(registry, seed=seed, verbalised=1.0)
        for example in (builder.re(s, ["peer", "couple", "member of"]), builder.ee(s, *EVENT_SET, GENERIC)):
            _validates(example, registry)
            prompt = example.messages[-1][1]
            answer = json.loads(example.answer)
            written = [r["label"] for r in answer["relations"]] + [
                x for e in answer["events"] for x in (e["type"], *(a["role"] for a in e["arguments"]))
            ]
            assert written
            assert all(label in prompt for label in written)
            styles.add(tuple(written))
            if "What the candidate labels mean" in prompt:
                styles.add(("described",))
    flat = {label for labels in styles for label in labels}
    assert {"peer", "PEER", "Peer"} & flat  # names, casing
    assert {"colleague of", "associate", "peer of"} & flat  # paraphrases
    assert "meet" in {x.lower() for x in flat}  # the dataset's prefix goes
    assert ("described",) in styles  # some schemas come with descriptions


def test_relabelling_keeps_a_label_whose_new_name_would_clash() -> None:
    labels = LabelSchema(entity_types=["place of birth", "birth place"])
    answer = json.dumps(
        {
            "entities": [{"text": "Hawaii", "label": "birth place", "concept": False}],
            "relations": [],
            "events": [],
            "calls": [],
        }
    )
    for seed in range(30):
        new, text = relabelled(labels, answer, random.Random(seed))
        assert len({n.casefold() for n in new.entity_types}) == 2
        label = json.loads(text)["entities"][0]["label"]
        assert label == new.entity_types[1]  # the answer follows the renamed schema
        assert set(new.descriptions) <= set(new.entity_types)


def test_builder_needs_the_tool_for_a_medium() -> None:
    assert Builder(ToolRegistry(), seed=0).meta(sentence(), GENERIC, "image") is None


@pytest.mark.slow
def test_dataset_from_shared_data_is_deterministic(tmp_path: Path, registry: ToolRegistry) -> None:
    data = Path(__file__).resolve().parents[2] / "shared" / "data"
    if not (data / "text").is_dir():
        pytest.skip("../shared/data is not beside this checkout")
    plan = DataPlan(ner_per_corpus=5, re_per_corpus=5, ee_per_corpus=5, meta_per_variant=3)
    first = write_dataset(build_examples(data, registry, plan), tmp_path / "a.jsonl")
    second = write_dataset(build_examples(data, registry, plan), tmp_path / "b.jsonl")
    assert first["sha256"] == second["sha256"]
    assert (
        first["counts"]["ner/meta:image/conll2003"] + first["counts"].get("ner/meta:image/twitter2015", 0)
        >= 1
    )
    assert sum(v for k, v in first["counts"].items() if k.startswith("ee/uie")) == 10


@pytest.mark.slow
def test_in_domain_plan_adds_twitter2017_and_mnre_with_negatives(
    tmp_path: Path, registry: ToolRegistry
) -> None:
    data = Path(__file__).resolve().parents[2] / "shared" / "data"
    if not (data / "text").is_dir():
        pytest.skip("../shared/data is not beside this checkout")
    plan = DataPlan(ner_per_corpus=4, re_per_corpus=6, ee_per_corpus=1, meta_per_variant=1, in_domain=True)
    card = write_dataset(build_examples(data, registry, plan), tmp_path / "a.jsonl")
    assert card["counts"]["ner/uie/twitter2017"] == 4
    assert card["counts"]["re/uie/mnre"] == 6
    rows = [json.loads(line) for line in (tmp_path / "a.jsonl").read_text().splitlines()]
    mnre = [json.loads(r["answer"]) for r in rows if r["corpus"] == "mnre"]
    assert all(a["relations"] for a in mnre)  # re_negatives 0: only tweets with a relation
    with_negatives = DataPlan(**{**plan.__dict__, "re_negatives": 0.5})
    write_dataset(build_examples(data, registry, with_negatives), tmp_path / "b.jsonl")
    rows = [json.loads(line) for line in (tmp_path / "b.jsonl").read_text().splitlines()]
    mnre = [json.loads(r["answer"]) for r in rows if r["corpus"] == "mnre"]
    assert sum(not a["relations"] for a in mnre) == 6  # as many all-None tweets as tweets with one
    with pytest.raises(ConfigError, match="re_negatives"):
        DataPlan(re_negatives=1.0)
    focused = DataPlan(
        **{**with_negatives.__dict__, "per_corpus": {"mnre": 3, "webnlg": 0, "nyt": 0, "m2e2": 2}}
    )
    card = write_dataset(build_examples(data, registry, focused), tmp_path / "c.jsonl")
    assert card["counts"]["re/uie/mnre"] == 6  # 3 with a relation and as many all-None tweets
    assert card["counts"]["ee/uie/m2e2"] == 2
    assert card["counts"]["ner/uie/twitter2017"] == 4  # corpora the plan does not name keep their task's cap
    assert not any(k.endswith(("/webnlg", "/nyt")) for k in card["counts"])
    assert not any(k.startswith("re/meta") for k in card["counts"])  # off unless asked for
    spoken = DataPlan(**{**focused.__dict__, "re_meta_per_variant": 2})
    card = write_dataset(build_examples(data, registry, spoken), tmp_path / "d.jsonl")
    assert {k: v for k, v in card["counts"].items() if k.startswith("re/meta")} == {
        "re/meta:image/mnre": 2,
        "re/meta:audio/mnre": 2,
        "re/meta:text+audio/mnre": 2,
    }
    assert not any(k.startswith("ee/meta") for k in card["counts"])  # off unless asked for
    unseen = DataPlan(
        **{**spoken.__dict__, "ee_meta_per_variant": 2, "exclude": ["twitter2017", "mnre", "m2e2"]}
    )
    card = write_dataset(build_examples(data, registry, unseen), tmp_path / "z.jsonl")
    assert not any(k.endswith(("/twitter2017", "/mnre", "/m2e2")) for k in card["counts"])  # zero-shot
    assert card["counts"]["ee/uie/casie"] == 1
    eventful = DataPlan(**{**focused.__dict__, "ee_meta_per_variant": 2})
    card = write_dataset(build_examples(data, registry, eventful), tmp_path / "e.jsonl")
    assert {k: v for k, v in card["counts"].items() if k.startswith("ee/meta")} == {
        f"ee/meta:{medium}/{corpus}": 2
        for corpus in ("m2e2", "casie")
        for medium in ("image", "audio", "text+audio")
    }
    rows = [json.loads(line) for line in (tmp_path / "e.jsonl").read_text().splitlines()]
    for row in rows:
        if row["task"] == "ee" and row["stage"] in ("meta:audio", "meta:text+audio"):
            answer = json.loads(row["answer"])
            assert answer["events"]
            assert [c["concept"] for c in answer["calls"]] == [e["text"] for e in answer["entities"]]


def test_per_corpus_caps_name_known_corpora() -> None:
    assert DataPlan(per_corpus={"mnre": 5}).cap("mnre", 100) == 5
    assert DataPlan(per_corpus={"mnre": 5}).cap("nyt", 100) == 100
    with pytest.raises(ConfigError, match="unknown corpora mnre_test"):
        DataPlan(per_corpus={"mnre_test": 5})
    with pytest.raises(ConfigError, match="unknown corpora twitter"):
        DataPlan(exclude=["twitter"])
    with pytest.raises(ConfigError, match="verbalised"):
        DataPlan(verbalised=1.5)
    with pytest.raises(ConfigError, match="0 or more"):
        DataPlan(per_corpus={"nyt": -1})


@pytest.mark.slow
def test_finetune_data_only_builds_the_data_and_trains_nothing(tmp_path: Path) -> None:
    from reamo.cli import main

    data = Path(__file__).resolve().parents[2] / "shared" / "data"
    if not (data / "text").is_dir():
        pytest.skip("../shared/data is not beside this checkout")
    config = tmp_path / "plan.toml"
    config.write_text(
        f'[finetune]\ndata = "{tmp_path / "d.jsonl"}"\noutput = "{tmp_path / "out"}"\n'
        "[finetune.data_plan]\nner_per_corpus = 2\nre_per_corpus = 0\nee_per_corpus = 0\n"
        'meta_per_variant = 0\nverbalised = 1.0\nexclude = ["twitter2017"]\n'
    )
    assert main(["finetune", "--config", str(config), "--data-only"]) == 2  # nothing to build from
    assert main(["finetune", "--config", str(config), "--build-data", str(data), "--data-only"]) == 0
    card = json.loads((tmp_path / "d.card.json").read_text())
    assert card["examples"] == 6  # CoNLL-2003, Twitter-2015 and WNUT-17, two each
    assert not (tmp_path / "out").exists()
