"""Grounding tools: the protocol, the registry and the built-in tools.

Third-party tools register through the entry-point group ``reamo.tools``; ``reamo.tools.testing``
checks a tool against the protocol.
"""

from __future__ import annotations

from reamo.tools.protocol import RESULT_MODELS, FunctionTool, Resources, Tool, ToolArgs, ToolContext, tool
from reamo.tools.registry import ENTRY_POINT_GROUP, ToolRegistry, check_definition
from reamo.tools.runner import run_call
from reamo.tools.schema import call_schema, tool_catalogue

__all__ = [
    "ENTRY_POINT_GROUP",
    "RESULT_MODELS",
    "FunctionTool",
    "Resources",
    "Tool",
    "ToolArgs",
    "ToolContext",
    "ToolRegistry",
    "build_registry",
    "call_schema",
    "check_definition",
    "run_call",
    "tool",
    "tool_catalogue",
]


def build_registry(*, builtins: bool = True, plugins: bool = True) -> ToolRegistry:
    """Fill a registry in one explicit step: the built-in tools, then the installed plugins."""
    registry = ToolRegistry()
    if builtins:
        from reamo.tools.builtin import builtin_tools

        for t in builtin_tools():
            registry.register(t)
    if plugins:
        registry.load_entry_points()
    return registry
