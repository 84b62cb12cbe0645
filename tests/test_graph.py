"""The agent graph: its pinned topology, typed node updates, the repair loop, streaming and chat threads."""

from __future__ import annotations

import json
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from _golden import check_golden_text
from langgraph.runtime import Runtime
from langgraph.types import Overwrite
from pydantic import BaseModel

import reamo.agent.graph as graph_module
from reamo import EmptyInputError, ImageRegion, ProgressEvent, ResultEvent, TextSpan
from reamo.agent import AgentContext, AgentState, Message, ScriptedPlanner, mermaid, start_turn
from reamo.config import ReamoConfig
from reamo.schemas import AudioPerception, BackendInfo, Inputs, LabelSchema, MediaInput
from reamo.sdk import Reamo
from reamo.tools import Resources, ToolRegistry
from reamo.tools.perception import metadata_perceivers

TEXT = "Barack Obama met Angela Merkel in Berlin."
DECLARED = typing.get_type_hints(AgentState, include_extras=True)
STAGES = ["perceive", "plan", "validate", "refine", "ground", "merge"]

GOOD = {
    "entities": [
        {"text": "Barack Obama", "label": "person", "concept": True},
        {"text": "Angela Merkel", "label": "person", "concept": True},
        {"text": "Berlin", "label": "location"},
    ],
    "calls": [
        {
            "module": "ImageSegmentation",
            "instruction": "Obama",
            "target": "image:0",
            "concept": "Barack Obama",
        },
        {
            "module": "ImageSegmentation",
            "instruction": "Merkel",
            "target": "image:0",
            "concept": "Angela Merkel",
        },
    ],
}
# "persona" is not a candidate entity type: the validator must send it back for repair.
BAD_LABEL = {
    "entities": [
        {"text": "Barack Obama", "label": "person", "concept": True},
        {"text": "Angela Merkel", "label": "persona"},
    ],
    "calls": [
        {
            "module": "ImageSegmentation",
            "instruction": "Obama",
            "target": "image:0",
            "concept": "Barack Obama",
        },
    ],
}
TRUNCATED = '{"entities": [{"text": "Barack Obama", "label": "per'


def stage_runs(events: list[Any]) -> list[str]:
    """The stages of the progress events, with consecutive repeats collapsed."""
    stages: list[str] = []
    for event in events:
        if isinstance(event, ProgressEvent) and (not stages or stages[-1] != event.stage):
            stages.append(event.stage)
    return stages


# --------------------------------------------------------------------------
# Topology
# --------------------------------------------------------------------------


def test_topology_is_pinned_by_golden_file() -> None:
    diagram = mermaid()
    for edge in (
        "__start__ --> perceive",
        "perceive --> plan",
        "plan --> validate",
        "merge --> __end__",
        "validate -.-> plan",
        "validate -.-> refine",
        "refine -.-> ground",
        "refine -.-> merge",
        "ground -.-> ground",
        "ground -.-> merge",
    ):
        assert edge in diagram
    check_golden_text("graph.mmd", diagram)


# --------------------------------------------------------------------------
# Nodes return declared state keys only (LangGraph drops undeclared ones silently)
# --------------------------------------------------------------------------


def undeclared(update: dict[str, Any]) -> set[str]:
    return set(update) - set(DECLARED)


def test_the_key_check_catches_an_undeclared_key() -> None:
    assert undeclared({"entities": [], "entites": []}) == {"entites"}
    assert undeclared(start_turn("ner", Inputs(text=TEXT), LabelSchema.default("ner"))) == set()


@pytest.fixture
def recorded(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, dict[str, Any]]]:
    """Wrap every graph node (before a Reamo compiles its graph) to record the update it returns."""
    calls: list[tuple[str, dict[str, Any]]] = []

    def wrap(name: str, fn: Callable[..., dict[str, Any]]) -> Callable[..., dict[str, Any]]:
        def node(state: AgentState, runtime: Runtime[AgentContext]) -> dict[str, Any]:
            update = fn(state, runtime)
            calls.append((name, dict(update)))
            return update

        return node

    for name, fn in list(graph_module.NODES.items()):
        monkeypatch.setitem(graph_module.NODES, name, wrap(name, fn))
    return calls


