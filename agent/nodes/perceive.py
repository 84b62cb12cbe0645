"""perceive: turn each medium into what a text planner can read, cached per thread by media fingerprint."""

from __future__ import annotations

import time
from typing import Any

from langgraph.runtime import Runtime
from pydantic import BaseModel

from reamo import media
from reamo.agent.context import AgentContext
from reamo.agent.progress import emit
from reamo.agent.state import AgentState
from reamo.errors import InputError
from reamo.schemas import AudioPerception, Diagnostic, ImagePerception, Perception, VideoPerception

BUCKETS = {"image": "images", "audio": "audio", "video": "videos"}
TYPES: dict[str, type[BaseModel]] = {
    "image": ImagePerception,
    "audio": AudioPerception,
    "video": VideoPerception,
}


def perceive(state: AgentState, runtime: Runtime[AgentContext]) -> dict[str, Any]:
    started = time.perf_counter()
    ctx = runtime.context
    old = state.get("perception") or Perception()
    items = state["inputs"].media
    # keep earlier perception of this turn's media only: media dropped since then must not linger
    # (the planner's span checks read every transcript and OCR line in the perception)
    present = {item.id for item in items}
    fingerprints = {mid: fp for mid, fp in (state.get("fingerprints") or {}).items() if mid in present}
    buckets: dict[str, dict[str, Any]] = {
        name: {mid: p for mid, p in getattr(old, name).items() if mid in present} for name in BUCKETS.values()
    }
    diagnostics = []
    for n, item in enumerate(items, 1):
        bucket = buckets[BUCKETS[item.modality]]
        fp = media.fingerprint(item)
        if fingerprints.get(item.id) == fp and item.id in bucket:
            emit(runtime, "perceive", f"{item.id}: reusing earlier perception", current=n, total=len(items))
            continue
        perceiver = ctx.perceivers.get(item.modality)
        if perceiver is None:
            continue
        emit(
            runtime,
            "perceive",
            f"{item.id}: {perceiver.describe().name} on {item.path.name}",
            current=n,
            total=len(items),
        )
        try:
            found = perceiver.perceive(item, ctx.resources)
        except InputError:
            raise
        except Exception as exc:  # a perception model failing leaves the medium to the tools
            diagnostics.append(
                Diagnostic(
                    level="warning",
                    stage="perceive",
                    code="perception.failed",
                    message=f"{item.id}: {type(exc).__name__}: {exc}",
                )
            )
            continue
        if not isinstance(found, TYPES[item.modality]):
            raise TypeError(f"perceiver {perceiver!r} returned {type(found).__name__} for {item.id}")
        bucket[item.id] = found
        fingerprints[item.id] = fp
    return {
        "perception": Perception(**buckets),
        "fingerprints": fingerprints,
        "diagnostics": diagnostics,
        "timings": {"perceive": time.perf_counter() - started},
    }
