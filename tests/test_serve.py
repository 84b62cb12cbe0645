"""``reamo serve`` and its client: the HTTP API over a Reamo with a scripted planner and the fake tools
(JSON, uploads, server-sent events, limits, typed errors), ``Reamo(url=...)`` through a test client and
through a real uvicorn server."""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from conftest import IMAGE_SIZE
from fastapi import FastAPI
from fastapi.testclient import TestClient

from reamo import (
    EmptyInputError,
    ExtractionResult,
    ImageRegion,
    InputError,
    LabelSchema,
    LabelSchemaError,
    MediaNotFoundError,
    ProgressEvent,
    Reamo,
    RemoteReamo,
    ResultEvent,
    ServiceError,
    TextSpan,
    ToolRegistry,
    UnknownTaskError,
    UnsupportedMediaError,
)
from reamo.agent import PlanRequest, ScriptedPlanner
from reamo.cli import main
from reamo.remote import sse_events
from reamo.schemas import json_schemas
from reamo.serve import SETTINGS_ENV, ServeSettings, app_from_env, create_app
from reamo.tools import tool_catalogue
from reamo.tools.perception import metadata_perceivers

TEXT = "Barack Obama met Angela Merkel in Berlin."
PEOPLE = {
    "entities": [
        {"text": "Barack Obama", "label": "person"},
        {"text": "Angela Merkel", "label": "person"},
        {"text": "Berlin", "label": "location"},
    ]
}
OBAMA_IN_IMAGE = {
    "entities": [{"text": "Barack Obama", "label": "person", "concept": True}],
    "calls": [
        {
            "module": "ImageSegmentation",
            "instruction": "Obama",
            "target": "image:0",
            "concept": "Barack Obama",
        }
    ],
}
OBAMA_BOX = (2.0, 2.0, 30.0, 40.0)


@pytest.fixture
def serve_reamo(registry: ToolRegistry) -> Callable[..., Reamo]:
    """A Reamo over the fake tools whose scripted planner gives ``answer`` to every request (no refiner
    changes it)."""

    def make(answer: Any = PEOPLE) -> Reamo:
        return Reamo(
            planner=ScriptedPlanner([answer], repeat_last=True),
            registry=registry,
            perceivers=metadata_perceivers(),
            plugins=False,
            refiners=[],
        )

    return make


@pytest.fixture
def client(serve_reamo: Callable[..., Reamo]) -> Iterator[TestClient]:
    with TestClient(create_app(serve_reamo())) as test_client:
        yield test_client


def served(reamo: Reamo, **settings: Any) -> TestClient:
    return TestClient(create_app(reamo, ServeSettings(**settings)))


def error_of(response: httpx.Response) -> tuple[int, str, str]:
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"type", "message"}
    return response.status_code, body["error"]["type"], body["error"]["message"]


def region_of(result: ExtractionResult, entity: str) -> ImageRegion:
    [region] = [g for g in result.entity(entity).groundings if isinstance(g, ImageRegion)]
    return region


def wait_until(check: Callable[[], bool], seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.02)


class Gate:
    """A planner answer that waits until the test opens the gate; ``entered`` counts the waits."""

    def __init__(self, answer: dict[str, Any] = PEOPLE) -> None:
        self.answer, self.open, self.entered = answer, threading.Event(), 0

    def __call__(self, request: PlanRequest) -> dict[str, Any]:
        self.entered += 1
        assert self.open.wait(20), "the test never opened the gate"
        return self.answer


# --------------------------------------------------------------------------
# POST /v1/extract
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "labels",
    [
        {"labels": ["person", "location"]},
        {"labels": "person, location"},
        {"schema": {"entity_types": ["person", "location"]}},
    ],
    ids=["list", "comma-string", "schema"],
)
def test_json_extract_returns_the_result(client: TestClient, labels: dict[str, Any]) -> None:
    response = client.post("/v1/extract", json={"task": "ner", "text": TEXT, **labels})

    assert response.status_code == 200, response.text
    result = ExtractionResult.model_validate(response.json())
    assert result.labels.entity_types == ["person", "location"]
    assert [(e.text, e.label) for e in result.entities] == [
        ("Barack Obama", "person"),
        ("Angela Merkel", "person"),
        ("Berlin", "location"),
    ]
    spans = [g for e in result.entities for g in e.groundings if isinstance(g, TextSpan)]
    assert [(s.start, s.end) for s in spans] == [(0, 12), (17, 30), (34, 40)]
    assert all(TEXT[s.start : s.end] == s.text for s in spans)


