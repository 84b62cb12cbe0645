"""Validating a planner answer against JSON Schemas derived from the request and the registered tools.

Each item (entity, relation, event, call) is checked on its own, so an invalid item is dropped with a
problem message while the valid rest is kept. The messages are written for the planner to repair.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError as SchemaError

from reamo.agent.parsing import ANSWER_KEYS, ParseError, parse_answer
from reamo.agent.reading import reading_text
from reamo.agent.spans import find_spans, normalise
from reamo.errors import ToolNotFoundError
from reamo.schemas import (
    Argument,
    Entity,
    Event,
    Inputs,
    LabelSchema,
    MetaResponse,
    Perception,
    PlannedEntity,
    PlannedEvent,
    PlannedRelation,
    Relation,
    Task,
    Trigger,
)
from reamo.tools import ToolRegistry, call_schema

TASK_LISTS: dict[Task, tuple[str, ...]] = {
    "ner": ("entities", "calls"),
    "re": ("entities", "relations", "calls"),
    "ee": ("entities", "events", "calls"),
}


def _inline(schema: dict[str, Any]) -> dict[str, Any]:
    """Replace local ``$ref``s by their definitions (the planner models are small and not recursive)."""
    defs = schema.pop("$defs", {})

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            if "$ref" in node:
                return walk(copy.deepcopy(defs[node["$ref"].rsplit("/", 1)[-1]]))
            return {k: walk(v) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v) for v in node]
        return node

    return walk(schema)  # type: ignore[no-any-return]


def _closed(schema: dict[str, Any], **enums: list[str]) -> dict[str, Any]:
    schema = _inline(copy.deepcopy(schema))
    schema["additionalProperties"] = False
    for path, values in enums.items():
        node = schema
        for key in path.split("__"):
            node = node["properties"][key]
            if node.get("type") == "array":
                node = node["items"]
        node.pop("type", None)
        node["enum"] = list(values)
    return schema


def item_schemas(task: Task, labels: LabelSchema, inputs: Inputs, registry: ToolRegistry) -> dict[str, Any]:
    """Per-list item schemas for this request: labels narrowed to the label set, calls to present media."""
    event = _closed(
        PlannedEvent.model_json_schema(), type=labels.event_types, arguments__role=labels.argument_roles
    )
    event["properties"]["arguments"]["items"]["additionalProperties"] = False
    calls = {
        t.module: call_schema(t, inputs.media_ids(t.modality))
        for t in registry
        if t.modality != "text" and inputs.media_ids(t.modality)
    }
    return {
        "entities": _closed(PlannedEntity.model_json_schema(), label=labels.entity_types),
        "relations": _closed(PlannedRelation.model_json_schema(), label=labels.relation_types),
        "events": event,
        "calls": calls,
    }


def answer_schema(task: Task, labels: LabelSchema, inputs: Inputs, registry: ToolRegistry) -> dict[str, Any]:
    """The JSON Schema of a whole answer: the contract for constrained decoding and for validation."""
    items = item_schemas(task, labels, inputs, registry)
    properties: dict[str, Any] = {}
    for key in ANSWER_KEYS:
        if key not in TASK_LISTS[task] or (key == "calls" and not items["calls"]):
            properties[key] = {"type": "array", "maxItems": 0}
        elif key == "calls":
            properties[key] = {"type": "array", "items": {"anyOf": list(items["calls"].values())}}
        else:
            properties[key] = {"type": "array", "items": items[key]}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": f"REAMO {task.upper()} answer",
        "type": "object",
        "properties": properties,
        "required": list(ANSWER_KEYS),
        "additionalProperties": False,
    }


@dataclass
class Problem:
    """A defect in the planner's answer, phrased for the planner."""

    code: str
    message: str


