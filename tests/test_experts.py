"""Experts (agent/experts.py): per-dataset pair scorers reached through label text. How a request's labels
are matched to an expert's classes; how a pair's decision takes the expert's choice among the matched
labels and the universal scorer's among the rest; their settings; and, on the shipped scorers, the same
relations for MNRE's strings as for other names of its types, reported in the result."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

from reamo.agent.experts import EVENT_MATCH_FLOOR, MATCH_FLOOR, Match, class_forms, match_labels
from reamo.agent.universal import Bound
from reamo.errors import ConfigError
from reamo.finetune.corpora import EventMention, Mention, Sentence, Triple
from reamo.finetune.pairs import end_types
from reamo.schemas import LabelSchema
from reamo.sdk import Reamo

TEXT = "Rafael Nadal married Mery Perello in Paris"
NADAL, PERELLO, PARIS = (0, 12), (21, 33), (37, 42)
ENTITIES = [("Rafael Nadal", NADAL), ("Mery Perello", PERELLO), ("Paris", PARIS)]


def test_a_class_is_known_by_the_forms_tuning_wrote_it_in() -> None:
    forms = class_forms("/per/per/couple")
    assert forms[:2] == ["/per/per/couple", "couple"]
    assert {"Couple", "COUPLE", "COU", "romantic partner", "spouse"} <= set(forms)
    assert "couple: two people in a romantic relationship or married" in forms
    assert len(forms) == len(set(forms))
    assert class_forms("Vulnerable_System")[:2] == ["Vulnerable_System", "vulnerable system"]


class Vectors:
    """A stand-in universal scorer whose label vectors are set per text (unknown texts: a far axis)."""

    def __init__(self, table: dict[str, Sequence[float]]) -> None:
        self.table = table

    def label_vectors(self, texts: Sequence[str]) -> tuple[Any, Any, Any]:
        rows = np.array([self.table.get(t, (0.0, 0.0, 0.0, 1.0)) for t in texts], np.float32)
        return rows, rows, rows


def test_labels_are_matched_one_to_one_by_their_best_forms_above_the_floor() -> None:
    table = {
        "spouse": (1.0, 0.0, 0.0, 0.0),  # a form of /per/per/couple
        "wife": (0.9, 0.1, 0.0, 0.0),
        "sibling": (0.8, 0.6, 0.0, 0.0),  # nearer couple than siblings, but couple is taken
        "siblings": (0.7, 0.7, 0.0, 0.0),
        "weather": (0.0, 0.0, 1.0, 0.2),
    }
    found = match_labels(
        Vectors(table),
        ["wife", "sibling", "weather"],
        [("wife", "wife: in words no tuning used"), ("sibling",), ("weather",)],
        ["/per/per/couple", "/per/per/siblings"],
        1,
    )
    assert set(found) == {"wife", "sibling"}  # weather is like neither
    # 'wife' by its name, however far its description reads (an unknown text: a far axis here)
    assert (found["wife"].label, found["sibling"].label) == ("/per/per/couple", "/per/per/siblings")
    assert found["wife"].similarity == 1.0
    assert all(m.similarity >= MATCH_FLOOR for m in found.values())
    described = match_labels(Vectors(table), ["spouse"], [("partner", "spouse")], ["/per/per/couple"], 1)
    assert described["spouse"].similarity == 1.0  # or by its description, where that is the nearer form
    assert match_labels(Vectors(table), [], [], ["/per/per/couple"], 1) == {}


def test_event_types_match_only_at_the_higher_event_floor() -> None:
    near = (0.86, float(np.sqrt(1 - 0.86**2)), 0.0, 0.0)  # 0.86 from the meet axis
    table = {"meet": (1.0, 0.0, 0.0, 0.0), "Contact:Meet": (1.0, 0.0, 0.0, 0.0), "concert": near}
    args = (Vectors(table), ["concert"], [("concert",)], ["Contact:Meet"], 2)
    assert MATCH_FLOOR < 0.86 < EVENT_MATCH_FLOOR
    assert match_labels(*args)["concert"].label == "Contact:Meet"  # alike enough for an entity type
    assert match_labels(*args, EVENT_MATCH_FLOOR) == {}  # not for an event type
    labels = LabelSchema(entity_types=["person"], event_types=["concert"])
    scorer = Bound(Universal({}), labels, "arguments")  # type: ignore[arg-type]
    assert (scorer.tagger().floor, scorer.event_tagger().floor) == (MATCH_FLOOR, EVENT_MATCH_FLOOR)  # type: ignore[union-attr]


def test_end_types_are_the_commonest_types_of_a_classs_ends_in_training() -> None:
    def sentence(relations: list[Triple], events: tuple[EventMention, ...] = ()) -> Sentence:
        entities = [
            Mention("Ann", "person", 0, 3),
            Mention("Bob", "person", 8, 11),
            Mention("Rome", "location", 20, 24),
        ]
        return Sentence("c", "s", "Ann and Bob live in Rome", entities, relations, list(events))

    couple, lives = Triple("Ann", "couple", "Bob"), Triple("Ann", "lives", "Rome")
    sentences = [
        sentence([couple, lives]),
        sentence([Triple("Bob", "lives", "Ann")]),  # once person, person: location still wins
        sentence([lives, Triple("Ann", "couple", "Nobody")]),  # an end no entity names is not counted
    ]
    assert end_types(sentences, "relations") == {
        "couple": ["person", "person"],
        "lives": ["person", "location"],
    }
    meet = EventMention("live", "meet", (("Ann", "Entity"), ("Rome", "Place")))
    assert end_types([sentence([], (meet,))], "arguments") == {"Entity": ["person"], "Place": ["location"]}


@dataclass
class Config:
    entity_floor: float = 0.3
    entity_add: float = 0.9
    event_floor: float = 0.3
    event_add: float = 0.9
    none_margin: float = 0.0


class Universal:
    """A stand-in universal scorer: each pair's row is ``rows[pair]`` (none first, then each label)."""

    def __init__(self, rows: dict[tuple[tuple[int, int], tuple[int, int]], list[float]]) -> None:
        self.rows = rows
        self.config = Config()

    def pair_probabilities(self, text: str, pairs: Any, labels: Any, prefix: str = "") -> Any:
        return np.array([self.rows.get(tuple(p), [1.0] + [0.0] * len(labels)) for p in pairs], np.float32)

    def choose(self, row: Any, labels: Sequence[str]) -> tuple[str, float] | None:
        best = int(np.argmax(row[1:]))
        return (labels[best], float(row[1 + best])) if row[1 + best] > row[0] else None


