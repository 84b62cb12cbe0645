"""Planner backends, chosen by a spec string: ``embedded``, ``scripted:FILE``, ``hf:...``, ``openai:...``."""

from __future__ import annotations

from collections.abc import Callable

from reamo.agent.planners.protocol import Message, Planner, PlanRequest
from reamo.agent.planners.scripted import ScriptedPlanner
from reamo.config import ReamoConfig
from reamo.errors import ConfigError
from reamo.tools.protocol import Resources

__all__ = ["PLANNER_BACKENDS", "Message", "PlanRequest", "Planner", "ScriptedPlanner", "make_planner"]

PlannerFactory = Callable[[str, ReamoConfig, Resources], Planner]
"""Builds a planner from its spec's argument and the config; the planner loads its models (on first use,
not here) into the ``Resources`` it is given, which the run's tools share."""


def _scripted(arg: str, config: ReamoConfig, resources: Resources) -> Planner:
    if not arg:
        raise ConfigError("The scripted planner needs a file of answers: --planner scripted:answers.jsonl")
    return ScriptedPlanner.from_file(arg)


def _spacy(arg: str, config: ReamoConfig, resources: Resources) -> Planner:
    from reamo.agent.planners.spacy import MODEL_PACKAGE, SpacyPlanner

    return SpacyPlanner(arg or MODEL_PACKAGE, resources=resources)


def _embedded(arg: str, config: ReamoConfig, resources: Resources) -> Planner:
    from reamo.agent.planners.embedded import make_embedded

    if arg:
        raise ConfigError(
            f"The embedded planner takes no argument (got {arg!r}); choose its adapter, engine or "
            "threads with planner_options, e.g. {'adapter': 'none'}."
        )
    return make_embedded(config.planner_options, resources)


def _hf(arg: str, config: ReamoConfig, resources: Resources) -> Planner:
    from reamo.agent.planners.hf import make_hf

    return make_hf(arg, config.planner_options, resources)


def _openai(arg: str, config: ReamoConfig, resources: Resources) -> Planner:
    from reamo.agent.planners.openai import make_openai

    return make_openai(arg, config.planner_options, resources)


PLANNER_BACKENDS: dict[str, PlannerFactory] = {
    "scripted": _scripted,
    "spacy": _spacy,
    "embedded": _embedded,
    "hf": _hf,
    "openai": _openai,
}
"""Planner factories by spec prefix; a backend module adds itself here."""


def make_planner(spec: str, config: ReamoConfig, resources: Resources | None = None) -> Planner:
    """Build the planner a spec names, such as ``scripted:answers.jsonl`` or ``openai:http://host:8000/v1#m``;
    it loads its models into ``resources`` (the run context's, so tools and planner share one place)."""
    kind, _, arg = spec.partition(":")
    if kind not in PLANNER_BACKENDS:
        raise ConfigError(
            f"Unknown planner {spec!r}. Known kinds: {', '.join(sorted(PLANNER_BACKENDS))} "
            "(e.g. embedded, scripted:FILE, hf:PATH[+ADAPTER], openai:URL#MODEL)."
        )
    return PLANNER_BACKENDS[kind](arg, config, resources if resources is not None else Resources())
