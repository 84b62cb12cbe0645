"""The built-in refiners on typed records: relation and argument scorers (with the mentions and trigger
taggers they name), the NER entity checker, the drop of names only heard in a reading of the text; what
they read (the text, a transcript read aloud) and how they find their scorers."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from reamo.agent.planners.pairs import CONFIG_FILE, NONE, OUTSIDE, ScorerConfig, find_scorers
from reamo.agent.reading import reading_text, speaks_text
from reamo.agent.refiners import Refinement, RefineRequest, RefinerSetup
from reamo.agent.refiners.arguments import ArgumentRefiner
from reamo.agent.refiners.entities import EntityRefiner
from reamo.agent.refiners.heard import HeardRefiner
from reamo.agent.refiners.relations import RelationRefiner
from reamo.agent.refiners.scored import scorers_of
from reamo.errors import ConfigError
from reamo.schemas import (
    Argument,
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
    Trigger,
)

TWEET = "Tennis star Rafael Nadal gets engaged to girlfriend Mery Perello"
NADAL, PERELLO = (12, 24), (52, 64)
MNRE = LabelSchema.default("re")
AUDIO = {"AudioSegmentation": {"properties": {"target": {"enum": ["audio:0"]}}}}


class FakeScorer:
    """Relates the first two entities it is given, with the first allowed type; gives every entity but
    the first the first allowed role."""

    def __init__(
        self, known: set[str], kind: str = "relations", tagger: Any = None, events: Any = None
    ) -> None:
        self.known = known
        self.kind = kind
        self.calls: list[tuple[str, list[tuple[str, tuple[int, int]]]]] = []
        self._tagger = tagger
        self._events = events
        self.config = ScorerConfig([NONE], 1, 1, [], kind=kind, event_floor=0.3, event_add=0.9)

    def tagger(self) -> Any:
        return self._tagger

    def event_tagger(self) -> Any:
        return self._events

    def knows(self, labels: LabelSchema) -> bool:
        wanted = labels.relation_types if self.kind == "relations" else labels.event_types
        return bool(wanted) and set(wanted) <= self.known

    def arguments(
        self, text: str, entities: list[Any], trigger: tuple[int, int], event_type: str, allowed: list[str]
    ) -> list[Any]:
        self.calls.append((f"{event_type} {trigger}", list(entities)))
        return [{"text": name, "role": allowed[0]} for name, _ in entities[1:]]

    def relate(self, text: str, entities: list[tuple[str, tuple[int, int]]], allowed: list[str]) -> list[Any]:
        self.calls.append((text, list(entities)))
        return (
            [{"head": entities[0][0], "label": allowed[0], "tail": entities[1][0]}]
            if len(entities) > 1
            else []
        )


class Chosen:
    """A task's scorers as a refiner sees them: this one, for the labels it knows."""

    def __init__(self, scorer: Any) -> None:
        self.scorer = scorer
        self.configs: list[Any] = []

    def for_labels(self, labels: LabelSchema) -> Any:
        return self.scorer if self.scorer.knows(labels) else None


def records(*entities: tuple[str, str] | tuple[str, str, bool]) -> tuple[Entity, ...]:
    return tuple(
        Entity(id=f"e{n}", text=e[0], label=e[1], concept=bool(e[2]) if len(e) > 2 else False)
        for n, e in enumerate(entities, 1)
    )


def events(*planned: tuple[str, str, list[tuple[str, str]]]) -> tuple[Event, ...]:
    """Events (trigger, type, arguments as (entity id, role))."""
    return tuple(
        Event(
            id=f"v{n}",
            type=kind,
            trigger=Trigger(id=f"t{n}", text=trigger),
            arguments=[Argument(entity=e, role=r) for e, r in args],
        )
        for n, (trigger, kind, args) in enumerate(planned, 1)
    )


def request(task: Task, labels: LabelSchema, text: str | None, **records: Any) -> RefineRequest:
    return RefineRequest.build(task, Inputs(text=text), labels, Perception(), **records)


def heard(said: str | None) -> Perception:
    transcript = Transcript(text=said) if said is not None else None
    return Perception(
        audio={"audio:0": AudioPerception(media="audio:0", duration=1.0, transcript=transcript)}
    )


def spoken(task: Task, labels: LabelSchema, text: str, **records: Any) -> RefineRequest:
    """A request on speech alone whose transcript is ``text``, grounded by AudioSegmentation."""
    return RefineRequest.build(
        task, Inputs.build(audio="a.wav"), labels, heard(text), call_schemas=AUDIO, **records
    )


