"""refine: each refiner in turn checks and completes the validated records; one that fails is reported and
the records stay as the others left them."""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any, Literal

from langgraph.runtime import Runtime

from reamo.agent.context import AgentContext
from reamo.agent.progress import emit
from reamo.agent.refiners.edits import compact, consistent
from reamo.agent.refiners.protocol import REPLACEABLE, Refinement, Refiner, RefineRequest
from reamo.agent.state import AgentState
from reamo.agent.validation import item_schemas, type_by_signature
from reamo.errors import ReamoError
from reamo.schemas import BackendInfo, Diagnostic, Inputs, LabelSchema, Perception, Task


def left_to_refiners(
    refiners: list[Refiner], task: Task, inputs: Inputs, labels: LabelSchema, perception: Perception
) -> frozenset[str]:
    """The lists (``REPLACEABLE``) the refiners will write themselves for this request, asked before
    planning; a refiner that fails to answer replaces nothing (the refine node reports its failure)."""
    request = RefineRequest.build(task, inputs, labels, perception)
    lists: set[str] = set()
    for refiner in refiners:
        try:
            lists |= refiner.replaces(request) & REPLACEABLE
        except Exception:
            continue
    return frozenset(lists)


def refine(state: AgentState, runtime: Runtime[AgentContext]) -> dict[str, Any]:
    started = time.perf_counter()
    ctx = runtime.context
    task, inputs, labels, perception = state["task"], state["inputs"], state["labels"], state["perception"]
    call_schemas = item_schemas(task, labels, inputs, ctx.registry)["calls"]
    records = Refinement(
        entities=list(state.get("entities") or []),
        relations=list(state.get("relations") or []),
        events=list(state.get("events") or []),
        calls=list(state.get("queue") or []),
    )
    diagnostics: list[Diagnostic] = []
    ran: list[BackendInfo] = []
    for n, refiner in enumerate(ctx.refiners, 1):
        request = RefineRequest.build(
            task,
            inputs,
            labels,
            perception,
            entities=tuple(e.model_copy(deep=True) for e in records.entities),
            relations=tuple(r.model_copy() for r in records.relations),
            events=tuple(v.model_copy(deep=True) for v in records.events),
            calls=tuple(records.calls),
            call_schemas=call_schemas,
        )
        try:
            if not refiner.applies(request):
                continue
            emit(runtime, "refine", f"{refiner.name}: refining", current=n, total=len(ctx.refiners))
            refined = consistent(refiner.refine(request), call_schemas)
            type_by_signature(refined.entities, refined.relations, labels)
            info = refiner.describe()
        except Exception as exc:  # one failing refiner never sinks the rest
            diagnostics.append(_failed(refiner, exc))
            continue
        records = compact(replace(refined, effects=[*records.effects, *refined.effects]))
        ran.append(info)
    emit(
        runtime,
        "refine",
        f"{len(records.entities)} entities, {len(records.relations)} relations, "
        f"{len(records.events)} events, {len(records.calls)} tool calls after {len(ran)} refiner(s)",
    )
    return {
        "entities": records.entities,
        "relations": records.relations,
        "events": records.events,
        "queue": records.calls,
        "diagnostics": [*records.effects, *diagnostics],
        "backends": ran,
        "timings": {"refine": time.perf_counter() - started},
    }


def _failed(refiner: Refiner, exc: Exception) -> Diagnostic:
    name = getattr(refiner, "name", type(refiner).__name__)
    return Diagnostic(
        level="warning" if isinstance(exc, ReamoError) else "error",
        stage="refine",
        code=f"refine.{name}.failed",
        message=f"the {name} refiner failed, and the records stay as they were before it: "
        f"{type(exc).__name__}: {exc}",
    )


def after_refine(state: AgentState) -> Literal["ground", "merge"]:
    """Route: ground the concept calls, or merge."""
    return "ground" if state.get("queue") else "merge"
