"""The run context injected into every node: backends, registry, config, shared model handles."""

from __future__ import annotations

from dataclasses import dataclass, field

from reamo.agent.planners.protocol import Planner
from reamo.agent.refiners.protocol import Refiner
from reamo.config import ReamoConfig
from reamo.schemas import Modality
from reamo.schemas.result import ToolRun
from reamo.tools.perception import Perceiver
from reamo.tools.protocol import Resources
from reamo.tools.registry import ToolRegistry


@dataclass
class AgentContext:
    """Dependencies of a run (LangGraph ``context``); tests swap any of them for fakes."""

    planner: Planner
    registry: ToolRegistry
    perceivers: dict[Modality, Perceiver]
    config: ReamoConfig = field(default_factory=ReamoConfig)
    refiners: list[Refiner] = field(default_factory=list)
    """The refine stage's refiners, in order (``Reamo`` builds the config's; none by default here)."""
    resources: Resources = field(default_factory=Resources)
    call_cache: dict[str, ToolRun] | None = None
    """Image and video calls already run for this input (the windows of a long input share it): the
    same call on the same frames needs no second run."""
