"""The suite format (BENCHMARK.md): loading hand-made suites, one malformed suite per error, ``--limit``."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from reamo import masks
from reamo.errors import SuiteError
from reamo.evaluation import load_suite, write_suite
from reamo.evaluation.scoring import gold_intervals, gold_regions, gold_tracks

TEXT = "Obama meets Merkel in Berlin"  # Obama [0, 5), Merkel [12, 18), Berlin [22, 28)
SCHEMA = {
    "entity_types": ["person", "location"],
    "relation_types": ["peer"],
    "event_types": ["Meet"],
    "argument_roles": ["Entity"],
}


def instance(**changes: Any) -> dict[str, Any]:
    """A valid text + image + audio + video instance; ``changes`` replace top-level keys."""
    base = {
        "id": "x-1",
        "task": "ner",
        "inputs": {"text": TEXT, "image": "photo.png", "audio": "speech.wav", "video": "clip"},
        "schema": SCHEMA,
        "gold": {
            "entities": [
                {
                    "id": "e1",
                    "text": "Obama",
                    "label": "person",
                    "text_span": [0, 5],
                    "image": {"polygons": [[2.0, 2.0, 30.0, 2.0, 30.0, 40.0, 2.0, 40.0]], "box": None},
                    "audio": [0.5, 1.0],
                    "video": {"boxes": {"00000": [1, 1, 20, 20], "00001": [1, 1, 20, 20]}},
                },
                {"id": "e2", "text": "Merkel", "label": "person", "text_span": [12, 18]},
                {"id": "e3", "label": "location", "text_span": [22, 28]},
            ],
            "relations": [{"head": "e1", "tail": "e2", "label": "peer"}],
            "events": [
                {
                    "type": "Meet",
                    "trigger": {"text": "meets", "text_span": [6, 11], "audio": None},
                    "arguments": [{"entity": "e1", "role": "Entity"}],
                }
            ],
        },
    }
    base.update(changes)
    return base


def write_lines(folder: Path, rows: list[Any], name: str = "suite.jsonl") -> Path:
    path = folder / name
    path.write_text("\n".join(r if isinstance(r, str) else json.dumps(r) for r in rows) + "\n")
    return path


def test_load_resolves_paths_and_keeps_gold(media_dir: Path) -> None:
    suite = load_suite(write_lines(media_dir, [instance(), instance(id="x-2")]))
    assert suite.name == "suite"
    assert [i.id for i in suite.instances] == ["x-1", "x-2"]
    first = suite.instances[0]
    assert first.inputs.image == str(media_dir.resolve() / "photo.png")
    assert first.modalities == "T+I+A+V"
    assert first.labels.entity_types == ["person", "location"]
    assert first.gold.entities[2].text is None  # text_span alone is enough
    assert suite.head(1).instances == suite.instances[:1]
    with pytest.raises(SuiteError, match="at least 1"):
        suite.head(0)


def test_paths_are_relative_to_the_suite_file(media_dir: Path) -> None:
    sub = media_dir / "suites"
    sub.mkdir()
    row = instance(inputs={"text": TEXT, "image": "../photo.png"})
    row["gold"]["entities"][0].pop("audio")
    row["gold"]["entities"][0].pop("video")
    suite = load_suite(write_lines(sub, [row]))
    assert Path(str(suite.instances[0].inputs.image)).resolve() == (media_dir / "photo.png").resolve()


def test_gold_groundings_become_regions_intervals_and_tracks(media_dir: Path) -> None:
    mask = np.zeros((48, 64), dtype=np.uint8)
    mask[10:20, 5:15] = 255
    Image.fromarray(mask).save(media_dir / "mask.png")
    masks_dir = media_dir / "masks"
    masks_dir.mkdir()
    for name in ("00000", "00002"):
        Image.fromarray(mask).save(masks_dir / f"{name}.png")
    row = instance()
    row["gold"]["entities"][1]["image"] = {"mask": "mask.png"}
    row["gold"]["entities"][1]["video"] = {"masks": "masks"}
    row["gold"]["entities"][2]["image"] = {"box": [0, 0, 4, 4]}
    inst = load_suite(write_lines(media_dir, [row])).instances[0]
    regions = gold_regions(inst)
    # polygon (2,2)-(30,40) rasterised: pixel centres inside, 28 x 38; the PNG mask: 10 x 10; a box as is
    assert masks.area(regions[0]) == 28 * 38  # type: ignore[arg-type]  # a COCO RLE
    assert int(np.count_nonzero(regions[1])) == 100
    assert regions[2] == (0.0, 0.0, 4.0, 4.0)
    assert gold_intervals(inst) == [(0.5, 1.0)]
    tracks, frames = gold_tracks(inst)
    assert sorted(tracks[0]) == [0, 1]
    assert sorted(tracks[1]) == [0, 2]
    assert frames == [0, 1, 2]  # every annotated frame is scored


def _drop(path: str) -> Callable[[dict[str, Any]], None]:
    def change(row: dict[str, Any]) -> None:
        node = row
        *parents, last = path.split(".")
        for key in parents:
            node = node[int(key)] if key.isdigit() else node[key]
        del node[last]

    return change


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(row: dict[str, Any]) -> None:
        node = row
        *parents, last = path.split(".")
        for key in parents:
            node = node[int(key)] if key.isdigit() else node[key]
        node[int(last) if last.isdigit() else last] = value

    return change


MALFORMED = {
    "span outside the text": (_set("gold.entities.1.text_span", [12, 99]), r"outside the text \(length 28\)"),
    "span cuts other text": (
        _set("gold.entities.1.text_span", [11, 17]),
        r"cuts ' Merke', not its text 'Merkel'",
    ),
    "empty span": (_set("gold.entities.1.text_span", [5, 5]), "start < end"),
    "missing image": (_set("inputs.image", "nowhere.png"), r"inputs.image 'nowhere.png' does not exist"),
    "image of a wrong kind": (_set("inputs.image", "speech.wav"), "is not a image file"),
    "entity type outside the schema": (
        _set("gold.entities.1.label", "animal"),
        "entity type 'animal' is not in",
    ),
    "relation type outside the schema": (_set("gold.relations.0.label", "boss"), "relation type 'boss'"),
    "event type outside the schema": (_set("gold.events.0.type", "Attack"), "event type 'Attack'"),
    "role outside the schema": (_set("gold.events.0.arguments.0.role", "Victim"), "argument role 'Victim'"),
    "dangling relation": (_set("gold.relations.0.tail", "e9"), "'e9' is not a gold entity id"),
    "duplicate entity id": (_set("gold.entities.1.id", "e1"), "duplicate entity id 'e1'"),
    "entity without text or span": (_drop("gold.entities.1.text_span"), None),
    "unknown task": (_set("task", "qa"), "task: Input should be 'ner', 're' or 'ee'"),
    "unknown key": (_set("inputs.smell", "x"), "inputs.smell: Extra inputs are not permitted"),
    "no inputs": (_set("inputs", {}), "inputs has no text, image, audio or video"),
    "bad polygon": (_set("gold.entities.0.image.polygons", [[1, 2, 3]]), "at least 3 points"),
    "missing mask file": (
        _set("gold.entities.0.image", {"mask": "nomask.png"}),
        "mask 'nomask.png' does not exist",
    ),
    "empty region list": (_set("gold.entities.0.image", []), r"\.image: an empty list"),
    "a listed region without a mask": (
        _set("gold.entities.0.video", [{"masks": None}]),
        r"gold.entities\[0\] \(e1\).video: give masks",
    ),
    "audio span backwards": (_set("gold.entities.0.audio", [2.0, 1.0]), r"needs 0 <= start <= end"),
    "audio grounding without audio": (
        _drop("inputs.audio"),
        "has an audio span but the instance has no audio",
    ),
}


@pytest.mark.parametrize("case", list(MALFORMED))
def test_malformed_instance_raises_with_line_and_fix(media_dir: Path, case: str) -> None:
    change, message = MALFORMED[case]
    row = copy.deepcopy(instance())
    change(row)
    if case == "entity without text or span":  # e3 has no text: dropping its span leaves neither
        row["gold"]["entities"][2].pop("text_span")
        message = r"gold.entities\[2\] \(e3\): give 'text' or 'text_span'"
    path = write_lines(media_dir, [instance(id="ok"), row])
    with pytest.raises(SuiteError, match=message) as info:
        load_suite(path)
    assert f"{path}:2 (id 'x-1')" in str(info.value)


def test_file_level_errors(media_dir: Path) -> None:
    with pytest.raises(SuiteError, match="does not exist; build suites with `reamo bench build`"):
        load_suite(media_dir / "none.jsonl")
    with pytest.raises(SuiteError, match=r"suite.jsonl:1: not valid JSON"):
        load_suite(write_lines(media_dir, ["{not json"]))
    with pytest.raises(SuiteError, match="must be a JSON object"):
        load_suite(write_lines(media_dir, ["[1, 2]"]))
    with pytest.raises(SuiteError, match="has no instances"):
        load_suite(write_lines(media_dir, [""]))
    with pytest.raises(SuiteError, match="duplicate id, first used on line 1"):
        load_suite(write_lines(media_dir, [instance(), instance()]))


def test_write_then_load_round_trips(media_dir: Path) -> None:
    loaded = load_suite(write_lines(media_dir, [instance()]))
    out = media_dir / "copy.jsonl"
    assert write_suite(out, loaded.instances) == 1  # absolute paths stay valid
    again = load_suite(out)
    assert again.instances == loaded.instances
    assert json.loads(out.read_text())["schema"] == SCHEMA  # written under the format's key


def test_an_entity_seen_in_several_places_lists_its_regions(media_dir: Path) -> None:
    """``image`` (and ``video``) may list regions, one per thing seen: each is a region of its own for
    I-Seg, where one region's several polygons are joined."""
    row = instance(inputs={"image": "photo.png"})
    row["gold"] = {
        "entities": [
            {
                "id": "e1",
                "text": "people",
                "label": "person",
                "image": [
                    {"box": [0, 0, 4, 4]},
                    {"polygons": [[0, 0, 4, 0, 4, 4], [10, 10, 14, 10, 14, 14]]},
                ],
            }
        ]
    }
    (loaded,) = load_suite(write_lines(media_dir, [row])).instances
    assert len(loaded.gold.entities[0].image_regions()) == 2
    regions = gold_regions(loaded)
    assert regions[0] == (0.0, 0.0, 4.0, 4.0)
    assert masks.decode(regions[1]).sum() > 0  # two polygons of one thing: one mask (RLE)
    assert len(regions) == 2