COUPLE = "two people in a romantic relationship"


@pytest.mark.parametrize(
    "labels",
    [
        {"labels": ["person", {"name": "couple", "description": COUPLE}]},
        {"labels": f"person, couple: {COUPLE}"},
        {"schema": {"entity_types": ["person", {"name": "couple", "description": COUPLE}]}},
        {"schema": {"entity_types": ["person", "couple"], "descriptions": {"couple": COUPLE}}},
    ],
    ids=["list", "comma-string", "label-set", "label-schema"],
)
def test_json_extract_takes_described_labels(client: TestClient, labels: dict[str, Any]) -> None:
    response = client.post("/v1/extract", json={"task": "ner", "text": TEXT, **labels})

    assert response.status_code == 200, response.text
    result = ExtractionResult.model_validate(response.json())
    assert result.labels.entity_types == ["person", "couple"]
    assert result.labels.descriptions == {"couple": COUPLE}


@pytest.mark.parametrize(
    ("labels", "says"),
    [
        ({"labels": ["person", {"description": COUPLE}]}, "label 2 has no 'name'"),
        ({"labels": [{"name": "couple", "meaning": COUPLE}]}, "unknown key(s) 'meaning'"),
        ({"schema": {"entity_types": [{"name": "couple", "description": 3}]}}, "entity_types[0] ('couple')"),
        ({"schema": {"entity_typs": ["person"]}}, "Unknown key(s) 'entity_typs'"),
    ],
    ids=["no-name", "unknown-key", "description-not-text", "unknown-list"],
)
def test_a_bad_label_is_a_400_label_schema_error_that_names_it(
    client: TestClient, labels: dict[str, Any], says: str
) -> None:
    status, kind, message = error_of(client.post("/v1/extract", json={"task": "ner", "text": TEXT, **labels}))
    assert (status, kind) == (400, "LabelSchemaError")
    assert says in message


def test_answered_requests_leave_no_graph_thread_behind(serve_reamo: Callable[..., Reamo]) -> None:
    reamo = serve_reamo()
    with served(reamo) as client:
        for _ in range(3):
            assert client.post("/v1/extract", json={"task": "ner", "text": TEXT}).status_code == 200
        assert client.post("/v1/extract?stream=true", json={"task": "ner", "text": TEXT}).status_code == 200
    assert reamo._graph.checkpointer.storage == {}


def test_multipart_upload_is_grounded_and_its_copy_deleted(
    serve_reamo: Callable[..., Reamo], media_dir: Path
) -> None:
    with served(serve_reamo(OBAMA_IN_IMAGE)) as client:
        response = client.post(
            "/v1/extract",
            data={"task": "ner", "text": TEXT, "labels": "person"},
            files=[("image", ("photo.png", (media_dir / "photo.png").read_bytes(), "image/png"))],
        )

    assert response.status_code == 200, response.text
    result = ExtractionResult.model_validate(response.json())
    [image] = result.inputs.images
    assert image.id == "image:0"
    assert image.path.name == "image-0-photo.png"
    assert not image.path.parent.exists()  # the request's upload folder is gone
    assert result.perception.images["image:0"].width == IMAGE_SIZE[0]
    assert region_of(result, "e1").box == OBAMA_BOX
    assert [(r.tool, r.status) for r in result.calls] == [("fake.image.segment.v1", "ok")]


