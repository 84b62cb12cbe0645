"""plan: render the task prompt (or the repair turn) and ask the planner backend."""

from __future__ import annotations

import time
from typing import Any

from langgraph.runtime import Runtime

from reamo.agent.context import AgentContext
from reamo.agent.nodes.refine import left_to_refiners
from reamo.agent.planners.protocol import Message, PlanRequest
from reamo.agent.progress import emit
from reamo.agent.state import AgentState
from reamo.agent.validation import answer_schema
from reamo.errors import PlannerError, ReamoError
from reamo.prompts import render_messages, repair_message

HISTORY_MESSAGES = 6


def plan(state: AgentState, runtime: Runtime[AgentContext]) -> dict[str, Any]:
    started = time.perf_counter()
    ctx = runtime.context
    attempts = state.get("attempts", 0)
    answers = list(state.get("answers") or [])
    task, inputs, labels = state["task"], state["inputs"], state["labels"]
    perception = state["perception"]
    if attempts == 0:
        messages = render_messages(
            task,
            inputs,
            labels,
            perception,
            ctx.registry,
            history=(state.get("history") or [])[-HISTORY_MESSAGES:],
            request=state.get("request"),
        )
    else:
        messages = [*state["messages"], Message("assistant", answers[-1]), repair_message(state["problems"])]
    request = PlanRequest(
        task=task,
        inputs=inputs,
        labels=labels,
        perception=perception,
        messages=tuple(messages),
        answer_schema=answer_schema(task, labels, inputs, ctx.registry),
        attempt=attempts,
        errors=tuple(state.get("problems") or ()),
        left_to_refiners=left_to_refiners(ctx.refiners, task, inputs, labels, perception),
    )
    name = ctx.planner.describe().name
    emit(runtime, "plan", f"{name}: planning" + (f" (repair {attempts})" if attempts else ""))
    try:
        raw = ctx.planner.plan(request)
    except ReamoError:
        raise
    except Exception as exc:
        raise PlannerError(f"The planner {name!r} failed: {type(exc).__name__}: {exc}") from exc
    return {
        "messages": messages,
        "answers": [*answers, raw],
        "attempts": attempts + 1,
        "timings": {"plan": time.perf_counter() - started},
    }