@dataclass
class ValidatedAnswer:
    """The usable part of an answer, with ids assigned, and what was wrong with the rest."""

    entities: list[Entity] = field(default_factory=list)
    relations: list[Relation] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    calls: list[MetaResponse] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    syntax: str | None = None
    completed: list[MetaResponse] = field(default_factory=list)
    """Calls the validator added for concepts the planner marked but did not call (also in ``calls``)."""
    seen: list[Entity] = field(default_factory=list)
    """Entities the validator added for an input without text: detected objects of a requested label
    that the answer left out (also in ``entities``, with their calls in ``calls``)."""
    reworded: list[tuple[MetaResponse, str]] = field(default_factory=list)
    """On speech alone: calls whose instruction named none of their concept's words, with that
    instruction (the call, also in ``calls``, grounds the concept's own words instead)."""
    unlabelled: dict[str, list[str]] = field(default_factory=dict)
    """For an input without text: detected classes that no requested label stands for, with their media
    (not extracted; the user is told how to ask for them)."""

    def additions(self, labels: LabelSchema) -> list[tuple[str, str, str | None]]:
        """What the validator added to the answer, or left out of it (of the requested ``labels``), as
        (code, message, concept id) for info diagnostics."""
        calls = [
            (
                "concept_without_call",
                f"{c.concept} ({c.instruction!r}) was marked a concept without a call; "
                f"added {c.module} on {c.target}",
                c.concept,
            )
            for c in self.completed
        ]
        calls += [
            (
                "instruction_off_concept",
                f"{c.concept}: the call's instruction {said!r} names none of {c.instruction!r}, which is "
                f"what was heard; {c.module} on {c.target} looks for {c.instruction!r} instead",
                c.concept,
            )
            for c, said in self.reworded
        ]
        seen = [
            (
                "seen_object",
                f"{e.id} ({e.text!r}, {e.label}) was detected in the media and left out of the answer; "
                "added as an entity seen there",
                e.id,
            )
            for e in self.seen
        ]
        unlabelled: list[tuple[str, str, str | None]] = []
        if self.unlabelled:
            found = ", ".join(f"{name} ({', '.join(media)})" for name, media in self.unlabelled.items())
            wanted = ", ".join(labels.entity_types)
            unlabelled.append(
                (
                    "seen_unlabelled",
                    f"detected {found}, which no requested label ({wanted}) stands for, "
                    f"so not extracted: to get them, ask for them as labels "
                    f"(--labels {','.join(self.unlabelled)}, or labels=[...] in Python)",
                    None,
                )
            )
        return [*calls, *seen, *unlabelled]


def _schema_message(where: str, err: SchemaError) -> str:
    path = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in err.absolute_path)
    if err.validator == "enum":
        allowed = ", ".join(str(v) for v in err.validator_value)  # type: ignore[union-attr]
        return f"{where}{path}: {err.instance!r} is not allowed; use one of: {allowed}"
    if err.validator == "additionalProperties":
        return f"{where}{path}: {err.message}; remove those keys"
    return f"{where}{path}: {err.message}"


def _found_in(phrase: str, haystacks: list[str]) -> bool:
    return any(find_spans(h, phrase) for h in haystacks)


def validate_answer(
    raw: str,
    *,
    task: Task,
    labels: LabelSchema,
    inputs: Inputs,
    registry: ToolRegistry,
    perception: Perception | None = None,
    replaced: frozenset[str] = frozenset(),
) -> ValidatedAnswer:
    """Parse and check ``raw``; never raises for a bad answer. The lists in ``replaced`` are the ones the
    refiners will write themselves (``Refiner.replaces``): the answer's are neither checked nor kept, so
    they send nothing back for repair."""
    out = ValidatedAnswer()
    try:
        data, out.syntax = parse_answer(raw, labels)
    except ParseError as exc:
        out.problems.append(Problem("parse", str(exc)))
        return out
    data = _without_replaced(data, replaced, reading_text(inputs, perception or Perception()))
    schemas = item_schemas(task, labels, inputs, registry)
    unknown = sorted(set(data) - set(ANSWER_KEYS))
    if unknown:
        out.problems.append(
            Problem(
                "schema", f"unknown top-level key(s) {', '.join(unknown)}; use only {', '.join(ANSWER_KEYS)}"
            )
        )
    items: dict[str, list[dict[str, Any]]] = {}
    for key in ANSWER_KEYS:
        value = data.get(key, [])
        if not isinstance(value, list):
            out.problems.append(Problem("schema", f"{key} must be a list, got {type(value).__name__}"))
            value = []
        if value and key not in TASK_LISTS[task]:
            out.problems.append(Problem("task", f"this is a {task.upper()} task: leave {key} empty"))
            value = []
        items[key] = []
        for i, item in enumerate(value):
            if key == "calls" and isinstance(item, dict) and "target" not in item:
                item = _default_target(item, inputs, registry)
            schema = (
                _call_item_schema(item, schemas["calls"], registry, out, i)
                if key == "calls"
                else schemas[key]
            )
            if schema is None:
                continue
            errors = sorted(
                Draft202012Validator(schema).iter_errors(item), key=lambda e: list(e.absolute_path)
            )
            if errors:
                out.problems += [Problem("schema", _schema_message(f"{key}[{i}]", e)) for e in errors[:3]]
            else:
                items[key].append(item)
    haystacks = _haystacks(inputs, perception)
    visual = bool(inputs.images or inputs.videos)
    _build_records(out, items, haystacks, visual)
    _type_by_signature(out, labels)
    _build_calls(out, items["calls"], heard=inputs.modalities == ["audio"])
    if not inputs.text and perception is not None:
        _add_seen_objects(out, labels, perception, schemas["calls"])
    _complete_calls(out, schemas["calls"])
    return out