def test_every_node_returns_only_declared_keys_in_a_real_run(
    recorded: list[tuple[str, dict[str, Any]]], make_reamo: Callable[..., Reamo], media_dir: Path
) -> None:
    # turn 1: an invalid answer (validate's retry branch), then a valid one with concept calls (ground);
    # turn 2: perception reused, and an always-invalid answer ends in validate's final branch with problems
    reamo = make_reamo(BAD_LABEL, GOOD, BAD_LABEL, BAD_LABEL, BAD_LABEL)
    session = reamo.session()
    session.attach(image=media_dir / "photo.png", text=TEXT)
    session.extract("ner")
    result = session.extract("ner")
    assert result.complete is False

    names = [name for name, _ in recorded]
    assert set(names) == set(STAGES)
    validates = [update for name, update in recorded if name == "validate"]
    assert any(u["retry"] is True for u in validates)
    assert any(u["retry"] is False and u["complete"] is True for u in validates)
    assert any(u["retry"] is False and u["complete"] is False for u in validates)
    assert names.count("ground") == 3  # two calls on turn 1, one (the valid one) on turn 2
    for name, update in recorded:
        assert undeclared(update) == set(), f"node {name!r} returned undeclared keys"


def apply(state: dict[str, Any], update: dict[str, Any]) -> None:
    """Apply a node's update the way LangGraph does: reducer keys through their reducer."""
    for key, value in update.items():
        if isinstance(value, Overwrite):
            state[key] = value.value
            continue
        metadata = getattr(DECLARED[key], "__metadata__", ())
        reducer = metadata[0] if metadata and callable(metadata[0]) else None
        state[key] = reducer(state[key], value) if reducer and key in state else value


def test_each_node_called_directly_returns_only_declared_keys(
    registry: ToolRegistry, media_dir: Path
) -> None:
    planner = ScriptedPlanner([BAD_LABEL, GOOD])
    ctx = AgentContext(
        planner=planner,
        registry=registry,
        perceivers=metadata_perceivers(),
        config=ReamoConfig.load(env={}, max_repairs=1),
    )
    runtime = Runtime(context=ctx)
    inputs = Inputs.build(text=TEXT, image=media_dir / "photo.png")
    state: dict[str, Any] = {}
    apply(state, start_turn("ner", inputs, LabelSchema.default("ner")))

    def step(name: str) -> dict[str, Any]:
        update = graph_module.NODES[name](state, runtime)  # type: ignore[arg-type]
        assert undeclared(update) == set(), f"node {name!r} returned undeclared keys"
        apply(state, update)
        return update

    step("perceive")
    step("plan")
    assert step("validate")["retry"] is True
    step("plan")
    final = step("validate")
    assert final["retry"] is False
    assert final["complete"] is True
    assert len(state["queue"]) == 2
    assert step("refine")["backends"] == []  # no refiners in this context
    assert len(state["queue"]) == 2
    step("ground")
    step("ground")
    assert state["queue"] == []
    assert len(state["runs"]) == 2
    merged = step("merge")
    assert merged["result"].planner_attempts == 2
    assert merged["result"].entities[0].text == "Barack Obama"


# --------------------------------------------------------------------------
# The repair loop
# --------------------------------------------------------------------------


def test_invalid_answer_is_repaired_on_the_second_attempt(
    make_reamo: Callable[..., Reamo], media_dir: Path
) -> None:
    reamo = make_reamo(BAD_LABEL, GOOD)
    result = reamo.extract("ner", text=TEXT, image=media_dir / "photo.png")

    assert result.planner_attempts == 2
    assert result.complete is True
    assert not [d for d in result.diagnostics if d.code.startswith("planner.")]
    assert [e.text for e in result.entities] == ["Barack Obama", "Angela Merkel", "Berlin"]

    first, second = reamo.planner.requests  # type: ignore[attr-defined]
    assert (first.attempt, second.attempt) == (0, 1)
    assert first.errors == ()
    assert any("'persona' is not allowed" in e for e in second.errors)
    # the repair turn: the earlier conversation, the rejected answer, then the problems
    assert second.messages[: len(first.messages)] == first.messages
    assert second.messages[-2] == Message("assistant", json.dumps(BAD_LABEL))
    repair = second.messages[-1]
    assert repair.role == "user"
    assert "Your previous answer could not be used" in repair.content
    assert "'persona' is not allowed; use one of: person, location" in repair.content


