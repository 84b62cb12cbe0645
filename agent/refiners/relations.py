"""``relations``: a relation scorer replaces the planner's relations with its own among the entities (and
the mentions its tagger finds beside them) of an RE request whose relation types it knows."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from reamo.agent.refiners.edits import Draft
from reamo.agent.refiners.protocol import Refinement, RefineRequest, RefinerSetup
from reamo.agent.refiners.scored import (
    Scorer,
    TaskScorers,
    check_options,
    describe,
    more_mentions,
    placed,
    report_experts,
    report_unseen,
    scorers_of,
)
from reamo.schemas import BackendInfo, LabelSchema


class RelationRefiner:
    name = "relations"

    def __init__(self, scorers: TaskScorers | None) -> None:
        self.scorers = scorers

    @classmethod
    def from_setup(cls, setup: RefinerSetup) -> RelationRefiner:
        check_options(setup, {"scorer", "experts", "threads"})
        return cls(scorers_of(setup, "re"))

    def model_for(self, labels: LabelSchema) -> Scorer | None:
        """The scorer of these labels: the first configured one that knows them, loaded on first use."""
        return self.scorers.for_labels(labels) if self.scorers is not None else None

    def describe(self) -> BackendInfo:
        return describe(self.name, self.scorers, "relations scored among the entities")

    def applies(self, request: RefineRequest) -> bool:
        return request.task == "re" and bool(request.text) and self.model_for(request.labels) is not None

    def replaces(self, request: RefineRequest) -> frozenset[str]:
        return frozenset({"relations"}) if self.applies(request) else frozenset()

    def refine(self, request: RefineRequest) -> Refinement:
        scorer, text, labels = self.model_for(request.labels), request.text, request.labels
        if scorer is None or not text:
            return Refinement.unchanged(request)
        draft = Draft(request, self.name)
        report_unseen(draft, scorer, labels.relation_types, "relation types")
        report_experts(draft, scorer, labels.relation_types, "relation types")
        entities = placed(text, draft.entities)
        extra = more_mentions(scorer.tagger(), text, entities, labels)
        found = scorer.relate(
            text, entities + [(name, span) for name, span, _ in extra], labels.relation_types
        )
        used = {r["head"] for r in found} | {r["tail"] for r in found}
        for name, _, label in extra:
            if name in used:
                draft.add_entity(name, label, concept=request.speech_alone, why="a relation's end")
        draft.replace_relations(((r["head"], r["label"], r["tail"]) for r in found), "scored pairs")
        _type_ends(draft, found)
        return draft.finish()


def _type_ends(draft: Draft, found: Sequence[dict[str, Any]]) -> None:
    """Each relation end typed as its relation's expert says (``head_type``, ``tail_type``): the surest
    relation of an entity decides its type."""
    decided: set[str] = set()
    for relation in found:
        for end in ("head", "tail"):
            entity, label = draft.entity(relation[end]), relation.get(f"{end}_type")
            if entity is None or label is None or entity.id in decided:
                continue
            decided.add(entity.id)
            draft.retype(entity, label, f"the {end} of {relation['label']!r}")
