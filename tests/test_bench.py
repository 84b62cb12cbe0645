"""``reamo bench``: the runner over hand-made suites with a scripted planner and the fake tools, the
scores it reports, failing instances, ``--limit``, the JSON report, the baselines and the CLI."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from reamo import masks
from reamo.agent import PlanRequest, ScriptedPlanner
from reamo.cli import main
from reamo.errors import SuiteError
from reamo.evaluation import PipelinePlanner, load_suite, run_bench
from reamo.evaluation.metrics import PRF, Mean
from reamo.evaluation.runner import applies, build_systems, run_suite, suite_metrics, system_metrics
from reamo.schemas import RLE, ImageRegion
from reamo.sdk import Reamo
from reamo.tools import ToolArgs, ToolContext, ToolRegistry, tool
from reamo.tools.perception import metadata_perceivers

TEXT = "Obama meets Merkel in Berlin"
OBAMA_POLYGON = [2.0, 2.0, 30.0, 2.0, 30.0, 40.0, 2.0, 40.0]  # the fake segmenter's box for "Obama"
SCHEMA = {"entity_types": ["person", "location", "organization"]}


@pytest.fixture(autouse=True)
def no_refiners(monkeypatch: pytest.MonkeyPatch) -> None:
    """The scores here are those of the scripted answers: the refiners (which would check them) are off
    for every Reamo these tests and ``reamo bench`` build."""
    monkeypatch.setenv("REAMO_REFINERS", "")


def gold_entities(*, image: bool = False, audio: bool = False, video: bool = False) -> list[dict[str, Any]]:
    obama: dict[str, Any] = {"id": "e1", "text": "Obama", "label": "person", "text_span": [0, 5]}
    if image:
        obama["image"] = {"polygons": [OBAMA_POLYGON]}
    if audio:
        obama["audio"] = [0.5, 1.0]  # where the fake audio tool hears everything
    if video:
        obama["video"] = {"boxes": {f"{i:05d}": [1, 1, 20, 20] for i in range(5)}}  # the fake track
    return [
        obama,
        {"id": "e2", "text": "Merkel", "label": "person", "text_span": [12, 18]},
        {"id": "e3", "text": "Berlin", "label": "location", "text_span": [22, 28]},
    ]


def row(id_: str, text: str = TEXT, **media: str) -> dict[str, Any]:
    kinds = {k: True for k in media}
    return {
        "id": id_,
        "task": "ner",
        "inputs": {"text": text, **media},
        "schema": SCHEMA,
        "gold": {"entities": gold_entities(**kinds) if text == TEXT else []},
    }


def write_suite_file(folder: Path, rows: list[dict[str, Any]], name: str = "tiny.jsonl") -> Path:
    path = folder / name
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def answer(request: PlanRequest) -> dict[str, Any]:
    """Obama and Merkel right, Berlin mislabelled; Obama grounded in every medium present."""
    if request.inputs.text and "crash" in request.inputs.text:
        raise RuntimeError("planner crashed")
    modules = {"image": "ImageSegmentation", "audio": "AudioSegmentation", "video": "VideoTracking"}
    calls = [
        {"module": modules[m], "instruction": "Obama", "target": f"{m}:0"}
        for m in request.inputs.modalities
        if m in modules
    ]
    return {
        "entities": [
            {"text": "Obama", "label": "person", "concept": bool(calls)},
            {"text": "Merkel", "label": "person"},
            {"text": "Berlin", "label": "organization"},
        ],
        "calls": calls,
    }


@pytest.fixture
def reamo(registry: ToolRegistry) -> Reamo:
    return Reamo(
        planner=ScriptedPlanner([answer], repeat_last=True),
        registry=registry,
        perceivers=metadata_perceivers(),
        plugins=False,
    )


def quiet() -> Console:
    return Console(file=open("/dev/null", "w"), width=200)


def test_scores_of_a_text_and_image_suite(media_dir: Path, reamo: Reamo) -> None:
    suite = load_suite(
        write_suite_file(media_dir, [row("a", image="photo.png"), row("b", image="photo.png")])
    )
    assert suite_metrics(suite) == ["ner", "iseg"]
    run = run_suite(reamo, suite, system="reamo")
    assert run.failed == 0
    # per instance: Obama and Merkel right, Berlin's label wrong -> tp 2, pred 3, gold 3; twice
    assert run.totals.ie.ner == PRF(4, 6, 6)
    # Obama's predicted mask is its gold polygon: IoU 1 on each instance's only pair
    assert run.totals.iseg == Mean(2.0, 2)
    assert run.instances[0].result is not None
    assert run.instances[0].result.entities[0].text == "Obama"


def test_tool_calls_are_counted_valid_and_correctly_targeted(media_dir: Path, registry: ToolRegistry) -> None:
    """Obama has a gold image grounding, Merkel none, and the input has no audio: of three calls one
    is dropped by the validator, two run, both are on gold entities, and one of those targets a medium
    its entity is grounded in."""
    calls = {
        "entities": [
            {"text": "Obama", "label": "person", "concept": True},
            {"text": "Merkel", "label": "person", "concept": True},
        ],
        "calls": [
            {"module": "ImageSegmentation", "instruction": "Obama", "target": "image:0"},
            {"module": "ImageSegmentation", "instruction": "Merkel", "target": "image:0"},
            {"module": "AudioSegmentation", "instruction": "Obama", "target": "audio:0"},
        ],
    }
    reamo = Reamo(
        planner=ScriptedPlanner([calls], repeat_last=True),
        registry=registry,
        perceivers=metadata_perceivers(),
        plugins=False,
        max_repairs=0,
    )
    suite = load_suite(write_suite_file(media_dir, [row("a", image="photo.png"), row("t")]))
    run = run_suite(reamo, suite, system="reamo")
    assert run.instances[1].calls.emitted == 0  # text alone: no call is counted
    assert run.calls.rates() == {
        "emitted": 3,
        "valid": 66.7,
        "correct": 33.3,
        "on_gold": 66.7,
        "targeted": 50.0,
    }
    assert run.to_json(["ner", "iseg"])["calls"]["correct"] == 33.3


def test_audio_and_video_groundings_are_scored(media_dir: Path, reamo: Reamo) -> None:
    suite = load_suite(write_suite_file(media_dir, [row("av", audio="speech.wav", video="clip")]))
    assert suite_metrics(suite) == ["ner", "aseg", "vtrck"]
    totals = run_suite(reamo, suite, system="reamo").totals
    assert totals.aseg == Mean(1.0, 1)  # [0.5, 1.0] heard where it was said
    assert totals.vtrck == Mean(1.0, 1)  # the same box on all five annotated frames


def test_a_failing_instance_is_recorded_and_counted(media_dir: Path, reamo: Reamo) -> None:
    crash = row("crash", text="crash " + TEXT[:0] + "here")
    crash["gold"]["entities"] = [{"id": "e1", "text": "here", "label": "location", "text_span": [6, 10]}]
    missing = media_dir / "gone.png"
    missing.write_bytes((media_dir / "photo.png").read_bytes())
    suite = load_suite(write_suite_file(media_dir, [crash, row("gone", image="gone.png"), row("ok")]))
    missing.unlink()  # deleted after loading: the run meets a MediaNotFoundError
    run = run_suite(reamo, suite, system="reamo")
    assert [i.ok for i in run.instances] == [False, False, True]
    assert "planner crashed" in str(run.instances[0].error)
    assert str(run.instances[1].error).startswith("MediaNotFoundError")
    # the failed instances' gold still counts: 1 + 3 + 3 gold, only the last predicted
    assert run.totals.ie.ner == PRF(2, 3, 7)
    assert run.failed == 2


def test_json_report_and_limit(media_dir: Path, reamo: Reamo) -> None:
    path = write_suite_file(media_dir, [row("a", image="photo.png"), row("b"), row("c")])
    out = media_dir / "out" / "report.json"
    run_bench([path], reamo, limit=2, json_out=out, console=quiet(), progress_console=quiet(), command=["x"])
    report = json.loads(out.read_text())
    assert report["report_version"] == 1
    assert report["command"] == ["x"]
    assert set(report["machine"]) == {"python", "platform", "cpu_count", "loadavg"}
    assert report["backends"][0]["role"] == "planner"
    (suite,) = report["suites"]
    assert suite["suite"] == "tiny"
    assert suite["instances"] == 2  # --limit 2
    assert suite["metrics"] == ["ner", "iseg"]
    assert suite["paper"] == {}
    (system,) = suite["systems"]
    assert system["system"] == "reamo"
    assert system["scores"]["ner"] == {
        "precision": 66.7,
        "recall": 66.7,
        "f1": 66.7,
        "tp": 4,
        "pred": 6,
        "gold": 6,
    }
    assert system["scores"]["iseg"] == {"score": 100.0, "n": 1}
    assert set(system["latency_s"]) == {"median", "p90", "mean"}
    assert system["latency_s"]["p90"] >= system["latency_s"]["median"] > 0
    assert system["throughput_per_s"] > 0
    assert system["peak_rss_mb"] > 0
    first = system["per_instance"][0]
    assert (first["id"], first["ok"], first["error"]) == ("a", True, None)
    assert [e["text"] for e in first["prediction"]["entities"]] == ["Obama", "Merkel", "Berlin"]
    assert first["scores"]["ner"]["tp"] == 2


def test_pipeline_baseline_sends_every_entity_to_every_tool(media_dir: Path, registry: ToolRegistry) -> None:
    inner = ScriptedPlanner(
        [{"entities": [{"text": "Obama", "label": "person"}, {"text": "Merkel", "label": "person"}]}],
        repeat_last=True,
    )
    reamo = Reamo(planner=PipelinePlanner(inner), registry=registry, perceivers=metadata_perceivers())
    result = reamo.extract("ner", text=TEXT, image=media_dir / "photo.png", audio=media_dir / "speech.wav")
    assert reamo.planner.describe().name == "pipeline(scripted)"
    called = sorted((c.call.module, c.call.instruction) for c in result.calls)
    assert called == [
        ("AudioSegmentation", "Merkel"),
        ("AudioSegmentation", "Obama"),
        ("ImageSegmentation", "Merkel"),
        ("ImageSegmentation", "Obama"),
    ]
    assert all(e.concept for e in result.entities)


def test_pipeline_baseline_passes_an_unparseable_answer_through(registry: ToolRegistry) -> None:
    inner = ScriptedPlanner(["no idea", {"entities": [{"text": "Obama", "label": "person"}]}])
    reamo = Reamo(planner=PipelinePlanner(inner), registry=registry, perceivers=metadata_perceivers())
    result = reamo.extract("ner", text=TEXT)  # the repair loop re-asks, as for the inner planner
    assert [e.text for e in result.entities] == ["Obama"]
    assert result.planner_attempts == 2


def test_baselines_run_beside_reamo(media_dir: Path, reamo: Reamo) -> None:
    systems = build_systems(reamo, baseline=True)
    assert list(systems) == ["reamo", "pipeline", "spacy"]
    with_refiners = build_systems(Reamo(reamo.config, refiners=["entities"]), baseline=True)
    assert [len(s.refiners) for s in with_refiners.values()] == [1, 1, 0]  # spaCy alone is spaCy alone
    text_suite = load_suite(write_suite_file(media_dir, [row("t")], "text.jsonl"))
    seen = {"id": "e1", "text": "Obama", "label": "person", "image": {"polygons": [OBAMA_POLYGON]}}
    image_only = {**row("i"), "inputs": {"image": "photo.png"}, "gold": {"entities": [seen]}}
    image_suite = load_suite(write_suite_file(media_dir, [image_only], "image.jsonl"))
    assert applies("spacy", text_suite)
    assert not applies("pipeline", text_suite)  # no tool applies: it would be REAMO again
    assert applies("pipeline", image_suite)
    assert not applies("spacy", image_suite)  # spaCy alone is a text NER baseline
    results = run_bench([image_suite.path], reamo, baseline=True, console=quiet(), progress_console=quiet())
    ((_, runs),) = results
    assert [r.system for r in runs] == ["reamo", "pipeline"]
    # the pipeline baseline sends Merkel and Berlin to the segmenter too: it finds nothing for them
    assert runs[1].totals.iseg == Mean(1.0, 1)
    assert len(runs[1].instances[0].result.calls) == 3  # type: ignore[union-attr]


def test_cli_bench(
    media_dir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    answers = media_dir / "answers.json"
    answers.write_text(json.dumps([{"entities": [{"text": "Merkel", "label": "person"}]}]))
    suite = write_suite_file(media_dir, [row("a"), row("b")])
    out = media_dir / "report.json"
    code = main(["bench", str(suite), "--limit", "1", "--json", str(out), "--planner", f"scripted:{answers}"])
    assert code == 0
    printed = capsys.readouterr().out
    assert "tiny: NER, T, 1 instances" in printed
    assert "REAMO (paper)" in printed
    system = json.loads(out.read_text())["suites"][0]["systems"][0]
    assert system["scores"]["ner"]["f1"] == 50.0  # 1 of 1 predicted right, 1 of 3 gold found
    assert system["planner"] == "scripted:answers.json"


def test_cli_bench_reports_a_malformed_suite(media_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = row("a")
    bad["gold"]["entities"][0]["label"] = "animal"
    code = main(["bench", str(write_suite_file(media_dir, [bad]))])
    assert code == 2
    assert "SuiteError" in capsys.readouterr().err


@pytest.mark.models
def test_spacy_alone_baseline_on_text_ner(media_dir: Path, reamo: Reamo) -> None:
    suite = write_suite_file(media_dir, [row("a"), row("b")])
    ((_, runs),) = run_bench([suite], reamo, baseline=True, console=quiet(), progress_console=quiet())
    assert [r.system for r in runs] == ["reamo", "spacy"]
    spacy = runs[1]
    assert spacy.planner == "spacy"
    assert spacy.failed == 0
    assert spacy.totals.ie.ner.n_gold == 6
    assert spacy.totals.ie.ner.tp >= 2  # en_core_web_sm finds Obama and Merkel as persons


def test_a_folder_stands_for_its_suites(media_dir: Path, reamo: Reamo) -> None:
    folder = media_dir / "suites"
    folder.mkdir()
    for name in ("b.jsonl", "a.jsonl"):
        write_suite_file(folder, [{**row("x"), "inputs": {"text": TEXT, "image": "../photo.png"}}], name)
    results = run_bench([folder], reamo, console=quiet(), progress_console=quiet())
    assert [suite.name for suite, _ in results] == ["a", "b"]
    with pytest.raises(SuiteError, match="holds no suite files"):
        run_bench([media_dir / "clip"], reamo, console=quiet(), progress_console=quiet())


@tool("test.image.half.v1", module="ImageSegmentation", modality="image")
def half_mask(args: ToolArgs, ctx: ToolContext) -> list[ImageRegion]:
    """A box around Obama with a mask that fills only its left half."""
    img = ctx.perception.images[args.target]
    rle = masks.from_box((2.0, 2.0, 16.0, 40.0), img.height, img.width)
    return [ImageRegion(media=args.target, box=(2.0, 2.0, 30.0, 40.0), mask=RLE(**rle), score=0.9)]  # type: ignore[arg-type]


def test_boxes_stand_in_for_masks_when_the_gold_has_only_boxes(media_dir: Path) -> None:
    reamo = Reamo(
        planner=ScriptedPlanner([answer], repeat_last=True),
        registry=ToolRegistry([half_mask]),
        perceivers=metadata_perceivers(),
    )
    boxed = row("box", image="photo.png")
    boxed["gold"]["entities"][0]["image"] = {"box": [2.0, 2.0, 30.0, 40.0]}
    polygon = row("polygon", image="photo.png")
    suite = load_suite(write_suite_file(media_dir, [boxed, polygon]))
    run = run_suite(reamo, suite, system="reamo")
    box_score, mask_score = (i.scores.iseg for i in run.instances)
    assert box_score == Mean(1.0, 1)  # the predicted box against the gold box
    assert mask_score.total == pytest.approx(0.5)  # the half mask against the full polygon: 14/28


def test_spacy_alone_reads_the_text_only(reamo: Reamo) -> None:
    spacy = build_systems(reamo, baseline=True)["spacy"]
    assert len(spacy.registry) == 0  # no grounding tool
    assert {p.describe().name for p in spacy.perceivers.values()} == {"metadata"}  # no perception model
    assert system_metrics("spacy", ["ner", "aseg"]) == ["ner"]
    assert system_metrics("reamo", ["ner", "aseg"]) == ["ner", "aseg"]
