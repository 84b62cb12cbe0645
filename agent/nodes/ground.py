"""ground: pop one concept call, run its tool, record the grounding or the typed failure."""

from __future__ import annotations

from typing import Any, Literal

from langgraph.runtime import Runtime

from reamo.agent.context import AgentContext
from reamo.agent.progress import emit
from reamo.agent.state import AgentState
from reamo.schemas import Diagnostic
from reamo.tools import ToolContext, run_call


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
    run = run_call(tool, call, tool_ctx, timeout_s=ctx.config.tool_timeout_s or None)
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
