"""The planner-backend protocol: a prompt and an answer schema in, the answer text out."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

from reamo.schemas import BackendInfo, Inputs, LabelSchema, Perception, Task


@dataclass(frozen=True)
class Message:
    role: Literal["system", "user", "assistant"]
    content: str


@dataclass(frozen=True)
class PlanRequest:
    """Everything a planner may use. LLM backends read ``messages`` and constrain decoding with
    ``answer_schema``; rule-based backends may read the structured fields instead."""

    task: Task
    inputs: Inputs
    labels: LabelSchema
    perception: Perception
    messages: tuple[Message, ...]
    answer_schema: dict[str, Any]
    attempt: int = 0
    errors: tuple[str, ...] = field(default_factory=tuple)
    left_to_refiners: frozenset[str] = frozenset()
    """The lists the refiners will write themselves for this request (``relations``, ``arguments``:
    ``Refiner.replaces``); a planner may leave them out of its answer, and the validator ignores them."""


@runtime_checkable
class Planner(Protocol):
    """A planner backend. ``plan`` returns the raw answer (JSON or the paper's tag syntax)."""

    def describe(self) -> BackendInfo: ...

    def plan(self, request: PlanRequest) -> str: ...