def by_text(out: Refinement, ids: list[str]) -> list[str]:
    names = {e.id: e.text for e in out.entities}
    return [names[i] for i in ids]


def relations_of(out: Refinement) -> list[tuple[str, str, str]]:
    return [(*by_text(out, [r.head]), r.label, *by_text(out, [r.tail])) for r in out.relations]


def arguments_of(out: Refinement, event: Event) -> list[tuple[str, str]]:
    return [(*by_text(out, [a.entity]), a.role) for a in event.arguments]


def test_the_relation_refiner_replaces_the_planners_relations_among_its_entities() -> None:
    scorer = FakeScorer(set(MNRE.relation_types))
    refiner = RelationRefiner(Chosen(scorer))  # type: ignore[arg-type]
    planned = records(("Rafael Nadal", "person"), ("Mery Perello", "person"), ("Wimbledon", "location", True))
    asked = request(
        "re", MNRE, TWEET, entities=planned, relations=(Relation(head="e3", tail="e1", label="x"),)
    )
    assert refiner.applies(asked)
    assert refiner.replaces(asked) == {"relations"}
    out = refiner.refine(asked)
    assert relations_of(out) == [("Rafael Nadal", MNRE.relation_types[0], "Mery Perello")]
    assert out.entities == list(planned)  # entities are the planner's
    assert scorer.calls == [
        (TWEET, [("Rafael Nadal", NADAL), ("Mery Perello", PERELLO)])
    ]  # Wimbledon: not in the text
    assert [e.code for e in out.effects] == ["refine.relations.relations"]


@pytest.mark.parametrize(
    ("task", "labels", "text"),
    [("ner", MNRE, TWEET), ("re", LabelSchema.for_task("re", ["founded_by"]), TWEET), ("re", MNRE, None)],
    ids=["not-re", "unknown-types", "no-text"],
)
def test_the_relation_refiner_leaves_other_requests_alone(
    task: Task, labels: LabelSchema, text: str | None
) -> None:
    refiner = RelationRefiner(Chosen(FakeScorer(set(MNRE.relation_types))))  # type: ignore[arg-type]
    asked = request(task, labels, text, entities=records(("Rafael Nadal", "person")))
    assert not refiner.applies(asked)
    assert refiner.replaces(asked) == frozenset()
    assert RelationRefiner(None).replaces(request("re", MNRE, TWEET)) == frozenset()  # no scorer


def test_the_argument_refiner_gives_each_event_the_scorers_arguments() -> None:
    labels = LabelSchema.default("ee")
    scorer = FakeScorer(set(labels.event_types), kind="arguments")
    refiner = ArgumentRefiner(Chosen(scorer))  # type: ignore[arg-type]
    text = "Police arrested Smith in Chicago"
    asked = request(
        "ee",
        labels,
        text,
        entities=records(("Police", "person"), ("Smith", "person"), ("Chicago", "person")),
        events=events(
            ("arrested", "Justice:Arrest-Jail", [("e1", "Agent")]),
            ("jailed", "Justice:Arrest-Jail", [("e2", "Person")]),
        ),
    )
    assert refiner.replaces(asked) == {"arguments"}
    out = refiner.refine(asked)
    role = labels.argument_roles[0]
    assert arguments_of(out, out.events[0]) == [("Smith", role), ("Chicago", role)]
    assert out.events[1] == asked.events[1]  # its trigger is not in the text: left as written
    assert scorer.calls == [
        ("Justice:Arrest-Jail (7, 15)", [("Police", (0, 6)), ("Smith", (16, 21)), ("Chicago", (25, 32))])
    ]
    # a relation request is not the argument refiner's, and neither are event types it was not tuned on
    assert not refiner.applies(request("re", labels, text))
    other = labels.model_copy(update={"event_types": ["Business:Merge-Org"]})
    assert not refiner.applies(request("ee", other, text))


class FakeTagger:
    def __init__(self, found: list[tuple[str, str, tuple[int, int]]]) -> None:
        self.found = found

    def mentions(self, text: str) -> list[tuple[str, str, tuple[int, int]]]:
        return self.found