class FakeExpert:
    """A stand-in expert over ``/per/per/couple`` and ``/per/loc/place_of_residence`` that matches
    ``matched`` and gives each pair the row ``rows[pair]`` (None first)."""

    kind = "relations"
    name = "fake-expert"

    def __init__(self, matched: dict[str, str], rows: dict[Any, list[float]], contexts: Sequence[str] = ()):
        self.classes = ["None", "/per/per/couple", "/per/loc/place_of_residence"]
        self.matched = {name: Match(name, label, 0.9) for name, label in matched.items()}
        self.rows = rows
        self.contexts = list(contexts)
        self.asked_context: list[str | None] = []
        self.ends = {"/per/per/couple": ("person", "person")}

    def end_types(self, universal: Any, names: Any, texts: Any) -> dict[str, tuple[str, str]]:
        return {c: ends for c, ends in self.ends.items() if set(ends) <= set(names)}

    def matches(
        self, universal: Any, names: Any, texts: Any, *, contexts: bool = False, floor: float = 0.7
    ) -> dict[str, Match]:
        if contexts:
            return {n: Match(n, n, 0.9) for n in names if n in self.contexts}
        return {n: m for n, m in self.matched.items() if n in names}

    def probabilities(self, text: str, pairs: Any, context: str | None = None) -> Any:
        self.asked_context.append(context)
        return np.array([self.rows.get(tuple(p), [1.0, 0.0, 0.0]) for p in pairs], np.float32)

    def choose(self, row: Any, matched: dict[str, Match]) -> tuple[str, float] | None:
        wanted = {m.label: m.name for m in matched.values()}
        ok = [k for k, c in enumerate(self.classes) if c in wanted]
        best = max(ok, key=lambda k: row[k])
        return (wanted[self.classes[best]], float(row[best])) if row[best] > row[0] else None


LABELS = LabelSchema(entity_types=["person", "location"], relation_types=["wife", "lives in", "fan of"])


def bound(universal: Universal, expert: FakeExpert) -> Bound:
    return Bound(universal, LABELS, "relations", (), [expert])  # type: ignore[arg-type, list-item]


