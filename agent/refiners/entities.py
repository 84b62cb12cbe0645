"""``entities``: a mentions tagger checks the entities of a NER request whose entity types it tags: it
drops those it doubts and adds the mentions it is sure of. Entity types far from all it was tuned on
(the universal scorer's ``unseen``) are left to the planner."""

from __future__ import annotations

from reamo.agent.refiners.edits import Draft
from reamo.agent.refiners.protocol import Refinement, RefineRequest, RefinerSetup
from reamo.agent.refiners.scored import (
    Scorer,
    TagCheck,
    TaskScorers,
    check_options,
    describe,
    report_unseen,
    scorers_of,
    threshold,
)
from reamo.agent.spans import find_spans
from reamo.schemas import BackendInfo, LabelSchema
from reamo.tools.vision.classes import object_labels


class EntityRefiner:
    name = "entities"

    def __init__(
        self, scorers: TaskScorers | None, *, check_floor: float | None = None, check_add: float | None = None
    ) -> None:
        self.scorers = scorers
        self.check_floor = check_floor  # None: the tagger's own
        self.check_add = check_add

    @classmethod
    def from_setup(cls, setup: RefinerSetup) -> EntityRefiner:
        check_options(setup, {"scorer", "experts", "threads", "check_floor", "check_add"})
        return cls(
            scorers_of(setup, "ner"),
            check_floor=threshold(setup, "check_floor"),
            check_add=threshold(setup, "check_add"),
        )

    def model_for(self, labels: LabelSchema) -> Scorer | None:
        """The tagger of these labels: the first configured one that tags them, loaded on first use."""
        return self.scorers.for_labels(labels) if self.scorers is not None else None

    def describe(self) -> BackendInfo:
        return describe(self.name, self.scorers, "entities checked and completed by a mentions tagger")

    def applies(self, request: RefineRequest) -> bool:
        return request.task == "ner" and bool(request.text) and self.model_for(request.labels) is not None

    def replaces(self, request: RefineRequest) -> frozenset[str]:
        return frozenset()

    def refine(self, request: RefineRequest) -> Refinement:
        tagger, text = self.model_for(request.labels), request.text
        if tagger is None or not text:
            return Refinement.unchanged(request)
        floor = self.check_floor if self.check_floor is not None else tagger.config.check_floor
        add = self.check_add if self.check_add is not None else tagger.config.check_add
        draft = Draft(request, self.name)
        types = request.labels.entity_types
        # the detector's object classes (dog, car) are the objects refiner's to type: not reported
        objects = object_labels(types)
        unseen = report_unseen(draft, tagger, types, "entity types", scored=False, quiet=objects)
        check = TagCheck(tagger, text)
        doubted, taken = [], []
        for entity in draft.entities:
            found = find_spans(text, entity.text)
            if found and entity.label not in unseen and (sure := check.sure(found[0], entity.label)) < floor:
                doubted.append((entity.id, sure))
                continue
            taken += found[:1]
        for entity_id, sure in doubted:
            draft.drop_entities([entity_id], f"the mentions tagger is {sure:.2f} sure of it")
        if add is not None:
            names = {entity.text for entity in draft.entities}
            # the tagger's mentions never overlap each other, so one that repeats a name changes nothing
            for (a, b), label in check.sure_mentions([t for t in types if t not in unseen], add, taken):
                if text[a:b] not in names:
                    names.add(text[a:b])
                    draft.add_entity(
                        text[a:b],
                        label,
                        concept=request.speech_alone,
                        why=f"the tagger is at least {add} sure",
                    )
        return draft.finish()
