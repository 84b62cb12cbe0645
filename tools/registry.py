"""The tool registry: versioned names, planner-facing modules, strict checks, third-party entry points."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from importlib.metadata import EntryPoint, entry_points
from typing import Any, get_args

from jsonschema import Draft202012Validator
from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from reamo.errors import RegistrationError, ToolNotFoundError
from reamo.schemas import Modality
from reamo.tools.protocol import RESERVED_ARGUMENTS, RESULT_MODELS, Tool, ToolArgs

ENTRY_POINT_GROUP = "reamo.tools"
NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*\.v[0-9]+$")
MODULE_PATTERN = re.compile(r"^[A-Z][A-Za-z0-9]*$")
MODALITIES: tuple[Modality, ...] = get_args(Modality)


def _describe(tool: object) -> str:
    fields = ("name", "module", "modality", "args_model", "result_model")
    parts = [f"{f}={getattr(tool, f, '<missing>')!r}" for f in fields]
    return f"{type(tool).__name__}({', '.join(parts)})"


def _fail(tool: object, problem: str, fix: str) -> RegistrationError:
    name = getattr(tool, "name", "?")
    return RegistrationError(
        f"Can't register tool {name!r}: {problem}\n  definition: {_describe(tool)}\n  fix: {fix}"
    )


def check_definition(tool: object) -> Tool:
    """Check a tool definition; raise RegistrationError showing the bad part and the fix."""
    missing = [
        a
        for a in ("name", "module", "modality", "description", "args_model", "result_model")
        if not hasattr(tool, a)
    ]
    if missing or not callable(getattr(tool, "run", None)):
        what = ", ".join(missing + ([] if callable(getattr(tool, "run", None)) else ["run()"]))
        raise _fail(
            tool,
            f"it lacks {what}",
            "define name, module, modality, description, args_model, result_model and "
            "run(args, ctx), or decorate a typed function with @reamo.tools.tool(...)",
        )
    name, module, modality = tool.name, tool.module, tool.modality  # type: ignore[attr-defined]
    if not isinstance(name, str) or not NAME_PATTERN.match(name):
        raise _fail(
            tool,
            "its name must be lowercase dotted words ending in a version",
            f"name it like 'image.segment.v1' (got {name!r})",
        )
    if not isinstance(module, str) or not MODULE_PATTERN.match(module):
        raise _fail(
            tool,
            "its module is the planner-facing name and must be CamelCase",
            f"use a module name like 'ImageSegmentation' (got {module!r})",
        )
    if modality not in MODALITIES:
        raise _fail(
            tool,
            f"modality {modality!r} is not one of {', '.join(MODALITIES)}",
            "set modality to the kind of media the tool grounds in",
        )
    description = tool.description  # type: ignore[attr-defined]
    if not isinstance(description, str) or not description.strip():
        raise _fail(
            tool,
            "it has no description, and the planner prompt lists tools by description",
            "give a one-line description (or a docstring on the decorated function)",
        )
    _check_args_model(tool)
    expected = RESULT_MODELS[modality]
    if tool.result_model is not expected:  # type: ignore[attr-defined]
        raise _fail(
            tool,
            f"a {modality} tool must return {expected.__name__} groundings",
            f"return list[{expected.__name__}] (result_model = {expected.__name__})",
        )
    return tool  # type: ignore[return-value]


def _check_args_model(tool: object) -> None:
    model = tool.args_model  # type: ignore[attr-defined]
    if not (isinstance(model, type) and issubclass(model, ToolArgs)):
        raise _fail(
            tool,
            f"its argument model {model!r} is not a subclass of reamo.tools.ToolArgs",
            "declare `class MyArgs(ToolArgs): ...` and annotate the first parameter with it",
        )
    reserved = RESERVED_ARGUMENTS & set(model.model_fields)
    if reserved:
        raise _fail(
            tool,
            f"argument(s) {', '.join(sorted(reserved))} are reserved for the meta-response",
            "rename those fields",
        )
    required = [
        n
        for n, f in model.model_fields.items()
        if n not in ToolArgs.model_fields and f.default is PydanticUndefined and f.default_factory is None
    ]
    if required:
        raise _fail(
            tool,
            f"option(s) {', '.join(required)} have no default, but the planner may omit them",
            "give every argument beyond instruction and target a default",
        )
    if model.model_config.get("extra") != "forbid":
        raise _fail(
            tool,
            "its argument model accepts unknown keys, so planner typos would pass silently",
            "keep ToolArgs' model_config (extra='forbid'); don't override it",
        )
    try:
        Draft202012Validator.check_schema(model.model_json_schema())
    except Exception as exc:
        raise _fail(
            tool,
            f"its argument model has no valid JSON Schema ({exc})",
            "use JSON-compatible field types (str, int, float, bool, lists, enums, models)",
        ) from exc


class ToolRegistry:
    """Registered tools by versioned name; one tool per planner-facing module."""

    def __init__(self, tools: Iterable[Tool] = ()) -> None:
        self._tools: dict[str, Tool] = {}
        for t in tools:
            self.register(t)

    def register(self, tool: object, *, replace: bool = False) -> Tool:
        """Check and add a tool. ``replace=True`` lets it take over a name or module already registered."""
        checked = check_definition(tool)
        for other in list(self._tools.values()):
            clash = other.name == checked.name or other.module == checked.module
            if clash and not replace:
                field = "name" if other.name == checked.name else "module"
                raise _fail(
                    tool,
                    f"{field} {getattr(checked, field)!r} is already taken by {other.name!r}",
                    "unregister the other tool, use register(tool, replace=True) to replace it, "
                    "or pick another " + field,
                )
            if clash:
                del self._tools[other.name]
        self._tools[checked.name] = checked
        return checked

    def unregister(self, name: str) -> None:
        self.get(name)
        del self._tools[name]

    def load_entry_points(self, group: str = ENTRY_POINT_GROUP) -> list[Tool]:
        """Register the tools third-party packages declare under the entry-point group ``reamo.tools``.

        An entry point names a tool object, or a zero-argument callable returning a tool or a list of them.
        """
        loaded: list[Tool] = []
        for ep in sorted(entry_points(group=group), key=lambda e: e.name):
            for t in _tools_of(ep):
                loaded.append(self.register(t))
        return loaded

    def get(self, name: str) -> Tool:
        if name not in self._tools:
            available = ", ".join(self.names()) or "none"
            raise ToolNotFoundError(f"Can't find tool {name!r} in the registry. Available names: {available}")
        return self._tools[name]

    def by_module(self, module: str) -> Tool:
        for t in self._tools.values():
            if t.module == module:
                return t
        raise ToolNotFoundError(
            f"No tool serves module {module!r}. Available modules: {', '.join(self.modules()) or 'none'}"
        )

    def for_modality(self, modality: Modality) -> list[Tool]:
        return [t for t in self if t.modality == modality]

    def names(self) -> list[str]:
        return sorted(self._tools)

    def modules(self) -> list[str]:
        return sorted(t.module for t in self._tools.values())

    def __iter__(self) -> Iterator[Tool]:
        return iter(sorted(self._tools.values(), key=lambda t: t.name))

    def __len__(self) -> int:
        return len(self._tools)

    def __contains__(self, name: object) -> bool:
        return name in self._tools


def _tools_of(ep: EntryPoint) -> list[object]:
    where = f"entry point {ep.name!r} = {ep.value!r} in group {ep.group!r}"
    try:
        obj: Any = ep.load()
    except Exception as exc:
        raise RegistrationError(
            f"Can't load {where}: {type(exc).__name__}: {exc}\n"
            "  fix: make the object importable, or uninstall the package that declares it"
        ) from exc
    if not isinstance(obj, Tool) and callable(obj) and not isinstance(obj, type):
        factory: Callable[[], Any] = obj
        try:
            obj = factory()
        except Exception as exc:
            raise RegistrationError(f"The factory of {where} raised {type(exc).__name__}: {exc}") from exc
    items = list(obj) if isinstance(obj, list | tuple) else [obj]
    for item in items:
        if isinstance(item, type | BaseModel):
            raise RegistrationError(
                f"{where} gave {item!r}, not a tool\n"
                "  fix: point it at a tool instance or at a function that returns tools"
            )
    return items
