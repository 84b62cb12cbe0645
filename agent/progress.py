"""Progress events: nodes report what they are doing through LangGraph's custom stream."""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from reamo.schemas.result import ProgressEvent, Stage


def emit(runtime: Runtime[Any], stage: Stage, message: str, **fields: Any) -> None:
    """Send a ProgressEvent to whoever streams the run (a no-op when nobody does)."""
    runtime.stream_writer(ProgressEvent(stage=stage, message=message, **fields))
