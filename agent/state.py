"""The graph's typed state. Nodes return partial updates of these keys only (tests check it)."""

from __future__ import annotations

import operator
from typing import Annotated, TypedDict

from langgraph.types import Overwrite

from reamo.agent.planners.protocol import Message
from reamo.schemas import (
    BackendInfo,
    Diagnostic,
    Entity,
    Event,
    ExtractionResult,
    Inputs,
    LabelSchema,
    MetaResponse,
    Perception,
    Relation,
    Task,
    ToolRun,
)


def merge_dicts(left: dict[str, float], right: dict[str, float]) -> dict[str, float]:
    """Reducer for timings: add the seconds of repeated stages (plan may run several times)."""
    out = dict(left)
    for key, value in right.items():
        out[key] = out.get(key, 0.0) + value
    return out


class AgentState(TypedDict, total=False):
    """One thread's state. Per-turn keys are reset by ``start_turn``; perception and history persist."""

    # the request of this turn
    task: Task
    inputs: Inputs
    labels: LabelSchema
    request: str | None
    # perception, cached across turns by media fingerprint
    perception: Perception
    fingerprints: dict[str, str]
    # planning
    messages: list[Message]
    answers: list[str]
    attempts: int
    problems: list[str]
    retry: bool
    # the plan and its grounding
    entities: list[Entity]
    relations: list[Relation]
    events: list[Event]
    queue: list[MetaResponse]
    runs: Annotated[list[ToolRun], operator.add]
    diagnostics: Annotated[list[Diagnostic], operator.add]
    timings: Annotated[dict[str, float], merge_dicts]
    backends: list[BackendInfo]
    """The refiners that refined this turn's records (the other backends are the context's)."""
    complete: bool
    # output
    result: ExtractionResult
    history: list[Message]


def start_turn(
    task: Task, inputs: Inputs, labels: LabelSchema, request: str | None = None
) -> dict[str, object]:
    """The update that begins a turn: the request, and empty per-turn keys (the reducer keys too,
    through ``Overwrite``, since a checkpointed thread keeps them from the last turn)."""
    return {
        "runs": Overwrite([]),
        "diagnostics": Overwrite([]),
        "timings": Overwrite({}),
        "task": task,
        "inputs": inputs,
        "labels": labels,
        "request": request,
        "messages": [],
        "answers": [],
        "attempts": 0,
        "problems": [],
        "retry": False,
        "entities": [],
        "relations": [],
        "events": [],
        "queue": [],
        "backends": [],
        "complete": True,
    }
