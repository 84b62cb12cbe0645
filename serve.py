"""``reamo serve``: an HTTP service that loads the models once per worker process and answers many requests.

``POST /v1/extract`` takes ``Reamo.extract``'s arguments as JSON (media as paths under ``--media-root``) or
as multipart/form-data (media uploaded); ``?stream=true`` answers with server-sent events. Extractions run
in a bounded thread pool (the models are CPU-bound), behind a bounded queue, a request timeout and a body
size limit. ``reamo.remote.RemoteReamo`` (``Reamo(url=...)``) is its client.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Mapping
from functools import partial
from pathlib import Path
from typing import Any, Literal

from fastapi import FastAPI, Request, Response
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.concurrency import run_in_threadpool

from reamo import __version__
from reamo.errors import ConfigError, ReamoError, validation_problems
from reamo.schemas import ExtractionResult, json_schemas
from reamo.sdk import Reamo
from reamo.serve_limits import (
    BodyLimit,
    ErrorBody,
    Event,
    ExtractionPool,
    HTTPError,
    Job,
    timeout_error,
)
from reamo.serve_requests import FORM_FIELDS, ExtractRequest, MediaRoot, read_arguments
from reamo.tools import tool_catalogue

SETTINGS_ENV = "REAMO_SERVE_SETTINGS"
"""The environment variable that hands ServeSettings (JSON) to uvicorn's worker processes."""


class ServeSettings(BaseModel):
    """How ``reamo serve`` runs: address, worker processes, backends and the limits of a public service."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    host: str = "127.0.0.1"
    port: int = Field(default=8765, ge=0, le=65535)
    workers: int = Field(default=1, ge=1, description="uvicorn worker processes, each loads the models once")
    config: str | None = Field(default=None, description="TOML config file of the workers' Reamo")
    planner: str | None = Field(default=None, description="planner spec, as reamo extract --planner")
    media_root: Path | None = Field(
        default=None, description="media paths in requests must lie under it; None: uploads only"
    )
    concurrency: int = Field(default=1, ge=1, description="extractions running at once in one worker")
    queue: int = Field(default=8, ge=0, description="extractions that may wait in one worker; more get 503")
    timeout_s: float = Field(default=300.0, gt=0, description="a request's limit, queueing included (504)")
    max_body_mb: float = Field(default=100.0, gt=0, description="request body limit, uploads included (413)")
    warmup: bool = Field(
        default=True, description="one text extraction at start-up: /health is ok once the planner is loaded"
    )

    @property
    def max_body_bytes(self) -> int:
        return int(self.max_body_mb * 1024 * 1024)

    @classmethod
    def checked(cls, **values: Any) -> ServeSettings:
        """Settings from ``reamo serve``'s options; a bad one raises ConfigError."""
        try:
            return cls(**values)
        except ValidationError as exc:
            problems = validation_problems(exc)
            raise ConfigError(f"Invalid `reamo serve` options: {problems}.") from exc

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> ServeSettings:
        raw = (os.environ if env is None else env).get(SETTINGS_ENV)
        if not raw:
            raise ConfigError(f"${SETTINGS_ENV} is not set: start the service with `reamo serve`.")
        try:
            return cls.model_validate_json(raw)
        except ValidationError as exc:
            raise ConfigError(f"${SETTINGS_ENV} is not valid ServeSettings JSON: {exc}") from exc


class Health(BaseModel):
    status: Literal["ok", "starting"]
    version: str
    planner: str | None = Field(description="the planner's name; None while the models load")
    running: int = Field(description="extractions running in this worker")
    queue_depth: int = Field(description="extractions waiting in this worker")
    queue_limit: int
    concurrency: int