def test_the_argument_refiner_also_scores_its_taggers_mentions() -> None:
    labels = LabelSchema.default("ee")
    text = "Police arrested the man and his son in Chicago"
    tagger = FakeTagger(
        [
            ("Police", "organization", (0, 6)),  # the planner's own entity: not again
            ("man", "person", (20, 23)),
            ("son", "person", (32, 35)),
            ("Chicago area", "location", (39, 46)),  # overlaps the planner's Chicago
            ("his", "pronoun", (28, 31)),  # not a requested entity type
        ]
    )

    class FirstRole(FakeScorer):  # gives a role to the first two candidates after the first only
        def arguments(self, *args: Any) -> list[Any]:
            return super().arguments(*args)[:2]

    scorer = FirstRole(set(labels.event_types), kind="arguments", tagger=tagger)
    refiner = ArgumentRefiner(Chosen(scorer))  # type: ignore[arg-type]
    planned = {
        "entities": records(("Police", "organization"), ("Chicago", "location")),
        "events": events(("arrested", "Justice:Arrest-Jail", [])),
    }
    out = refiner.refine(request("ee", labels, text, **planned))
    assert scorer.calls[0][1] == [
        ("Police", (0, 6)), ("Chicago", (39, 46)), ("man", (20, 23)), ("son", (32, 35))
    ]  # fmt: skip
    role = labels.argument_roles[0]
    assert arguments_of(out, out.events[0]) == [("Chicago", role), ("man", role)]
    # a mention that became an argument joins the entities, with the tagger's type; the others do not
    assert [(e.id, e.text, e.label, e.concept) for e in out.entities] == [
        ("e1", "Police", "organization", False),
        ("e2", "Chicago", "location", False),
        ("e3", "man", "person", False),
    ]
    # on speech alone, what is said can be found in the audio: the added entity is a concept, with its call
    said = refiner.refine(spoken("ee", labels, text, **planned))
    assert said.entities[-1].concept
    assert [(c.concept, c.instruction, c.target) for c in said.calls] == [("e3", "man", "audio:0")]


class FakeEventTagger:
    """Tags the words of a text with the trigger probabilities it is given: (word, event type, P)."""

    def __init__(self, tagged: list[tuple[str, str, float]]) -> None:
        self.tagged = tagged
        types = sorted({t for _, t, _ in tagged})
        self.labels = [OUTSIDE, *(f"{bio}-{t}" for t in types for bio in "BI")]

    def tag_probabilities(self, text: str) -> tuple[list[tuple[int, int]], Any]:
        import numpy as np

        words = [(m.start(), m.end()) for m in re.finditer(r"\w+", text)]
        probs = np.zeros((len(words), len(self.labels)), np.float32)
        probs[:, 0] = 1.0
        for word, event_type, p in self.tagged:
            i = next(i for i, (a, b) in enumerate(words) if text[a:b] == word)
            probs[i, 0], probs[i, self.labels.index(f"B-{event_type}")] = 1 - p, p
        return words, probs


def test_the_argument_refiners_trigger_tagger_drops_the_events_it_doubts_and_adds_those_it_is_sure_of() -> (
    None
):
    labels = LabelSchema.default("ee")
    text = "Police arrested the man after the protest and he died in the attack"
    tagger = FakeEventTagger(
        [
            ("arrested", "Justice:Arrest-Jail", 0.9),  # the planner's, confirmed
            ("man", "Justice:Arrest-Jail", 0.1),  # the planner's, doubted (floor 0.3): dropped
            ("protest", "Conflict:Demonstrate", 0.95),  # not the planner's, sure (add 0.9): added
            ("attack", "Conflict:Attack", 0.6),  # not the planner's, not sure enough
        ]
    )
    scorer = FakeScorer(set(labels.event_types), kind="arguments", events=tagger)
    refiner = ArgumentRefiner(Chosen(scorer))  # type: ignore[arg-type]
    planned = {
        "entities": records(("Police", "organization"), ("man", "person")),
        "events": events(
            ("arrested", "Justice:Arrest-Jail", []),
            ("man", "Justice:Arrest-Jail", []),
            ("died", "Life:Die", []),  # a type the tagger does not tag
        ),
    }
    out = refiner.refine(request("ee", labels, text, **planned))
    assert [(e.trigger.text, e.type) for e in out.events] == [
        ("arrested", "Justice:Arrest-Jail"),
        ("died", "Life:Die"),
        ("protest", "Conflict:Demonstrate"),
    ]
    # an added event gets arguments as the planner's do, and is a concept on speech alone
    assert arguments_of(out, out.events[2]) == [("man", labels.argument_roles[0])]
    assert not out.events[2].trigger.concept
    assert {e.code for e in out.effects} >= {"refine.arguments.dropped", "refine.arguments.added"}
    said = refiner.refine(spoken("ee", labels, text, **planned))
    assert said.events[2].trigger.concept
    assert [c.concept for c in said.calls] == [said.events[2].trigger.id]
    # an answer with no events still gets the events the tagger is sure of
    bare = refiner.refine(request("ee", labels, text, entities=planned["entities"]))
    assert [e.trigger.text for e in bare.events] == ["protest"]
    # its floors can be set for the refiner
    strict = ArgumentRefiner(Chosen(scorer), event_floor=0.95, event_add=0.99)  # type: ignore[arg-type]
    assert [e.trigger.text for e in strict.refine(request("ee", labels, text, **planned)).events] == ["died"]


