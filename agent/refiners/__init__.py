"""Refiners: typed plugins of the refine stage, which check and complete the validated records of every
planner backend (``protocol.Refiner``; third parties register under the entry-point group
``reamo.refiners``)."""

from __future__ import annotations

from reamo.agent.refiners.edits import Draft
from reamo.agent.refiners.protocol import (
    REPLACEABLE,
    Refinement,
    RefineRequest,
    Refiner,
    RefinerSetup,
    reading_text,
    speaks_text,
)

__all__ = [
    "REPLACEABLE",
    "Draft",
    "RefineRequest",
    "Refinement",
    "Refiner",
    "RefinerSetup",
    "reading_text",
    "speaks_text",
]