class Service:
    """What the routes share: the settings, the worker's Reamo (built at start-up unless given), the
    media root and the extraction pool."""

    def __init__(self, settings: ServeSettings, reamo: Reamo | None) -> None:
        self.settings, self.reamo = settings, reamo
        self.root = MediaRoot(settings.media_root)
        self.pool = ExtractionPool(settings.concurrency, settings.queue)

    def ready(self) -> Reamo:
        if self.reamo is None:
            raise HTTPError(503, "Starting", "The service is still loading its models; retry in a moment.")
        return self.reamo

    def health(self) -> Health:
        return Health(
            status="ok" if self.reamo is not None else "starting",
            version=__version__,
            planner=self.reamo.planner.describe().name if self.reamo is not None else None,
            running=self.pool.running,
            queue_depth=self.pool.waiting,
            queue_limit=self.settings.queue,
            concurrency=self.settings.concurrency,
        )

    async def start(self, http: Request) -> Job:
        """Read the request (uploads into a folder of its own) and create its stream, which checks the
        inputs at once; the folder goes when the job closes, or here if the request is refused."""
        reamo = self.ready()
        folder = Path(tempfile.mkdtemp(prefix="reamo-serve-"))
        try:
            arguments = await read_arguments(http, folder, self.root, self.settings.max_body_bytes)
            thread_id = uuid.uuid4().hex
            events = await run_in_threadpool(partial(reamo.stream, **arguments, thread_id=thread_id))
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        return Job(reamo, events, thread_id, folder)

    async def extract(self, job: Job) -> ExtractionResult:
        future = self.pool.submit(job.run, job.close)
        try:
            return await asyncio.wait_for(asyncio.wrap_future(future), self.settings.timeout_s)
        except TimeoutError:
            job.cancel.set()
            raise timeout_error(self.settings.timeout_s) from None
        except Exception as exc:
            raise HTTPError.of(exc) from None

    def stream(self, job: Job) -> AsyncIterator[str]:
        """Server-sent events (``sse_frame``): each ProgressEvent, then the ResultEvent or an error."""
        loop = asyncio.get_running_loop()
        events: asyncio.Queue[Event | BaseException | None] = asyncio.Queue()

        def put(item: Event | BaseException | None) -> None:
            with contextlib.suppress(RuntimeError):  # the request's loop is gone: the job is cancelled
                loop.call_soon_threadsafe(events.put_nowait, item)

        def run() -> None:
            try:
                job.run(put)
                put(None)
            except BaseException as exc:
                put(exc)

        future = self.pool.submit(run, job.close)
        deadline = loop.time() + self.settings.timeout_s

        async def frames() -> AsyncIterator[str]:
            try:
                while True:
                    try:
                        item = await asyncio.wait_for(events.get(), deadline - loop.time())
                    except TimeoutError:
                        item = timeout_error(self.settings.timeout_s)
                    if item is None:
                        return
                    if isinstance(item, BaseException):
                        yield sse_frame("error", json.dumps(HTTPError.of(item).body()))
                        return
                    yield sse_frame(item.type, item.model_dump_json())
            finally:  # finished, timed out or the client went away: the job stops at its next step
                job.cancel.set()
                future.cancel()

        return frames()


def sse_frame(event: str, data: str) -> str:
    """One server-sent event; ``data`` is one line of JSON."""
    return f"event: {event}\ndata: {data}\n\n"