def test_multipart_arguments_field_and_repeated_uploads(
    serve_reamo: Callable[..., Reamo], media_dir: Path
) -> None:
    photo = (media_dir / "photo.png").read_bytes()
    arguments = {"task": "ner", "text": TEXT, "schema": {"entity_types": ["person"]}}
    with served(serve_reamo(OBAMA_IN_IMAGE)) as client:
        response = client.post(
            "/v1/extract",
            data={"arguments": json.dumps(arguments)},
            files=[
                ("image", ("a.png", photo, "image/png")),
                ("image", ("../../b c.png", photo, "image/png")),
                ("audio", ("speech.wav", (media_dir / "speech.wav").read_bytes(), "audio/wav")),
            ],
        )

    assert response.status_code == 200, response.text
    result = ExtractionResult.model_validate(response.json())
    assert [(m.id, m.path.name) for m in result.inputs.media] == [
        ("image:0", "image-0-a.png"),
        ("image:1", "image-1-b_c.png"),  # the client's name is never a path
        ("audio:0", "audio-0-speech.wav"),
    ]
    assert result.labels.entity_types == ["person"]


def test_media_paths_are_served_only_from_the_media_root(
    serve_reamo: Callable[..., Reamo], media_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    outside = tmp_path_factory.mktemp("outside")
    (outside / "secret.png").write_bytes((media_dir / "photo.png").read_bytes())
    (media_dir / "link.png").symlink_to(outside / "secret.png")
    with served(serve_reamo(OBAMA_IN_IMAGE), media_root=media_dir) as client:

        def post(image: str) -> httpx.Response:
            return client.post("/v1/extract", json={"task": "ner", "text": TEXT, "image": image})

        inside = post("photo.png")
        assert inside.status_code == 200, inside.text
        assert region_of(ExtractionResult.model_validate(inside.json()), "e1").box == OBAMA_BOX
        for refused in ("../outside/secret.png", str(outside / "secret.png"), "link.png", "clip/../../x.png"):
            status, kind, message = error_of(post(refused))
            assert (status, kind) == (403, "MediaPathForbidden"), refused
            assert "outside the service's media root" in message
            assert str(media_dir) not in message
        status, kind, message = error_of(post("missing.png"))
        assert (status, kind) == (400, "MediaNotFoundError")


def test_without_a_media_root_paths_are_refused(client: TestClient) -> None:
    response = client.post("/v1/extract", json={"task": "ner", "text": TEXT, "image": "photo.png"})
    status, kind, message = error_of(response)
    assert (status, kind) == (403, "MediaPathForbidden")
    assert "upload the file" in message
    assert "--media-root" in message


def test_stream_sends_progress_events_then_the_result(client: TestClient) -> None:
    response = client.post("/v1/extract?stream=true", json={"task": "ner", "text": TEXT})

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    frames = list(sse_events(response.text.splitlines()))
    kinds = [kind for kind, _ in frames]
    assert kinds[-1] == "result"
    assert set(kinds[:-1]) == {"progress"}
    assert len(kinds) > 2
    stages = [ProgressEvent.model_validate_json(data).stage for _, data in frames[:-1]]
    assert stages[0] == "plan"
    assert stages[-1] == "merge"
    result = ResultEvent.model_validate_json(frames[-1][1]).result
    assert [e.text for e in result.entities] == ["Barack Obama", "Angela Merkel", "Berlin"]


def test_stream_input_errors_come_before_any_event(client: TestClient) -> None:
    response = client.post("/v1/extract?stream=true", json={"task": "nerd", "text": TEXT})
    assert error_of(response)[:2] == (400, "UnknownTaskError")
    assert response.headers["content-type"] == "application/json"


# --------------------------------------------------------------------------
# Errors and limits
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "kind"),
    [
        ({"task": "nerd", "text": TEXT}, "UnknownTaskError"),
        ({"task": "ner", "text": TEXT, "labels": ","}, "LabelSchemaError"),
        ({"task": "ner"}, "EmptyInputError"),
        ({"text": TEXT}, "InputError"),
        ({"task": "ner", "text": TEXT, "planner": "hf:evil"}, "InputError"),
        ({"task": "ner", "text": TEXT, "labels": "person", "schema": {"entity_types": ["x"]}}, "InputError"),
    ],
    ids=["task", "labels", "empty", "no-task", "unknown-field", "labels-and-schema"],
)
def test_typed_errors_are_400_with_their_type(client: TestClient, body: dict[str, Any], kind: str) -> None:
    status, got, message = error_of(client.post("/v1/extract", json=body))
    assert (status, got) == (400, kind)
    assert message