def _without_replaced(data: dict[str, Any], replaced: frozenset[str], text: str | None) -> dict[str, Any]:
    """The answer without the relations (``relations`` in ``replaced``), and without the arguments of its
    events whose trigger is in ``text`` (``arguments``): what the refiners will replace."""
    if not text:
        return data
    out = dict(data)
    if "relations" in replaced:
        out["relations"] = []
    if "arguments" in replaced and isinstance(data.get("events"), list):
        out["events"] = [
            {**event, "arguments": []}
            if isinstance(event, dict)
            and isinstance(event.get("trigger"), str)
            and find_spans(text, event["trigger"])
            else event
            for event in data["events"]
        ]
    return out


def _add_seen_objects(
    out: ValidatedAnswer, labels: LabelSchema, perception: Perception, call_schemas: dict[str, Any]
) -> None:
    """With no text, the entities are what the media show: every detected class that is a requested
    label (COCO names as labels, or a person) is an entity grounded where it was seen, as the spaCy
    planner does; a planner that left one out gets it added. Each gets one call per medium it was seen
    in: for every instance of its class in an image, for the one meant in a video."""
    from reamo.agent.planners.spacy import sort_seen

    seen, out.unlabelled = sort_seen(perception, labels.entity_types)
    listed = {(normalise(e.text), e.label): e for e in out.entities}
    modules = {t: m for m, schema in call_schemas.items() for t in schema["properties"]["target"]["enum"]}
    for (name, label), media in seen.items():
        entity = listed.get((normalise(name), label))
        if entity is None:
            entity = Entity(id=f"e{len(out.entities) + 1}", text=name, label=label, concept=True)
            out.entities.append(entity)
            out.seen.append(entity)
        entity.concept = True
        called = {c.target for c in out.calls if c.concept == entity.id}
        for media_id in media:
            module = modules.get(media_id)
            if module is None or media_id in called:
                continue
            # every instance in an image; in a video the tracker splits an instance it loses into
            # several tracks, so a class is followed as the one instance meant (DAVIS: J 6.3 -> 24.1)
            every = "instances" in call_schemas[module]["properties"] and not media_id.startswith("video")
            out.calls.append(
                MetaResponse(
                    module=module,
                    instruction=name,
                    target=media_id,
                    concept=entity.id,
                    options={"instances": "all"} if every else {},
                )
            )


def _complete_calls(out: ValidatedAnswer, call_schemas: dict[str, Any]) -> None:
    """A concept without a call: the answer says it can be grounded but asks no tool to, so it gets
    ``concept_calls`` (a small planner marks concepts more reliably than it writes their calls)."""
    if any(p.message.startswith("calls[") for p in out.problems):
        return  # the planner did write calls, wrong ones: the repair loop (or its diagnostics) handles it
    for call in missing_calls(out.entities, out.events, out.calls, call_schemas):
        out.calls.append(call)
        out.completed.append(call)


def concept_calls(concept: Entity | Trigger, call_schemas: Mapping[str, Any]) -> list[MetaResponse]:
    """The calls a concept gets when nothing says how to ground it: what the paper's pipeline baseline
    gives every entity, a call to each usable module (``call_schemas``, by module) on each medium of its
    kind, looking for the concept's text."""
    return [
        MetaResponse(module=module, instruction=concept.text, target=target, concept=concept.id)
        for module, schema in call_schemas.items()
        for target in schema["properties"]["target"]["enum"]
    ]


