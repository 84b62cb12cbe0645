"""validate: parse and check the planner's answer; send the problems back, or keep what is valid."""

from __future__ import annotations

import time
from typing import Any, Literal

from langgraph.runtime import Runtime

from reamo.agent.context import AgentContext
from reamo.agent.nodes.refine import left_to_refiners
from reamo.agent.progress import emit
from reamo.agent.state import AgentState
from reamo.agent.validation import validate_answer
from reamo.schemas import Diagnostic


def validate(state: AgentState, runtime: Runtime[AgentContext]) -> dict[str, Any]:
    started = time.perf_counter()
    ctx = runtime.context
    checked = validate_answer(
        state["answers"][-1],
        task=state["task"],
        labels=state["labels"],
        inputs=state["inputs"],
        registry=ctx.registry,
        perception=state.get("perception"),
        replaced=left_to_refiners(
            ctx.refiners, state["task"], state["inputs"], state["labels"], state["perception"]
        ),
    )
    problems = [p.message for p in checked.problems]
    retry = bool(problems) and state["attempts"] <= ctx.config.max_repairs
    timings = {"validate": time.perf_counter() - started}
    if retry:
        emit(
            runtime,
            "validate",
            f"{len(problems)} problem(s) in the answer; asking the planner to repair",
            data={"problems": problems},
        )
        return {"problems": problems, "retry": True, "timings": timings}
    diagnostics = [
        Diagnostic(
            level="warning",
            stage="validate",
            code=f"planner.{p.code}",
            message=f"dropped after {state['attempts']} attempt(s): {p.message}",
        )
        for p in checked.problems
    ]
    diagnostics += [
        Diagnostic(level="info", stage="validate", code=f"planner.{code}", message=message, concept=concept)
        for code, message, concept in checked.additions(state["labels"])
    ]
    emit(
        runtime,
        "validate",
        f"{len(checked.entities)} entities, {len(checked.relations)} relations, "
        f"{len(checked.events)} events, {len(checked.calls)} tool calls",
    )
    return {
        "problems": problems,
        "retry": False,
        "entities": checked.entities,
        "relations": checked.relations,
        "events": checked.events,
        "queue": checked.calls,
        "complete": not problems,
        "diagnostics": diagnostics,
        "timings": timings,
    }


def after_validate(state: AgentState) -> Literal["plan", "refine"]:
    """Route: repair, or refine what is valid."""
    return "plan" if state.get("retry") else "refine"
