"""The refiner registry: refiner factories by name, third-party ones from the ``reamo.refiners`` entry
points, filled in one explicit step (``build_refiner_registry``) and turned into the refiners a config
names (``RefinerRegistry.build``)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from importlib.metadata import EntryPoint, entry_points
from typing import Any

from reamo.agent.refiners.protocol import Refiner, RefinerSetup
from reamo.config import ReamoConfig
from reamo.errors import ConfigError, RefinerNotFoundError, RegistrationError
from reamo.tools.protocol import Resources

ENTRY_POINT_GROUP = "reamo.refiners"
NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$")
METHODS = ("describe", "applies", "replaces", "refine")

RefinerFactory = Callable[[RefinerSetup], Refiner]
"""Builds a refiner from its settings; it loads its models (on first use, not here) into the setup's
``resources``."""


def check_refiner(refiner: object, name: str) -> Refiner:
    """Check a refiner a factory made; raise RegistrationError showing the bad part and the fix."""
    missing = [m for m in METHODS if not callable(getattr(refiner, m, None))]
    if missing or not isinstance(getattr(refiner, "name", None), str):
        what = ", ".join(missing + ([] if isinstance(getattr(refiner, "name", None), str) else ["name"]))
        raise RegistrationError(
            f"Can't use refiner {name!r}: {type(refiner).__name__} lacks {what}\n"
            f"  definition: {refiner!r}\n"
            "  fix: give it name: str and describe(), applies(request), replaces(request) and "
            "refine(request) as reamo.agent.refiners.Refiner declares"
        )
    if refiner.name != name:  # type: ignore[attr-defined]
        raise RegistrationError(
            f"Can't use refiner {name!r}: the refiner its factory made is named "
            f"{refiner.name!r}\n  fix: register it under its own name, or name it {name!r}"  # type: ignore[attr-defined]
        )
    return refiner  # type: ignore[return-value]


def _as_factory(name: str, item: object) -> RefinerFactory:
    """A factory itself, or a factory for a ready refiner (which takes no settings)."""
    if all(callable(getattr(item, m, None)) for m in METHODS):
        refiner = item

        def ready(setup: RefinerSetup) -> Refiner:
            if setup.options:
                raise ConfigError(
                    f"refiner_options.{name} is {dict(setup.options)!r}, but the refiner {name!r} takes no "
                    "settings; remove them."
                )
            return refiner  # type: ignore[return-value]

        return ready
    if callable(item) and not isinstance(item, type):
        factory: RefinerFactory = item
        return factory
    raise RegistrationError(
        f"Can't register refiner {name!r}: {item!r} is neither a refiner nor a factory of one\n"
        "  fix: register a refiner object (name, describe, applies, replaces, refine) or a function "
        "that takes a reamo.agent.refiners.RefinerSetup and returns one"
    )


class RefinerRegistry:
    """Refiner factories by name (lowercase words, dots between: ``relations``, ``acme.objects``)."""

    def __init__(self, factories: Mapping[str, RefinerFactory | Refiner] | None = None) -> None:
        self._factories: dict[str, RefinerFactory] = {}
        for name, item in (factories or {}).items():
            self.register(name, item)

    def register(self, name: str, item: RefinerFactory | Refiner | object, *, replace: bool = False) -> None:
        """Add a refiner (which takes no settings) or a factory (``RefinerSetup -> Refiner``) under ``name``;
        ``replace=True`` lets it take over a name already registered."""
        if not isinstance(name, str) or not NAME_PATTERN.match(name):
            raise RegistrationError(
                f"Can't register refiner {name!r}: its name must be lowercase words joined by dots\n"
                "  fix: name it like 'objects' or 'acme.objects'"
            )
        if name in self._factories and not replace:
            raise RegistrationError(
                f"Can't register refiner {name!r}: the name is already taken\n"
                "  fix: unregister the other one, use register(name, refiner, replace=True), or pick "
                "another name"
            )
        self._factories[name] = _as_factory(name, item)

    def unregister(self, name: str) -> None:
        self.factory(name)
        del self._factories[name]

    def load_entry_points(self, group: str = ENTRY_POINT_GROUP) -> list[str]:
        """Register the refiners installed packages declare under the entry-point group
        ``reamo.refiners``: the entry point's name is the refiner's, its object a refiner or a factory."""
        loaded = []
        for ep in sorted(entry_points(group=group), key=lambda e: e.name):
            self.register(ep.name, _load(ep))
            loaded.append(ep.name)
        return loaded

    def factory(self, name: str) -> RefinerFactory:
        if name not in self._factories:
            raise RefinerNotFoundError(
                f"Can't find refiner {name!r} in the registry. Available names: "
                f"{', '.join(self.names()) or 'none'} (third-party refiners register under the "
                f"{ENTRY_POINT_GROUP!r} entry point)"
            )
        return self._factories[name]

    def build(
        self, names: Sequence[str], config: ReamoConfig, resources: Resources | None = None
    ) -> list[Refiner]:
        """The refiners ``names`` names, in order, each built from its ``refiner_options``."""
        unknown = sorted(set(config.refiner_options) - set(self.names()))
        if unknown:
            raise ConfigError(
                f"refiner_options names refiner(s) {', '.join(map(repr, unknown))} that no one registered; "
                f"available: {', '.join(self.names()) or 'none'}."
            )
        shared = resources if resources is not None else Resources()
        built = []
        for name in names:
            setup = RefinerSetup(
                name=name, options=config.refiner_options.get(name, {}), config=config, resources=shared
            )
            built.append(check_refiner(self.factory(name)(setup), name))
        return built

    def names(self) -> list[str]:
        return sorted(self._factories)

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self._factories)

    def __contains__(self, name: object) -> bool:
        return name in self._factories


def _load(ep: EntryPoint) -> Any:
    where = f"entry point {ep.name!r} = {ep.value!r} in group {ep.group!r}"
    try:
        return ep.load()
    except Exception as exc:
        raise RegistrationError(
            f"Can't load {where}: {type(exc).__name__}: {exc}\n"
            "  fix: make the object importable, or uninstall the package that declares it"
        ) from exc


def build_refiner_registry(*, builtins: bool = True, plugins: bool = True) -> RefinerRegistry:
    """Fill a registry in one explicit step: the built-in refiners, then the installed plugins."""
    registry = RefinerRegistry()
    if builtins:
        from reamo.agent.refiners.builtin import BUILTIN_REFINERS

        for name, factory in BUILTIN_REFINERS.items():
            registry.register(name, factory)
    if plugins:
        registry.load_entry_points()
    return registry