def missing_calls(
    entities: Sequence[Entity],
    events: Sequence[Event],
    calls: Sequence[MetaResponse],
    call_schemas: Mapping[str, Any],
) -> list[MetaResponse]:
    """The ``concept_calls`` of each concept (entity or trigger) that no call grounds."""
    called = {c.concept for c in calls}
    concepts: list[Entity | Trigger] = [e for e in entities if e.concept]
    concepts += [ev.trigger for ev in events if ev.trigger.concept]
    return [call for c in concepts if c.id not in called for call in concept_calls(c, call_schemas)]


def _default_target(item: dict[str, Any], inputs: Inputs, registry: ToolRegistry) -> dict[str, Any]:
    try:
        targets = inputs.media_ids(registry.by_module(str(item.get("module"))).modality)
    except ToolNotFoundError:
        return item
    return {**item, "target": targets[0]} if len(targets) == 1 else item


def _call_item_schema(
    item: Any, calls: dict[str, Any], registry: ToolRegistry, out: ValidatedAnswer, i: int
) -> dict[str, Any] | None:
    module = item.get("module") if isinstance(item, dict) else None
    name = module if isinstance(module, str) else None  # a list or dict is unhashable: report it, don't raise
    if name in calls:
        return calls[name]  # type: ignore[no-any-return]
    if name in registry.modules():
        media = registry.by_module(name).modality
        out.problems.append(
            Problem(
                "target",
                f"calls[{i}]: {module} grounds {media}, and the input has no {media}; remove this call",
            )
        )
    else:
        usable = ", ".join(calls) or "none (leave calls empty)"
        out.problems.append(
            Problem("module", f"calls[{i}]: unknown module {module!r}; usable modules: {usable}")
        )
    return None


def _haystacks(inputs: Inputs, perception: Perception | None) -> list[str]:
    texts = [inputs.text] if inputs.text else []
    if perception:
        texts += [a.transcript.text for a in perception.audio.values() if a.transcript]
        texts += [v.transcript.text for v in perception.videos.values() if v.transcript]
        texts += [" ".join(o.text for o in i.ocr) for i in perception.images.values() if i.ocr]
    return texts


def _type_by_signature(out: ValidatedAnswer, labels: LabelSchema) -> None:
    type_by_signature(out.entities, out.relations, labels)


def type_by_signature(entities: Sequence[Entity], relations: Sequence[Relation], labels: LabelSchema) -> None:
    """Entity types follow the relation types that name them (``/per/org/member_of`` relates a person
    to an organization): the first relation an entity takes part in sets its type, in place. On the MNRE
    dev tweets, where the planner typed a related entity otherwise, this took relations from the relation
    scorer from RE F1 22.1 to 35.2."""
    by_id = {entity.id: entity for entity in entities}
    typed: set[str] = set()
    for relation in relations:
        signature = labels.signature(relation.label)
        if signature is None:
            continue
        for entity_id, entity_type in zip((relation.head, relation.tail), signature, strict=True):
            if entity_id not in typed and entity_id in by_id:
                typed.add(entity_id)
                by_id[entity_id].label = entity_type


