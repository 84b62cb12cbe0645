"""A conformance check for tool authors: ``check_tool(my_tool, inputs=...)`` in your own tests.

It registers the tool in a fresh registry (every registration rule), checks the derived call schema,
runs the tool on a sample input through the same runner the agent uses, and checks what comes back:
typed groundings on the targeted medium that survive a JSON round trip, and, for an instruction that is
not in the media, an honest "not found" instead of an invented grounding.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from jsonschema import Draft202012Validator

from reamo.errors import ConformanceError, RegistrationError
from reamo.schemas import Inputs, MetaResponse, Perception, ToolRun
from reamo.tools.protocol import Tool, ToolContext
from reamo.tools.registry import ToolRegistry
from reamo.tools.runner import run_call
from reamo.tools.schema import call_schema


def check_tool(
    tool: Tool,
    *,
    inputs: Inputs | None = None,
    instruction: str | None = None,
    absent_instruction: str | None = None,
    perception: Perception | None = None,
    settings: Mapping[str, Any] | None = None,
    timeout_s: float | None = 120.0,
) -> list[ToolRun]:
    """Check ``tool``; raise ConformanceError listing every problem. Returns the runs it made."""
    try:
        ToolRegistry([tool])
    except RegistrationError as exc:
        raise ConformanceError(str(exc)) from exc
    problems = _check_schema(tool)
    runs: list[ToolRun] = []
    if inputs is not None:
        targets = inputs.media_ids(tool.modality)
        if not targets:
            problems.append(f"the sample inputs have no {tool.modality} medium for the tool to search")
        else:
            ctx = ToolContext(inputs=inputs, perception=perception or Perception(), settings=settings or {})
            cases: list[tuple[str, tuple[str, ...]]] = (
                [(instruction, ("ok", "not_found"))] if instruction else []
            )
            if absent_instruction:
                cases.append((absent_instruction, ("not_found",)))
            for text, allowed in cases:
                call = MetaResponse(module=tool.module, instruction=text, target=targets[0], concept="e1")
                run = run_call(tool, call, ctx, timeout_s=timeout_s)
                runs.append(run)
                problems += _check_run(run, allowed)
    if problems:
        raise ConformanceError(
            f"tool {tool.name!r} does not conform:\n" + "\n".join(f"  - {p}" for p in problems)
        )
    return runs


def _check_schema(tool: Tool) -> list[str]:
    schema = call_schema(tool, [f"{tool.modality}:0"] if tool.modality != "text" else ["text"])
    try:
        Draft202012Validator.check_schema(schema)
    except Exception as exc:
        return [f"the derived call schema is not valid JSON Schema: {exc}"]
    validator = Draft202012Validator(schema)
    good = {"module": tool.module, "instruction": "x", "target": schema["properties"]["target"]["enum"][0]}
    problems = []
    if errors := [e.message for e in validator.iter_errors(good)]:
        problems.append(f"a minimal call {good} fails the derived schema: {errors}")
    if validator.is_valid({**good, "no_such_option": 1}):
        problems.append("the derived schema accepts unknown keys")
    return problems


def _check_run(run: ToolRun, allowed: tuple[str, ...]) -> list[str]:
    label = f"call {run.call.instruction!r} on {run.call.target}"
    if run.status not in allowed:
        return [f"{label}: status {run.status!r} ({run.error}), expected {' or '.join(allowed)}"]
    problems = []
    for g in run.groundings:
        again = type(g).model_validate_json(g.model_dump_json())
        if again != g:
            problems.append(f"{label}: a grounding does not survive a JSON round trip: {g!r}")
    return problems
