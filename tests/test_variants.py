"""Schema-shift variants: the renaming rules, the hand-written table, and variant suites built from tiny
sources the test writes (same instances and ids, the gold renamed with the schema)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reamo.errors import SuiteError
from reamo.evaluation import build_suites, load_suite
from reamo.evaluation.label_table import DESCRIPTIONS, PARAPHRASES
from reamo.evaluation.suite import Gold, GoldEntity, GoldRelation, SuiteInputs, SuiteInstance
from reamo.evaluation.variants import (
    VARIANTS,
    bare_name,
    code,
    renaming,
    split_variant,
    variant_instances,
    variant_name,
)
from reamo.schemas import LabelSchema
from reamo.schemas.labels import (
    DEFAULT_ARGUMENT_ROLES,
    DEFAULT_ENTITY_TYPES,
    DEFAULT_EVENT_TYPES,
    DEFAULT_RELATION_TYPES,
)

EVERY_LABEL = [*DEFAULT_ENTITY_TYPES, *DEFAULT_RELATION_TYPES, *DEFAULT_EVENT_TYPES, *DEFAULT_ARGUMENT_ROLES]
FULL = LabelSchema(
    entity_types=list(DEFAULT_ENTITY_TYPES),
    relation_types=list(DEFAULT_RELATION_TYPES),
    event_types=list(DEFAULT_EVENT_TYPES),
    argument_roles=list(DEFAULT_ARGUMENT_ROLES),
)


def test_rules_for_bare_names_and_codes() -> None:
    assert bare_name("/per/per/couple") == "couple"
    assert bare_name("Conflict:Attack") == "attack"
    assert bare_name("Contact:Phone-Write") == "phone-write"
    assert [bare_name(x) for x in ("person", "Agent")] == ["person", "Agent"]  # already bare: kept
    assert [code(x, "entity_types") for x in DEFAULT_ENTITY_TYPES] == ["PER", "LOC", "ORG", "MISC"]
    assert code("creative-work", "entity_types") == "CREATIVE_WORK"
    assert code("/per/per/couple", "relation_types") == "PER_COUPLE"
    assert code("/org/loc/locate_at", "relation_types") == "ORG_LOCATE_AT"
    assert code("Conflict:Attack", "event_types") == "ATTACK"
    assert code("Transaction:Transfer-Money", "event_types") == "TRANSFER_MONEY"
    assert code("Agent", "argument_roles") == "AGENT"


def test_variant_names() -> None:
    assert variant_name("mnre_t_re", "codes") == "mnre_t_re.codes"
    assert split_variant("mnre_t_re.codes") == ("mnre_t_re", "codes")
    assert split_variant("mnre_t_re") == ("mnre_t_re", "original")
    assert split_variant("my.suite") == ("my.suite", "original")  # a dot alone makes no variant


def test_every_benchmark_label_is_renamed_one_to_one() -> None:
    for variant in VARIANTS:
        rename = renaming(FULL, variant)
        for kind, mapping in rename.labels.items():
            assert list(mapping) == list(getattr(FULL, kind))
            assert len(set(mapping.values())) == len(mapping), (variant, kind)
    names = renaming(FULL, "names").labels["relation_types"]
    assert names["/per/per/couple"] == "couple"
    # two relations share the bare name: each keeps its first part
    assert names["/per/per/alternate_names"] == "per_alternate_names"
    assert names["/org/org/alternate_names"] == "org_alternate_names"
    assert renaming(FULL, "paraphrases").labels["relation_types"]["/per/per/couple"] == "romantic partner of"
    assert renaming(FULL, "paraphrases").labels["event_types"]["Conflict:Attack"] == "violent attack"
    described = renaming(FULL, "described")
    assert described.labels == renaming(FULL, "names").labels
    assert described.descriptions["couple"] == DESCRIPTIONS["/per/per/couple"]
    assert set(described.descriptions) == {n for m in described.labels.values() for n in m.values()}
    assert renaming(FULL, "names").descriptions == {}  # only the described variant describes


def test_the_hand_written_table_covers_the_suites_labels() -> None:
    assert set(PARAPHRASES) == set(EVERY_LABEL) == set(DESCRIPTIONS)
    folded = [p.casefold() for p in PARAPHRASES.values()]
    assert len(set(folded)) == len(folded)  # distinct, case aside
    assert all(p.casefold() != label.casefold() for label, p in PARAPHRASES.items())
    assert all(d.strip() and "\n" not in d for d in DESCRIPTIONS.values())


def test_a_label_missing_from_the_table_is_a_developer_error() -> None:
    schema = LabelSchema(entity_types=["person", "gadget"])
    assert renaming(schema, "codes").labels["entity_types"] == {"person": "PER", "gadget": "GADGET"}
    with pytest.raises(
        SuiteError, match="No paraphrase for label 'gadget': add it to reamo/evaluation/label"
    ):
        renaming(schema, "paraphrases")
    with pytest.raises(SuiteError, match="gives two entity_types one name"):
        renaming(LabelSchema(entity_types=["a:b:x", "a:c:x"]), "names")  # a_x twice


def test_variant_instances_rename_gold_with_the_schema() -> None:
    text = "Ann married Bob"
    instance = SuiteInstance(
        id="mnre-0001",
        task="re",
        inputs=SuiteInputs(text=text),
        labels=LabelSchema(entity_types=["person", "location"], relation_types=["/per/per/couple"]),
        gold=Gold(
            entities=[
                GoldEntity(id="e1", text="Ann", label="person", text_span=(0, 3)),
                GoldEntity(id="e2", text="Bob", label="person", text_span=(12, 15)),
            ],
            relations=[GoldRelation(head="e1", tail="e2", label="/per/per/couple")],
        ),
    )
    (codes,) = variant_instances([instance], "codes")
    assert codes.id == instance.id
    assert codes.inputs == instance.inputs
    assert codes.labels.entity_types == ["PER", "LOC"]
    assert codes.labels.relation_types == ["PER_COUPLE"]
    assert [(e.id, e.label, e.text_span) for e in codes.gold.entities] == [
        ("e1", "PER", (0, 3)),
        ("e2", "PER", (12, 15)),
    ]
    assert [(r.head, r.tail, r.label) for r in codes.gold.relations] == [("e1", "e2", "PER_COUPLE")]
    (described,) = variant_instances([instance], "described")
    assert described.labels.descriptions["couple"].startswith("two people in a romantic relationship")
    assert described.gold.relations[0].label == "couple"


TWITTER = "IMGID:1\nRT\tO\n@Obama\tB-PER\nvisits\tO\nNew\tB-LOC\nYork\tI-LOC\n\nIMGID:2\nhi\tO\n"
MNRE = {
    "token": ["Ann", "and", "Bob", "in", "Rome"],
    "h": {"name": "Ann", "pos": [0, 1]},
    "t": {"name": "Bob", "pos": [2, 3]},
    "img_id": "a.jpg",
    "relation": "/per/per/couple",
}
M2E2 = {
    "sentence_id": "doc_1",
    "sentence_start": 0,
    "sentence": "Rebels attack Homs",
    "words": ["Rebels", "attack", "Homs"],
    "index": [["0", "5"], ["7", "12"], ["14", "17"]],
    "golden-entity-mentions": [{"entity-type": "GPE", "text": "Homs", "start": 2, "end": 3}],
    "golden-event-mentions": [
        {
            "trigger": {"start": 1, "end": 2, "text": "attack"},
            "event_type": "Conflict:Attack",
            "arguments": [
                {"role": "Attacker", "start": 0, "end": 1, "text": "Rebels"},
                {"role": "Place", "start": 2, "end": 3, "text": "Homs"},
            ],
        }
    ],
}


@pytest.fixture
def data(tmp_path: Path) -> Path:
    root = tmp_path / "data"
    files = {
        "text/twitter2017/test.txt": TWITTER,
        "text/mnre_v2/mnre_test.txt": repr(MNRE) + "\n",
        "text/m2e2/m2e2_annotations/text_multimedia_event.json": json.dumps([M2E2]),
    }
    for rel, content in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(content)
    return root


def test_build_writes_every_variant_beside_its_suite(data: Path, tmp_path: Path) -> None:
    out = tmp_path / "suites"
    built = build_suites(data, out, only=["twitter2017_t_ner", "mnre_t_re", "m2e2_t_ee"])
    assert list(built)[:5] == [
        "twitter2017_t_ner",
        "twitter2017_t_ner.names",
        "twitter2017_t_ner.codes",
        "twitter2017_t_ner.paraphrases",
        "twitter2017_t_ner.described",
    ]
    assert len(built) == 15
    for name, (path, stats) in built.items():
        base = name.split(".")[0]
        original, variant = load_suite(out / f"{base}.jsonl"), load_suite(path)  # loads: gold in schema
        assert [i.id for i in variant.instances] == [i.id for i in original.instances]
        assert stats.written == len(original.instances)
        for a, b in zip(original.instances, variant.instances, strict=True):
            assert a.inputs == b.inputs
            assert [(e.id, e.text_span) for e in a.gold.entities] == [
                (e.id, e.text_span) for e in b.gold.entities
            ]

    def gold(name: str) -> tuple[list[str], list[str], list[tuple[str, list[str]]]]:
        (instance, *_) = load_suite(out / f"{name}.jsonl").instances
        return (
            [e.label for e in instance.gold.entities],
            [r.label for r in instance.gold.relations],
            [(ev.type, [a.role for a in ev.arguments]) for ev in instance.gold.events],
        )

    assert gold("twitter2017_t_ner.codes")[0] == ["PER", "LOC"]
    assert gold("twitter2017_t_ner.paraphrases")[0] == ["people", "place"]
    assert gold("twitter2017_t_ner.names")[0] == ["person", "location"]  # bare already
    assert gold("mnre_t_re.names")[1] == ["couple"]
    assert gold("mnre_t_re.codes")[1] == ["PER_COUPLE"]
    assert gold("mnre_t_re.paraphrases")[1] == ["romantic partner of"]
    assert gold("m2e2_t_ee.names")[2] == [("attack", ["Attacker", "Place"])]
    assert gold("m2e2_t_ee.codes")[2] == [("ATTACK", ["ATTACKER", "PLACE"])]
    assert gold("m2e2_t_ee.paraphrases")[2] == [("violent attack", ["assailant", "where it happened"])]
    (described, *_) = load_suite(out / "m2e2_t_ee.described.jsonl").instances
    assert described.labels.descriptions["attack"] == DESCRIPTIONS["Conflict:Attack"]
    assert described.labels.descriptions["Place"] == DESCRIPTIONS["Place"]
    line = json.loads((out / "m2e2_t_ee.described.jsonl").read_text().splitlines()[0])
    assert "descriptions" in line["schema"]  # carried in the suite's label schema
    assert "descriptions" not in json.loads((out / "m2e2_t_ee.jsonl").read_text().splitlines()[0])["schema"]
