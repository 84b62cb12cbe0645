"""The LangGraph state machine: perceive -> plan -> validate (-> plan) -> refine -> ground* -> merge."""

from __future__ import annotations

from typing import Any

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
from langgraph.graph import END, START, StateGraph

from reamo.agent.context import AgentContext
from reamo.agent.nodes.ground import after_ground, ground
from reamo.agent.nodes.merge import merge
from reamo.agent.nodes.perceive import perceive
from reamo.agent.nodes.plan import plan
from reamo.agent.nodes.refine import after_refine, refine
from reamo.agent.nodes.validate import after_validate, validate
from reamo.agent.planners.protocol import Message
from reamo.agent.state import AgentState
from reamo.schemas import schema_models

NODES = {
    "perceive": perceive,
    "plan": plan,
    "validate": validate,
    "refine": refine,
    "ground": ground,
    "merge": merge,
}


def build_graph(checkpointer: BaseCheckpointSaver[Any] | None = None) -> Any:
    """Compile the REAMO graph; with a checkpointer, a thread keeps its state across turns."""
    builder = StateGraph(AgentState, context_schema=AgentContext)
    for name, node in NODES.items():
        builder.add_node(name, node)
    builder.add_edge(START, "perceive")
    builder.add_edge("perceive", "plan")
    builder.add_edge("plan", "validate")
    builder.add_conditional_edges("validate", after_validate, ["plan", "refine"])
    builder.add_conditional_edges("refine", after_refine, ["ground", "merge"])
    builder.add_conditional_edges("ground", after_ground, ["ground", "merge"])
    builder.add_edge("merge", END)
    return builder.compile(checkpointer=checkpointer)


def build_perception_graph() -> Any:
    """The perceive step alone: what a long input's windows are cut from before any of them is planned."""
    builder = StateGraph(AgentState, context_schema=AgentContext)
    builder.add_node("perceive", perceive)
    builder.add_edge(START, "perceive")
    builder.add_edge("perceive", END)
    return builder.compile()


def memory_checkpointer() -> InMemorySaver:
    """An in-memory checkpointer that deserialises REAMO's own types (and only those) from checkpoints."""
    allowed = [(cls.__module__, cls.__name__) for cls in [*schema_models(), Message]]
    return InMemorySaver(serde=JsonPlusSerializer(allowed_msgpack_modules=allowed))


def mermaid() -> str:
    """The graph's topology as a mermaid diagram (pinned by a golden file)."""
    return str(build_graph().get_graph().draw_mermaid())
