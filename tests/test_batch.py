"""Batch extraction (``reamo extract --manifest``, ``reamo.batch``): one process, ``--workers 2`` and Ray
write the same records in the manifest's order; a rerun resumes; bad rows fail alone; ``reamo bench
--workers 2`` scores like one process. A scripted planner named by its file drives every process."""

from __future__ import annotations

import json
import sys
import types
from pathlib import Path
from typing import Any

import pytest

from reamo.batch import RayOptions, read_manifest, run_manifest, without_timings
from reamo.cli import main
from reamo.config import ReamoConfig
from reamo.errors import BackendUnavailableError, InputError
from reamo.pools import RayPool, import_ray

ANSWER = {"entities": [{"text": "Berlin", "label": "location"}, {"text": "Merkel", "label": "person"}]}
TEXTS = [
    "Merkel flew to Berlin.",
    "Berlin welcomed Angela Merkel.",
    "In Berlin, Merkel spoke.",
    "Nothing happened in Berlin today, said Merkel.",
    "Merkel and Berlin again.",
    "A long day in Berlin for Merkel.",
]


def assert_same_records(got: list[dict[str, Any]], want: list[dict[str, Any]]) -> None:
    """Equal records once the wall-clock fields (``timings``, each ``seconds``) are taken out."""
    assert [without_timings(r) for r in got] == [without_timings(r) for r in want]