class FakeChecker(FakeEventTagger):
    """A mentions tagger as a NER answer's checker (floor 0.3, add 0.8)."""

    kind = "mentions"
    config = ScorerConfig([NONE], 1, 1, [], kind="mentions", check_floor=0.3, check_add=0.8)

    def knows(self, labels: LabelSchema) -> bool:
        return True


def test_the_entity_refiner_drops_the_entities_it_doubts_and_adds_those_it_is_sure_of() -> None:
    labels = LabelSchema.default("ner")
    text = "Obama met Merkel in Berlin with Smith and Jones"
    checker = FakeChecker(
        [
            ("Obama", "person", 0.9),  # the planner's, confirmed
            ("Merkel", "person", 0.1),  # the planner's, doubted: dropped with its call
            ("Berlin", "location", 0.7),  # the planner's, confirmed (the floor is 0.3)
            ("Smith", "person", 0.85),  # not the planner's, sure: added
            ("Jones", "person", 0.6),  # not the planner's, not sure enough
        ]
    )
    refiner = EntityRefiner(Chosen(checker))  # type: ignore[arg-type]
    planned = records(
        ("Obama", "person", True),
        ("Merkel", "person", True),
        ("Berlin", "location", True),
        ("Putin", "person"),  # not in the text: kept
    )
    calls = tuple(
        MetaResponse(module="AudioSegmentation", instruction=e.text, target="audio:0", concept=e.id)
        for e in planned[:3]
    )
    out = refiner.refine(spoken("ner", labels, text, entities=planned, calls=calls))
    assert [(e.text, e.label) for e in out.entities] == [
        ("Obama", "person"),
        ("Berlin", "location"),
        ("Putin", "person"),
        ("Smith", "person"),
    ]
    assert out.entities[-1].concept  # on speech alone an added entity is a concept, with its call
    # the doubted entity's call goes
    assert [c.instruction for c in out.calls] == ["Obama", "Berlin", "Smith"]
    assert [e.code for e in out.effects] == ["refine.entities.dropped", "refine.entities.added"]
    assert "'Merkel'" in out.effects[0].message
    assert out.effects[1].concept == out.entities[-1].id
    # other tasks are not the checker's; its floors can be set for the refiner
    assert not refiner.applies(request("re", labels, text))
    lenient = EntityRefiner(Chosen(checker), check_floor=0.05, check_add=0.5)  # type: ignore[arg-type]
    assert [e.text for e in lenient.refine(request("ner", labels, text, entities=planned)).entities] == [
        "Obama", "Merkel", "Berlin", "Putin", "Smith", "Jones"
    ]  # fmt: skip


def test_with_the_text_read_aloud_a_name_heard_but_not_written_is_dropped_with_its_call() -> None:
    labels = LabelSchema.default("ner")
    text = "Congratulations to Ascot , who won the FA festival"
    planned = records(("Ascot", "organization", True), ("Scott", "person", True))  # Scott: a mishearing
    calls = tuple(
        MetaResponse(module="AudioSegmentation", instruction=e.text, target="audio:0", concept=e.id)
        for e in planned
    )
    both = Inputs.build(text=text, audio="a.wav")
    read_aloud = RefineRequest.build(
        "ner",
        both,
        labels,
        heard("Congratulations to Scott who won the FA festival"),
        entities=planned,
        calls=calls,
    )
    refiner = HeardRefiner()
    assert read_aloud.spoken_text
    assert refiner.applies(read_aloud)
    out = refiner.refine(read_aloud)
    assert [e.text for e in out.entities] == ["Ascot"]
    assert [c.instruction for c in out.calls] == ["Ascot"]
    # when the speech is not the text, a name that is only heard stays: the refiner does not apply
    other = RefineRequest.build(
        "ner", both, labels, heard("Turn left at the next junction"), entities=planned
    )
    assert not other.spoken_text
    assert not refiner.applies(other)


