"""Refiners: typed plugins of the refine stage, which check and complete the validated records of every
planner backend (``protocol.Refiner``; third parties register under the entry-point group
``reamo.refiners``)."""

from __future__ import annotations

from reamo.agent.reading import reading_text, speaks_text
from reamo.agent.refiners.edits import Draft
from reamo.agent.refiners.protocol import REPLACEABLE, Refinement, Refiner, RefineRequest, RefinerSetup
from reamo.agent.refiners.registry import ENTRY_POINT_GROUP, RefinerRegistry, build_refiner_registry

__all__ = [
    "ENTRY_POINT_GROUP",
    "REPLACEABLE",
    "Draft",
    "RefineRequest",
    "Refinement",
    "Refiner",
    "RefinerRegistry",
    "RefinerSetup",
    "build_refiner_registry",
    "reading_text",
    "speaks_text",
]
