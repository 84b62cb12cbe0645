"""The refine stage: refiners in the graph (what they add is grounded, what they drop takes its relations
and calls with it, one that fails sinks nothing), the lists they replace, their registry and entry
points, and their settings."""

from __future__ import annotations

import importlib
import json
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from reamo import ConfigError, Reamo
from reamo.agent import ScriptedPlanner
from reamo.agent.refiners import Draft, Refinement, RefineRequest, RefinerSetup
from reamo.agent.refiners.registry import ENTRY_POINT_GROUP, RefinerRegistry, build_refiner_registry
from reamo.config import ReamoConfig
from reamo.errors import RefinerNotFoundError, RegistrationError
from reamo.schemas import BackendInfo

TEXT = "Barack Obama met Angela Merkel in Berlin with his dog."
LABELS = ["person", "location", "animal"]
PLANNED = {
    "entities": [
        {"text": "Barack Obama", "label": "person", "concept": True},
        {"text": "Angela Merkel", "label": "person", "concept": True},
        {"text": "Berlin", "label": "location"},
    ],
    "relations": [
        {"head": "Barack Obama", "label": "meets", "tail": "Angela Merkel"},
        {"head": "Angela Merkel", "label": "located_in", "tail": "Berlin"},
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
RE_LABELS = {"entity_types": LABELS, "relation_types": ["meets", "located_in"]}


class Fake:
    """A refiner that applies to every request and does ``edit`` to a draft of its records."""

    def __init__(
        self, name: str, edit: Callable[[Draft], None], *, replaces: frozenset[str] = frozenset()
    ) -> None:
        self.name = name
        self.edit = edit
        self.lists = replaces
        self.requests: list[RefineRequest] = []

    def describe(self) -> BackendInfo:
        return BackendInfo(role="refiner", name=self.name, detail="a test refiner")

    def applies(self, request: RefineRequest) -> bool:
        return True

    def replaces(self, request: RefineRequest) -> frozenset[str]:
        return self.lists

    def refine(self, request: RefineRequest) -> Refinement:
        self.requests.append(request)
        draft = Draft(request, self.name)
        self.edit(draft)
        return draft.finish()


def add_dog(draft: Draft) -> None:
    draft.add_entity("dog", "animal", concept=True, why="it is in the photo")


def drop_merkel(draft: Draft) -> None:
    merkel = draft.entity("Angela Merkel")
    assert merkel is not None
    draft.drop_entities([merkel.id], "a test")


def crash(draft: Draft) -> None:
    raise RuntimeError("the model is missing")


def reamo_with(make_reamo: Callable[..., Reamo], *refiners: Fake, answer: Any = PLANNED) -> Reamo:
    registry = RefinerRegistry({r.name: r for r in refiners})
    return make_reamo(answer, refiner_registry=registry, refiners=[r.name for r in refiners])


def test_a_concept_a_refiner_adds_gets_its_call_and_is_grounded(
    make_reamo: Callable[..., Reamo], media_dir: Path
) -> None:
    reamo = reamo_with(make_reamo, Fake("pets", add_dog))
    result = reamo.extract("re", text=TEXT, image=media_dir / "photo.png", labels=RE_LABELS)
    dog = result.entities[-1]
    assert (dog.id, dog.text, dog.label, dog.concept) == ("e4", "dog", "animal", True)
    assert [(c.call.instruction, c.call.concept, c.status) for c in result.calls][-1] == ("dog", "e4", "ok")
    assert [g.media for g in dog.groundings] == ["text", "image:0"]  # its text span and its mask
    added = [d for d in result.diagnostics if d.code == "refine.pets.added"]
    assert [(d.stage, d.level, d.concept) for d in added] == [("refine", "info", "e4")]
    assert "'dog' (animal): it is in the photo" in added[0].message
    assert BackendInfo(role="refiner", name="pets", detail="a test refiner") in result.backends
    assert result.timings["refine"] >= 0


def test_an_entity_a_refiner_drops_takes_its_relations_and_calls_with_it(
    make_reamo: Callable[..., Reamo], media_dir: Path
) -> None:
    reamo = reamo_with(make_reamo, Fake("doubts", drop_merkel))
    result = reamo.extract("re", text=TEXT, image=media_dir / "photo.png", labels=RE_LABELS)
    assert [(e.id, e.text) for e in result.entities] == [
        ("e1", "Barack Obama"),
        ("e2", "Berlin"),
    ]  # renumbered
    assert result.relations == []  # both named Merkel
    assert [c.call.instruction for c in result.calls] == ["Obama"]
    assert [d.code for d in result.diagnostics if d.stage == "refine"] == ["refine.doubts.dropped"]


def test_a_failing_refiner_is_reported_and_sinks_nothing(
    make_reamo: Callable[..., Reamo], media_dir: Path
) -> None:
    first, broken, last = Fake("doubts", drop_merkel), Fake("broken", crash), Fake("pets", add_dog)
    reamo = reamo_with(make_reamo, first, broken, last)
    result = reamo.extract("re", text=TEXT, image=media_dir / "photo.png", labels=RE_LABELS)
    # the refiners before and after it did their work, on the records as the one before left them
    assert [e.text for e in result.entities] == ["Barack Obama", "Berlin", "dog"]
    assert [e.text for e in last.requests[0].entities] == ["Barack Obama", "Berlin"]
    failed = [d for d in result.diagnostics if d.code == "refine.broken.failed"]
    assert [(d.level, d.stage) for d in failed] == [("error", "refine")]
    assert "RuntimeError: the model is missing" in failed[0].message
    assert [b.name for b in result.backends if b.role == "refiner"] == ["doubts", "pets"]  # those that ran
    assert result.complete


def test_a_refiner_gets_copies_and_the_text_it_reads(
    make_reamo: Callable[..., Reamo], media_dir: Path
) -> None:
    def meddle(draft: Draft) -> None:
        draft.request.entities[0].label = "location"  # the request's own copy: changes nothing
        raise RuntimeError("after meddling")

    spy = Fake("spy", lambda draft: None)
    reamo = reamo_with(make_reamo, Fake("meddler", meddle), spy)
    result = reamo.extract("re", text=TEXT, image=media_dir / "photo.png", labels=RE_LABELS)
    assert result.entities[0].label == "person"
    asked = spy.requests[0]
    assert (asked.task, asked.text, asked.spoken_text) == ("re", TEXT, False)
    assert [c.instruction for c in asked.calls] == ["Obama", "Merkel"]
    assert set(asked.call_schemas) == {"ImageSegmentation"}


def test_the_lists_a_refiner_replaces_are_left_to_it(
    make_reamo: Callable[..., Reamo], media_dir: Path
) -> None:
    def relate(draft: Draft) -> None:
        draft.replace_relations([("Angela Merkel", "located_in", "Berlin")], "a test")

    # the planner's relations name an entity it did not list: with nobody to replace them, that is sent
    # back for repair; when a refiner replaces them, the validator ignores them and the planner is told
    wrong = {
        **PLANNED,
        "relations": [{"head": "Barack Obama", "label": "meets", "tail": "Joe Biden"}],
        "calls": [],
    }
    reamo = reamo_with(
        make_reamo, Fake("relater", relate, replaces=frozenset({"relations", "calls"})), answer=wrong
    )
    result = reamo.extract("re", text=TEXT, labels=RE_LABELS)
    assert result.planner_attempts == 1
    assert [(r.head, r.label, r.tail) for r in result.relations] == [("e2", "located_in", "e3")]
    assert reamo.planner.requests[0].left_to_refiners == {"relations"}  # type: ignore[attr-defined]
    plain = make_reamo(wrong, wrong, wrong, max_repairs=1)
    assert plain.extract("re", text=TEXT, labels=RE_LABELS).planner_attempts == 2
    assert plain.planner.requests[0].left_to_refiners == frozenset()  # type: ignore[attr-defined]


def test_refine_turned_off_and_refiners_listed_in_backends(make_reamo: Callable[..., Reamo]) -> None:
    off = make_reamo({**PLANNED, "calls": []})
    assert off.refiners == []
    result = off.extract("re", text=TEXT, labels=RE_LABELS)
    assert not [b for b in result.backends if b.role == "refiner"]
    assert [d for d in result.diagnostics if d.stage == "refine"] == []
    on = reamo_with(make_reamo, Fake("pets", add_dog))
    assert [b.name for b in on.backends if b.role == "refiner"] == ["pets"]


# --------------------------------------------------------------------------
# The registry and the settings
# --------------------------------------------------------------------------


def test_the_builtin_refiners_run_by_default_in_order() -> None:
    assert ReamoConfig().refiners == ["relations", "arguments", "entities", "heard", "objects"]
    registry = build_refiner_registry(plugins=False)
    assert registry.names() == ["arguments", "entities", "heard", "objects", "relations"]
    built = registry.build(ReamoConfig().refiners, ReamoConfig())
    assert [r.name for r in built] == ["relations", "arguments", "entities", "heard", "objects"]
    assert {r.describe().role for r in built} == {"refiner"}
    assert ReamoConfig.load(env={"REAMO_REFINERS": ""}).refiners == []
    assert ReamoConfig.load(env={"REAMO_REFINERS": "heard, relations"}).refiners == ["heard", "relations"]


def test_a_refiner_takes_its_settings(tmp_path: Path) -> None:
    config = ReamoConfig(refiner_options={"entities": {"scorer": "none"}, "arguments": {"event_add": 0.5}})
    registry = build_refiner_registry(plugins=False)
    entities, arguments = registry.build(["entities", "arguments"], config)
    assert entities.describe().detail.endswith("(MiniLM: none)")
    assert arguments.event_add == 0.5  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        (
            {"refiners": ["relations", "colours"]},
            r"Can't find refiner 'colours'.*Available names: arguments, ",
        ),
        ({"refiner_options": {"colours": {}}}, r"refiner_options names refiner\(s\) 'colours'.*available: "),
        (
            {"refiner_options": {"objects": {"vocabulary": "all"}}},
            r"refiner_options.objects.vocabulary is 'all'; use 'auto', 'coco' or 'open'",
        ),
        (
            {"refiner_options": {"entities": {"floor": 0.3}}},
            r"entities has unknown setting\(s\) floor; .*check_add",
        ),
        (
            {"refiner_options": {"arguments": {"event_floor": 2}}},
            r"arguments.event_floor is 2; use a probability",
        ),
        ({"refiner_options": {"relations": {"scorer": "nowhere"}}}, r"No pair scorer at 'nowhere'.*Shipped"),
        (
            {"refiner_options": {"heard": {"strict": True}}},
            r"refiner_options.heard has unknown setting\(s\) strict",
        ),
        (
            {"planner_options": {"relation_scorer": "none"}},
            r"planner_options.relation_scorer is now refiner_options.relations.scorer .*"
            r"set refiner_options.relations.scorer = 'none' instead",
        ),
        (
            {"planner_options": {"entity_checker": ["x"]}},
            r"set refiner_options.entities.scorer = \['x'\] instead",
        ),
    ],
)
def test_bad_refiner_settings_say_what_to_do(settings: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Reamo(planner=ScriptedPlanner([PLANNED]), plugins=False, **settings)


def test_unknown_refiners_are_a_typed_error() -> None:
    with pytest.raises(RefinerNotFoundError, match="Available names: none"):
        RefinerRegistry().factory("objects")


def test_registration_mistakes_say_what_to_do() -> None:
    registry = RefinerRegistry()
    with pytest.raises(RegistrationError, match="lowercase words joined by dots"):
        registry.register("Objects", Fake("Objects", add_dog))
    registry.register("pets", Fake("pets", add_dog))
    with pytest.raises(RegistrationError, match="already taken"):
        registry.register("pets", Fake("pets", add_dog))
    registry.register("pets", Fake("pets", crash), replace=True)
    with pytest.raises(RegistrationError, match="neither a refiner nor a factory"):
        registry.register("thing", 42)
    registry.register("misnamed", lambda setup: Fake("other", add_dog))
    with pytest.raises(RegistrationError, match="made is named 'other'"):
        registry.build(["misnamed"], ReamoConfig())
    registry.register("half", lambda setup: object())
    with pytest.raises(RegistrationError, match="lacks describe, applies, replaces, refine, name"):
        registry.build(["half"], ReamoConfig())
    with pytest.raises(ConfigError, match="takes no settings"):
        registry.build(["pets"], ReamoConfig(refiner_options={"pets": {"x": 1}}))


PLUGIN = '''\
"""A demo refiner plugin: it drops every entity it does not like."""

from reamo.agent.refiners import Draft
from reamo.schemas import BackendInfo


class Picky:
    name = "demo.picky"

    def __init__(self, disliked):
        self.disliked = set(disliked)

    def describe(self):
        return BackendInfo(role="refiner", name=self.name, detail="drops what it dislikes")

    def applies(self, request):
        return True

    def replaces(self, request):
        return frozenset()

    def refine(self, request):
        draft = Draft(request, self.name)
        draft.drop_entities([e.id for e in draft.entities if e.text in self.disliked], "disliked")
        return draft.finish()


def make(setup):
    return Picky(setup.options.get("disliked", []))
'''


@pytest.fixture
def plugin_site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A distribution declaring ``demo.picky`` under the ``reamo.refiners`` entry points, on sys.path (as
    an installed one is: a module and its dist-info folder)."""
    (tmp_path / "reamo_demo_refiner.py").write_text(PLUGIN)
    info = tmp_path / "reamo_demo_refiner-0.1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: reamo-demo-refiner\nVersion: 0.1.0\n")
    (info / "entry_points.txt").write_text(
        textwrap.dedent(f"""\
            [{ENTRY_POINT_GROUP}]
            demo.picky = reamo_demo_refiner:make
            """)
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.invalidate_caches()
    yield tmp_path  # type: ignore[misc]
    sys.modules.pop("reamo_demo_refiner", None)


def test_an_entry_point_refiner_is_found_and_configured(
    plugin_site: Path, make_reamo: Callable[..., Reamo], registry: Any
) -> None:
    assert "demo.picky" in build_refiner_registry(plugins=True)
    assert "demo.picky" not in build_refiner_registry(plugins=False)
    reamo = Reamo(
        planner="scripted:" + str(_answers(plugin_site)),
        registry=registry,
        plugins=True,
        refiners=["demo.picky"],
        refiner_options={"demo.picky": {"disliked": ["Berlin"]}},
    )
    result = reamo.extract("ner", text=TEXT, labels=LABELS)
    assert [e.text for e in result.entities] == ["Barack Obama", "Angela Merkel"]
    assert [b.name for b in result.backends if b.role == "refiner"] == ["demo.picky"]


def _answers(folder: Path) -> Path:
    path = folder / "answers.jsonl"
    path.write_text(json.dumps({**PLANNED, "relations": [], "calls": []}) + "\n")
    return path


def test_a_broken_entry_point_is_a_registration_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    info = tmp_path / "reamo_broken_refiner-0.1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: reamo-broken-refiner\nVersion: 0.1.0\n")
    (info / "entry_points.txt").write_text(f"[{ENTRY_POINT_GROUP}]\nbroken = reamo_no_such_module:make\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.invalidate_caches()
    with pytest.raises(
        RegistrationError, match=r"(?s)Can't load entry point 'broken'.*uninstall the package"
    ):
        build_refiner_registry()


def test_a_refiner_setup_has_defaults() -> None:
    setup = RefinerSetup("x")
    assert (setup.options, setup.config) == ({}, ReamoConfig())


def test_each_window_of_a_long_text_is_refined(registry: Any) -> None:
    from reamo.tools.perception import metadata_perceivers

    sentence = "Barack Obama met Angela Merkel in Berlin with his dog on a sunny day in spring."
    text = " ".join([sentence] * 4)

    def answer(request: Any) -> dict[str, Any]:
        return {"entities": [{"text": "Barack Obama", "label": "person"}]}

    counter = Fake("pets", add_dog)
    reamo = Reamo(
        planner=ScriptedPlanner([answer], repeat_last=True),
        registry=registry,
        perceivers=metadata_perceivers(),
        plugins=False,
        window_chars=100,
        refiner_registry=RefinerRegistry({"pets": counter}),
        refiners=["pets"],
    )
    result = reamo.extract("ner", text, labels=LABELS)
    assert len(result.windows) == len(counter.requests) == 4
    assert [request.text for request in counter.requests] == [sentence] * 4  # each reads its window
    dog = result.entities[-1]
    assert dog.text == "dog"  # the windows' dogs are one entity, found at each of its places
    assert [g.start for g in dog.groundings if g.media == "text"] == [
        text.index("dog", n * 80) for n in range(4)
    ]


def test_readme_refiner_example_runs(
    make_reamo: Callable[..., Reamo], monkeypatch: pytest.MonkeyPatch
) -> None:
    import re

    import reamo

    readme = (Path(__file__).parents[1] / "README.md").read_text()
    code = re.search(r"```python\n(.*?)```", readme.split("## Your own refiner", 1)[1], re.DOTALL)
    assert code is not None
    answer = {"entities": [{"text": "Barack Obama", "label": "person"}]}
    monkeypatch.setattr(reamo, "Reamo", lambda **settings: make_reamo(answer, **settings))
    namespace: dict[str, Any] = {}
    exec(compile(code.group(1), "README.md", "exec"), namespace)
    result = namespace["result"]
    assert [(e.text, e.label, e.concept) for e in result.entities] == [
        ("Barack Obama", "person", False),
        ("dog", "animal", True),
    ]
    assert [d.code for d in result.diagnostics if d.stage == "refine"] == ["refine.acme.pets.added"]
