"""Typed contracts of REAMO: inputs, labels, groundings, records, meta-responses, results.

Every JSON Schema REAMO publishes is derived from these models (``json_schemas``); none is hand-written.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, TypeAdapter

from reamo.schemas.calls import (
    MetaResponse,
    PlannedArgument,
    PlannedCall,
    PlannedEntity,
    PlannedEvent,
    PlannedRelation,
    PlannerAnswer,
)
from reamo.schemas.groundings import (
    RLE,
    AudioSpan,
    Box,
    Grounding,
    ImageRegion,
    TextSpan,
    TrackFrame,
    VideoTrack,
)
from reamo.schemas.inputs import (
    MEDIA_ID_PATTERN,
    MEDIA_MODALITIES,
    TEXT_ID,
    Inputs,
    MediaInput,
    Modality,
    media_id,
    modality_of,
)
from reamo.schemas.labels import (
    LABEL_LISTS,
    TASK_LABELS,
    TASKS,
    Label,
    LabelItem,
    LabelSchema,
    LabelSet,
    Task,
)
from reamo.schemas.perception import (
    AudioPerception,
    DetectedObject,
    FramePerception,
    ImagePerception,
    OcrLine,
    Perception,
    Transcript,
    VideoPerception,
    Word,
)
from reamo.schemas.records import Argument, Entity, Event, GroundingFailure, Relation, Trigger
from reamo.schemas.result import (
    BackendInfo,
    Diagnostic,
    ExtractionResult,
    ProgressEvent,
    ResultEvent,
    ToolRun,
    WindowInfo,
)

__all__ = [
    "LABEL_LISTS",
    "MEDIA_ID_PATTERN",
    "MEDIA_MODALITIES",
    "RLE",
    "TASKS",
    "TASK_LABELS",
    "TEXT_ID",
    "Argument",
    "AudioPerception",
    "AudioSpan",
    "BackendInfo",
    "Box",
    "DetectedObject",
    "Diagnostic",
    "Entity",
    "Event",
    "ExtractionResult",
    "FramePerception",
    "Grounding",
    "GroundingFailure",
    "ImagePerception",
    "ImageRegion",
    "Inputs",
    "Label",
    "LabelItem",
    "LabelSchema",
    "LabelSet",
    "MediaInput",
    "MetaResponse",
    "Modality",
    "OcrLine",
    "Perception",
    "PlannedArgument",
    "PlannedCall",
    "PlannedEntity",
    "PlannedEvent",
    "PlannedRelation",
    "PlannerAnswer",
    "ProgressEvent",
    "Relation",
    "ResultEvent",
    "Task",
    "TextSpan",
    "ToolRun",
    "TrackFrame",
    "Transcript",
    "Trigger",
    "VideoPerception",
    "VideoTrack",
    "WindowInfo",
    "Word",
    "json_schemas",
    "media_id",
    "modality_of",
    "schema_models",
]

_PUBLISHED: dict[str, type[BaseModel] | Any] = {
    "inputs": Inputs,
    "labels": LabelSchema,
    "label_set": LabelSet,
    "grounding": Grounding,
    "entity": Entity,
    "relation": Relation,
    "event": Event,
    "meta_response": MetaResponse,
    "planner_answer": PlannerAnswer,
    "perception": Perception,
    "result": ExtractionResult,
    "progress_event": ProgressEvent,
}


def json_schemas() -> dict[str, dict[str, Any]]:
    """The JSON Schema of every published contract, by name (pinned by golden files, ``reamo schema``)."""
    return {name: TypeAdapter(tp).json_schema() for name, tp in _PUBLISHED.items()}


def schema_models() -> list[type[BaseModel]]:
    """Every pydantic model class of this package (the checkpointer's allow-list for deserialising)."""
    return sorted(
        {obj for obj in globals().values() if isinstance(obj, type) and issubclass(obj, BaseModel)},
        key=lambda cls: (cls.__module__, cls.__qualname__),
    )
