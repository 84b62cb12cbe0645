"""A planner that plays back prepared answers: for tests, demos and replaying a recorded run."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from reamo.agent.planners.protocol import PlanRequest
from reamo.errors import ConfigError, PlannerError
from reamo.schemas import BackendInfo

Answer = str | dict[str, Any] | Callable[[PlanRequest], "str | dict[str, Any]"]


class ScriptedPlanner:
    """Answers in order: a string is returned as is, a dict as JSON, a callable is called with the request."""

    def __init__(
        self, answers: Sequence[Answer], *, name: str = "scripted", repeat_last: bool = False
    ) -> None:
        if not answers:
            raise ConfigError("A scripted planner needs at least one answer.")
        self._answers = list(answers)
        self._next = 0
        self.name = name
        self.repeat_last = repeat_last
        self.requests: list[PlanRequest] = []

    @classmethod
    def from_file(cls, path: str | Path) -> ScriptedPlanner:
        """Answers from a JSON list or JSON Lines file; each item is an answer object or a raw string."""
        p = Path(path)
        try:
            text = p.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"Can't read the scripted planner's answers from {str(p)!r}: {exc}.") from exc
        try:
            data = json.loads(text)
            answers = data if isinstance(data, list) else [data]
        except json.JSONDecodeError:
            try:
                answers = [json.loads(line) for line in text.splitlines() if line.strip()]
            except json.JSONDecodeError as exc:
                raise ConfigError(
                    f"{str(p)!r} is neither a JSON list nor JSON Lines of answers: {exc}."
                ) from exc
        return cls(answers, name=f"scripted:{p.name}", repeat_last=True)

    def describe(self) -> BackendInfo:
        return BackendInfo(
            role="planner",
            name=self.name,
            detail=f"{len(self._answers)} prepared answer(s), no language model",
        )

    def plan(self, request: PlanRequest) -> str:
        self.requests.append(request)
        if self._next >= len(self._answers):
            if not self.repeat_last:
                raise PlannerError(f"The scripted planner ran out of answers after {len(self._answers)}.")
            self._next = len(self._answers) - 1
        answer = self._answers[self._next]
        self._next += 1
        if callable(answer):
            answer = answer(request)
        return answer if isinstance(answer, str) else json.dumps(answer)