def test_always_invalid_answer_keeps_the_valid_part_after_max_repairs(
    make_reamo: Callable[..., Reamo], media_dir: Path
) -> None:
    reamo = make_reamo(BAD_LABEL, BAD_LABEL, BAD_LABEL, max_repairs=1)
    result = reamo.extract("ner", text=TEXT, image=media_dir / "photo.png")

    assert result.planner_attempts == 2
    assert len(reamo.planner.requests) == 2  # type: ignore[attr-defined]
    assert result.complete is False
    dropped = [d for d in result.diagnostics if d.code.startswith("planner.")]
    assert dropped, result.diagnostics
    assert all(d.stage == "validate" and d.level == "warning" for d in dropped)
    assert any("persona" in d.message for d in dropped)
    # the valid entity and its call survive, grounded
    assert [e.text for e in result.entities] == ["Barack Obama"]
    assert [type(g) for g in result.entities[0].groundings] == [TextSpan, ImageRegion]
    assert [r.status for r in result.calls] == ["ok"]


def test_truncated_json_answers_give_an_empty_partial_result(
    make_reamo: Callable[..., Reamo], media_dir: Path
) -> None:
    reamo = make_reamo(TRUNCATED, TRUNCATED, TRUNCATED)
    result = reamo.extract("ner", text=TEXT, image=media_dir / "photo.png")

    assert result.planner_attempts == 3  # the first answer and max_repairs=2 re-asks
    assert result.complete is False
    assert (result.entities, result.relations, result.events, result.calls) == ([], [], [], [])
    codes = [d.code for d in result.diagnostics]
    assert codes == ["planner.parse"]
    assert "not complete JSON" in result.diagnostics[0].message
    assert "not complete JSON" in reamo.planner.requests[1].messages[-1].content  # type: ignore[attr-defined]


# --------------------------------------------------------------------------
# Streaming
# --------------------------------------------------------------------------


def test_stream_reports_stages_in_order_and_ends_with_one_result(
    make_reamo: Callable[..., Reamo], media_dir: Path
) -> None:
    reamo = make_reamo(GOOD)
    events = list(reamo.stream("ner", text=TEXT, image=media_dir / "photo.png"))

    assert isinstance(events[-1], ResultEvent)
    assert sum(isinstance(e, ResultEvent) for e in events) == 1
    assert all(isinstance(e, ProgressEvent) for e in events[:-1])
    assert stage_runs(events) == STAGES
    grounds = [e for e in events if isinstance(e, ProgressEvent) and e.stage == "ground"]
    assert [(e.current, e.total) for e in grounds] == [(1, 2), (2, 2)]
    assert [e.data["concept"] for e in grounds] == ["e1", "e2"]
    assert events[-1].result.entities[0].text == "Barack Obama"


def test_stream_shows_the_repair_round(make_reamo: Callable[..., Reamo], media_dir: Path) -> None:
    events = list(make_reamo(BAD_LABEL, GOOD).stream("ner", text=TEXT, image=media_dir / "photo.png"))
    assert stage_runs(events) == [
        "perceive",
        "plan",
        "validate",
        "plan",
        "validate",
        "refine",
        "ground",
        "merge",
    ]
    plans = [e.message for e in events if isinstance(e, ProgressEvent) and e.stage == "plan"]
    assert plans == ["scripted: planning", "scripted: planning (repair 1)"]


def test_stream_raises_input_errors_before_any_work(make_reamo: Callable[..., Reamo]) -> None:
    reamo = make_reamo(GOOD)
    with pytest.raises(EmptyInputError):
        reamo.stream("ner")  # not iterated: the error comes from creating the stream
    assert reamo.planner.requests == []  # type: ignore[attr-defined]


# --------------------------------------------------------------------------
# Chat threads (checkpointer)
# --------------------------------------------------------------------------

RE_ANSWER = {
    "entities": [
        {"text": "Barack Obama", "label": "person", "concept": True},
        {"text": "Angela Merkel", "label": "person"},
    ],
    "relations": [{"head": "Barack Obama", "label": "/per/per/peer", "tail": "Angela Merkel"}],
    "calls": [
        {
            "module": "ImageSegmentation",
            "instruction": "Obama",
            "target": "image:0",
            "concept": "Barack Obama",
        },
    ],
}


