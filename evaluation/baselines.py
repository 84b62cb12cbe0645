"""Baselines run beside REAMO in the same benchmark, so every gain is measured, not claimed.

- ``PipelinePlanner``: the paper's pipeline baseline. The inner planner extracts the records; then every
  entity is sent to every grounding tool that applies to a medium of the input. The inner planner's own
  concept planning (which entity goes to which tool) is thrown away.
- spaCy alone for text NER: the ``spacy`` planner spec (``reamo.agent.planners.spacy``).
"""

from __future__ import annotations

import json
from typing import Any

from reamo.agent.parsing import ParseError, parse_answer
from reamo.agent.planners.protocol import Planner, PlanRequest
from reamo.schemas import BackendInfo

__all__ = ["PipelinePlanner", "all_calls"]


def all_calls(entities: list[dict[str, Any]], answer_schema: dict[str, Any]) -> list[dict[str, Any]]:
    """One call per (entity, applicable tool module, medium), read from the request's answer schema."""
    calls: list[dict[str, Any]] = []
    items = answer_schema.get("properties", {}).get("calls", {}).get("items", {}).get("anyOf", [])
    for item in items:
        module = item["properties"]["module"]["const"]
        for target in item["properties"]["target"]["enum"]:
            for entity in entities:
                text = entity.get("text")
                if isinstance(text, str) and text.strip():
                    calls.append({"module": module, "instruction": text, "target": target, "concept": text})
    return calls


class PipelinePlanner:
    """Wraps a planner: its records are kept, its calls replaced by every entity to every tool."""

    def __init__(self, inner: Planner) -> None:
        self.inner = inner

    def describe(self) -> BackendInfo:
        inner = self.inner.describe()
        return BackendInfo(
            role="planner",
            name=f"pipeline({inner.name})",
            detail=f"{inner.name}'s records, every entity sent to every grounding tool (no concept planning)",
        )

    def plan(self, request: PlanRequest) -> str:
        raw = self.inner.plan(request)
        try:
            answer, _ = parse_answer(raw, request.labels)
        except ParseError:
            return (
                raw  # unparseable either way: the validator's repair loop handles it as for the inner planner
            )
        entities = [e for e in answer.get("entities") or [] if isinstance(e, dict)]
        for entity in entities:
            entity["concept"] = True
        answer["entities"] = entities
        answer["calls"] = all_calls(entities, request.answer_schema)
        return json.dumps(answer)