def test_uploads_are_checked_like_local_media(client: TestClient, media_dir: Path) -> None:
    notes = ("notes.txt", b"not media", "text/plain")
    response = client.post("/v1/extract", data={"task": "ner"}, files=[("image", notes)])
    status, kind, message = error_of(response)
    assert (status, kind) == (400, "UnsupportedMediaError")
    assert "notes.txt" in message
    response = client.post("/v1/extract", data={"task": "ner", "colour": "red"})
    assert error_of(response)[:2] == (400, "InputError")
    assert error_of(client.post("/v1/extract", content=b"task=ner", headers={"content-type": "text/plain"}))[
        :2
    ] == (415, "UnsupportedMediaType")


def test_a_failing_planner_is_502(serve_reamo: Callable[..., Reamo]) -> None:
    def crash(request: PlanRequest) -> str:
        raise ConnectionError("model server down")

    with served(serve_reamo(crash)) as client:
        status, kind, message = error_of(client.post("/v1/extract", json={"task": "ner", "text": TEXT}))
    assert (status, kind) == (502, "PlannerError")
    assert "model server down" in message


def test_unexpected_exceptions_are_500_without_a_traceback(
    serve_reamo: Callable[..., Reamo], caplog: pytest.LogCaptureFixture
) -> None:
    reamo = serve_reamo()

    def crashing(*args: Any, **kwargs: Any) -> Iterator[ProgressEvent]:
        def events() -> Iterator[ProgressEvent]:
            yield ProgressEvent(stage="plan", message="planning")
            raise ZeroDivisionError("secret internals")

        return events()

    reamo.stream = crashing  # type: ignore[method-assign]
    with served(reamo) as client:
        response = client.post("/v1/extract", json={"task": "ner", "text": TEXT})
        streamed = client.post("/v1/extract?stream=true", json={"task": "ner", "text": TEXT})

    status, kind, _message = error_of(response)
    assert (status, kind) == (500, "InternalError")
    assert "secret" not in response.text
    assert "Traceback" not in response.text
    frames = list(sse_events(streamed.text.splitlines()))
    assert [event for event, _ in frames] == ["progress", "error"]
    assert json.loads(frames[1][1])["error"]["type"] == "InternalError"
    assert "secret" not in streamed.text
    crashes = [r for r in caplog.records if r.exc_info and r.exc_info[0] is ZeroDivisionError]
    assert len(crashes) == 2  # the service's log has both tracebacks


def test_oversize_bodies_get_413(serve_reamo: Callable[..., Reamo], media_dir: Path) -> None:
    photo = (media_dir / "photo.png").read_bytes()
    assert len(photo) > 2048
    with served(serve_reamo(OBAMA_IN_IMAGE), max_body_mb=2048 / 1024 / 1024) as client:
        sized = client.post("/v1/extract", data={"task": "ner"}, files=[("image", ("p.png", photo))])

        def chunks() -> Iterator[bytes]:  # no Content-Length: the limit counts as the body arrives
            body = json.dumps({"task": "ner", "text": "x" * 4000}).encode()
            yield from (body[i : i + 1000] for i in range(0, len(body), 1000))

        chunked = client.post("/v1/extract", content=chunks(), headers={"content-type": "application/json"})
        small = client.post("/v1/extract", json={"task": "ner", "text": TEXT})

    for response in (sized, chunked):
        status, kind, message = error_of(response)
        assert (status, kind) == (413, "PayloadTooLarge")
        assert "--max-upload-mb" in message
    assert small.status_code == 200


