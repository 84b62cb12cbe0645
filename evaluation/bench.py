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
from reamo.evaluation.report import print_suite, print_summary, report_json
from reamo.evaluation.runner import (
    COMPARED,
    InstanceRun,
    SystemRun,
    applies,
    bench_systems,
    build_systems,
    run_suite,
)
from reamo.evaluation.suite import Suite, load_suite
from reamo.evaluation.variants import ORIGINAL, VARIANTS, split_variant
from reamo.pools import open_pool
from reamo.render import output_console
from reamo.sdk import Reamo

__all__ = ["expand", "run_bench"]


def _order(path: Path) -> tuple[str, int]:
    """A suite's place: by name, each original before its variants, the variants in ``VARIANTS`` order."""
    base, variant = split_variant(path.name.removesuffix(".jsonl"))
    return base, (ORIGINAL, *VARIANTS).index(variant)


def expand(paths: Sequence[str | Path]) -> list[Path]:
    """Suite files; a folder stands for every ``*.jsonl`` in it, in name order, each original suite
    followed by its schema-shift variants."""
    out: list[Path] = []
    for p in paths:
        path = Path(p).expanduser()
        found = sorted(path.glob("*.jsonl"), key=_order) if path.is_dir() else [path]
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
    compare: Reamo | None = None,
    compare_name: str = COMPARED,
) -> list[tuple[Suite, list[SystemRun]]]:
    """Run ``reamo`` (with ``compare`` the same suites under a second config, named ``compare_name``;
    with ``baseline`` the baselines) over each suite; every suite is loaded and checked first, so a
    malformed one fails before any model runs. Each suite's table is printed as it ends; at the end, the
    schema-shift variants beside their originals and, with ``compare``, the two configs side by side.
    With ``workers`` > 1 the instances run in that many processes, each building its systems once from
    the configs (so the planner must be named there, e.g. ``scripted:FILE``, not passed as an object)."""
    console = console or output_console()
    suites = [load_suite(p).head(limit) for p in expand(paths)]
    systems = build_systems(reamo, baseline=baseline, compare=compare, compare_name=compare_name)
    results: list[tuple[Suite, list[SystemRun]]] = []
    columns = (TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with ExitStack() as stack:
        progress = stack.enter_context(
            Progress(*columns, console=progress_console or Console(stderr=True), transient=True)
        )
        pool = None
        if workers != 1:  # 0 or less: open_pool says what to give
            second = compare.config if compare is not None else None
            make = partial(bench_systems, reamo.config, baseline, second, compare_name)
            pool = open_pool(make, workers=workers)
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
                others = {compare_name: compare} if compare is not None else {}
                _write(results, reamo, json_out, command, others)
    print_summary(console, results)
    if json_out is not None:
        console.print(f"wrote {json_out}")
    return results


def _write(
    results: list[tuple[Suite, list[SystemRun]]],
    reamo: Reamo,
    json_out: str | Path,
    command: Sequence[str] | None,
    others: dict[str, Reamo],
) -> None:
    report = report_json(
        results,
        backends=[b.model_dump() for b in reamo.backends],
        command=list(command if command is not None else sys.argv),
        compared={name: [b.model_dump() for b in other.backends] for name, other in others.items()},
    )
    out = Path(json_out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(out.suffix + ".tmp")
    tmp.write_text(json.dumps(report, indent=1), encoding="utf-8")
    tmp.replace(out)
