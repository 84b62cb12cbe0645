"""The server planner: any OpenAI-compatible chat-completions server (vLLM, llama.cpp server, Ollama)
by base URL, ``openai:URL#MODEL`` in the config (without ``#MODEL`` the server's first model is used).

The answer's JSON Schema goes out as ``response_format`` so servers with guided decoding return valid
JSON; a server that refuses the field is asked again without it, and from then on the validator's
repair loop does the checking. ``planner_options``: api_key (or $OPENAI_API_KEY), timeout_s,
max_tokens, strict, response_format (true/false), prompt, candidates.
"""

from __future__ import annotations

import json
import os
import threading
import urllib.error
import urllib.request
from collections.abc import Mapping
from typing import Any

from reamo.agent.planners.prompting import Candidates, PromptStyle, planner_messages
from reamo.agent.planners.protocol import PlanRequest
from reamo.errors import ConfigError, PlannerError
from reamo.schemas import BackendInfo
from reamo.tools.protocol import Resources

KEY_ENV = "OPENAI_API_KEY"
SCHEMA_NAME = "reamo_answer"


class ServerRefusedFormatError(Exception):
    """The server answered 400/422 about ``response_format``: it can't constrain to a schema."""


def parse_spec(arg: str) -> tuple[str, str | None]:
    """``URL#MODEL`` -> (base URL without a trailing slash, model or None)."""
    url, _, model = arg.partition("#")
    url = url.strip().rstrip("/")
    if not url.startswith(("http://", "https://")):
        raise ConfigError(
            f"The openai planner needs a base URL: --planner openai:http://HOST:PORT/v1#MODEL (got {arg!r})."
        )
    return url, model.strip() or None


class OpenAIPlanner:
    """Chat completions over HTTP, deterministic (temperature 0), schema-constrained where supported."""

    def __init__(
        self,
        base_url: str,
        model: str | None,
        *,
        style: PromptStyle,
        api_key: str | None = None,
        timeout_s: float = 120.0,
        max_tokens: int = 1024,
        strict: bool = False,
        response_format: bool = True,
        resources: Resources | None = None,
    ) -> None:
        self.base_url = base_url
        self.model = model
        self.style = style
        self.api_key = api_key
        self.timeout_s = timeout_s
        self.max_tokens = max_tokens
        self.strict = strict
        self.schema_supported = response_format
        self._candidates = Candidates(resources) if style.candidates else None
        self._lock = threading.Lock()

    def describe(self) -> BackendInfo:
        constrained = "JSON-schema response format" if self.schema_supported else "repair loop only"
        return BackendInfo(
            role="planner",
            name=f"openai:{self.base_url}#{self.model or '?'}",
            detail=f"OpenAI-compatible server, {constrained}",
        )

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.base_url + path, data=data, headers=headers, method=method)
        try:
            with urllib.request.urlopen(req, timeout=self.timeout_s) as resp:
                payload = json.loads(resp.read().decode("utf-8"))
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode("utf-8", "replace")[:500]
            if exc.code in (400, 422) and body and "response_format" in body and "response_format" in detail:
                raise ServerRefusedFormatError(detail) from exc
            raise PlannerError(
                f"The planner server {self.base_url} answered {exc.code} to {method} {path}: {detail}"
            ) from exc
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            raise PlannerError(
                f"Can't reach the planner server at {self.base_url}: {exc}. Is it running, and is the "
                "URL its OpenAI-compatible base (usually ending in /v1)?"
            ) from exc
        except json.JSONDecodeError as exc:
            raise PlannerError(f"The planner server {self.base_url} sent no JSON for {path}: {exc}") from exc
        if not isinstance(payload, dict):
            raise PlannerError(f"The planner server {self.base_url} sent {type(payload).__name__} for {path}")
        return payload

    def _model(self) -> str:
        if self.model is None:
            models = self._call("GET", "/models").get("data") or []
            if not models:
                raise PlannerError(
                    f"The planner server {self.base_url} lists no models; name one: openai:URL#MODEL"
                )
            self.model = str(models[0]["id"])
        return self.model

    def plan(self, request: PlanRequest) -> str:
        with self._lock:
            messages = planner_messages(request, self.style, self._candidates)
            body: dict[str, Any] = {
                "model": self._model(),
                "messages": [{"role": m.role, "content": m.content} for m in messages],
                "temperature": 0,
                "max_tokens": self.max_tokens,
            }
            if self.schema_supported:
                body["response_format"] = {
                    "type": "json_schema",
                    "json_schema": {
                        "name": SCHEMA_NAME,
                        "schema": request.answer_schema,
                        "strict": self.strict,
                    },
                }
            try:
                payload = self._call("POST", "/chat/completions", body)
            except ServerRefusedFormatError:
                self.schema_supported = False  # from now on the validator's repair loop checks the answers
                del body["response_format"]
                payload = self._call("POST", "/chat/completions", body)
            try:
                content = payload["choices"][0]["message"]["content"]
            except (KeyError, IndexError, TypeError) as exc:
                raise PlannerError(
                    f"The planner server {self.base_url} sent no choices[0].message.content: "
                    f"{json.dumps(payload)[:300]}"
                ) from exc
            return str(content or "")


def make_openai(arg: str, options: Mapping[str, Any], resources: Resources | None = None) -> OpenAIPlanner:
    url, model = parse_spec(arg)
    api_key = options.get("api_key") or os.environ.get(KEY_ENV)
    return OpenAIPlanner(
        url,
        model,
        style=PromptStyle.from_options(options, tuned=False),
        api_key=str(api_key) if api_key else None,
        timeout_s=float(options.get("timeout_s", 120.0)),
        max_tokens=int(options.get("max_tokens", 1024)),
        strict=bool(options.get("strict", False)),
        response_format=bool(options.get("response_format", True)),
        resources=resources,
    )