def test_an_expert_decides_the_labels_it_matches_and_the_universal_scorer_the_rest() -> None:
    universal = Universal(
        {
            (NADAL, PERELLO): [0.2, 0.1, 0.0, 0.7],  # the universal scorer says "fan of"...
            (NADAL, PARIS): [0.1, 0.1, 0.7, 0.1],  # ... and "lives in"
            (PERELLO, NADAL): [0.2, 0.0, 0.0, 0.8],  # "fan of", which no expert class matches
        }
    )
    expert = FakeExpert(
        {"wife": "/per/per/couple", "lives in": "/per/loc/place_of_residence"},
        {(NADAL, PERELLO): [0.1, 0.8, 0.1], (NADAL, PARIS): [0.9, 0.0, 0.1]},  # couple; none
    )
    relations = bound(universal, expert).relate(TEXT, ENTITIES, ["wife", "lives in", "fan of"])
    found = {(r["head"], r["label"], r["tail"]) for r in relations}
    assert found == {
        ("Rafael Nadal", "wife", "Mery Perello"),  # the expert's choice among its matched labels
        ("Mery Perello", "fan of", "Rafael Nadal"),  # none by the expert, "fan of" by the universal
    }  # Nadal-Paris: the expert judged "lives in" and said none; the universal scorer may not take it
    typed = {r["label"]: (r.get("head_type"), r.get("tail_type")) for r in relations}
    assert typed == {"wife": ("person", "person"), "fan of": (None, None)}  # the expert's ends only


def test_without_a_match_the_universal_scorer_decides_alone() -> None:
    universal = Universal({(NADAL, PERELLO): [0.2, 0.7, 0.0, 0.1]})
    expert = FakeExpert({}, {(NADAL, PERELLO): [0.9, 0.1, 0.0]})
    found = bound(universal, expert).relate(TEXT, ENTITIES, ["wife", "lives in", "fan of"])
    assert [(r["head"], r["label"], r["tail"]) for r in found] == [("Rafael Nadal", "wife", "Mery Perello")]
    assert expert.asked_context == []  # never run


def test_arguments_go_to_an_expert_only_under_an_event_type_it_matches() -> None:
    attack = "Rebels attacked the town"
    rebels, trigger = (0, 6), (7, 15)
    universal = Universal({(rebels, trigger): [0.9, 0.1]})
    expert = FakeExpert({"attacker": "/per/per/couple"}, {(rebels, trigger): [0.1, 0.9, 0.0]}, ["attack"])
    expert.kind = "arguments"
    labels = LabelSchema(event_types=["attack", "vote"], argument_roles=["attacker"])
    scorer = Bound(universal, labels, "arguments", (), [expert])  # type: ignore[arg-type, list-item]
    assert scorer.arguments(attack, [("Rebels", rebels)], trigger, "vote", ["attacker"]) == []
    assert expert.asked_context == []
    [argument] = scorer.arguments(attack, [("Rebels", rebels)], trigger, "attack", ["attacker"])
    assert (argument["text"], argument["role"]) == ("Rebels", "attacker")
    assert expert.asked_context == ["attack"]


def test_a_bound_scorer_keeps_only_experts_of_its_kind() -> None:
    expert = FakeExpert({"wife": "/per/per/couple"}, {})
    assert Bound(Universal({}), LABELS, "arguments", (), [expert]).experts == []  # type: ignore[arg-type, list-item]


# --------------------------------------------------------------------------
# Settings


def test_experts_settings_say_what_they_take(make_reamo: Callable[..., Reamo]) -> None:
    answer: dict[str, Any] = {"entities": [], "relations": [], "calls": []}
    with pytest.raises(ConfigError, match="experts"):
        make_reamo(answer, refiners=["relations"], refiner_options={"relations": {"experts": 3}})
    with pytest.raises(ConfigError, match="No pair scorer at 'nowhere'"):
        make_reamo(answer, refiners=["relations"], refiner_options={"relations": {"experts": ["nowhere"]}})
    with pytest.raises(
        ConfigError, match="is a arguments scorer; this task's experts score relations or tag"
    ):
        make_reamo(
            answer, refiners=["relations"], refiner_options={"relations": {"experts": "reamo-ea-minilm"}}
        )
    with pytest.raises(ConfigError, match="not the universal one"):
        make_reamo(
            answer,
            refiners=["relations"],
            refiner_options={"relations": {"scorer": "reamo-re-minilm", "experts": "reamo-re-minilm"}},
        )
    with pytest.raises(ConfigError, match="is a relations scorer; this task's experts tag mentions"):
        make_reamo(
            answer, refiners=["entities"], refiner_options={"entities": {"experts": "reamo-re-minilm"}}
        )


