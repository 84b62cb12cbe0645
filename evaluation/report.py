"""Reports of a benchmark run: a rich table per suite in the paper's layout, and the JSON record."""

from __future__ import annotations

import os
import platform
import sys
import time
from typing import Any

from rich.console import Console
from rich.table import Table

from reamo import __version__
from reamo.evaluation.paper import PAPER_CITATION, paper_scores
from reamo.evaluation.runner import METRIC_NAMES, SystemRun, headline, suite_metrics, system_metrics
from reamo.evaluation.suite import Suite

__all__ = ["REPORT_VERSION", "print_suite", "report_json"]

REPORT_VERSION = 1
"""Version of the JSON layout ``report_json`` writes."""

SYSTEM_NAMES = {"reamo": "REAMO (ours)", "pipeline": "pipeline baseline", "spacy": "spaCy alone"}


def _cell(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f}"


def suite_table(suite: Suite, runs: list[SystemRun]) -> Table:
    """One suite: a row per system, and the paper's REAMO row, under the paper's columns."""
    metrics = suite_metrics(suite)
    title = f"{suite.name}: {suite.task.upper()}, {suite.modalities}, {len(suite.instances)} instances"
    table = Table(title=title, title_justify="left")
    table.add_column("system", overflow="fold")
    table.add_column("planner", style="dim", overflow="fold")
    for metric in metrics:
        table.add_column(METRIC_NAMES[metric], justify="right")
    for column in ("failed", "median s", "p90 s", "inst/s", "peak RSS MB"):
        table.add_column(column, justify="right", style="dim")
    for run in runs:
        totals, latency = run.totals, run.latency()
        scored = system_metrics(run.system, metrics)
        table.add_row(
            SYSTEM_NAMES.get(run.system, run.system),
            run.planner,
            *(_cell(headline(totals, m)) if m in scored else "–" for m in metrics),
            str(run.failed),
            f"{latency['median']:.3f}",
            f"{latency['p90']:.3f}",
            f"{run.throughput:.2f}",
            f"{run.peak_rss_mb:.0f}",
        )
    paper = paper_scores(suite.name)
    table.add_row(
        "REAMO (paper)", "Vicuna-7B+ImageBind", *(_cell(paper.get(m)) for m in metrics), "", "", "", "", ""
    )
    table.caption = (
        "F1 for NER/RE/ET/EA, mean IoU for I-Seg/A-Seg, J for V-Trck; all ×100. "
        f"Paper: {PAPER_CITATION}, other test samples"
        + ("" if paper else "; its numbers are not recorded here (see reamo/evaluation/paper.py)")
        + "."
    )
    return table


def print_suite(console: Console, suite: Suite, runs: list[SystemRun]) -> None:
    console.print(suite_table(suite, runs))
    for run in runs:
        calls = run.calls.rates()
        if calls["emitted"]:
            console.print(
                f"  {SYSTEM_NAMES.get(run.system, run.system)} tool calls: {calls['emitted']} emitted, "
                f"{calls['valid']}% valid, {calls['correct']}% correctly targeted; "
                f"{calls['on_gold']}% on gold entities, {calls['targeted']}% of those correctly targeted",
                highlight=False,
            )
    failures = [(r.system, i) for r in runs for i in r.instances if not i.ok]
    for system, inst in failures[:3]:
        console.print(f"  [red]failed[/] {system} {inst.id}: {inst.error}", highlight=False)
    if len(failures) > 3:
        console.print(f"  ... {len(failures) - 3} more failures in the JSON report", highlight=False)


def report_json(
    results: list[tuple[Suite, list[SystemRun]]], *, backends: list[dict[str, Any]], command: list[str]
) -> dict[str, Any]:
    """The whole run as JSON: machine facts, backends, and per suite each system's scores, latency,
    throughput, peak RSS and per-instance predictions."""
    try:
        load = list(os.getloadavg())
    except OSError:
        load = []
    return {
        "report_version": REPORT_VERSION,
        "reamo_version": __version__,
        "command": command,
        "finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {
            "python": sys.version.split()[0],
            "platform": platform.platform(),
            "cpu_count": os.cpu_count(),
            "loadavg": load,
        },
        "backends": backends,
        "suites": [
            {
                "suite": suite.name,
                "path": str(suite.path),
                "task": suite.task,
                "modalities": suite.modalities,
                "instances": len(suite.instances),
                "metrics": suite_metrics(suite),
                "paper": paper_scores(suite.name),
                "systems": [run.to_json(suite_metrics(suite)) for run in runs],
            }
            for suite, runs in results
        ],
    }
