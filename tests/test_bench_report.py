"""``reamo bench``'s summary: schema-shift variants beside their original, a second config (``--compare``)
beside the first, and the paper's cells, each cited; from hand-made runs and a scripted planner."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from reamo.agent import ScriptedPlanner
from reamo.cli import main
from reamo.evaluation import load_suite, run_bench
from reamo.evaluation.metrics import PRF, IEScores
from reamo.evaluation.paper import PAPER_REAMO, paper_cells, paper_scores
from reamo.evaluation.report import shift_rows, shift_tables, side_by_side_table
from reamo.evaluation.runner import InstanceRun, SystemRun
from reamo.evaluation.scoring import InstanceScores
from reamo.evaluation.suite import Suite, SuiteInputs, SuiteInstance
from reamo.schemas import LabelSchema
from reamo.sdk import Reamo
from reamo.tools import ToolRegistry
from reamo.tools.perception import metadata_perceivers

TEXT = "red and blue"  # no name the NER checker would add to a scripted answer


def suite(name: str, ids: tuple[str, ...] = ("a", "b")) -> Suite:
    instances = tuple(
        SuiteInstance(
            id=i, task="ner", inputs=SuiteInputs(text=TEXT), labels=LabelSchema(entity_types=["person"])
        )
        for i in ids
    )
    return Suite(Path(f"/suites/{name}.jsonl"), instances)


def run(system: str, the_suite: Suite, tp: int) -> SystemRun:
    """A run whose NER is ``tp`` right of 4 predicted and 4 gold (F1 = tp / 4)."""
    scores = InstanceScores(ie=IEScores(ner=PRF(tp, 4, 4)))
    return SystemRun(system, "scripted", the_suite, [InstanceRun("a", "T", 0.1, scores)], wall_seconds=1.0)


def text(table: Any) -> str:
    console = Console(width=200, record=True, file=io.StringIO())
    console.print(table)
    return console.export_text()


def cells(line: str) -> list[str]:
    """A printed table row's cells."""
    return [c.strip() for c in line.replace("┃", "│").split("│") if c.strip()]


def test_variants_stand_beside_their_original_with_the_difference_in_points() -> None:
    results = []
    for name, tp in (("tw", 4), ("tw.names", 3), ("tw.codes", 1), ("other", 2)):
        s = suite(name)
        results.append((s, [run("reamo", s, tp), run("zero-shot", s, tp - 1 if tp else 0)]))
    rows = shift_rows(results)
    assert [(r["suite"], r["system"], r["metric"]) for r in rows] == [
        ("tw", "reamo", "ner"),
        ("tw", "zero-shot", "ner"),
    ]
    assert rows[0]["scores"] == {"original": 100.0, "names": 75.0, "codes": 25.0}
    assert rows[0]["delta"] == {"names": -25.0, "codes": -75.0}
    (table,) = shift_tables(results)  # "other" has no variants: no table
    printed = text(table)
    assert "tw: schema shift (NER, 2 instances)" in printed
    header = next(line for line in printed.splitlines() if "original" in line)
    assert cells(header)[2:] == ["original", "names", "codes"]
    assert "75.0 (-25.0)" in printed
    assert "25.0 (-75.0)" in printed
    assert "REAMO (ours)" in printed
    assert "zero-shot" in printed


def test_variants_of_other_instances_are_flagged() -> None:
    original, names = suite("tw"), suite("tw.names", ("a", "c"))
    (table,) = shift_tables([(original, [run("reamo", original, 4)]), (names, [run("reamo", names, 4)])])
    assert "differ from the original's" in text(table)


def test_a_second_config_stands_beside_the_first() -> None:
    a, b = suite("twitter2017_t_ner"), suite("twitter2017_t_ner.codes")
    results = [
        (b, [run("reamo", b, 2), run("zero-shot", b, 3)]),
        (a, [run("reamo", a, 4), run("zero-shot", a, 2)]),
    ]
    printed = text(side_by_side_table(results))
    header = next(line for line in printed.splitlines() if "metric" in line)
    places = [header.index(h) for h in ("REAMO (ours)", " zero-shot", "Δ zero-shot", "paper")]
    assert places == sorted(places), printed
    rows = [cells(line) for line in printed.splitlines() if "twitter2017_t_ner" in line]
    # the original first, its variant after it; the paper's Table 2 cell, none for a variant
    assert rows[0] == ["twitter2017_t_ner", "NER", "100.0", "50.0", "-50.0", "47.4"]
    assert rows[1] == ["twitter2017_t_ner.codes", "NER", "50.0", "75.0", "+25.0", "n/a"]
    assert "Δ: zero-shot minus REAMO as configured" in printed


