"""The result of one extraction, and the progress events streamed while it runs."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from reamo.schemas.calls import MetaResponse
from reamo.schemas.groundings import Grounding
from reamo.schemas.inputs import Inputs
from reamo.schemas.labels import LabelSchema, Task
from reamo.schemas.perception import Perception
from reamo.schemas.records import Entity, Event, FailureKind, Relation

Level = Literal["info", "warning", "error"]
Stage = Literal["perceive", "plan", "validate", "refine", "ground", "merge", "window"]


class Diagnostic(BaseModel):
    """Something the run noticed: a repaired or dropped planner item, a failed tool, a clipped mask."""

    level: Level
    stage: Stage
    code: str = Field(description="stable machine-readable code, e.g. 'planner.unknown_label'")
    message: str
    concept: str | None = None
    window: int | None = Field(default=None, description="the window of a long input it happened in")


class ToolRun(BaseModel):
    """One meta-response as it ran: the call, the tool that served it and what came back."""

    call: MetaResponse
    tool: str = Field(description="versioned tool name, e.g. image.segment.v1")
    status: Literal["ok"] | FailureKind
    groundings: list[Grounding] = Field(default_factory=list)
    error: str | None = None
    seconds: float = Field(ge=0.0)


class WindowInfo(BaseModel):
    """One window of an input: the part of the text and transcripts it read, and how it went. A long
    input is read in several windows whose results are joined; a short one is one window."""

    index: int = Field(ge=0)
    text: tuple[int, int] | None = Field(
        default=None, description="[start, end) characters of the input text it read"
    )
    times: dict[str, tuple[float, float]] = Field(
        default_factory=dict, description="media id -> [start, end) seconds of the transcript it read"
    )
    status: Literal["ok", "partial", "failed"] = Field(
        description="partial: part of the planner's answer was dropped; failed: no records came back"
    )
    error: str | None = None
    records: list[str] = Field(
        default_factory=list, description="ids of the entities and events it found, in the joined result"
    )
    seconds: float = Field(default=0.0, ge=0.0)


class BackendInfo(BaseModel):
    """A backend that took part: the planner, a perception model or a grounding tool."""

    role: str = Field(description="planner, perception:image, tool:image.segment.v1, ...")
    name: str
    detail: str = ""


class ExtractionResult(BaseModel):
    """Records with their groundings, and an account of how they were made."""

    task: Task
    inputs: Inputs
    labels: LabelSchema
    entities: list[Entity] = Field(default_factory=list)
    relations: list[Relation] = Field(default_factory=list)
    events: list[Event] = Field(default_factory=list)
    calls: list[ToolRun] = Field(default_factory=list)
    diagnostics: list[Diagnostic] = Field(default_factory=list)
    perception: Perception = Field(default_factory=Perception)
    planner_attempts: int = Field(default=0, ge=0)
    complete: bool = Field(default=True, description="false when part of the planner's answer was dropped")
    timings: dict[str, float] = Field(default_factory=dict, description="seconds per stage")
    backends: list[BackendInfo] = Field(default_factory=list)
    windows: list[WindowInfo] = Field(
        default_factory=list, description="the windows the input was read in (one for a short input)"
    )

    def entity(self, entity_id: str) -> Entity:
        for entity in self.entities:
            if entity.id == entity_id:
                return entity
        raise KeyError(
            f"no entity {entity_id!r}; entities: {', '.join(e.id for e in self.entities) or 'none'}"
        )


class ProgressEvent(BaseModel):
    """A step of a running extraction, streamed by ``Reamo.stream`` and shown by the chat."""

    type: Literal["progress"] = "progress"
    stage: Stage
    message: str
    current: int | None = None
    total: int | None = None
    data: dict[str, Any] = Field(default_factory=dict)


class ResultEvent(BaseModel):
    """The last event of a stream: the finished result."""

    type: Literal["result"] = "result"
    result: ExtractionResult