def _build_records(
    out: ValidatedAnswer, items: dict[str, list[dict[str, Any]]], haystacks: list[str], visual: bool
) -> None:
    by_text: dict[str, Entity] = {}
    for raw in items["entities"]:
        planned = PlannedEntity.model_validate(raw)
        if haystacks and not _found_in(planned.text, haystacks) and not (visual and planned.concept):
            out.problems.append(
                Problem(
                    "span",
                    f"entity {planned.text!r} is not in the input; copy entity "
                    "text exactly as written or heard",
                )
            )
            continue
        key = normalise(planned.text)
        if key in by_text and by_text[key].label == planned.label:
            by_text[key].concept |= planned.concept
            continue
        entity = Entity(
            id=f"e{len(out.entities) + 1}", text=planned.text, label=planned.label, concept=planned.concept
        )
        out.entities.append(entity)
        by_text.setdefault(key, entity)
    said: set[tuple[str, str, str]] = set()
    for i, raw in enumerate(items["relations"]):
        rel = PlannedRelation.model_validate(raw)
        head, tail = by_text.get(normalise(rel.head)), by_text.get(normalise(rel.tail))
        missing = [t for t, e in ((rel.head, head), (rel.tail, tail)) if e is None]
        if missing:
            out.problems.append(
                Problem(
                    "reference",
                    f"relations[{i}]: {', '.join(map(repr, missing))} not in "
                    "entities; list every head and tail in entities",
                )
            )
        elif head is tail:
            out.problems.append(Problem("reference", f"relations[{i}]: head and tail are the same entity"))
        elif head is not None and tail is not None and (head.id, rel.label, tail.id) not in said:
            said.add((head.id, rel.label, tail.id))  # a relation written twice is one relation
            out.relations.append(Relation(head=head.id, tail=tail.id, label=rel.label))
    by_trigger: dict[tuple[str, str], Event] = {}
    for i, raw in enumerate(items["events"]):
        ev = PlannedEvent.model_validate(raw)
        if haystacks and not _found_in(ev.trigger, haystacks) and not (visual and ev.concept):
            out.problems.append(Problem("span", f"events[{i}]: trigger {ev.trigger!r} is not in the input"))
            continue
        args = []
        for arg in ev.arguments:
            argument = by_text.get(normalise(arg.text))
            if argument is None:
                out.problems.append(
                    Problem(
                        "reference",
                        f"events[{i}]: argument {arg.text!r} is not in entities; list it there with its type",
                    )
                )
            else:
                args.append(Argument(entity=argument.id, role=arg.role))
        # the same type on the same trigger is one event (a small planner writes some twice, with
        # arguments split between them), and an argument given twice is one argument
        typed_trigger = (ev.type, normalise(ev.trigger))
        same = by_trigger.get(typed_trigger)
        if same is not None:
            same.trigger.concept |= ev.concept
            same.arguments = _distinct(same.arguments + args)
            continue
        n = len(out.events) + 1
        trigger = Trigger(id=f"t{n}", text=ev.trigger, concept=ev.concept)
        event = Event(id=f"v{n}", type=ev.type, trigger=trigger, arguments=_distinct(args))
        out.events.append(event)
        by_trigger[typed_trigger] = event


def _distinct(args: list[Argument]) -> list[Argument]:
    """The arguments with each (role, entity) once, in their first order."""
    return list({(a.role, a.entity): a for a in args}.values())


def _build_calls(out: ValidatedAnswer, calls: list[dict[str, Any]], *, heard: bool = False) -> None:
    """The calls of the answer, each bound to its concept. With ``heard`` (speech alone: every concept's
    text is words of a transcript) a call whose instruction shares no word with its concept's text
    looks for the concept's text instead: a small planner sometimes pairs a concept with the words of
    another (``Paris`` called as ``Thousands of demonstrators``), and the audio tool finds the words
    it is given."""
    concepts: dict[str, Entity | Trigger] = {}
    for e in out.entities:
        concepts.setdefault(e.id, e)
        concepts.setdefault(normalise(e.text), e)
    for ev in out.events:
        concepts.setdefault(ev.trigger.id, ev.trigger)
        concepts.setdefault(normalise(ev.trigger.text), ev.trigger)
    seen: set[tuple[str, str, str]] = set()
    for i, raw in enumerate(calls):
        ref = raw.get("concept") or raw["instruction"]
        concept: Entity | Trigger | None = concepts.get(ref) or concepts.get(normalise(ref))
        if concept is None:
            out.problems.append(
                Problem(
                    "reference",
                    f"calls[{i}]: concept {ref!r} is not among the entities or "
                    "triggers; add it with concept true",
                )
            )
            continue
        concept.concept = True
        options = {k: v for k, v in raw.items() if k not in ("module", "instruction", "target", "concept")}
        said = str(raw["instruction"])
        off = heard and not set(normalise(said).split()) & set(normalise(concept.text).split())
        call = MetaResponse(
            module=raw["module"],
            instruction=concept.text if off else said,
            target=raw["target"],
            concept=concept.id,
            options=options,
        )
        if (call.module, call.target, call.concept) in seen:
            continue
        seen.add((call.module, call.target, call.concept))
        out.calls.append(call)
        if off:
            out.reworded.append((call, said))