# --------------------------------------------------------------------------
# The shipped scorers


MNRE = ["/per/per/couple", "/per/org/member_of", "/per/loc/place_of_residence", "/per/per/siblings"]
NAMES = ["couple", "member_of", "place_of_residence", "siblings"]


@pytest.mark.models
def test_mnre_strings_and_bare_names_give_the_same_relations(make_reamo: Callable[..., Reamo]) -> None:
    text = "Barack Obama married Michelle Obama, a lawyer at Sidley Austin, and they live in Chicago."
    answer = {
        "entities": [
            {"text": "Barack Obama", "label": "person"},
            {"text": "Michelle Obama", "label": "person"},
            {"text": "Sidley Austin", "label": "organization"},
            {"text": "Chicago", "label": "location"},
        ],
        "relations": [],
        "calls": [],
    }
    entity_types = ["person", "location", "organization", "miscellaneous"]
    found = {}
    for relation_types in (MNRE, NAMES):
        reamo = make_reamo(answer, refiners=["relations"])
        result = reamo.extract(
            "re", text=text, labels={"entity_types": entity_types, "relation_types": relation_types}
        )
        renamed = dict(zip(relation_types, MNRE, strict=True))
        found[relation_types[0]] = {(r.head, renamed[r.label], r.tail) for r in result.relations}
        [experts] = [d for d in result.diagnostics if d.code == "refine.relations.experts"]
        assert "'reamo-re-minilm'" in experts.message
        assert f"{relation_types[0]!r} as '/per/per/couple'" in experts.message
    assert found["couple"] == found["/per/per/couple"]
    assert found["couple"]  # the pairs are scored, not left empty


@pytest.mark.models
def test_a_relations_ends_take_the_types_its_expert_gives_them(make_reamo: Callable[..., Reamo]) -> None:
    text = "Barack Obama married Michelle Obama in Chicago."
    answer = {
        "entities": [
            {"text": "Barack Obama", "label": "PER"},
            {"text": "Michelle Obama", "label": "MISC"},  # mistyped by the planner
            {"text": "Chicago", "label": "LOC"},
        ],
        "relations": [],
        "calls": [],
    }
    reamo = make_reamo(answer, refiners=["relations"])
    labels = {
        "entity_types": ["PER", "LOC", "ORG", "MISC"],
        "relation_types": ["PER_COUPLE", "PER_PLACE_OF_BIRTH"],
    }
    result = reamo.extract("re", text=text, labels=labels)
    assert ("Barack Obama", "PER_COUPLE", "Michelle Obama") in {
        (result.entity(r.head).text, r.label, result.entity(r.tail).text) for r in result.relations
    }
    assert {e.text: e.label for e in result.entities}["Michelle Obama"] == "PER"
    [retyped] = [d for d in result.diagnostics if d.code == "refine.relations.retyped"]
    assert "'Michelle Obama' is a PER, not a MISC" in retyped.message


@pytest.mark.models
def test_experts_none_leaves_the_universal_scorer_alone(make_reamo: Callable[..., Reamo]) -> None:
    answer = {
        "entities": [{"text": "Rafael Nadal", "label": "person"}, {"text": "Paris", "label": "location"}]
    }
    reamo = make_reamo(
        {**answer, "relations": [], "calls": []},
        refiners=["relations"],
        refiner_options={"relations": {"experts": "none"}},
    )
    result = reamo.extract(
        "re", text=TEXT, labels={"entity_types": ["person", "location"], "relation_types": NAMES}
    )
    assert not [d for d in result.diagnostics if d.code == "refine.relations.experts"]
    assert [d for d in result.diagnostics if d.code == "refine.relations.relations"]


class Tagger:
    """A stand-in universal scorer for tags: two tokens, 'Nadal' and 'Paris', read as outside."""

    config = Config()

    def tag(self, text: str, labels: Sequence[str]) -> Any:
        from reamo.agent.universal import TagView

        probs = np.zeros((2, 1 + 2 * len(labels)), np.float32)
        probs[:, 0] = 0.6
        probs[:, 1:] = 0.4 / (2 * len(labels))
        return TagView(text, labels, [(0, 5), (6, 11)], probs)


