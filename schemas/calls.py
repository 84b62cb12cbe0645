"""The planner's answer: records with concept marks, and meta-responses (one tool call per concept).

The planner refers to entities by their surface text, as the paper's tag syntax does; the validator
gives them ids. The JSON Schema the planner is held to is derived from these models, then narrowed
to the label set of the request and the tools and media that are present (``reamo.agent.answer_schema``).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from reamo.schemas.inputs import MEDIA_ID_PATTERN

CONCEPT_ID_PATTERN = r"^[et][0-9]+$"
"""The id the validator gives an entity (e1) or a trigger (t1), which a call's concept may name."""


class MetaResponse(BaseModel):
    """A tool call: ground one concept with one module on one medium."""

    model_config = ConfigDict(frozen=True)

    module: str = Field(description="planner-facing tool module, e.g. ImageSegmentation")
    instruction: str = Field(min_length=1, description="what to find, e.g. 'Obama' or 'the man on the left'")
    target: str = Field(pattern=MEDIA_ID_PATTERN, description="media id, e.g. image:0")
    concept: str = Field(
        pattern=CONCEPT_ID_PATTERN, description="id of the entity (e1) or trigger (t1) grounded"
    )
    options: dict[str, Any] = Field(default_factory=dict, description="tool-specific extra arguments")

    def arguments(self) -> dict[str, Any]:
        """The tool's arguments: instruction and target plus the tool-specific options."""
        return {"instruction": self.instruction, "target": self.target, **self.options}


class PlannedEntity(BaseModel):
    """An entity as the planner writes it."""

    text: str = Field(min_length=1, description="the entity's surface text, as written or heard")
    label: str = Field(description="one of the candidate entity types")
    concept: bool = Field(default=False, description="true when the entity can be grounded in the media")


class PlannedRelation(BaseModel):
    """A relation as the planner writes it: head and tail are entity texts."""

    head: str = Field(min_length=1)
    label: str
    tail: str = Field(min_length=1)


class PlannedArgument(BaseModel):
    text: str = Field(min_length=1, description="the argument entity's surface text")
    role: str


class PlannedEvent(BaseModel):
    trigger: str = Field(min_length=1, description="the trigger word or phrase")
    type: str
    concept: bool = False
    arguments: list[PlannedArgument] = Field(default_factory=list)


class PlannedCall(BaseModel):
    """A call as the planner writes it; ``concept`` is the grounded entity's text (default: instruction)."""

    module: str
    instruction: str = Field(min_length=1)
    target: str = Field(pattern=MEDIA_ID_PATTERN)
    concept: str | None = None


class PlannerAnswer(BaseModel):
    """The whole planner answer, in JSON. The tag syntax parses into the same shape."""

    entities: list[PlannedEntity] = Field(default_factory=list)
    relations: list[PlannedRelation] = Field(default_factory=list)
    events: list[PlannedEvent] = Field(default_factory=list)
    calls: list[PlannedCall] = Field(default_factory=list)
