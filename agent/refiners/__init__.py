"""Refiners: typed plugins of the refine stage, which check and complete the validated records of every
planner backend (``protocol.Refiner``; third parties register under the entry-point group
``reamo.refiners``)."""

from __future__ import annotations

from reamo.agent.reading import reading_text, speaks_text
from reamo.agent.refiners.edits import Draft
from reamo.agent.refiners.protocol import REPLACEABLE, Refinement, Refiner, RefineRequest, RefinerSetup

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
