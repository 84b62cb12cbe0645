"""End-to-end latency and peak memory of the configured stack, per modality combination, cold and warm.

Each combination runs in a fresh process: "cold" is the first extraction there (every model loads on
first use: planner, perception, tools), "warm" the median and p90 of the next ``--runs`` extractions of
the same input; peak RSS is that process's. Inputs come from built suites (``reamo bench build``): a
coco128 photo, a spoken Twitter-2017 clip, the first ``--frames`` frames of a DAVIS video, and a sentence.

    python benchmarks/speed.py [--suites ~/.cache/reamo/suites] [--runs 3] [--planner SPEC] [--only T,T+I]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

TEXT = "Barack Obama met Angela Merkel in Berlin on Monday."
COMBINATIONS = ("T", "I", "A", "V", "T+I", "T+A", "T+V", "I+A", "T+I+A")
"""Nine modality combinations, as the paper's test set has."""


def _first(suite: Path, field: str) -> str:
    """The first ``inputs.field`` of a suite that is set, as an absolute path."""
    if not suite.is_file():
        raise SystemExit(
            f"{suite} is missing: build the suites first (reamo bench build --data ../shared/data)"
        )
    for line in suite.read_text(encoding="utf-8").splitlines():
        value = json.loads(line)["inputs"].get(field)
        if value:
            return str(suite.parent / value)
    raise SystemExit(f"{suite} has no {field} input")


def prepare_inputs(suites: Path, frames: int, folder: Path) -> dict[str, str]:
    """One input of each medium, from the built suites; the video cut to its first ``frames`` frames."""
    video = Path(_first(suites / "davis2016_v_ner.jsonl", "video"))
    clip = folder / "clip"
    clip.mkdir(parents=True, exist_ok=True)
    for src in sorted(video.glob("*.jpg"))[:frames]:
        shutil.copyfile(src, clip / src.name)
    return {
        "text": TEXT,
        "image": _first(suites / "coco128_i_ner.jsonl", "image"),
        "audio": _first(suites / "twitter2017_a_ner.jsonl", "audio"),
        "video": str(clip),
    }


def worker(combo: str, inputs: dict[str, str], runs: int, planner: str | None) -> dict[str, Any]:
    """Runs in the child process: build REAMO, one cold extraction, ``runs`` warm ones."""
    from reamo import Reamo

    names = {"T": "text", "I": "image", "A": "audio", "V": "video"}
    kwargs = {names[m]: inputs[names[m]] for m in combo.split("+")}
    start = time.perf_counter()
    reamo = Reamo(planner=planner)
    built = time.perf_counter() - start
    start = time.perf_counter()
    result = reamo.extract("ner", **kwargs)
    cold = time.perf_counter() - start
    warm = []
    for _ in range(runs):
        start = time.perf_counter()
        reamo.extract("ner", **kwargs)
        warm.append(time.perf_counter() - start)
    warm.sort()
    return {
        "combo": combo,
        "init_s": built,
        "cold_s": cold,
        "warm_median_s": statistics.median(warm) if warm else None,
        "warm_p90_s": warm[min(len(warm) - 1, int(0.9 * len(warm)))] if warm else None,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "entities": len(result.entities),
        "grounded": sum(bool([g for g in e.groundings if g.kind != "text"]) for e in result.entities),
        "failed_calls": sum(c.status != "ok" for c in result.calls),
        "planner": result.backends[0].name if result.backends else "",
        "stages": {k: round(v, 3) for k, v in result.timings.items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--suites", default="~/.cache/reamo/suites", help="folder of built suites")
    parser.add_argument("--runs", type=int, default=3, help="warm runs per combination")
    parser.add_argument("--frames", type=int, default=24, help="video frames")
    parser.add_argument("--planner", help="planner spec (default: the configured one)")
    parser.add_argument("--only", help="comma-separated combinations, e.g. T,T+I")
    parser.add_argument("--json", help="write the rows here")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--inputs", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker, json.loads(args.inputs), args.runs, args.planner)))
        return
    combos = args.only.split(",") if args.only else list(COMBINATIONS)
    console = Console()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        inputs = prepare_inputs(Path(args.suites).expanduser(), args.frames, Path(tmp))
        for combo in combos:
            command = [sys.executable, __file__, "--worker", combo, "--inputs", json.dumps(inputs)]
            command += ["--runs", str(args.runs)] + (["--planner", args.planner] if args.planner else [])
            with console.status(f"{combo}: fresh process, cold then {args.runs} warm runs"):
                done = subprocess.run(command, capture_output=True, text=True, check=False)
            if done.returncode:
                tail = done.stderr.strip().splitlines()[-1:] or ["no output"]
                rows.append({"combo": combo, "error": tail[0]})
                continue
            rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    table = Table(title=f"REAMO end to end, NER, {os.cpu_count()} CPUs, load average {load} (shared machine)")
    for column in ("inputs", "planner", "init s", "cold s", "warm median s", "warm p90 s", "peak RSS MB"):
        table.add_column(column, justify="left" if column in ("inputs", "planner") else "right")
    table.add_column("entities/grounded/failed", justify="right")
    for row in rows:
        if "error" in row:
            table.add_row(row["combo"], f"[red]failed: {row['error']}[/]", *[""] * 6)
            continue
        table.add_row(
            row["combo"],
            row["planner"],
            f"{row['init_s']:.2f}",
            f"{row['cold_s']:.2f}",
            f"{row['warm_median_s']:.2f}" if row["warm_median_s"] is not None else "",
            f"{row['warm_p90_s']:.2f}" if row["warm_p90_s"] is not None else "",
            f"{row['peak_rss_mb']:.0f}",
            f"{row['entities']} / {row['grounded']} / {row['failed_calls']}",
        )
    console.print(table)
    console.print(f"inputs: {json.dumps(inputs)}", highlight=False)
    if args.json:
        Path(args.json).write_text(
            json.dumps({"loadavg": os.getloadavg(), "inputs": inputs, "rows": rows}, indent=1)
        )


if __name__ == "__main__":
    main()
