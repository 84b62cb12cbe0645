"""Reports of a benchmark run: a rich table per suite in the paper's layout, and the JSON record."""

from __future__ import annotations

import os
import platform
import sys
import time
from collections.abc import Callable
from typing import Any

from rich.console import Console
from rich.table import Table

from reamo import __version__
from reamo.evaluation.paper import PAPER_CITATION, paper_cells, paper_scores
from reamo.evaluation.runner import METRIC_NAMES, SystemRun, headline, suite_metrics, system_metrics
from reamo.evaluation.suite import Suite
from reamo.evaluation.variants import ORIGINAL, VARIANTS, split_variant

__all__ = [
    "REPORT_VERSION",
    "print_suite",
    "print_summary",
    "report_json",
    "shift_rows",
    "shift_tables",
    "side_by_side_table",
    "suite_table",
]

REPORT_VERSION = 1
"""Version of the JSON layout ``report_json`` writes (keys are only ever added within a version)."""

SYSTEM_NAMES = {"reamo": "REAMO (ours)", "pipeline": "pipeline baseline", "spacy": "spaCy alone"}
BUILT_IN = tuple(SYSTEM_NAMES)
"""Systems ``reamo bench`` always knows; any other is a second config (``--compare``)."""

Results = list[tuple[Suite, list[SystemRun]]]


def _cell(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f}"


def _delta(value: float, base: float) -> str:
    """A difference in points, signed: ``+1.5``, ``-12.0``, ``+0.0``."""
    return f"{value - base:+.1f}"


def _name(system: str) -> str:
    return SYSTEM_NAMES.get(system, system)


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
            _name(run.system),
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
    cells = [c.cite() for c in paper_cells(suite.name) if c.metric in metrics]
    table.caption = (
        "F1 for NER/RE/ET/EA, mean IoU for I-Seg/A-Seg, J for V-Trck; all ×100. "
        f"Paper: {PAPER_CITATION}, other test samples"
        + ("; " + "; ".join(cells) if cells else "; no comparable cell (see reamo/evaluation/paper.py)")
        + "."
    )
    return table


def print_suite(console: Console, suite: Suite, runs: list[SystemRun]) -> None:
    console.print(suite_table(suite, runs))
    for run in runs:
        calls = run.calls.rates()
        if calls["emitted"]:
            console.print(
                f"  {_name(run.system)} tool calls: {calls['emitted']} emitted, "
                f"{calls['valid']}% valid, {calls['correct']}% correctly targeted; "
                f"{calls['on_gold']}% on gold entities, {calls['targeted']}% of those correctly targeted",
                highlight=False,
            )
    failures = [(r.system, i) for r in runs for i in r.instances if not i.ok]
    for system, inst in failures[:3]:
        console.print(f"  [red]failed[/] {system} {inst.id}: {inst.error}", highlight=False)
    if len(failures) > 3:
        console.print(f"  ... {len(failures) - 3} more failures in the JSON report", highlight=False)


# --------------------------------------------------------------------------
# Schema-shift variants beside their original; a second config beside the first
# --------------------------------------------------------------------------


def _groups(results: Results) -> dict[str, dict[str, tuple[Suite, list[SystemRun]]]]:
    """Suites that come with variants: original name -> variant (or ``ORIGINAL``) -> its suite and runs."""
    groups: dict[str, dict[str, tuple[Suite, list[SystemRun]]]] = {}
    for suite, runs in results:
        base, variant = split_variant(suite.name)
        groups.setdefault(base, {})[variant] = (suite, runs)
    order = (ORIGINAL, *VARIANTS)
    return {
        base: {v: members[v] for v in order if v in members}
        for base, members in groups.items()
        if set(members) - {ORIGINAL}
    }


def shift_rows(results: Results) -> list[dict[str, Any]]:
    """Each system's score on each original and its variants, per metric, and each variant's difference
    in points from the original (None where the original was not run)."""
    rows: list[dict[str, Any]] = []
    for base, members in _groups(results).items():
        first_suite = next(iter(members.values()))[0]
        systems = list(dict.fromkeys(r.system for _, runs in members.values() for r in runs))
        for system in systems:
            for metric in system_metrics(system, suite_metrics(first_suite)):
                scores = {
                    variant: headline(run.totals, metric)
                    for variant, (_, runs) in members.items()
                    for run in runs
                    if run.system == system
                }
                original = scores.get(ORIGINAL)
                rows.append(
                    {
                        "suite": base,
                        "system": system,
                        "metric": metric,
                        "scores": scores,
                        "delta": {
                            v: None if original is None else round(x - original, 1)
                            for v, x in scores.items()
                            if v != ORIGINAL
                        },
                    }
                )
    return rows