def test_second_chat_turn_sees_history_reuses_perception_and_resets_per_turn_keys(
    make_reamo: Callable[..., Reamo], media_dir: Path
) -> None:
    reamo = make_reamo(GOOD, RE_ANSWER)
    session = reamo.session()
    session.attach(image=media_dir / "photo.png")

    first = session.extract("ner", text=TEXT)
    assert [r.status for r in first.calls] == ["ok", "not_found"]
    assert [d.code for d in first.diagnostics] == ["tool.not_found"]

    events = list(session.stream("re"))
    second = events[-1].result
    assert isinstance(events[-1], ResultEvent)
    perceive = [e.message for e in events if isinstance(e, ProgressEvent) and e.stage == "perceive"]
    assert perceive == ["image:0: reusing earlier perception"]
    assert second.perception.images["image:0"].width == 64

    # the planner sees turn 1 as conversation history
    req1, req2 = reamo.planner.requests  # type: ignore[attr-defined]
    history = req2.messages[1:-1]
    assert history[0] == Message("user", "NER on text, image:0")
    assert history[1].role == "assistant"
    assert json.loads(history[1].content)["entities"] == [
        {"text": "Barack Obama", "label": "person"},
        {"text": "Angela Merkel", "label": "person"},
        {"text": "Berlin", "label": "location"},
    ]
    assert req1.messages[1:-1] == ()
    assert req2.task == "re"
    assert req2.attempt == 0

    # only turn 2's records, calls and diagnostics (the reducer keys start empty again)
    assert second.task == "re"
    assert second.planner_attempts == 1
    assert [(c.call.instruction, c.status) for c in second.calls] == [("Obama", "ok")]
    assert second.diagnostics == []
    assert [e.text for e in second.entities] == ["Barack Obama", "Angela Merkel"]
    assert [(r.head, r.label, r.tail) for r in second.relations] == [("e1", "/per/per/peer", "e2")]
    assert session.results == [first, second]


def test_changed_media_is_perceived_again_and_removed_media_is_forgotten(
    make_reamo: Callable[..., Reamo], media_dir: Path
) -> None:
    answer = {"entities": [{"text": "Obama", "label": "person"}]}
    reamo = make_reamo(answer, answer)
    session = reamo.session()
    session.attach(image=media_dir / "photo.png", audio=media_dir / "speech.wav")
    first = session.extract("ner")
    assert set(first.perception.audio) == {"audio:0"}

    session.clear()
    session.attach(image=media_dir / "clip" / "00000.jpg")
    events = list(session.stream("ner"))
    second = events[-1].result
    perceive = [e.message for e in events if isinstance(e, ProgressEvent) and e.stage == "perceive"]
    assert perceive == ["image:0: metadata on 00000.jpg"]
    assert second.perception.images["image:0"].width == 64
    # the result's perception describes this turn's inputs only
    assert second.perception.audio == {}
    assert set(second.perception.images) == {"image:0"}


# --------------------------------------------------------------------------
# Perception backends that fail
# --------------------------------------------------------------------------


class CrashingPerceiver:
    """An image perceiver whose model crashes (not an input problem)."""

    modality = "image"

    def describe(self) -> BackendInfo:
        return BackendInfo(role="perception:image", name="crashing")

    def perceive(self, item: MediaInput, resources: Resources) -> BaseModel:
        raise RuntimeError("CUDA out of memory")


class WrongTypePerceiver(CrashingPerceiver):
    def perceive(self, item: MediaInput, resources: Resources) -> BaseModel:
        return AudioPerception(media=item.id, duration=1.0)


def test_a_crashing_perceiver_leaves_a_diagnostic_and_the_run_goes_on(
    registry: ToolRegistry, media_dir: Path
) -> None:
    reamo = Reamo(
        planner=ScriptedPlanner([GOOD]),
        registry=registry,
        perceivers={"image": CrashingPerceiver()},
        plugins=False,
    )
    result = reamo.extract("ner", text=TEXT, image=media_dir / "photo.png")

    assert result.perception.images == {}
    failed = [d for d in result.diagnostics if d.code == "perception.failed"]
    assert [(d.stage, d.level) for d in failed] == [("perceive", "warning")]
    assert "CUDA out of memory" in failed[0].message
    assert [e.text for e in result.entities] == ["Barack Obama", "Angela Merkel", "Berlin"]
    # the tools still ran: the fake segmenter needs the image size from perception, so it fails for the
    # concept it knows (Obama) and reports the one it does not know (Merkel) as not found
    assert [r.status for r in result.calls] == ["error", "not_found"]
    assert "KeyError" in (result.calls[0].error or "")
    assert ("perception:image", "crashing") in {(b.role, b.name) for b in result.backends}


def test_a_perceiver_returning_the_wrong_type_is_a_developer_error(
    registry: ToolRegistry, media_dir: Path
) -> None:
    reamo = Reamo(
        planner=ScriptedPlanner([GOOD]),
        registry=registry,
        perceivers={"image": WrongTypePerceiver()},
        plugins=False,
    )
    with pytest.raises(TypeError, match="returned AudioPerception for image:0"):
        reamo.extract("ner", text=TEXT, image=media_dir / "photo.png")