def test_a_full_queue_gets_503_and_the_queued_requests_still_run(serve_reamo: Callable[..., Reamo]) -> None:
    gate = Gate()
    answers: list[httpx.Response] = []
    with served(serve_reamo(gate), queue=1) as client:

        def post() -> None:
            answers.append(client.post("/v1/extract", json={"task": "ner", "text": TEXT}))

        running = threading.Thread(target=post)
        running.start()
        wait_until(lambda: client.get("/health").json()["running"] == 1)
        waiting = threading.Thread(target=post)
        waiting.start()
        wait_until(lambda: client.get("/health").json()["queue_depth"] == 1)

        status, kind, message = error_of(client.post("/v1/extract", json={"task": "ner", "text": TEXT}))
        assert (status, kind) == (503, "ServiceBusy")
        assert "1 waiting" in message
        assert "--queue" in message

        gate.open.set()
        running.join(10)
        waiting.join(10)
        assert [r.status_code for r in answers] == [200, 200]
        assert gate.entered == 2
        health = client.get("/health").json()
        assert (health["running"], health["queue_depth"]) == (0, 0)


def test_a_slow_extraction_gets_504_and_frees_its_slot(serve_reamo: Callable[..., Reamo]) -> None:
    gate = Gate()
    reamo = serve_reamo(gate)
    with served(reamo, timeout_s=0.3) as client:
        status, kind, message = error_of(client.post("/v1/extract", json={"task": "ner", "text": TEXT}))
        assert (status, kind) == (504, "RequestTimeout")
        assert "--timeout" in message
        streamed = client.post("/v1/extract?stream=true", json={"task": "ner", "text": TEXT})
        assert [f[0] for f in sse_events(streamed.text.splitlines())][-1] == "error"
        assert "RequestTimeout" in streamed.text
        gate.open.set()
        wait_until(lambda: client.get("/health").json()["running"] == 0)
    assert reamo._graph.checkpointer.storage == {}


# --------------------------------------------------------------------------
# The other endpoints
# --------------------------------------------------------------------------


def test_tools_schema_and_health(client: TestClient, registry: ToolRegistry) -> None:
    tools = client.get("/v1/tools").json()
    assert tools == json.loads(json.dumps(tool_catalogue(registry)))
    assert set(tools) == {"fake.image.segment.v1", "fake.audio.segment.v1", "fake.video.track.v1"}
    properties = tools["fake.image.segment.v1"]["call_schema"]["properties"]
    assert properties["module"]["const"] == "ImageSegmentation"
    assert client.get("/v1/schema").json() == json.loads(json.dumps(json_schemas()))
    assert client.get("/health").json() == {
        "status": "ok",
        "version": "0.1.0",
        "planner": "scripted",
        "running": 0,
        "queue_depth": 0,
        "queue_limit": 8,
        "concurrency": 1,
    }


def test_openapi_documents_the_request_body(client: TestClient) -> None:
    doc = client.get("/openapi.json").json()
    body = doc["paths"]["/v1/extract"]["post"]["requestBody"]["content"]
    assert body["application/json"]["schema"] == {"$ref": "#/components/schemas/ExtractRequest"}
    form = body["multipart/form-data"]["schema"]["properties"]
    assert set(form) >= {"arguments", "image", "audio", "video"}
    request = doc["components"]["schemas"]["ExtractRequest"]
    assert set(request["properties"]) >= {"task", "text", "labels", "schema", "image", "audio", "video"}
    assert request["properties"]["schema"]["anyOf"][0] == {"$ref": "#/components/schemas/LabelSet"}
    assert {"LabelSet", "Label"} <= set(doc["components"]["schemas"])
    assert {"/health", "/v1/tools", "/v1/schema"} <= set(doc["paths"])
    docs = client.get("/docs")
    assert docs.status_code == 200
    assert "swagger" in docs.text.lower()