def shift_tables(results: Results) -> list[Table]:
    """One table per original that has variants: a row per system and metric, a column per variant,
    each variant's score with its difference in points from the original."""
    rows = shift_rows(results)
    tables = []
    for base, members in _groups(results).items():
        suites = [suite for suite, _ in members.values()]
        n = len(suites[0].instances)
        table = Table(
            title=f"{base}: schema shift ({suites[0].task.upper()}, {n} instances)", title_justify="left"
        )
        table.add_column("system", overflow="fold")
        table.add_column("metric")
        for variant in members:
            table.add_column(variant, justify="right")
        for row in (r for r in rows if r["suite"] == base):
            cells = []
            for variant in members:
                score = row["scores"].get(variant)
                delta = row["delta"].get(variant)
                if score is None:
                    cells.append("–")
                elif variant == ORIGINAL or delta is None:
                    cells.append(_cell(score))
                else:
                    cells.append(f"{score:.1f} ({delta:+.1f})")
            table.add_row(_name(row["system"]), METRIC_NAMES[row["metric"]], *cells)
        same = all({i.id for i in s.instances} == {i.id for i in suites[0].instances} for s in suites)
        table.caption = (
            "The same instances with the labels renamed (names, codes, paraphrases) or described; "
            "in brackets the difference in points from the original."
            + ("" if same else " The variants' instances differ from the original's: rebuild them together.")
        )
        tables.append(table)
    return tables


def _compared(results: Results) -> list[str]:
    """Systems run under a second config (``--compare``), in the order they ran."""
    names = (r.system for _, runs in results for r in runs)
    return [s for s in dict.fromkeys(names) if s not in BUILT_IN]


def _grouped(results: Results) -> Callable[[tuple[Suite, list[SystemRun]]], tuple[int, int]]:
    """A sort key that keeps the run's order of suites but puts each original's variants after it."""
    bases = list(dict.fromkeys(split_variant(suite.name)[0] for suite, _ in results))
    order = (ORIGINAL, *VARIANTS)

    def place(item: tuple[Suite, list[SystemRun]]) -> tuple[int, int]:
        base, variant = split_variant(item[0].name)
        return bases.index(base), order.index(variant)

    return place


def _score(run: SystemRun | None, metric: str) -> float | None:
    """A run's headline score on a metric, None when it did not run or is not scored on it."""
    if run is None or metric not in system_metrics(run.system, [metric]):
        return None
    return headline(run.totals, metric)


def side_by_side_table(results: Results) -> Table:
    """Every suite and metric in one table: a column per system, the second config's difference in points
    from REAMO as configured, and the paper's number."""
    systems = list(dict.fromkeys(r.system for _, runs in results for r in runs))
    others = _compared(results)
    table = Table(title="All suites side by side", title_justify="left")
    table.add_column("suite", overflow="fold")
    table.add_column("metric")
    for system in systems:
        table.add_column(_name(system), justify="right")
        if system in others:
            table.add_column(f"Δ {system}", justify="right")
    table.add_column("paper", justify="right")
    for suite, runs in sorted(results, key=_grouped(results)):
        by_system = {r.system: r for r in runs}
        paper = paper_scores(suite.name)
        for metric in suite_metrics(suite):
            cells = []
            for system in systems:
                value = _score(by_system.get(system), metric)
                cells.append("–" if value is None else _cell(value))
                if system in others:
                    mine = _score(by_system.get("reamo"), metric)
                    cells.append("–" if value is None or mine is None else _delta(value, mine))
            table.add_row(suite.name, METRIC_NAMES[metric], *cells, _cell(paper.get(metric)))
    table.caption = (
        "All ×100. "
        + (f"Δ: {', '.join(others)} minus REAMO as configured, in points. " if others else "")
        + f"Paper: {PAPER_CITATION}, REAMO row, other test samples (cells and proxies: each suite's table)."
    )
    return table


def print_summary(console: Console, results: Results) -> None:
    """After every suite: the schema-shift tables, and with several suites or a second config, all
    suites side by side."""
    for table in shift_tables(results):
        console.print(table)
    if len(results) > 1 or _compared(results):
        console.print(side_by_side_table(results))


def report_json(
    results: Results,
    *,
    backends: list[dict[str, Any]],
    command: list[str],
    compared: dict[str, list[dict[str, Any]]] | None = None,
) -> dict[str, Any]:
    """The whole run as JSON: machine facts, backends (``compared``: those of a second config, by its
    name), per suite each system's scores, latency, throughput, peak RSS and per-instance predictions,
    the paper's cells, and the schema-shift rows."""
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
        "compared_backends": compared or {},
        "suites": [
            {
                "suite": suite.name,
                "path": str(suite.path),
                "task": suite.task,
                "modalities": suite.modalities,
                "instances": len(suite.instances),
                "metrics": suite_metrics(suite),
                "paper": paper_scores(suite.name),
                "paper_cells": [c.cite() for c in paper_cells(suite.name)],
                "systems": [run.to_json(suite_metrics(suite)) for run in runs],
            }
            for suite, runs in results
        ],
        "schema_shift": shift_rows(results),
    }
