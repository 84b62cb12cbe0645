"""What ``reamo serve`` refuses and how: the error body, the body size limit, and the bounded pool that
runs extractions (a few at a time, a few more waiting, each stoppable at its next step)."""

from __future__ import annotations

import logging
import shutil
import threading
from collections.abc import Callable, Generator, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from reamo.errors import BackendUnavailableError, InputError, PlannerError, ReamoError
from reamo.schemas import ExtractionResult, ProgressEvent, ResultEvent
from reamo.sdk import Reamo

log = logging.getLogger("reamo.serve")
T = TypeVar("T")
Event = ProgressEvent | ResultEvent


class ErrorDetail(BaseModel):
    type: str = Field(description="a reamo.errors class (InputError, ...) or the service's own refusal")
    message: str = Field(description="what went wrong and what to do")


class ErrorBody(BaseModel):
    """Every error the service answers: ``{"error": {"type", "message"}}``."""

    error: ErrorDetail


class HTTPError(Exception):
    """A refused or failed request: its HTTP status, error type and a message that says what to do."""

    def __init__(self, status: int, kind: str, message: str) -> None:
        super().__init__(message)
        self.status, self.kind, self.message = status, kind, message

    @classmethod
    def of(cls, exc: BaseException) -> HTTPError:
        """REAMO's typed errors keep their type: bad input 400, a failed planner 502, a backend that can't
        run 503, others 500. Any other exception is logged here with its traceback and reported without."""
        if isinstance(exc, HTTPError):
            return exc
        if not isinstance(exc, ReamoError):
            log.error("extraction failed", exc_info=exc)
            return cls(500, "InternalError", "The extraction failed unexpectedly; the service's log has why.")
        status = 500
        for kind, code in ((InputError, 400), (PlannerError, 502), (BackendUnavailableError, 503)):
            if isinstance(exc, kind):
                status = code
                break
        return cls(status, type(exc).__name__, str(exc))

    def body(self) -> dict[str, Any]:
        return ErrorBody(error=ErrorDetail(type=self.kind, message=self.message)).model_dump()

    def response(self) -> JSONResponse:
        return JSONResponse(self.body(), status_code=self.status)


def timeout_error(timeout_s: float) -> HTTPError:
    return HTTPError(
        504,
        "RequestTimeout",
        f"The extraction did not finish within the service's {timeout_s:g} s (waiting in the queue "
        "included); send a shorter input, retry when the service is less busy, or start it with a longer "
        "--timeout.",
    )


class BodyLimit:
    """ASGI middleware: a request body over ``limit`` bytes gets 413, at once from its Content-Length or
    as it arrives (a chunked upload)."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app, self.limit = app, limit

    def error(self) -> HTTPError:
        return HTTPError(
            413,
            "PayloadTooLarge",
            f"The request body is over the service's limit of {self.limit / 1024 / 1024:g} MB; send "
            "smaller or fewer files, or start the service with a larger --max-upload-mb.",
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope["headers"]).get(b"content-length", b"")
        if length.isdigit() and int(length) > self.limit:
            await self.error().response()(scope, receive, send)
            return
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.limit:
                raise self.error()
            return message

        await self.app(scope, limited, send)


class ExtractionPool:
    """Runs extractions on ``concurrency`` threads with at most ``queue`` more waiting; beyond that, 503."""

    def __init__(self, concurrency: int, queue: int) -> None:
        self.concurrency, self.queue = concurrency, queue
        self._threads = ThreadPoolExecutor(concurrency, thread_name_prefix="reamo-extract")
        self._lock = threading.Lock()
        self._pending = 0  # submitted and not done
        self._running = 0

    @property
    def running(self) -> int:
        return self._running

    @property
    def waiting(self) -> int:
        return self._pending - self._running

    def submit(self, job: Callable[[], T], done: Callable[[], None]) -> Future[T]:
        """Queue ``job``; ``done`` runs after it, or at once if the job is refused or cancelled unstarted."""
        with self._lock:
            full = self._pending >= self.concurrency + self.queue
            if not full:
                self._pending += 1
        if full:
            done()
            raise HTTPError(
                503,
                "ServiceBusy",
                f"The service is busy: {self._running} extraction(s) running and {self.waiting} waiting "
                f"(queue limit {self.queue}). Retry later, or start it with more --workers or a longer "
                "--queue.",
            )

        def run() -> T:
            with self._lock:
                self._running += 1
            try:
                return job()
            finally:
                with self._lock:
                    self._running -= 1

        def finished(_: Future[T]) -> None:
            try:
                done()
            finally:
                with self._lock:
                    self._pending -= 1

        future = self._threads.submit(run)
        future.add_done_callback(finished)
        return future

    def close(self) -> None:
        self._threads.shutdown(wait=False, cancel_futures=True)


class Job:
    """One extraction's events, consumed on a pool thread. ``cancel`` stops it at its next step (a
    timed-out or abandoned request); ``close`` forgets its graph thread and deletes its uploads."""

    def __init__(self, reamo: Reamo, events: Iterator[Event], thread_id: str, folder: Path) -> None:
        self.reamo, self.events, self.thread_id, self.folder = reamo, events, thread_id, folder
        self.cancel = threading.Event()

    def run(self, emit: Callable[[Event], None] | None = None) -> ExtractionResult:
        try:
            for event in self.events:
                if self.cancel.is_set():
                    raise HTTPError(
                        499, "Cancelled", "The request was abandoned before its extraction ended."
                    )
                if emit is not None:
                    emit(event)
                if isinstance(event, ResultEvent):
                    return event.result
        finally:
            if isinstance(self.events, Generator):
                self.events.close()
        raise RuntimeError("the extraction stream ended without a result")

    def close(self) -> None:
        self.reamo.forget(self.thread_id)
        shutil.rmtree(self.folder, ignore_errors=True)