def create_app(reamo: Reamo | None = None, settings: ServeSettings | None = None) -> FastAPI:
    """The service as an ASGI app. Without ``reamo`` it builds one at start-up from the settings' config
    and planner (the models then load once, in this process)."""
    settings = settings or ServeSettings()
    service = Service(settings, reamo)

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if service.reamo is None:
            built = await run_in_threadpool(Reamo, settings.config, planner=settings.planner)
            if settings.warmup:
                await run_in_threadpool(_warm_up, built)
            service.reamo = built
        yield
        service.pool.close()

    app = FastAPI(
        title="REAMO",
        version=__version__,
        description="Grounded multimodal information extraction: entities, relations and events from "
        "text, images, speech and video, each grounded in its media.",
        lifespan=lifespan,
    )
    app.add_middleware(BodyLimit, limit=settings.max_body_bytes)

    async def refused(_: Request, exc: Exception) -> Response:
        return HTTPError.of(exc).response()

    app.add_exception_handler(HTTPError, refused)
    app.add_exception_handler(ReamoError, refused)

    @app.post("/v1/extract", openapi_extra=_EXTRACT_BODY, responses=_EXTRACT_RESPONSES)
    async def extract(http: Request, stream: bool = False) -> Response:
        """Extract and ground records: JSON (ExtractRequest) or multipart/form-data with uploads.
        ``stream=true`` answers with server-sent events: each ProgressEvent, then the ResultEvent."""
        job = await service.start(http)
        if stream:
            headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
            return StreamingResponse(service.stream(job), media_type="text/event-stream", headers=headers)
        result = await service.extract(job)
        return JSONResponse(result.model_dump(mode="json"))

    @app.get("/v1/tools")
    def tools() -> dict[str, dict[str, Any]]:
        """The registered grounding tools and their call schemas (as ``reamo tools --json``)."""
        return tool_catalogue(service.ready().registry)

    @app.get("/v1/schema")
    def schema() -> dict[str, Any]:
        """The JSON Schemas of REAMO's contracts (as ``reamo schema``)."""
        return json_schemas()

    @app.get("/health")
    def health() -> Health:
        """Whether the models are loaded, the planner, and this worker's running and waiting extractions."""
        return service.health()

    app.openapi = partial(_openapi, app)  # type: ignore[method-assign]
    return app


def _warm_up(reamo: Reamo) -> None:
    """One short text extraction: the planner's models load now rather than on the first request."""
    thread_id = uuid.uuid4().hex
    reamo.extract("ner", "Barack Obama visited Paris.", thread_id=thread_id)
    reamo.forget(thread_id)


def app_from_env() -> FastAPI:
    """The app of one uvicorn worker process: ServeSettings from ``$REAMO_SERVE_SETTINGS``."""
    return create_app(settings=ServeSettings.from_env())


def serve(settings: ServeSettings) -> None:
    """Run the service until interrupted: one process, or ``workers`` processes that each load the models."""
    import uvicorn

    MediaRoot(settings.media_root)  # a bad folder fails here, before any worker starts
    if settings.workers == 1:
        uvicorn.run(create_app(settings=settings), host=settings.host, port=settings.port)
        return
    os.environ[SETTINGS_ENV] = settings.model_dump_json()
    uvicorn.run(
        "reamo.serve:app_from_env",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
    )


_EXTRACT_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"model": ExtractionResult, "description": "The result (stream=true: text/event-stream)."},
    **{
        status: {"model": ErrorBody, "description": what}
        for status, what in (
            (400, "Bad input: a reamo.errors.InputError (UnknownTaskError, LabelSchemaError, ...)"),
            (403, "A media path outside the media root, or any path without one"),
            (413, "The body is over the size limit"),
            (415, "Neither JSON nor multipart/form-data"),
            (503, "The queue is full, or the models are still loading"),
            (504, "The extraction ran past the request timeout"),
        )
    },
}
_EXTRACT_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/ExtractRequest"}},
            "multipart/form-data": {"schema": {"type": "object", "properties": FORM_FIELDS}},
        },
    }
}


def _openapi(app: FastAPI) -> dict[str, Any]:
    """FastAPI's schema plus ExtractRequest, which the route reads itself (JSON or a form)."""
    if app.openapi_schema is None:
        doc = get_openapi(
            title=app.title, version=app.version, description=app.description, routes=app.routes
        )
        request = ExtractRequest.model_json_schema(ref_template="#/components/schemas/{model}")
        components = doc.setdefault("components", {}).setdefault("schemas", {})
        for name, definition in request.pop("$defs", {}).items():
            components.setdefault(name, definition)
        components["ExtractRequest"] = request
        app.openapi_schema = doc
    return app.openapi_schema
