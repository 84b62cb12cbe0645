"""The refiner protocol: the validated records of one request in, the records a refiner makes of them out.

A refiner checks and completes what a planner wrote (scores entity pairs for relations, drops entities it
doubts, adds mentions it is sure of). The refine node runs each one on its own, between validate and
ground, whatever the planner backend; ``edits.Draft`` is the safe way to change the records.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from reamo.agent.reading import reading_text, speaks_text
from reamo.config import ReamoConfig
from reamo.schemas import (
    BackendInfo,
    Diagnostic,
    Entity,
    Event,
    Inputs,
    LabelSchema,
    MetaResponse,
    Perception,
    Relation,
    Task,
)
from reamo.tools.protocol import Resources

REPLACEABLE = frozenset({"relations", "arguments"})
"""The lists a refiner may replace wholesale (``Refiner.replaces``): the answer's relations, and the
arguments of its events whose trigger is in the request's text."""


@dataclass(frozen=True)
class RefineRequest:
    """One request's validated records and what they were read from. The records are the refiner's own
    copies: changing them in place changes nothing (return a ``Refinement``)."""

    task: Task
    inputs: Inputs
    labels: LabelSchema
    perception: Perception
    entities: tuple[Entity, ...] = ()
    relations: tuple[Relation, ...] = ()
    events: tuple[Event, ...] = ()
    calls: tuple[MetaResponse, ...] = ()
    """The queued tool calls, one per concept and medium."""
    text: str | None = None
    """The text the records were read from: the input text, else the first transcript."""
    spoken_text: bool = False
    """A transcript reads the input text aloud (``speaks_text``)."""
    call_schemas: Mapping[str, dict[str, Any]] = field(default_factory=dict)
    """The JSON Schema of a call to each usable module (its ``target`` enum: the media it grounds in),
    from which a new concept's calls are made (``edits.Draft`` does it)."""

    @classmethod
    def build(
        cls,
        task: Task,
        inputs: Inputs,
        labels: LabelSchema,
        perception: Perception,
        *,
        entities: tuple[Entity, ...] = (),
        relations: tuple[Relation, ...] = (),
        events: tuple[Event, ...] = (),
        calls: tuple[MetaResponse, ...] = (),
        call_schemas: Mapping[str, dict[str, Any]] | None = None,
    ) -> RefineRequest:
        """A request with its ``text`` and ``spoken_text`` worked out; without records it is what
        ``Refiner.replaces`` is asked before planning."""
        return cls(
            task=task,
            inputs=inputs,
            labels=labels,
            perception=perception,
            entities=entities,
            relations=relations,
            events=events,
            calls=calls,
            text=reading_text(inputs, perception),
            spoken_text=speaks_text(inputs, perception),
            call_schemas=dict(call_schemas or {}),
        )

    @property
    def speech_alone(self) -> bool:
        """The input is speech and nothing else: whatever is said can be found in the audio, so what a
        refiner adds is a concept."""
        return self.inputs.modalities == ["audio"]


@dataclass(frozen=True)
class Refinement:
    """What a refiner made of a request's records, and ``effects``: what it changed, as info diagnostics
    with codes ``refine.<refiner>.added`` / ``.dropped`` / ``.relations`` / ``.arguments``."""

    entities: list[Entity]
    relations: list[Relation]
    events: list[Event]
    calls: list[MetaResponse]
    effects: list[Diagnostic] = field(default_factory=list)

    @classmethod
    def unchanged(cls, request: RefineRequest) -> Refinement:
        return cls(
            entities=list(request.entities),
            relations=list(request.relations),
            events=list(request.events),
            calls=list(request.calls),
        )


@runtime_checkable
class Refiner(Protocol):
    """A refine-stage plugin. ``replaces`` is asked before planning (the request has no records yet):
    the lists of ``REPLACEABLE`` it will write itself for this request, which the planner need not
    decode and the validator does not check."""

    name: str

    def describe(self) -> BackendInfo:
        """Role ``refiner``, the refiner's name and what it runs."""
        ...

    def applies(self, request: RefineRequest) -> bool:
        """Whether it has anything to do for this request (its task, its labels, a text)."""
        ...

    def replaces(self, request: RefineRequest) -> frozenset[str]: ...

    def refine(self, request: RefineRequest) -> Refinement: ...


@dataclass(frozen=True)
class RefinerSetup:
    """What a refiner factory builds a refiner from: its settings (``refiner_options[name]``), the whole
    config, and the run's shared model handles (load models there, on first use)."""

    name: str
    options: Mapping[str, Any] = field(default_factory=dict)
    config: ReamoConfig = field(default_factory=ReamoConfig)
    resources: Resources = field(default_factory=Resources)