@pytest.mark.parametrize("warmup", [True, False])
def test_the_app_from_the_environment_builds_its_reamo_at_start_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, warmup: bool
) -> None:
    import reamo.serve

    answers = tmp_path / "answers.json"
    answers.write_text(json.dumps([PEOPLE]))
    settings = ServeSettings(planner=f"scripted:{answers}", queue=3, warmup=warmup)
    monkeypatch.setenv(SETTINGS_ENV, settings.model_dump_json())
    monkeypatch.setenv("REAMO_PLUGINS", "false")
    built: list[Reamo] = []
    monkeypatch.setattr(reamo.serve, "Reamo", lambda *a, **k: built.append(Reamo(*a, **k)) or built[-1])
    app = app_from_env()
    client = TestClient(app)
    assert error_of(client.get("/v1/tools"))[:2] == (503, "Starting")  # no start-up has run yet
    with client:
        [worker_reamo] = built
        assert isinstance(worker_reamo.planner, ScriptedPlanner)
        warm_texts = {r.inputs.text for r in worker_reamo.planner.requests}  # with its re-asks
        assert warm_texts == ({"Barack Obama visited Paris."} if warmup else set())
        health = client.get("/health").json()
        assert health["status"] == "ok"
        assert health["planner"] == "scripted:answers.json"
        assert health["queue_limit"] == 3
        result = client.post("/v1/extract", json={"task": "ner", "text": TEXT}).json()
        assert [e["text"] for e in result["entities"]] == ["Barack Obama", "Angela Merkel", "Berlin"]
    assert worker_reamo._graph.checkpointer.storage == {}


def test_serve_command_passes_its_options(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import reamo.serve

    seen: list[ServeSettings] = []
    monkeypatch.setattr(reamo.serve, "serve", seen.append)
    argv = ["serve", "--port", "9000", "--workers", "2", "--planner", "spacy", "--media-root", str(tmp_path)]
    assert main([*argv, "--queue", "3", "--timeout", "20", "--max-upload-mb", "5", "--no-warmup"]) == 0
    options = {"queue": 3, "timeout_s": 20, "max_body_mb": 5, "warmup": False}
    assert seen == [ServeSettings(port=9000, workers=2, planner="spacy", media_root=tmp_path, **options)]
    assert main(["serve", "--workers", "0"]) == 2  # a ConfigError, reported as one


# --------------------------------------------------------------------------
# The client: Reamo(url=...)
# --------------------------------------------------------------------------


def test_remote_reamo_round_trip_through_a_test_client(
    serve_reamo: Callable[..., Reamo], media_dir: Path
) -> None:
    local = serve_reamo(OBAMA_IN_IMAGE).extract("ner", TEXT, image=media_dir / "photo.png")
    with served(serve_reamo(OBAMA_IN_IMAGE)) as client:
        remote = Reamo(url="http://testserver", client=client)
        assert isinstance(remote, RemoteReamo)
        result = remote.extract("ner", TEXT, image=media_dir / "photo.png")
        events = list(remote.stream("ner", TEXT, image=str(media_dir / "photo.png")))

    for got in (result, events[-1].result if isinstance(events[-1], ResultEvent) else None):
        assert got is not None
        assert got.inputs == local.inputs  # the uploaded image has its local path again
        assert got.entities == local.entities
        assert [(r.tool, r.status) for r in got.calls] == [(r.tool, r.status) for r in local.calls]
    assert all(isinstance(e, ProgressEvent) for e in events[:-1])
    assert len(events) > 2


@pytest.mark.parametrize(
    "labels",
    [
        ["person", {"name": "couple", "description": COUPLE}],
        f"person, couple: {COUPLE}",
        {"entity_types": ["person", {"name": "couple", "description": COUPLE}]},
        LabelSchema(entity_types=["person", "couple"], descriptions={"couple": COUPLE}),
    ],
    ids=["list", "comma-string", "label-set", "label-schema"],
)
def test_remote_reamo_sends_the_descriptions(client: TestClient, labels: Any) -> None:
    result = RemoteReamo("http://testserver", client=client).extract("ner", TEXT, labels=labels)
    assert result.labels.entity_types == ["person", "couple"]
    assert result.labels.descriptions == {"couple": COUPLE}


def test_remote_reamo_refuses_a_bad_label_before_sending() -> None:
    def unreachable(request: httpx.Request) -> httpx.Response:
        raise AssertionError("nothing may be sent")

    remote = RemoteReamo("http://testserver", transport=httpx.MockTransport(unreachable))
    with pytest.raises(LabelSchemaError, match="label 1 has no 'name'"):
        remote.extract("ner", TEXT, labels=[{"description": COUPLE}])


def test_remote_reamo_raises_the_services_typed_errors(
    serve_reamo: Callable[..., Reamo], media_dir: Path
) -> None:
    gate = Gate()
    with served(serve_reamo(gate), queue=0) as client:
        remote = RemoteReamo("http://testserver", client=client)
        with pytest.raises(UnknownTaskError, match="Unknown task 'nerd'"):
            remote.extract("nerd", TEXT)
        with pytest.raises(LabelSchemaError):
            remote.stream("ner", TEXT, labels=",")
        with pytest.raises(EmptyInputError):
            remote.extract("ner")
        with pytest.raises(MediaNotFoundError):  # checked here, before uploading
            remote.extract("ner", TEXT, image=media_dir / "missing.png")
        with pytest.raises(UnsupportedMediaError):
            remote.extract("ner", TEXT, image=media_dir / "notes.txt")
        with pytest.raises(InputError, match="frames"):
            remote.extract("ner", video=media_dir / "clip")
        with pytest.raises(InputError, match="thread_id"):
            remote.extract("ner", TEXT, thread_id="t1")
        with pytest.raises(ServiceError, match="MediaPathForbidden") as forbidden:
            RemoteReamo("http://testserver", client=client, upload=False).extract(
                "ner", TEXT, image="photo.png"
            )
        assert forbidden.value.status == 403

        busy = threading.Thread(target=lambda: remote.extract("ner", TEXT))
        busy.start()
        wait_until(lambda: gate.entered == 1)
        with pytest.raises(ServiceError, match="busy") as refused:
            remote.extract("ner", TEXT, labels=LabelSchema(entity_types=["person"]))
        assert (refused.value.status, refused.value.kind) == (503, "ServiceBusy")
        gate.open.set()
        busy.join(10)


def test_remote_reamo_says_when_no_service_answers() -> None:
    with pytest.raises(ServiceError, match="Can't reach the REAMO service") as refused:
        RemoteReamo("http://127.0.0.1:9", timeout=5).extract("ner", TEXT)
    assert refused.value.status is None


def test_reamo_url_with_local_backend_settings_is_refused() -> None:
    from reamo import ConfigError

    with pytest.raises(ConfigError, match="planner can't be given here"):
        Reamo(url="http://127.0.0.1:8765", planner="spacy")


@pytest.fixture
def live_server(serve_reamo: Callable[..., Reamo]) -> Iterator[str]:
    """A real uvicorn server on a free port, in a thread, serving a scripted Reamo."""
    app: FastAPI = create_app(serve_reamo(OBAMA_IN_IMAGE))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_until(lambda: server.started)
    port = server.servers[0].sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)


