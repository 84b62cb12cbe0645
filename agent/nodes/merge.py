"""merge: attach groundings to records, add text spans, drop groundings outside their media, join
repeated records, and build the ExtractionResult."""

from __future__ import annotations

import json
import time
from typing import Any

from langgraph.runtime import Runtime

from reamo.agent.context import AgentContext
from reamo.agent.planners.protocol import Message
from reamo.agent.progress import emit
from reamo.agent.spans import word_spans
from reamo.agent.state import AgentState
from reamo.masks import box_area, box_iou
from reamo.schemas import (
    AudioSpan,
    BackendInfo,
    Diagnostic,
    Entity,
    Event,
    ExtractionResult,
    Grounding,
    GroundingFailure,
    ImageRegion,
    Perception,
    Relation,
    TextSpan,
    Trigger,
    VideoTrack,
)
from reamo.schemas.groundings import Box

HISTORY_MESSAGES = 6
AUDIO_TOLERANCE_S = 0.05
SAME_REGION_IOU = 0.9


def merge(state: AgentState, runtime: Runtime[AgentContext]) -> dict[str, Any]:
    started = time.perf_counter()
    ctx = runtime.context
    inputs, perception = state["inputs"], state["perception"]
    entities = [e.model_copy(deep=True) for e in state.get("entities") or []]
    events = [e.model_copy(deep=True) for e in state.get("events") or []]
    relations = list(state.get("relations") or [])
    runs = state.get("runs") or []
    diagnostics: list[Diagnostic] = []
    concepts: dict[str, Entity | Trigger] = {e.id: e for e in entities} | {
        v.trigger.id: v.trigger for v in events
    }
    for run in runs:
        target = concepts.get(run.call.concept)
        if target is None:
            continue
        if run.status != "ok":
            target.failures.append(
                GroundingFailure(
                    media=run.call.target, tool=run.tool, kind=run.status, message=run.error or run.status
                )
            )
            continue
        for g in run.groundings:
            kept, problem = _within_media(g, perception)
            if kept is None:
                target.failures.append(
                    GroundingFailure(media=g.media, tool=run.tool, kind="out_of_bounds", message=problem)
                )
                diagnostics.append(
                    Diagnostic(
                        level="warning",
                        stage="merge",
                        code="grounding.out_of_bounds",
                        message=problem,
                        concept=target.id,
                    )
                )
            else:
                target.groundings.append(kept)
    if inputs.text:
        for concept in concepts.values():
            spans = [
                TextSpan(start=s, end=e, text=inputs.text[s:e])
                for s, e in word_spans(inputs.text, concept.text)
            ]
            concept.groundings = [*spans, *concept.groundings]
    entities, relations, events, joined = _join_repetitions(entities, relations, events)
    diagnostics += [
        Diagnostic(level="info", stage="merge", code="record.joined", message=m, concept=kept)
        for m, kept in joined
    ]
    entities, split = _one_per_instance(entities, relations, events)
    diagnostics += [
        Diagnostic(level="info", stage="merge", code="record.split", message=m, concept=first)
        for m, first in split
    ]
    backends = [ctx.planner.describe(), *(state.get("backends") or [])]
    backends += [ctx.perceivers[m].describe() for m in inputs.modalities if m in ctx.perceivers]
    used = sorted({r.tool for r in runs})
    backends += [
        BackendInfo(role=f"tool:{name}", name=ctx.registry.get(name).module)
        for name in used
        if name in ctx.registry
    ]
    timings = {"merge": time.perf_counter() - started}
    all_timings = dict(state.get("timings") or {})
    for key, value in timings.items():
        all_timings[key] = all_timings.get(key, 0.0) + value
    all_timings["total"] = sum(all_timings.values())
    result = ExtractionResult(
        task=state["task"],
        inputs=inputs,
        labels=state["labels"],
        entities=entities,
        relations=relations,
        events=events,
        calls=list(runs),
        diagnostics=[*(state.get("diagnostics") or []), *diagnostics],
        perception=perception,
        planner_attempts=state.get("attempts", 0),
        complete=state.get("complete", True),
        timings=all_timings,
        backends=backends,
    )
    emit(runtime, "merge", f"{len(entities)} entities, {len(relations)} relations, {len(events)} events")
    return {
        "result": result,
        "diagnostics": diagnostics,
        "timings": timings,
        "history": _history(state, result),
    }


def _history(state: AgentState, result: ExtractionResult) -> list[Any]:
    """The conversation the planner sees on the next chat turn: the request and a compact answer."""
    asked = state.get("request") or f"{state['task'].upper()} on {', '.join(result.inputs.media_ids())}"
    answer = {
        "entities": [{"text": e.text, "label": e.label} for e in result.entities],
        "relations": [
            {"head": result.entity(r.head).text, "label": r.label, "tail": result.entity(r.tail).text}
            for r in result.relations
        ],
        "events": [{"trigger": v.trigger.text, "type": v.type} for v in result.events],
    }
    turn = [Message("user", asked), Message("assistant", json.dumps(answer))]
    return [*(state.get("history") or []), *turn][-HISTORY_MESSAGES:]


def _clip(box: Box, width: int, height: int) -> Box:
    x0, y0, x1, y1 = box
    return (
        min(max(x0, 0.0), width),
        min(max(y0, 0.0), height),
        min(max(x1, 0.0), width),
        min(max(y1, 0.0), height),
    )


