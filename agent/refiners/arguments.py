"""``arguments``: an argument scorer gives each event of an EE request whose event types it knows its
arguments among the entities (and the mentions its tagger finds beside them), after its trigger tagger
has dropped the events it doubts and added those it is sure of. In a role the universal scorer reports far
from every label it was tuned on, the planner's arguments stay as it gave them (the scorer cannot judge
them), and the scorer's own are not taken."""

from __future__ import annotations

from reamo.agent.planners.pairs import ScorerConfig
from reamo.agent.refiners.edits import Draft
from reamo.agent.refiners.protocol import Refinement, RefineRequest, RefinerSetup
from reamo.agent.refiners.scored import (
    Scorer,
    TagCheck,
    TaskScorers,
    check_options,
    describe,
    far_labels,
    more_mentions,
    placed,
    report_experts,
    report_unseen,
    scorers_of,
    threshold,
)
from reamo.agent.spans import find_spans
from reamo.agent.universal import Floors
from reamo.schemas import BackendInfo, LabelSchema


class ArgumentRefiner:
    name = "arguments"

    def __init__(
        self, scorers: TaskScorers | None, *, event_floor: float | None = None, event_add: float | None = None
    ) -> None:
        self.scorers = scorers
        self.event_floor = event_floor  # None: the scorer's own
        self.event_add = event_add

    @classmethod
    def from_setup(cls, setup: RefinerSetup) -> ArgumentRefiner:
        check_options(setup, {"scorer", "experts", "threads", "event_floor", "event_add"})
        return cls(
            scorers_of(setup, "ee"),
            event_floor=threshold(setup, "event_floor"),
            event_add=threshold(setup, "event_add"),
        )

    def model_for(self, labels: LabelSchema) -> Scorer | None:
        """The scorer of these labels: the first configured one that knows them, loaded on first use."""
        return self.scorers.for_labels(labels) if self.scorers is not None else None

    def describe(self) -> BackendInfo:
        return describe(self.name, self.scorers, "events checked by a trigger tagger, arguments scored")

    def applies(self, request: RefineRequest) -> bool:
        return request.task == "ee" and bool(request.text) and self.model_for(request.labels) is not None

    def replaces(self, request: RefineRequest) -> frozenset[str]:
        """The arguments, unless a role is far from all the scorer knows: then the planner writes them, and
        ``refine`` keeps its arguments in those roles."""
        scorer = self.model_for(request.labels) if self.applies(request) else None
        if scorer is None or far_labels(scorer, request.labels.argument_roles):
            return frozenset()
        return frozenset({"arguments"})

    def refine(self, request: RefineRequest) -> Refinement:
        scorer, text, labels = self.model_for(request.labels), request.text, request.labels
        if scorer is None or not text:
            return Refinement.unchanged(request)
        draft = Draft(request, self.name)
        far_roles = report_unseen(draft, scorer, labels.argument_roles, "argument roles", scored=False)
        tagger = scorer.event_tagger()
        if tagger is None and not draft.events:
            return draft.finish()  # nothing to give arguments to: the tagger need not run
        if tagger is not None:
            unseen = report_unseen(draft, tagger, labels.event_types, "event types", scored=False)
            self._check_events(tagger, scorer.config, text, draft, labels, unseen, request.speech_alone)
        entities = placed(text, draft.entities)
        extra = more_mentions(scorer.tagger(), text, entities, labels)
        candidates = entities + [(name, span) for name, span, _ in extra]
        scored = {}
        for event in draft.events:
            trigger = find_spans(text, event.trigger.text)
            if trigger:  # an event whose trigger is not in the text keeps its arguments
                scored[event.id] = scorer.arguments(
                    text, candidates, trigger[0], event.type, labels.argument_roles
                )
        types = list(dict.fromkeys(e.type for e in draft.events if e.id in scored))
        report_experts(draft, scorer, labels.argument_roles, "argument roles", types)
        used = {argument["text"] for found in scored.values() for argument in found}
        for name, _, label in extra:
            if name in used:
                draft.add_entity(name, label, concept=request.speech_alone, why="an event's argument")
        texts = {e.id: e.text for e in draft.entities}
        for event in draft.events:
            if event.id in scored:  # the planner's arguments in roles the scorer cannot judge stay
                kept = [
                    (texts[a.entity], a.role)
                    for a in event.arguments
                    if a.role in far_roles and a.entity in texts
                ]
                found = [(a["text"], a["role"]) for a in scored[event.id] if a["role"] not in far_roles]
                draft.replace_arguments(event, kept + found, "scored")
        return draft.finish()

    def _check_events(
        self,
        tagger: Scorer,
        config: ScorerConfig | Floors,
        text: str,
        draft: Draft,
        labels: LabelSchema,
        unseen: frozenset[str],
        concept: bool,
    ) -> None:
        """The events as the scorer's trigger tagger corrects them: it drops those whose trigger it tags
        as their type with a confidence below ``event_floor``, and adds the events of a requested type it
        tags with at least ``event_add`` (None: none) on a trigger no event is on. An event whose trigger
        is not in the text, or of a type the tagger does not tag or is ``unseen``, is kept; no event of an
        ``unseen`` type is added."""
        floor = self.event_floor if self.event_floor is not None else config.event_floor
        add = self.event_add if self.event_add is not None else config.event_add
        check = TagCheck(tagger, text)
        doubted, taken = [], []
        judged = [t for t in labels.event_types if t not in unseen and check.tags(t)]
        for event in draft.events:
            found = find_spans(text, event.trigger.text)
            if found and event.type in judged and (sure := check.sure(found[0], event.type)) < floor:
                doubted.append((event.id, sure))
                continue
            taken += found[:1]
        for event_id, sure in doubted:
            draft.drop_events([event_id], f"the trigger tagger is {sure:.2f} sure of it")
        if add is not None:
            for (a, b), label in check.sure_mentions(judged, add, taken):
                draft.add_event(
                    text[a:b], label, concept=concept, why=f"the trigger tagger is at least {add} sure"
                )
