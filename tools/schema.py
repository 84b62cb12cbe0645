"""JSON Schemas of tool calls, derived from each tool's argument model (never written by hand)."""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any

from reamo.tools.protocol import Tool

REF_PREFIX = "#/$defs/"


def call_schema(
    tool: Tool, targets: list[str] | None = None, *, defs: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The schema of one meta-response for ``tool``, as the planner writes it (flat: module, instruction,
    target, concept, then the tool's own options).

    ``targets`` narrows ``target`` to the media ids present. Nested definitions of the argument model are
    moved into ``defs`` (prefixed with the module name) when given, so several tools fit in one schema.
    """
    schema = copy.deepcopy(tool.args_model.model_json_schema())
    own_defs = schema.pop("$defs", {})
    if defs is not None and own_defs:
        renames = {name: f"{tool.module}_{name}" for name in own_defs}
        schema = _rename_refs(schema, renames)
        for name, sub in own_defs.items():
            defs[renames[name]] = _rename_refs(sub, renames)
    elif own_defs:
        schema["$defs"] = own_defs
    properties = schema.setdefault("properties", {})
    properties["module"] = {"const": tool.module, "description": tool.description}
    properties["concept"] = {
        "type": "string",
        "minLength": 1,
        "description": "the grounded entity or trigger: its text (or id e1, t1); default: the instruction",
    }
    if targets is not None:
        properties["target"] = {
            "enum": list(targets),
            "description": properties["target"].get("description", ""),
        }
    ordered = {k: properties[k] for k in ("module", "instruction", "target", "concept")}
    ordered.update({k: v for k, v in properties.items() if k not in ordered})
    schema["properties"] = ordered
    schema["required"] = ["module", "instruction", "target"]
    schema["additionalProperties"] = False
    schema["title"] = f"{tool.module} call"
    return schema


def tool_catalogue(tools: Iterable[Tool]) -> dict[str, dict[str, Any]]:
    """Each tool by name: its module, modality, description and call schema (``reamo tools --json``,
    ``GET /v1/tools``)."""
    return {
        t.name: {
            "module": t.module,
            "modality": t.modality,
            "description": t.description,
            "call_schema": call_schema(t),
        }
        for t in tools
    }


def _rename_refs(node: Any, renames: dict[str, str]) -> Any:
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str) and value.startswith(REF_PREFIX):
                out[key] = REF_PREFIX + renames.get(value[len(REF_PREFIX) :], value[len(REF_PREFIX) :])
            else:
                out[key] = _rename_refs(value, renames)
        return out
    if isinstance(node, list):
        return [_rename_refs(v, renames) for v in node]
    return node
