"""REAMO: grounded multimodal universal information extraction.

Entities, relations and events from text, images, speech and video, each grounded in its media: a
character span, an image mask, an audio time span, a video track.
"""

from __future__ import annotations

from reamo.agent.refiners import Refinement, Refiner, RefineRequest, RefinerRegistry
from reamo.config import ReamoConfig
from reamo.errors import (
    BackendUnavailableError,
    ConfigError,
    ConformanceError,
    EmptyInputError,
    InputError,
    LabelSchemaError,
    MediaNotFoundError,
    PlannerError,
    ReamoError,
    RefinerNotFoundError,
    RegistrationError,
    ServiceError,
    ToolNotFoundError,
    ToolRunError,
    UnknownTaskError,
    UnreadableMediaError,
    UnsupportedMediaError,
)
from reamo.remote import RemoteReamo
from reamo.schemas import (
    AudioSpan,
    Entity,
    Event,
    ExtractionResult,
    ImageRegion,
    Inputs,
    LabelSchema,
    MetaResponse,
    ProgressEvent,
    Relation,
    ResultEvent,
    TextSpan,
    VideoTrack,
)
from reamo.sdk import Reamo, Session
from reamo.tools import Tool, ToolArgs, ToolContext, ToolRegistry, tool

__version__ = "0.1.0"

__all__ = [
    "AudioSpan",
    "BackendUnavailableError",
    "ConfigError",
    "ConformanceError",
    "EmptyInputError",
    "Entity",
    "Event",
    "ExtractionResult",
    "ImageRegion",
    "InputError",
    "Inputs",
    "LabelSchema",
    "LabelSchemaError",
    "MediaNotFoundError",
    "MetaResponse",
    "PlannerError",
    "ProgressEvent",
    "Reamo",
    "ReamoConfig",
    "ReamoError",
    "RefineRequest",
    "Refinement",
    "Refiner",
    "RefinerNotFoundError",
    "RefinerRegistry",
    "RegistrationError",
    "Relation",
    "RemoteReamo",
    "ResultEvent",
    "ServiceError",
    "Session",
    "TextSpan",
    "Tool",
    "ToolArgs",
    "ToolContext",
    "ToolNotFoundError",
    "ToolRegistry",
    "ToolRunError",
    "UnknownTaskError",
    "UnreadableMediaError",
    "UnsupportedMediaError",
    "VideoTrack",
    "__version__",
    "tool",
]