def test_speaks_text_when_a_transcript_repeats_most_of_the_written_words() -> None:
    text = "Congratulations to Ascot Aces , who won a 25 team FA festival tournament today ."
    misheard = "Congratulations to Scott Aces who won a 25 team FOP festival tournament today"
    assert speaks_text(Inputs.build(text=text, audio="a.wav"), heard(misheard))
    assert not speaks_text(Inputs.build(text=text, audio="a.wav"), heard("Turn left at the next junction"))
    assert not speaks_text(Inputs.build(text=text, audio="a.wav"), heard(None))  # nothing was heard
    assert not speaks_text(Inputs.build(audio="a.wav"), heard(misheard))  # speech alone: no text to repeat


def test_the_reading_text_is_the_text_else_the_transcript() -> None:
    assert reading_text(Inputs(text="Nadal"), heard("Nadal won")) == "Nadal"
    assert reading_text(Inputs(), heard("Nadal won")) == "Nadal won"
    assert reading_text(Inputs(), Perception()) is None
    assert (
        RefineRequest.build("ner", Inputs(), LabelSchema.default("ner"), heard("Nadal won")).text
        == "Nadal won"
    )


def test_find_scorers_names_a_missing_scorer_and_lists_the_shipped_ones(tmp_path: Path) -> None:
    assert find_scorers("re", "none") == []
    with pytest.raises(ConfigError, match=r"refiner_options.relations.scorer = 'none'"):
        find_scorers("re", str(tmp_path))
    with pytest.raises(ConfigError, match=r"refiner_options.arguments.scorer = 'none'"):
        find_scorers("ee", [tmp_path / "nowhere"])
    with pytest.raises(
        ConfigError, match=r"entities.scorer is \[3\]; give a scorer's name or folder, a list"
    ):
        find_scorers("ner", [3])  # type: ignore[list-item]
    with pytest.raises(ConfigError, match="No pair scorer"):
        ScorerConfig.read(tmp_path)
    (tmp_path / CONFIG_FILE).write_text(
        json.dumps({"labels": [NONE], "lora_r": 1, "lora_alpha": 1, "target_modules": [], "kind": "spans"})
    )
    with pytest.raises(ConfigError, match="kind is 'spans'"):
        ScorerConfig.read(tmp_path)


def test_a_request_gets_the_first_scorer_that_knows_its_labels(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from reamo.agent.planners import pairs

    def tagger(name: str, types: list[str]) -> Path:
        folder = tmp_path / name
        folder.mkdir()
        labels = ["O", *(f"{bio}-{t}" for t in types for bio in "BI")]
        config = {"labels": labels, "lora_r": 1, "lora_alpha": 1, "target_modules": [], "kind": "mentions"}
        (folder / CONFIG_FILE).write_text(json.dumps(config))
        return folder

    generic = tagger("generic", ["person", "location"])
    wnut = tagger("wnut", ["person", "corporation"])
    loads: list[Path] = []
    monkeypatch.setattr(pairs, "PairScorer", lambda folder, **_: loads.append(folder) or folder)
    scorers = scorers_of(RefinerSetup("entities", {"scorer": [str(generic), wnut], "threads": 1}), "ner")
    assert scorers is not None
    assert scorers.for_labels(LabelSchema(entity_types=["person"])) == generic  # the first that knows
    assert scorers.for_labels(LabelSchema(entity_types=["person", "corporation"])) == wnut
    assert scorers.for_labels(LabelSchema(entity_types=["location", "person"])) == generic
    assert scorers.for_labels(LabelSchema(entity_types=["product"])) is None
    assert loads == [generic, wnut]  # each loaded once, when first asked for
    assert scorers_of(RefinerSetup("entities", {"scorer": "none"}), "ner") is None
    with pytest.raises(ConfigError, match=r"refiner_options.entities.threads is 0; use a positive integer"):
        scorers_of(RefinerSetup("entities", {"threads": 0}), "ner")


def test_the_scorers_threads_follow_the_planners_unless_set() -> None:
    from reamo.agent.refiners.scored import DEFAULT_THREADS
    from reamo.config import ReamoConfig

    def threads(options: dict[str, Any], planner: dict[str, Any]) -> int | None:
        config = ReamoConfig(planner_options=planner)
        scorers = scorers_of(RefinerSetup("entities", options, config), "ner")
        assert scorers is not None  # the shipped checkers
        return scorers.threads

    assert threads({}, {}) == DEFAULT_THREADS
    assert threads({}, {"threads": 1}) == 1
    assert threads({"threads": 3}, {"threads": 1}) == 3
    assert threads({}, {"threads": "4"}) == DEFAULT_THREADS  # an hf planner's string is its own business
