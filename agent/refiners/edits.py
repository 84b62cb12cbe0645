"""Safe edits of a request's records for refiners: each keeps them consistent (an entity dropped takes its
relations, arguments and calls with it; a new concept gets its calls) and records its effect."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import replace

from reamo.agent.refiners.protocol import Refinement, RefineRequest
from reamo.agent.spans import normalise
from reamo.agent.validation import concept_calls, missing_calls
from reamo.schemas import Argument, Diagnostic, Entity, Event, Relation, Trigger


def _number(record_id: str) -> int:
    return int(record_id[1:])


class Draft:
    """Editable copies of a request's records, for the refiner ``refiner``; ``finish`` returns them as a
    ``Refinement`` with the effects of every edit (info diagnostics ``refine.<refiner>.<what>``). Entities
    are found by their text as the validator finds them: the first whose normalised text matches."""

    def __init__(self, request: RefineRequest, refiner: str) -> None:
        self.request = request
        self.refiner = refiner
        self.entities = [e.model_copy(deep=True) for e in request.entities]
        self.relations = [r.model_copy() for r in request.relations]
        self.events = [v.model_copy(deep=True) for v in request.events]
        self.calls = list(request.calls)
        self.effects: list[Diagnostic] = []
        self._last_entity = max((_number(e.id) for e in self.entities), default=0)
        self._last_event = max((_number(v.trigger.id) for v in self.events), default=0)
        self._last_event = max([self._last_event, *(_number(v.id) for v in self.events)])

    # -- reading --------------------------------------------------------------------------------------

    def entity(self, text: str) -> Entity | None:
        """The entity of this text (normalised), the first when several are."""
        key = normalise(text)
        return next((e for e in self.entities if normalise(e.text) == key), None)

    def names(self, entity_id: str) -> str:
        """An entity's or a trigger's text, for messages."""
        for e in self.entities:
            if e.id == entity_id:
                return e.text
        return next((v.trigger.text for v in self.events if v.trigger.id == entity_id), entity_id)

    # -- entities -------------------------------------------------------------------------------------

    def add_entity(self, text: str, label: str, *, concept: bool = False, why: str = "") -> Entity:
        """A new entity with a fresh ``eN`` id (a concept gets its calls); an entity of the same text and
        label already there is returned instead, made a concept if ``concept``."""
        key = normalise(text)
        same = next((e for e in self.entities if normalise(e.text) == key and e.label == label), None)
        if same is not None:
            if concept and not same.concept:
                same.concept = True
                self._call(same)
            return same
        self._last_entity += 1
        entity = Entity(id=f"e{self._last_entity}", text=text, label=label, concept=concept)
        self.entities.append(entity)
        if concept:
            self._call(entity)
        self.effect("added", f"added {text!r} ({label})" + _because(why), entity.id)
        return entity

    def retype(self, entity: Entity, label: str, why: str = "") -> None:
        """Gives ``entity`` the type ``label`` (its id, and so the relations and arguments naming it, stay),
        recording a ``retyped`` effect when that changes it."""
        if entity.label != label:
            self.effect(
                "retyped", f"{entity.text!r} is a {label}, not a {entity.label}" + _because(why), entity.id
            )
            entity.label = label

    def drop_entities(self, ids: Collection[str], why: str = "") -> None:
        """Drops the entities ``ids`` with the relations and arguments that name them and their calls."""
        gone = set(ids) & {e.id for e in self.entities}
        for entity in [e for e in self.entities if e.id in gone]:
            self.effect("dropped", f"dropped {entity.text!r} ({entity.label})" + _because(why))
        self.entities = [e for e in self.entities if e.id not in gone]
        self.relations = [r for r in self.relations if r.head not in gone and r.tail not in gone]
        for event in self.events:
            event.arguments = [a for a in event.arguments if a.entity not in gone]
        self.calls = [c for c in self.calls if c.concept not in gone]

    # -- relations and arguments ----------------------------------------------------------------------

    def add_relation(self, head: str, label: str, tail: str) -> Relation | None:
        """A relation between the entities of these texts; None (nothing added) when one is missing, both
        are one entity, or the relation is there already."""
        a, b = self.entity(head), self.entity(tail)
        if a is None or b is None or a is b:
            return None
        relation = Relation(head=a.id, tail=b.id, label=label)
        if relation in self.relations:
            return None
        self.relations.append(relation)
        return relation

    def replace_relations(self, relations: Iterable[tuple[str, str, str]], why: str = "") -> None:
        """The relations become these (head text, label, tail text), in order."""
        before = len(self.relations)
        self.relations = []
        for head, label, tail in relations:
            self.add_relation(head, label, tail)
        self.effect("relations", f"{before} relation(s) replaced by {len(self.relations)}" + _because(why))

    def add_argument(self, event: Event, text: str, role: str) -> Argument | None:
        """The entity of this text as an argument of ``event`` (one of this draft's events); None when it
        is missing or already has that role."""
        entity = self.entity(text)
        if entity is None:
            return None
        argument = Argument(entity=entity.id, role=role)
        if argument in event.arguments:
            return None
        event.arguments.append(argument)
        return argument

    def replace_arguments(self, event: Event, arguments: Iterable[tuple[str, str]], why: str = "") -> None:
        """``event``'s arguments become these (entity text, role), in order."""
        before = len(event.arguments)
        event.arguments = []
        for text, role in arguments:
            self.add_argument(event, text, role)
        self.effect(
            "arguments",
            f"{event.type} {event.trigger.text!r}: {before} argument(s) replaced by {len(event.arguments)}"
            + _because(why),
            event.trigger.id,
        )

    # -- events ---------------------------------------------------------------------------------------

    def add_event(self, trigger: str, event_type: str, *, concept: bool = False, why: str = "") -> Event:
        """A new event without arguments, with fresh ``vN`` and ``tN`` ids (a concept trigger gets its
        calls)."""
        self._last_event += 1
        n = self._last_event
        event = Event(id=f"v{n}", type=event_type, trigger=Trigger(id=f"t{n}", text=trigger, concept=concept))
        self.events.append(event)
        if concept:
            self._call(event.trigger)
        self.effect("added", f"added the {event_type} event {trigger!r}" + _because(why), f"t{n}")
        return event

    def drop_events(self, ids: Collection[str], why: str = "") -> None:
        """Drops the events ``ids`` and their triggers' calls."""
        gone = [v for v in self.events if v.id in set(ids)]
        for event in gone:
            self.effect("dropped", f"dropped the {event.type} event {event.trigger.text!r}" + _because(why))
        triggers = {v.trigger.id for v in gone}
        self.events = [v for v in self.events if v not in gone]
        self.calls = [c for c in self.calls if c.concept not in triggers]

    # -- effects and the result -----------------------------------------------------------------------

    def effect(self, what: str, message: str, concept: str | None = None) -> None:
        """Records an effect ``refine.<refiner>.<what>``."""
        self.effects.append(
            Diagnostic(
                level="info",
                stage="refine",
                code=f"refine.{self.refiner}.{what}",
                message=f"{self.refiner}: {message}",
                concept=concept,
            )
        )

    def _call(self, concept: Entity | Trigger) -> None:
        if not any(c.concept == concept.id for c in self.calls):
            self.calls += concept_calls(concept, self.request.call_schemas)

    def finish(self) -> Refinement:
        return Refinement(
            entities=self.entities,
            relations=self.relations,
            events=self.events,
            calls=self.calls,
            effects=self.effects,
        )


def _because(why: str) -> str:
    return f": {why}" if why else ""


def consistent(refinement: Refinement, call_schemas: Mapping[str, dict[str, object]]) -> Refinement:
    """A refiner's records as the validator would leave them: no relation, argument or call naming a record
    that is not there, each relation once, and a call for every concept that has none."""
    entities = {e.id for e in refinement.entities}
    concepts = entities | {v.trigger.id for v in refinement.events}
    relations: list[Relation] = []
    for r in refinement.relations:
        if r.head in entities and r.tail in entities and r.head != r.tail and r not in relations:
            relations.append(r)
    events = [v.model_copy(deep=True) for v in refinement.events]
    for event in events:
        event.arguments = list(
            {(a.role, a.entity): a for a in event.arguments if a.entity in entities}.values()
        )
    calls = [c for c in refinement.calls if c.concept in concepts]
    calls += missing_calls(refinement.entities, events, calls, call_schemas)
    return replace(refinement, relations=relations, events=events, calls=calls)


def compact(refinement: Refinement) -> Refinement:
    """The records with their ids numbered again from 1 in order (``e1, e2, …``; an event and its trigger
    share a number), as the validator numbers a planner's answer, and every reference renamed."""
    ids = {e.id: f"e{n}" for n, e in enumerate(refinement.entities, 1)}
    for n, event in enumerate(refinement.events, 1):
        ids[event.id], ids[event.trigger.id] = f"v{n}", f"t{n}"
    effects = [e.model_copy(update={"concept": ids.get(e.concept or "")}) for e in refinement.effects]
    if all(old == new for old, new in ids.items()):
        return replace(refinement, effects=effects)
    entities = [e.model_copy(update={"id": ids[e.id]}) for e in refinement.entities]
    relations = [
        r.model_copy(update={"head": ids[r.head], "tail": ids[r.tail]}) for r in refinement.relations
    ]
    events = [
        v.model_copy(
            update={
                "id": ids[v.id],
                "trigger": v.trigger.model_copy(update={"id": ids[v.trigger.id]}),
                "arguments": [a.model_copy(update={"entity": ids[a.entity]}) for a in v.arguments],
            }
        )
        for v in refinement.events
    ]
    calls = [c.model_copy(update={"concept": ids[c.concept]}) for c in refinement.calls]
    return Refinement(entities=entities, relations=relations, events=events, calls=calls, effects=effects)
