"""One request through the graph: whole when it fits the planner, else window by window.

A short input runs the graph once, on the caller's thread. An input with long text or speech is first
perceived once; then each window of its text and transcripts runs the graph on a thread of its own
(deleted after, so memory stays flat however long the input), with the perception given, and the
windows' results are joined with document offsets. A window that fails is reported in the result and
the others come back.
"""

from __future__ import annotations

import dataclasses
import time
import uuid
from collections.abc import Generator, Iterator
from typing import Any

from langgraph.types import Overwrite

from reamo.agent.context import AgentContext
from reamo.agent.graph import build_perception_graph
from reamo.agent.windows import Joiner, Window, halve, plan_windows, window_inputs, window_perception
from reamo.errors import BackendUnavailableError, ConfigError, InputError, PromptTooLongError
from reamo.schemas import (
    Diagnostic,
    ExtractionResult,
    Inputs,
    Perception,
    ProgressEvent,
    ResultEvent,
    WindowInfo,
)

Event = ProgressEvent | ResultEvent
FATAL = (InputError, ConfigError, BackendUnavailableError)
"""Errors of the request or the set-up, not of one window: they end the run."""


class Runner:
    """Runs requests on a compiled graph (with a checkpointer) in one context."""

    def __init__(self, graph: Any, context: AgentContext) -> None:
        self.graph = graph
        self.context = context
        self._perceiver: Any = None

    def run(self, update: dict[str, Any], thread_id: str) -> Iterator[Event]:
        """ProgressEvents as the run goes, then one ResultEvent."""
        inputs: Inputs = update["inputs"]
        config = self.context.config
        heard = any(m.modality in ("audio", "video") for m in inputs.media)
        if not heard and len(inputs.text or "") <= config.window_chars:
            yield from self._whole(update, thread_id, {})
            return
        started = time.perf_counter()
        perception, fingerprints, noted = yield from self._perceive(inputs, thread_id)
        seeded = {"perception": perception, "fingerprints": fingerprints}
        windows = plan_windows(inputs.text, perception, config.window_chars, config.window_overlap)
        if len(windows) == 1:
            timings = {"perceive": time.perf_counter() - started}
            update = {**update, **seeded, "diagnostics": Overwrite(noted), "timings": Overwrite(timings)}
            yield from self._whole(update, thread_id, windows[0].times(perception))
            return
        result = yield from self._windowed(update, windows, perception, fingerprints, noted, started)
        self.graph.update_state(_config(thread_id), {**seeded, "result": result}, as_node="merge")
        yield ResultEvent(result=result)

    def _whole(
        self, update: dict[str, Any], thread_id: str, times: dict[str, tuple[float, float]]
    ) -> Iterator[Event]:
        started = time.perf_counter()
        result = yield from self._graph_run(update, thread_id, self.context)
        info = WindowInfo(
            index=0,
            text=(0, len(result.inputs.text)) if result.inputs.text else None,
            times=times,
            status="ok" if result.complete else "partial",
            records=[e.id for e in result.entities] + [v.id for v in result.events],
            seconds=time.perf_counter() - started,
        )
        yield ResultEvent(result=result.model_copy(update={"windows": [info]}))

    def _graph_run(
        self,
        update: dict[str, Any],
        thread_id: str,
        context: AgentContext,
        window: dict[str, int] | None = None,
    ) -> Generator[ProgressEvent, None, ExtractionResult]:
        config = _config(thread_id)
        for mode, chunk in self.graph.stream(
            update, config, context=context, stream_mode=["custom", "values"]
        ):
            if mode == "custom" and isinstance(chunk, ProgressEvent):
                yield chunk.model_copy(update={"data": {**chunk.data, **window}}) if window else chunk
        result: ExtractionResult = self.graph.get_state(config).values["result"]
        return result

    def _perceive(
        self, inputs: Inputs, thread_id: str
    ) -> Generator[ProgressEvent, None, tuple[Perception, dict[str, str], list[Diagnostic]]]:
        """Perceive the media once, reusing what the caller's thread already perceived."""
        if self._perceiver is None:
            self._perceiver = build_perception_graph()
        earlier = self.graph.get_state(_config(thread_id)).values if thread_id else {}
        state = {
            "inputs": inputs,
            "perception": earlier.get("perception") or Perception(),
            "fingerprints": earlier.get("fingerprints") or {},
        }
        values: dict[str, Any] = {}
        for mode, chunk in self._perceiver.stream(
            state, context=self.context, stream_mode=["custom", "values"]
        ):
            if mode == "custom" and isinstance(chunk, ProgressEvent):
                yield chunk
            elif mode == "values":
                values = chunk
        noted: list[Diagnostic] = list(values.get("diagnostics") or [])
        return values["perception"], values["fingerprints"], noted

    def _windowed(
        self,
        update: dict[str, Any],
        windows: list[Window],
        perception: Perception,
        fingerprints: dict[str, str],
        noted: list[Diagnostic],
        started: float,
    ) -> Generator[ProgressEvent, None, ExtractionResult]:
        inputs: Inputs = update["inputs"]
        perceived = time.perf_counter() - started
        context = dataclasses.replace(self.context, call_cache={})
        joiner = Joiner(inputs.text)
        infos: list[WindowInfo] = []
        failed: list[Diagnostic] = []
        queue = list(windows)
        while queue:
            window = queue.pop(0)
            number = len(infos) + 1
            total = number + len(queue)
            info = WindowInfo(
                index=number - 1, text=window.text, times=window.times(perception), status="ok", seconds=0.0
            )
            yield ProgressEvent(
                stage="window",
                message=f"window {number}/{total}{_where(info)}",
                current=number,
                total=total,
                data={"window": number - 1},
            )
            tick = time.perf_counter()
            part = {
                **update,
                "inputs": window_inputs(inputs, window),
                "perception": window_perception(perception, window),
                "fingerprints": fingerprints,
            }
            thread = f"window-{uuid.uuid4().hex}"
            try:
                result = yield from self._graph_run(part, thread, context, {"window": number - 1})
            except PromptTooLongError as exc:
                halves = halve(window, inputs.text, perception)
                if len(halves) > 1:
                    queue[:0] = halves
                    continue
                info = _failed(info, exc, failed)
            except FATAL:
                raise
            except Exception as exc:  # one window's failure never sinks the others
                info = _failed(info, exc, failed)
            else:
                info = info.model_copy(
                    update={
                        "status": "ok" if result.complete else "partial",
                        "records": joiner.add(dataclasses.replace(window, index=number - 1), result),
                    }
                )
            finally:
                self.graph.checkpointer.delete_thread(thread)
            infos.append(info.model_copy(update={"seconds": time.perf_counter() - tick}))
        timings = dict(joiner.timings)  # the windows' perceive is only the reuse of this one's
        timings["perceive"] = perceived + timings.get("perceive", 0.0)
        timings["total"] = time.perf_counter() - started
        return ExtractionResult(
            task=update["task"],
            inputs=inputs,
            labels=update["labels"],
            entities=joiner.entities,
            relations=joiner.relations,
            events=joiner.events,
            calls=joiner.calls,
            diagnostics=[*noted, *joiner.diagnostics, *failed],
            perception=perception,
            planner_attempts=joiner.attempts,
            complete=joiner.complete and not failed,
            timings=timings,
            backends=joiner.backends,
            windows=infos,
        )


def _config(thread_id: str) -> dict[str, Any]:
    return {"configurable": {"thread_id": thread_id}, "recursion_limit": 10_000}


def _where(info: WindowInfo) -> str:
    """What a window reads, for messages: ``" (characters 0-300, audio:0 0-25 s)"``."""
    parts = [f"characters {info.text[0]}-{info.text[1]}"] if info.text is not None else []
    parts += [f"{mid} {a:.0f}-{b:.0f} s" for mid, (a, b) in info.times.items()]
    return f" ({', '.join(parts)})" if parts else ""


def _failed(info: WindowInfo, exc: Exception, failed: list[Diagnostic]) -> WindowInfo:
    message = f"{type(exc).__name__}: {exc}"
    failed.append(
        Diagnostic(
            level="error",
            stage="window",
            code="window.failed",
            message=f"window {info.index}{_where(info)} gave no records: {message}",
            window=info.index,
        )
    )
    return info.model_copy(update={"status": "failed", "error": message})
