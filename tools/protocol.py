"""The grounding-tool protocol: a versioned name, a planner-facing module, a modality, a typed argument
model and a typed grounding result. Tools are plain functions or classes; nothing to inherit but ToolArgs.
"""

from __future__ import annotations

import inspect
import threading
import typing
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field

from reamo.errors import RegistrationError
from reamo.schemas import (
    MEDIA_ID_PATTERN,
    AudioSpan,
    Grounding,
    ImageRegion,
    Inputs,
    MediaInput,
    Modality,
    Perception,
    TextSpan,
    VideoTrack,
)

RESULT_MODELS: dict[Modality, type[BaseModel]] = {
    "text": TextSpan,
    "image": ImageRegion,
    "audio": AudioSpan,
    "video": VideoTrack,
}
"""The grounding type a tool of each modality returns."""

RESERVED_ARGUMENTS = frozenset({"module", "concept"})


class ToolArgs(BaseModel):
    """Base of every tool's argument model: what to find (``instruction``) and in which medium (``target``).

    A tool adds its own options as fields with defaults; the planner-facing JSON Schema comes from here.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    instruction: str = Field(min_length=1, description="the entity, trigger or phrase to ground")
    target: str = Field(pattern=MEDIA_ID_PATTERN, description="media id to search, e.g. image:0")


class Resources:
    """Model handles shared by tools and planners across calls and runs, each built once on first use.

    Thread-safe with one lock a key: a handle being built does not hold up the others, and its factory
    may fetch another handle (a pair scorer fetches the encoder weights it shares)."""

    def __init__(self) -> None:
        self._items: dict[str, Any] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._lock = threading.Lock()

    def get(self, key: str, factory: Callable[[], Any]) -> Any:
        if key in self._items:
            return self._items[key]
        with self._lock:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            if key not in self._items:
                self._items[key] = factory()
            return self._items[key]

    def keys(self) -> list[str]:
        """The keys of the handles built so far, in the order they were built."""
        return list(self._items)

    def __contains__(self, key: str) -> bool:
        return key in self._items


@dataclass
class ToolContext:
    """What a tool may use besides its arguments: the inputs, the perception, its settings, shared models."""

    inputs: Inputs
    perception: Perception = field(default_factory=Perception)
    settings: Mapping[str, Any] = field(default_factory=dict)
    resources: Resources = field(default_factory=Resources)

    def media(self, media_id: str) -> MediaInput:
        """The media item a call targets (KeyError lists what exists)."""
        return self.inputs.get(media_id)


A = TypeVar("A", bound=ToolArgs)


@runtime_checkable
class Tool(Protocol):
    """What the registry accepts. ``run`` returns the groundings found; an empty list means not found."""

    name: str
    module: str
    modality: Modality
    description: str
    args_model: type[ToolArgs]
    result_model: type[BaseModel]

    def run(self, args: Any, ctx: ToolContext) -> Sequence[Grounding]: ...


@dataclass(frozen=True)
class FunctionTool:
    """A tool made from a typed function ``fn(args: MyArgs, ctx: ToolContext) -> list[ImageRegion]``."""

    name: str
    module: str
    modality: Modality
    description: str
    args_model: type[ToolArgs]
    result_model: type[BaseModel]
    fn: Callable[[Any, ToolContext], Sequence[Grounding]] = field(repr=False)

    def run(self, args: Any, ctx: ToolContext) -> Sequence[Grounding]:
        return self.fn(args, ctx)


def tool(
    name: str, *, module: str, modality: Modality, description: str | None = None
) -> Callable[[Callable[[A, ToolContext], Sequence[Grounding]]], FunctionTool]:
    """Make a typed function a tool. The argument model and the result type come from its annotations,
    the description from its docstring's first paragraph::

        @tool("image.segment.v1", module="ImageSegmentation", modality="image")
        def segment(args: SegmentArgs, ctx: ToolContext) -> list[ImageRegion]:
            \"\"\"Segment the object an instruction names.\"\"\"
    """

    def wrap(fn: Callable[[A, ToolContext], Sequence[Grounding]]) -> FunctionTool:
        try:
            hints = typing.get_type_hints(fn)
        except NameError as exc:
            raise RegistrationError(
                f"Can't make tool {name!r} from {fn.__qualname__}: its annotations name {exc.name!r}, which "
                "is not importable from its module\n  fix: define the argument model and result types at "
                "module level (not inside a function)"
            ) from exc
        params = list(inspect.signature(fn).parameters)
        args_model = hints.get(params[0]) if params else None
        result = hints.get("return")
        result_args = typing.get_args(result)
        doc = inspect.getdoc(fn) or ""
        return FunctionTool(
            name=name,
            module=module,
            modality=modality,
            description=description or doc.split("\n\n", 1)[0].replace("\n", " "),
            args_model=args_model,  # type: ignore[arg-type]  # checked at registration
            result_model=result_args[0] if result_args else result,  # type: ignore[arg-type]
            fn=fn,
        )

    return wrap
