"""Running one meta-response through its tool: typed arguments, a time limit, typed failures.

A tool that raises, times out or returns the wrong thing fails its own concept only; the error is
recorded on the ToolRun and the run goes on.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

from pydantic import ValidationError

from reamo.errors import ToolRunError, validation_problems
from reamo.schemas import MetaResponse, ToolRun
from reamo.tools.protocol import Tool, ToolContext


def run_call(tool: Tool, call: MetaResponse, ctx: ToolContext, *, timeout_s: float | None = None) -> ToolRun:
    """Run ``call`` with ``tool``; never raises for a tool's own failure."""
    started = time.perf_counter()

    def done(status: Any, groundings: list[Any] | None = None, error: str | None = None) -> ToolRun:
        return ToolRun(
            call=call,
            tool=tool.name,
            status=status,
            groundings=groundings or [],
            error=error,
            seconds=time.perf_counter() - started,
        )

    try:
        args = tool.args_model.model_validate(call.arguments())
    except ValidationError as exc:
        return done("invalid_arguments", error=_short(exc))
    try:
        found = _call_with_timeout(tool, args, ctx, timeout_s)
    except FutureTimeout:
        return done("timeout", error=f"{tool.name} did not finish within {timeout_s:g} s")
    except ToolRunError as exc:
        return done("error", error=str(exc))
    except Exception as exc:
        return done("error", error=f"{type(exc).__name__}: {exc}")
    problem = _check_groundings(tool, call, found)
    if problem:
        return done("error", error=f"{tool.name} returned an invalid result: {problem}")
    return done(
        "ok" if found else "not_found",
        list(found),
        None if found else f"{call.instruction!r} was not found in {call.target}",
    )


def _call_with_timeout(tool: Tool, args: Any, ctx: ToolContext, timeout_s: float | None) -> list[Any]:
    if timeout_s is None:
        return list(tool.run(args, ctx))
    # A thread cannot be killed: a timed-out tool keeps its thread until it returns, but the run goes on.
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"tool-{tool.name}")
    try:
        return list(pool.submit(tool.run, args, ctx).result(timeout=timeout_s))
    finally:
        pool.shutdown(wait=False, cancel_futures=True)


def _check_groundings(tool: Tool, call: MetaResponse, found: list[Any]) -> str | None:
    for item in found:
        if not isinstance(item, tool.result_model):
            return f"expected {tool.result_model.__name__}, got {type(item).__name__}"
        media = getattr(item, "media", call.target)
        if media != call.target:
            return f"a grounding names media {media!r}, but the call targeted {call.target!r}"
    return None


def _short(exc: ValidationError) -> str:
    return validation_problems(exc, whole="arguments")
