"""``reamo bench``: load suites, run every system over them, print the tables, write the JSON."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from contextlib import ExitStack
from functools import partial
from pathlib import Path

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

from reamo.errors import SuiteError
from reamo.evaluation.report import print_suite, report_json
from reamo.evaluation.runner import (
    InstanceRun,
    SystemRun,
    applies,
    bench_systems,
    build_systems,
    run_suite,
)
from reamo.evaluation.suite import Suite, load_suite
from reamo.pools import open_pool
from reamo.render import output_console
from reamo.sdk import Reamo

__all__ = ["expand", "run_bench"]


def expand(paths: Sequence[str | Path]) -> list[Path]:
    """Suite files; a folder stands for every ``*.jsonl`` in it, in name order."""
    out: list[Path] = []
    for p in paths:
        path = Path(p).expanduser()
        found = sorted(path.glob("*.jsonl")) if path.is_dir() else [path]
        if not found:
            raise SuiteError(
                f"{str(path)!r} holds no suite files (*.jsonl); build them with `reamo bench build`."
            )
        out += found
    return out


def run_bench(
    paths: Sequence[str | Path],
    reamo: Reamo,
    *,
    limit: int | None = None,
    baseline: bool = False,
    json_out: str | Path | None = None,
    console: Console | None = None,
    progress_console: Console | None = None,
    command: Sequence[str] | None = None,
    workers: int = 1,
) -> list[tuple[Suite, list[SystemRun]]]:
    """Run ``reamo`` (and with ``baseline`` the baselines) over each suite; every suite is loaded and
    checked first, so a malformed one fails before any model runs. With ``workers`` > 1 the instances
    run in that many processes, each building its systems once from ``reamo.config`` (so the planner
    must be named there, e.g. ``scripted:FILE``, not passed as an object)."""
    console = console or output_console()
    suites = [load_suite(p).head(limit) for p in expand(paths)]
    systems = build_systems(reamo, baseline=baseline)
    results: list[tuple[Suite, list[SystemRun]]] = []
    columns = (TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with ExitStack() as stack:
        progress = stack.enter_context(
            Progress(*columns, console=progress_console or Console(stderr=True), transient=True)
        )
        pool = None
        if workers != 1:  # 0 or less: open_pool says what to give
            pool = open_pool(partial(bench_systems, reamo.config, baseline), workers=workers)
            stack.callback(pool.close)
        for suite in suites:
            runs = []
            for name, system in systems.items():
                if not applies(name, suite):
                    continue
                bar = progress.add_task(f"{suite.name} / {name}", total=len(suite.instances))

                def advance(_run: InstanceRun, bar: TaskID = bar) -> None:
                    progress.advance(bar)

                run = run_suite(system, suite, system=name, on_instance=advance, pool=pool)
                progress.remove_task(bar)
                progress.console.print(
                    f"{suite.name} / {name}: {len(run.instances)} instances, {run.failed} failed, "
                    f"{run.wall_seconds:.1f} s",
                    highlight=False,
                )
                runs.append(run)
            results.append((suite, runs))
            print_suite(console, suite, runs)
            if json_out is not None:  # after every suite: a long run that is stopped keeps what it did
                _write(results, reamo, json_out, command)
    if json_out is not None:
        console.print(f"wrote {json_out}")
    return results


def _write(
    results: list[tuple[Suite, list[SystemRun]]],
    reamo: Reamo,
    json_out: str | Path,
    command: Sequence[str] | None,
) -> None:
    report = report_json(
        results,
        backends=[b.model_dump() for b in reamo.backends],
        command=list(command if command is not None else sys.argv),
    )
    out = Path(json_out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(out.suffix + ".tmp")
    tmp.write_text(json.dumps(report, indent=1), encoding="utf-8")
    tmp.replace(out)
