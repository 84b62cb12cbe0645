"""ground: pop one concept call, run its tool, record the grounding or the typed failure."""

from __future__ import annotations

from typing import Any, Literal

from langgraph.runtime import Runtime

from reamo.agent.context import AgentContext
from reamo.agent.progress import emit
from reamo.agent.state import AgentState
from reamo.schemas import Diagnostic
from reamo.tools import ToolContext, run_call

REUSABLE = ("image", "video")
"""Modalities whose calls give the same answer in every window of an input (a transcript's window
changes what an audio call can find)."""


def ground(state: AgentState, runtime: Runtime[AgentContext]) -> dict[str, Any]:
    ctx = runtime.context
    call, rest = state["queue"][0], state["queue"][1:]
    done = len(state.get("runs") or [])
    tool = ctx.registry.by_module(call.module)
    emit(
        runtime,
        "ground",
        f"{call.module}: {call.instruction!r} in {call.target}",
        current=done + 1,
        total=done + 1 + len(rest),
        data={"tool": tool.name, "concept": call.concept},
    )
    tool_ctx = ToolContext(
        inputs=state["inputs"],
        perception=state["perception"],
        settings=ctx.config.tools.get(tool.name, {}),
        resources=ctx.resources,
    )
    cache = ctx.call_cache if tool.modality in REUSABLE else None
    key = f"{tool.name} {call.model_dump_json(exclude={'concept'})}" if cache is not None else ""
    cached = cache.get(key) if cache is not None else None
    if cached is not None:
        run = cached.model_copy(update={"call": call})
    else:
        run = run_call(tool, call, tool_ctx, timeout_s=ctx.config.tool_timeout_s or None)
        if cache is not None and run.status in ("ok", "not_found"):
            cache[key] = run
    diagnostics = []
    if run.status != "ok":
        diagnostics.append(
            Diagnostic(
                level="info" if run.status == "not_found" else "warning",
                stage="ground",
                code=f"tool.{run.status}",
                message=f"{tool.name}: {run.error}",
                concept=call.concept,
            )
        )
    return {"queue": rest, "runs": [run], "diagnostics": diagnostics, "timings": {"ground": run.seconds}}


def after_ground(state: AgentState) -> Literal["ground", "merge"]:
    """Route: loop while concept calls are left."""
    return "ground" if state.get("queue") else "merge"