def read_records(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.fixture
def planner(tmp_path: Path) -> str:
    answers = tmp_path / "answers.json"
    answers.write_text(json.dumps([ANSWER]))
    return f"scripted:{answers}"


@pytest.fixture
def manifest(tmp_path: Path) -> Path:
    """Six text rows, a row whose image is missing and one without an id (its id is its line number)."""
    rows: list[dict[str, Any]] = [
        {"id": f"r{i}", "task": "ner", "inputs": {"text": t}} for i, t in enumerate(TEXTS)
    ]
    rows.insert(3, {"id": "missing", "task": "ner", "inputs": {"text": TEXTS[0], "image": "gone.png"}})
    rows.append({"task": "ner", "inputs": {"text": "Merkel left Berlin."}, "labels": ["person", "location"]})
    path = tmp_path / "in.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def extract(manifest: Path, out: Path, planner: str, *options: str) -> int:
    return main(["extract", "--manifest", str(manifest), "--out", str(out), "--planner", planner, *options])


def serial(manifest: Path, planner: str) -> list[dict[str, Any]]:
    out = manifest.with_name("serial.jsonl")
    assert extract(manifest, out, planner, "--workers", "1") == 0
    return read_records(out)


IDS = ["r0", "r1", "r2", "missing", "r3", "r4", "r5", 8]


def test_one_process_writes_a_record_a_row(manifest: Path, planner: str) -> None:
    records = serial(manifest, planner)
    assert [r["id"] for r in records] == IDS
    assert records[3]["error"]["type"] == "MediaNotFoundError"
    assert str(manifest.parent / "gone.png") in records[3]["error"]["message"]  # beside the manifest
    first = records[0]["result"]
    assert [(e["text"], e["label"]) for e in first["entities"]] == [
        ("Berlin", "location"),
        ("Merkel", "person"),
    ]
    assert first["entities"][0]["groundings"][0]["start"] == TEXTS[0].index("Berlin")
    assert "total" in first["timings"]  # what the comparisons leave out is there


def test_workers_write_the_same_records_in_input_order(manifest: Path, planner: str) -> None:
    out = manifest.with_name("workers.jsonl")
    assert extract(manifest, out, planner, "--workers", "2") == 0
    records = read_records(out)
    assert [r["id"] for r in records] == IDS
    assert_same_records(records, serial(manifest, planner))


def test_a_rerun_after_a_crash_does_only_the_missing_rows(manifest: Path, planner: str) -> None:
    full = serial(manifest, planner)
    out = manifest.with_name("crashed.jsonl")
    lines = [json.dumps(r) + "\n" for r in full]
    out.write_text(lines[0] + lines[1] + lines[2][: len(lines[2]) // 2])  # the third cut short
    progress: list[tuple[int, int]] = []
    summary = run_manifest(
        manifest,
        out,
        config=ReamoConfig.load(planner=planner),
        on_progress=lambda d, t: progress.append((d, t)),
    )
    assert (summary.total, summary.skipped, summary.written, summary.failed) == (8, 2, 6, 1)
    assert summary.dropped_cut_line
    assert progress[0] == (2, 8)
    assert progress[-1] == (8, 8)
    text = out.read_text()
    assert text.startswith(lines[0] + lines[1])  # the first two were not redone: same timings, same bytes
    records = read_records(out)
    assert [r["id"] for r in records] == IDS
    assert_same_records(records, full)
    again = run_manifest(manifest, out, config=ReamoConfig.load(planner=planner))
    assert (again.skipped, again.written) == (8, 0)
    assert out.read_text() == text


def test_a_rerun_with_workers_appends_in_order(manifest: Path, planner: str) -> None:
    full = serial(manifest, planner)
    out = manifest.with_name("resumed.jsonl")
    out.write_text(json.dumps(full[0]) + "\n" + json.dumps(full[1]))  # no newline: cut at the very end
    assert extract(manifest, out, planner, "--workers", "2") == 0
    records = read_records(out)
    assert [r["id"] for r in records] == IDS
    assert_same_records(records, full)


def test_ids_must_be_unique(tmp_path: Path, planner: str, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "dup.jsonl"
    rows = [
        {"id": "a", "inputs": {"text": "x"}},
        {"inputs": {"text": "y"}},  # line 2: id 2
        {"id": 2, "inputs": {"text": "z"}},
        {"id": "a", "inputs": {"text": "w"}},
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    with pytest.raises(InputError, match=r'"a" on lines 1, 4, 2 on lines 2, 3'):
        read_manifest(path)
    assert extract(path, tmp_path / "out.jsonl", planner) == 2
    assert "ids must be unique" in " ".join(capsys.readouterr().err.split())  # as rich wrapped it
    assert not (tmp_path / "out.jsonl").exists()  # nothing ran


def test_bad_ids_and_lines_stop_the_run_before_it_starts(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"id": [1], "inputs": {"text": "x"}}\n')
    with pytest.raises(InputError, match="must be a string or an integer"):
        read_manifest(path)
    path.write_text('{"id": "a", "inputs": {"text": "x"}}\n["not", "an", "object"]\n')
    with pytest.raises(InputError, match=r"bad.jsonl:2: each line must be a JSON object"):
        read_manifest(path)
    with pytest.raises(InputError, match="does not exist"):
        read_manifest(tmp_path / "nowhere.jsonl")


def test_bad_rows_get_error_records_and_the_rest_go_on(tmp_path: Path, planner: str) -> None:
    path = tmp_path / "rows.jsonl"
    rows = [
        {"id": "ok", "inputs": {"text": TEXTS[0]}},
        {"id": "inputs", "inputs": "just text"},
        {"id": "typo", "inputs": {"txt": TEXTS[0]}},
        {"id": "schema", "inputs": {"text": TEXTS[0]}, "schema": {"entity_types": "person"}},
        {"id": "task", "task": "pos", "inputs": {"text": TEXTS[0]}},
        {"id": "empty", "inputs": {}},
        {"id": "last", "inputs": {"text": TEXTS[1]}},
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "out.jsonl"
    assert extract(path, out, planner) == 0
    records = {r["id"]: r for r in read_records(out)}
    assert list(records) == [r["id"] for r in rows]
    errors = {k: r["error"]["type"] for k, r in records.items() if "error" in r}
    assert errors == {
        "inputs": "InputError",
        "typo": "InputError",
        "schema": "LabelSchemaError",
        "task": "UnknownTaskError",
        "empty": "EmptyInputError",
    }
    assert "rows.jsonl:3: bad inputs: inputs.txt" in records["typo"]["error"]["message"]
    assert "result" in records["ok"]
    assert "result" in records["last"]


def test_every_row_failing_exits_1(tmp_path: Path, planner: str) -> None:
    path = tmp_path / "rows.jsonl"
    path.write_text(json.dumps({"inputs": {}}) + "\n")
    assert extract(path, tmp_path / "out.jsonl", planner) == 1


def test_an_out_file_of_another_manifest_is_refused(manifest: Path, planner: str) -> None:
    out = manifest.with_name("other.jsonl")
    out.write_text(json.dumps({"id": "elsewhere", "result": {}}) + "\n")
    with pytest.raises(InputError, match=r"not in the manifest \(\"elsewhere\"\)"):
        run_manifest(manifest, out, config=ReamoConfig.load(planner=planner))
    out.write_text("garbage\n" + json.dumps({"id": "r0", "result": {}}) + "\n")
    with pytest.raises(InputError, match=r"other\.jsonl:1 is not a record"):
        run_manifest(manifest, out, config=ReamoConfig.load(planner=planner))


def test_a_planner_that_cannot_be_built_fails_the_run_with_its_error(manifest: Path, tmp_path: Path) -> None:
    config = ReamoConfig.load(planner=f"scripted:{tmp_path / 'no-answers.json'}")
    with pytest.raises(Exception, match="Can't read the scripted planner's answers") as caught:
        run_manifest(manifest, tmp_path / "out.jsonl", config=config, workers=2)
    assert type(caught.value).__name__ == "ConfigError"  # typed, from the worker process


def test_workers_and_ray_need_a_manifest(
    manifest: Path, planner: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["extract", "--task", "ner", "--text", "x", "--workers", "2", "--planner", planner]) == 2
    assert "--workers and --ray run a --manifest" in capsys.readouterr().err
    with pytest.raises(InputError, match="--workers must be at least 1"):
        run_manifest(manifest, manifest.with_name("out.jsonl"), workers=0)


def test_missing_ray_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray raises ImportError
    with pytest.raises(BackendUnavailableError, match=r"pip install 'reamo\[ray\]'"):
        import_ray()


def test_an_unreachable_ray_cluster_says_how_to_start_one(monkeypatch: pytest.MonkeyPatch) -> None:
    def init(**_: Any) -> None:
        raise ConnectionError("Could not find any running Ray instance.")

    fake = types.SimpleNamespace(is_initialized=lambda: False, init=init)
    monkeypatch.setitem(sys.modules, "ray", fake)
    with pytest.raises(
        BackendUnavailableError,
        match=r"at HEAD:6379: Could not find any running Ray instance\. Start .*`ray start --head`",
    ):
        RayPool(lambda: None, 1, RayOptions(address="HEAD:6379"))


@pytest.mark.slow
def test_ray_actors_write_the_same_records(manifest: Path, planner: str) -> None:
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        out = manifest.with_name("ray.jsonl")
        assert extract(manifest, out, planner, "--ray", "--workers", "2") == 0
        assert_same_records(read_records(out), serial(manifest, planner))
        with pytest.raises(InputError, match="need 3 CPUs; the cluster has 2"):
            run_manifest(
                manifest,
                out.with_name("more.jsonl"),
                config=ReamoConfig.load(planner=planner),
                workers=3,
                ray=RayOptions(),
            )
        assert ray.is_initialized()  # a cluster it did not start is left running
    finally:
        ray.shutdown()


SUITE_ROWS = [
    {
        "id": f"s{i}",
        "task": "ner",
        "inputs": {"text": text},
        "schema": {"entity_types": ["person", "location"]},
        "gold": {
            "entities": [
                {"id": "e1", "text": "Merkel", "label": "person", "text_span": [m, m + 6]},
                {
                    "id": "e2",
                    "text": "Berlin",
                    "label": "person",
                    "text_span": [b, b + 6],
                },  # wrong on purpose
            ]
        },
    }
    for i, text in enumerate(TEXTS[:4])
    for m, b in [(text.index("Merkel"), text.index("Berlin"))]
]


def test_bench_with_workers_scores_like_one_process(tmp_path: Path, planner: str) -> None:
    suite = tmp_path / "tiny.jsonl"
    suite.write_text("".join(json.dumps(r) + "\n" for r in SUITE_ROWS))
    reports = []
    for workers in ("1", "2"):
        out = tmp_path / f"report-{workers}.json"
        assert (
            main(["bench", str(suite), "--json", str(out), "--planner", planner, "--workers", workers]) == 0
        )
        (system,) = json.loads(out.read_text())["suites"][0]["systems"]
        reports.append(system)
    one, two = reports
    assert one["scores"]["ner"] == {
        "precision": 50.0,
        "recall": 50.0,
        "f1": 50.0,
        "tp": 4,
        "pred": 8,
        "gold": 8,
    }
    assert two["scores"] == one["scores"]
    assert [i["id"] for i in two["per_instance"]] == ["s0", "s1", "s2", "s3"]
    assert_same_records(two["per_instance"], one["per_instance"])


def test_a_row_reads_its_text_from_a_file_beside_the_manifest(tmp_path: Path, planner: str) -> None:
    (tmp_path / "long.txt").write_text(" ".join(TEXTS), encoding="utf-8")
    path = tmp_path / "rows.jsonl"
    rows = [
        {"id": "file", "inputs": {"text_file": "long.txt"}},
        {"id": "gone", "inputs": {"text_file": "missing.txt"}},
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "out.jsonl"
    assert extract(path, out, planner) == 0
    records = {r["id"]: r for r in read_records(out)}
    assert records["file"]["result"]["inputs"]["text"] == " ".join(TEXTS)
    assert records["gone"]["error"]["type"] == "MediaNotFoundError"
