"""The command line and the terminal chat, driven through their real entry points."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path

import pytest
from rich.console import Console

from reamo import ExtractionResult
from reamo.chat import Chat, parse_request
from reamo.cli import main
from reamo.schemas import json_schemas

OBAMA = "Barack Obama met Angela Merkel in Berlin."
NER_ANSWER = {
    "entities": [
        {"text": "Barack Obama", "label": "person", "concept": True},
        {"text": "Angela Merkel", "label": "person"},
        {"text": "Berlin", "label": "location"},
    ],
    "calls": [
        {
            "module": "ImageSegmentation",
            "instruction": "Obama",
            "target": "image:0",
            "concept": "Barack Obama",
        }
    ],
}
RE_ANSWER = {
    "entities": [{"text": "Barack Obama", "label": "person"}, {"text": "Angela Merkel", "label": "person"}],
    "relations": [{"head": "Barack Obama", "label": "/per/per/peer", "tail": "Angela Merkel"}],
}


@pytest.fixture
def answers_file(tmp_path: Path) -> Path:
    path = tmp_path / "answers.jsonl"
    path.write_text(json.dumps({"entities": [{"text": "Berlin", "label": "location"}]}) + "\n")
    return path


def test_schema_command_prints_every_contract(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema"]) == 0
    assert json.loads(capsys.readouterr().out) == json_schemas()
    assert main(["schema", "entity"]) == 0
    assert json.loads(capsys.readouterr().out) == json_schemas()["entity"]


def test_schema_command_rejects_unknown_name(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema", "nope"]) == 2
    assert "known: inputs" in capsys.readouterr().err


def test_answer_schema_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema", "--answer", "re"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert "/per/per/peer" in schema["properties"]["relations"]["items"]["properties"]["label"]["enum"]
    assert schema["properties"]["events"]["maxItems"] == 0


def test_tools_command_lists_plugins_or_says_none(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["tools", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    for spec in listed.values():
        assert spec["call_schema"]["properties"]["module"]["const"] == spec["module"]


def test_extract_json_with_scripted_planner(
    answers_file: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REAMO_REFINERS", "")  # the scripted answer as it is
    code = main(
        ["extract", "--task", "ner", "--text", OBAMA, "--planner", f"scripted:{answers_file}", "--json"]
    )
    assert code == 0
    result = ExtractionResult.model_validate_json(capsys.readouterr().out)
    assert [(e.text, e.label) for e in result.entities] == [("Berlin", "location")]
    assert result.entities[0].groundings[0].model_dump()["start"] == OBAMA.index("Berlin")
    assert result.backends[0].name == "scripted:answers.jsonl"


def test_extract_reports_bad_input_plainly(answers_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        ["extract", "--task", "ner", "--image", "missing.jpg", "--planner", f"scripted:{answers_file}"]
    )
    assert code == 2
    err = capsys.readouterr().err
    assert "MediaNotFoundError" in err
    assert "missing.jpg" in err


def test_extract_manifest_keeps_going_past_a_bad_line(answers_file: Path, tmp_path: Path) -> None:
    manifest = tmp_path / "in.jsonl"
    rows = [
        {"id": "a", "task": "ner", "inputs": {"text": OBAMA}},
        {"id": "b", "task": "ner", "inputs": {"image": "nowhere.png"}},
        {"id": "c", "task": "pos", "inputs": {"text": OBAMA}},
    ]
    manifest.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    out = tmp_path / "out.jsonl"
    assert (
        main(
            [
                "extract",
                "--manifest",
                str(manifest),
                "--out",
                str(out),
                "--planner",
                f"scripted:{answers_file}",
            ]
        )
        == 0
    )
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["id"] for r in records] == ["a", "b", "c"]
    assert records[0]["result"]["entities"][0]["text"] == "Berlin"
    assert records[1]["error"]["type"] == "MediaNotFoundError"
    assert str(tmp_path / "nowhere.png") in records[1]["error"]["message"]  # resolved beside the manifest
    assert records[2]["error"]["type"] == "UnknownTaskError"


@pytest.mark.parametrize(
    ("message", "task", "text"),
    [
        ("entities: Obama met Merkel", "ner", "Obama met Merkel"),
        ("now the relations", "re", None),
        ('find the events in "Troops attacked the town"', "ee", "Troops attacked the town"),
        ("Obama met Merkel in Berlin", None, "Obama met Merkel in Berlin"),
        ("who is in the picture?", "ner", None),
    ],
)
def test_parse_request(message: str, task: str | None, text: str | None) -> None:
    assert parse_request(message) == (task, text)


def test_chat_through_its_input_loop(make_reamo, media_dir: Path, tmp_path: Path) -> None:
    reamo = make_reamo(NER_ANSWER, RE_ANSWER)
    out = StringIO()
    chat = Chat(reamo, console=Console(file=out, width=160, color_system=None))
    lines = [
        "/help",
        "entities please",  # nothing attached yet
        f"/image {media_dir / 'photo.png'}",
        f"entities: {OBAMA}",
        "/json",
        "now the relations",
        f"/save {tmp_path / 'saved'}",
        "/image /no/such.jpg",
        "/quit",
        "never read",
    ]
    assert chat.run(lines) == 0
    shown = out.getvalue()
    assert "planner=scripted" in shown  # the active backends are always shown
    assert "attach media first" in shown
    assert "attached image" in shown
    assert "image:0 box [2,2,30,40]" in shown  # the fake segmenter's grounding of Obama
    assert '"label": "person"' in shown  # /json
    assert "/per/per/peer" in shown
    assert "MediaNotFoundError" in shown
    assert "never read" not in shown
    saved = {p.name for p in (tmp_path / "saved").iterdir()}
    assert saved == {"result.json"}  # the last result (RE) grounded nothing in the image
    assert [r.task for r in chat.session.results] == ["ner", "re"]


def test_chat_save_writes_overlay_of_masks(make_reamo, media_dir: Path, tmp_path: Path) -> None:
    chat = Chat(make_reamo(NER_ANSWER), console=Console(file=StringIO(), width=120))
    chat.run([f"/image {media_dir / 'photo.png'}", f"entities: {OBAMA}", f"/save {tmp_path / 'o'}"])
    from PIL import Image

    overlay = Image.open(tmp_path / "o" / "image_0_overlay.png")
    assert overlay.size == (64, 48)
    saved = json.loads((tmp_path / "o" / "result.json").read_text())
    assert saved["entities"][0]["groundings"][1]["kind"] == "image"