def test_reamo_url_against_a_real_server(live_server: str, media_dir: Path) -> None:
    reamo = Reamo(url=live_server, timeout=30)
    assert isinstance(reamo, RemoteReamo)
    with reamo:
        result = reamo.extract("ner", TEXT, image=media_dir / "photo.png", labels="person")
        events = list(reamo.stream("ner", TEXT, image=media_dir / "photo.png"))
    assert result.inputs.images[0].path == media_dir / "photo.png"
    assert region_of(result, "e1").box == OBAMA_BOX
    assert isinstance(events[-1], ResultEvent)
    assert events[-1].result.entities == result.entities
    assert next(e.stage for e in events[:-1] if isinstance(e, ProgressEvent)) == "perceive"
    assert httpx.get(f"{live_server}/health").json()["status"] == "ok"


def test_readme_service_example_runs(
    live_server: str, media_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    readme = (Path(__file__).parents[1] / "README.md").read_text()
    section = readme.split("### Service", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert code is not None
    assert 'Reamo(url="http://127.0.0.1:8765")' in code.group(1)
    (tmp_path / "photo.jpg").write_bytes((media_dir / "photo.png").read_bytes())
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, Any] = {}
    exec(compile(code.group(1).replace("http://127.0.0.1:8765", live_server), "README.md", "exec"), namespace)
    result = namespace["result"]
    assert isinstance(result, ExtractionResult)
    assert result.inputs.images[0].path == Path("photo.jpg")  # uploaded, named by its local path
    assert isinstance(namespace["event"], ResultEvent)
