"""The agent: a LangGraph state machine over typed state, with pluggable planner backends."""

from __future__ import annotations

from reamo.agent.context import AgentContext
from reamo.agent.graph import NODES, build_graph, memory_checkpointer, mermaid
from reamo.agent.parsing import ParseError, parse_answer, parse_tags
from reamo.agent.planners import Message, Planner, PlanRequest, ScriptedPlanner, make_planner
from reamo.agent.state import AgentState, start_turn
from reamo.agent.validation import Problem, ValidatedAnswer, answer_schema, validate_answer

__all__ = [
    "NODES",
    "AgentContext",
    "AgentState",
    "Message",
    "ParseError",
    "PlanRequest",
    "Planner",
    "Problem",
    "ScriptedPlanner",
    "ValidatedAnswer",
    "answer_schema",
    "build_graph",
    "make_planner",
    "memory_checkpointer",
    "mermaid",
    "parse_answer",
    "parse_tags",
    "start_turn",
    "validate_answer",
]
