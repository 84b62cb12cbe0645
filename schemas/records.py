"""IE records: entities, relations and events, each carrying its groundings."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from reamo.schemas.groundings import Grounding

FailureKind = Literal["not_found", "error", "timeout", "invalid_arguments", "out_of_bounds"]


class GroundingFailure(BaseModel):
    """Why a concept has no grounding in one medium; the rest of the result is intact."""

    media: str
    tool: str
    kind: FailureKind
    message: str


class Entity(BaseModel):
    """A named entity; ``concept`` marks it as groundable in the media (the paper's ``<concept>``)."""

    id: str = Field(pattern=r"^e[0-9]+$")
    text: str = Field(min_length=1)
    label: str
    concept: bool = False
    groundings: list[Grounding] = Field(default_factory=list)
    failures: list[GroundingFailure] = Field(default_factory=list)

    def grounded_in(self, media: str) -> list[Grounding]:
        return [g for g in self.groundings if g.media == media]


class Relation(BaseModel):
    """A directed, typed relation between two entities of the same result."""

    head: str = Field(pattern=r"^e[0-9]+$", description="entity id")
    tail: str = Field(pattern=r"^e[0-9]+$", description="entity id")
    label: str


class Trigger(BaseModel):
    """The word or phrase that evokes an event; groundable like an entity."""

    id: str = Field(pattern=r"^t[0-9]+$")
    text: str = Field(min_length=1)
    concept: bool = False
    groundings: list[Grounding] = Field(default_factory=list)
    failures: list[GroundingFailure] = Field(default_factory=list)


class Argument(BaseModel):
    """An entity that takes part in an event, in a role."""

    entity: str = Field(pattern=r"^e[0-9]+$", description="entity id")
    role: str


class Event(BaseModel):
    """An event: its type, its trigger and its arguments."""

    id: str = Field(pattern=r"^v[0-9]+$")
    type: str
    trigger: Trigger
    arguments: list[Argument] = Field(default_factory=list)