def _within_media(g: Grounding, perception: Perception) -> tuple[Grounding | None, str]:
    """Clip a grounding to its medium; None (and why) when nothing of it is inside."""
    if isinstance(g, ImageRegion) and g.media in perception.images:
        img = perception.images[g.media]
        if g.mask is not None and tuple(g.mask.size) != (img.height, img.width):
            return (
                None,
                f"{g.media}: mask size {g.mask.size} differs from the image's {img.height}x{img.width}",
            )
        box = _clip(g.box, img.width, img.height)
        if box_area(box) == 0:
            return None, f"{g.media}: box {g.box} lies outside the {img.width}x{img.height} image"
        return g.model_copy(update={"box": box}), ""
    if isinstance(g, AudioSpan) and g.media in perception.audio and perception.audio[g.media].duration > 0:
        duration = perception.audio[g.media].duration
        if g.start >= duration:
            return (
                None,
                f"{g.media}: span {g.start:.2f}-{g.end:.2f} s starts after the audio ends ({duration:.2f} s)",
            )
        if g.end > duration + AUDIO_TOLERANCE_S:
            return g.model_copy(update={"end": duration}), ""
        return g, ""
    if isinstance(g, VideoTrack) and g.media in perception.videos:
        count = perception.videos[g.media].frame_count
        frames = [f for f in g.frames if count is None or f.frame < count]
        if not frames:
            return None, f"{g.media}: every frame of the track is past the video's {count} frames"
        return g.model_copy(update={"frames": frames}), ""
    return g, ""


def _same_region(a: Entity, b: Entity) -> bool:
    regions_a = [g for g in a.groundings if isinstance(g, ImageRegion)]
    regions_b = [g for g in b.groundings if isinstance(g, ImageRegion)]
    return any(
        x.media == y.media and box_iou(x.box, y.box) >= SAME_REGION_IOU for x in regions_a for y in regions_b
    )


def place(g: Grounding) -> str:
    """A grounding's place, without what the tool called it or how sure it was (for de-duplication)."""
    return g.model_dump_json(exclude={"label", "score", "text"} if not isinstance(g, TextSpan) else None)


def _join_repetitions(
    entities: list[Entity], relations: list[Relation], events: list[Event]
) -> tuple[list[Entity], list[Relation], list[Event], list[tuple[str, str]]]:
    """Join same-label entities that only the media tell apart, such as "Obama" written and the same
    person named "the man" in the image, grounded on one region (the paper's repetition error)."""
    keep: list[Entity] = []
    alias: dict[str, str] = {}
    notes: list[tuple[str, str]] = []
    for entity in entities:
        twin = next((k for k in keep if k.label == entity.label and _same_region(k, entity)), None)
        has_text = any(isinstance(g, TextSpan) for g in entity.groundings)
        twin_text = twin is not None and any(isinstance(g, TextSpan) for g in twin.groundings)
        if twin is None or (has_text and twin_text):
            keep.append(entity)
            continue
        alias[entity.id] = twin.id
        known = {place(g) for g in twin.groundings}
        twin.groundings += [g for g in entity.groundings if place(g) not in known]
        twin.failures += entity.failures
        twin.concept |= entity.concept
        notes.append(
            (f"{entity.text!r} and {twin.text!r} ground to the same region: kept {twin.id}", twin.id)
        )
    if not alias:
        return entities, relations, events, notes
    relations = [
        r.model_copy(update={"head": alias.get(r.head, r.head), "tail": alias.get(r.tail, r.tail)})
        for r in relations
    ]
    relations = [r for i, r in enumerate(relations) if r.head != r.tail and r not in relations[:i]]
    for event in events:
        event.arguments = [
            a.model_copy(update={"entity": alias.get(a.entity, a.entity)}) for a in event.arguments
        ]
    return keep, relations, events, notes


def _one_per_instance(
    entities: list[Entity], relations: list[Relation], events: list[Event]
) -> tuple[list[Entity], list[tuple[str, str]]]:
    """A seen-only entity (no span in the text) grounded on several image regions, such as "dog" with
    three dogs found, is three entities, one a region: three dogs are three mentions, and the benchmark
    counts them so. An entity a relation or an event argument refers to stays whole."""
    referred = {r.head for r in relations} | {r.tail for r in relations}
    referred |= {a.entity for ev in events for a in ev.arguments}
    numbers = [int(e.id[1:]) for e in entities if e.id[1:].isdigit()]
    next_id = max(numbers, default=0) + 1
    out: list[Entity] = []
    notes: list[tuple[str, str]] = []
    for entity in entities:
        regions = [g for g in entity.groundings if isinstance(g, ImageRegion)]
        if (
            len(regions) < 2
            or entity.id in referred
            or any(isinstance(g, TextSpan) for g in entity.groundings)
        ):
            out.append(entity)
            continue
        others = [g for g in entity.groundings if not isinstance(g, ImageRegion)]
        copies = [entity.model_copy(update={"groundings": [*others, regions[0]]})]
        for region in regions[1:]:
            copies.append(
                entity.model_copy(update={"id": f"e{next_id}", "groundings": [region], "failures": []})
            )
            next_id += 1
        out += copies
        ids = ", ".join(c.id for c in copies)
        notes.append((f"{entity.text!r} was found {len(regions)} times: one entity each ({ids})", entity.id))
    return out, notes
