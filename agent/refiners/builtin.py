"""The built-in refiners, by name, as the registry is filled with them (``build_refiner_registry``)."""

from __future__ import annotations

from reamo.agent.refiners.objects import objects_refiner
from reamo.agent.refiners.protocol import Refiner, RefinerSetup


def _relations(setup: RefinerSetup) -> Refiner:
    from reamo.agent.refiners.relations import RelationRefiner

    return RelationRefiner.from_setup(setup)


def _arguments(setup: RefinerSetup) -> Refiner:
    from reamo.agent.refiners.arguments import ArgumentRefiner

    return ArgumentRefiner.from_setup(setup)


def _entities(setup: RefinerSetup) -> Refiner:
    from reamo.agent.refiners.entities import EntityRefiner

    return EntityRefiner.from_setup(setup)


def _heard(setup: RefinerSetup) -> Refiner:
    from reamo.agent.refiners.heard import HeardRefiner
    from reamo.agent.refiners.scored import check_options

    check_options(setup, ())
    return HeardRefiner()


BUILTIN_REFINERS = {
    "relations": _relations,
    "arguments": _arguments,
    "entities": _entities,
    "heard": _heard,
    "objects": objects_refiner,
}
"""Refiner factories by name; the default ``refiners`` setting runs them in this order."""