class TagExpert:
    """A stand-in tagger expert over person and location: 'Nadal' a person, 'Paris' a location."""

    kind = "mentions"
    name = "fake-tagger"

    def __init__(self, matched: dict[str, str], offsets: list[tuple[int, int]] | None = None) -> None:
        self.matched = {name: Match(name, label, 0.9) for name, label in matched.items()}
        self.offsets = offsets or [(0, 5), (6, 11)]
        self.labels = ["O", "B-location", "I-location", "B-person", "I-person"]

    def matches(
        self, universal: Any, names: Any, texts: Any, *, contexts: bool = False, floor: float = 0.7
    ) -> dict[str, Match]:
        return {n: m for n, m in self.matched.items() if n in names}

    def scorer(self) -> Any:
        return self

    def tag_probabilities(self, text: str) -> tuple[list[tuple[int, int]], Any]:
        probs = np.array([[0.05, 0.0, 0.0, 0.95, 0.0], [0.1, 0.9, 0.0, 0.0, 0.0]], np.float32)
        return self.offsets, probs


def test_a_tagger_expert_reads_the_types_it_matches_and_the_universal_scorer_the_rest() -> None:
    labels = LabelSchema(entity_types=["PER", "LOC", "dog"])
    expert = TagExpert({"PER": "person", "LOC": "location"})
    tagger = Bound(Tagger(), labels, "mentions", ["PER", "LOC", "dog"], [expert])  # type: ignore[arg-type, list-item]
    view = tagger.view("Nadal Paris")
    assert view.sure((0, 5), "PER") == pytest.approx(0.95)
    assert view.sure((6, 11), "LOC") == pytest.approx(0.9)
    assert view.sure((0, 5), "dog") == pytest.approx(0.4 / 3)  # the universal scorer's own
    assert view.probs[0, 0] == pytest.approx(0.6)  # "dog" unmatched: outside stays the universal's
    assert [(m.text, m.label) for m in view.mentions()] == [("Nadal", "PER"), ("Paris", "LOC")]
    both = Bound(Tagger(), LabelSchema(entity_types=["PER", "LOC"]), "mentions", ["PER", "LOC"], [expert])  # type: ignore[arg-type, list-item]
    assert both.view("Nadal Paris").probs[0, 0] == pytest.approx(0.05)  # all matched: the expert's outside
    other = TagExpert({"PER": "person"}, offsets=[(0, 3), (3, 5), (6, 11)])  # other tokens: not used
    alone = Bound(Tagger(), labels, "mentions", ["PER", "LOC", "dog"], [other])  # type: ignore[arg-type, list-item]
    assert alone.view("Nadal Paris").sure((0, 5), "PER") == pytest.approx(0.4 / 3)


def test_an_expert_brings_the_taggers_its_config_names_once() -> None:
    from reamo.agent.experts import linked_taggers
    from reamo.agent.planners.embedded import adapters_dir

    ea, re_ = adapters_dir() / "reamo-ea-minilm", adapters_dir() / "reamo-re-minilm"
    names = [p.name for p in linked_taggers([ea, re_, adapters_dir() / "reamo-m2e2-mentions"])]
    assert names == [
        "reamo-ea-minilm", "reamo-m2e2-mentions", "reamo-m2e2-events",
        "reamo-re-minilm", "reamo-mnre-mentions",
    ]  # fmt: skip


@pytest.mark.models
def test_a_novel_event_type_is_not_taken_for_one_the_trigger_tagger_knows(
    make_reamo: Callable[..., Reamo],
) -> None:
    text = "Acme acquired Beta Corp on Friday."
    answer = {
        "entities": [
            {"text": "Acme", "label": "organization"},
            {"text": "Beta Corp", "label": "organization"},
        ],
        "events": [{"trigger": "acquired", "type": "Acquisition"}],
        "calls": [],
    }
    reamo = make_reamo(answer, refiners=["arguments"])
    labels = {"event_types": ["Acquisition", "public protest"], "argument_roles": ["buyer", "Place"]}
    result = reamo.extract("ee", text=text, labels=labels)
    # 'Acquisition' lies 0.76 from Contact:Phone-Write, under the event floor: the M2E2 trigger tagger
    # does not judge it, so the planner's event stays
    assert [(e.trigger.text, e.type) for e in result.events] == [("acquired", "Acquisition")]
    assert not [d for d in result.diagnostics if d.code == "refine.arguments.dropped"]