def test_paper_cells_are_cited_and_proxies_marked() -> None:
    assert paper_scores("twitter2017_t_ner") == {"ner": 47.4}
    assert paper_scores("m2e2_t_ee") == {"et": 30.2, "ea": 25.6}
    assert paper_scores("twitter2017_t_ner.codes") == {}
    (ner, iseg) = paper_cells("coco128_i_ner")
    assert ner.cite() == "Table 2, I PASCAL-C NER 43.0 (proxy: PASCAL-C)"
    assert iseg.value == 64.6
    assert paper_cells("mnre_t_re")[0].cite() == "Table 2, T+I MNRE RE 24.6"
    assert all(c.table in (2, 3, 4, 5) for cells in PAPER_REAMO.values() for c in cells)
    same_source = {"twitter2017_t_ner", "mnre_t_re", "m2e2_t_ee"}
    assert all(
        (c.proxy is None) == (name in same_source) for name, cells in PAPER_REAMO.items() for c in cells
    )


def answers(names: list[str]) -> dict[str, Any]:
    return {"entities": [{"text": n, "label": "colour"} for n in names]}


def write(folder: Path, name: str) -> Path:
    row = {
        "id": "a",
        "task": "ner",
        "inputs": {"text": TEXT},
        "schema": {"entity_types": ["colour"]},
        "gold": {
            "entities": [
                {"id": "e1", "text": "red", "label": "colour", "text_span": [0, 3]},
                {"id": "e2", "text": "blue", "label": "colour", "text_span": [8, 12]},
            ]
        },
    }
    path = folder / f"{name}.jsonl"
    path.write_text(json.dumps(row) + "\n")
    return path


def test_run_bench_scores_the_suites_under_a_second_config(tmp_path: Path, registry: ToolRegistry) -> None:
    def reamo(names: list[str]) -> Reamo:
        planner = ScriptedPlanner([answers(names)], repeat_last=True)
        return Reamo(planner=planner, registry=registry, perceivers=metadata_perceivers(), plugins=False)

    path = write(tmp_path, "tiny")
    out = tmp_path / "report.json"
    console = Console(width=200, record=True, file=io.StringIO())
    quiet = Console(file=io.StringIO())
    results = run_bench(
        [path],
        reamo(["red", "blue"]),
        compare=reamo(["red"]),
        compare_name="no-mnre",
        json_out=out,
        console=console,
        progress_console=quiet,
    )
    ((_, runs),) = results
    assert [(r.system, r.totals.ie.ner) for r in runs] == [("reamo", PRF(2, 2, 2)), ("no-mnre", PRF(1, 1, 2))]
    printed = console.export_text()
    assert "All suites side by side" in printed
    assert "Δ no-mnre" in printed
    assert "-33.3" in printed
    report = json.loads(out.read_text())
    assert [s["system"] for s in report["suites"][0]["systems"]] == ["reamo", "no-mnre"]
    assert list(report["compared_backends"]) == ["no-mnre"]


def test_cli_compare(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    first, second = tmp_path / "first.json", tmp_path / "second.json"
    first.write_text(json.dumps([answers(["red", "blue"])]))
    second.write_text(json.dumps([answers(["blue"])]))
    config = tmp_path / "zero.toml"
    config.write_text(f'planner = "scripted:{second}"\nplugins = false\n')
    suites = [write(tmp_path, "tw"), write(tmp_path, "tw.names")]
    code = main(["bench", *map(str, suites), "--planner", f"scripted:{first}", "--compare", str(config)])
    assert code == 0
    printed = capsys.readouterr().out
    assert "tw: schema shift (NER, 1 instances)" in printed
    assert "100.0 (+0.0)" in printed  # names beside the original
    assert "66.7 (+0.0)" in printed  # the zero-shot config's row
    assert "Δ zero-shot" in printed
    assert load_suite(suites[1]).name == "tw.names"
