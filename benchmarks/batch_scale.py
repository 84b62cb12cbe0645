"""Batch throughput: one manifest of N text NER rows through ``reamo extract --manifest`` in one process
(``--workers 1``), ``--workers K`` local processes and ``--ray`` (a local cluster started by the run),
each as its own command, so the wall time includes loading the models (and starting Ray). Prints rows/s
and wall time per mode, and whether every mode wrote the records of one process (timing fields aside).

    python benchmarks/batch_scale.py [--rows 200] [--workers 2] [--planner embedded] [--sentences FILE]
    python benchmarks/batch_scale.py --rows 8 --planner spacy          # a quick smoke run
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from reamo.batch import without_timings

SENTENCES = [
    "Barack Obama met Angela Merkel in Berlin.",
    "Apple opened a new office in London, said Tim Cook on Tuesday.",
    "The Red Cross sent aid to Haiti after the earthquake.",
    "Serena Williams beat Maria Sharapova at Wimbledon.",
    "Microsoft bought LinkedIn for 26 billion dollars.",
    "Pope Francis visited Manila in January.",
    "Toyota will build a plant in Kentucky, the governor announced.",
    "Lionel Messi left Barcelona for Paris Saint-Germain.",
    "The United Nations met in Geneva to discuss Syria.",
    "Elon Musk said Tesla would open a factory near Berlin.",
    "Greenpeace protested outside the Shell offices in The Hague.",
    "Jacinda Ardern spoke to reporters in Wellington on Monday.",
]
LABELS = ["person", "location", "organization"]


def write_manifest(path: Path, rows: int, sentences: list[str]) -> None:
    with path.open("w", encoding="utf-8") as f:
        for i in range(rows):
            row = {"id": f"row-{i}", "task": "ner", "inputs": {"text": sentences[i % len(sentences)]}}
            f.write(json.dumps({**row, "labels": LABELS}) + "\n")


def run_mode(manifest: Path, out: Path, planner: str, config: str | None, options: list[str]) -> float:
    """Seconds one ``reamo extract --manifest`` command took, start to exit."""
    command = [sys.executable, "-m", "reamo.cli", "extract", "--manifest", str(manifest), "--out", str(out)]
    command += ["--planner", planner, *(["--config", config] if config else []), *options]
    start = time.perf_counter()
    subprocess.run(command, check=True)
    return time.perf_counter() - start


def records(path: Path) -> list[Any]:
    return [without_timings(json.loads(line)) for line in path.read_text(encoding="utf-8").splitlines()]


def compare(got: list[Any], want: list[Any]) -> str:
    if len(got) != len(want):
        return f"no: {len(got)} records, {len(want)} expected"
    for mine, theirs in zip(got, want, strict=True):
        if mine != theirs:
            return f"no: first difference at id {mine.get('id')!r}"
    return "yes"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=200, help="manifest rows (sentences repeat)")
    parser.add_argument("--workers", type=int, default=2, help="processes, and Ray actors")
    parser.add_argument("--planner", default="embedded", help="planner spec (default: embedded)")
    parser.add_argument("--config", help="TOML config for every mode (e.g. planner_options.threads = 1)")
    parser.add_argument("--sentences", type=Path, help="a UTF-8 file of sentences, one a line")
    parser.add_argument("--modes", default="serial,workers,ray", help="comma-separated: serial,workers,ray")
    parser.add_argument("--dir", type=Path, help="where the manifest and outputs go (default: a temp folder)")
    args = parser.parse_args()
    sentences = SENTENCES
    if args.sentences:
        sentences = [s.strip() for s in args.sentences.read_text(encoding="utf-8").splitlines() if s.strip()]
    folder = args.dir or Path(tempfile.mkdtemp(prefix="reamo-batch-"))
    folder.mkdir(parents=True, exist_ok=True)
    manifest = folder / "in.jsonl"
    write_manifest(manifest, args.rows, sentences)
    modes = {
        "serial": ["--workers", "1"],
        "workers": ["--workers", str(args.workers)],
        "ray": ["--ray", "--workers", str(args.workers)],
    }
    chosen = [m.strip() for m in args.modes.split(",")]
    unknown = [m for m in chosen if m not in modes]
    if unknown:
        parser.error(f"unknown mode(s) {', '.join(unknown)}; known: {', '.join(modes)}")
    table = Table(title=f"{args.rows} NER rows, planner {args.planner}, {args.workers} workers/actors")
    for column in ("mode", "wall s", "rows/s", "same records as the first mode"):
        table.add_column(column)
    first: list[Any] | None = None
    for mode in chosen:
        out = folder / f"{mode}.out.jsonl"
        out.unlink(missing_ok=True)  # a fresh run, not a resume
        seconds = run_mode(manifest, out, args.planner, args.config, modes[mode])
        got = records(out)
        first = got if first is None else first
        table.add_row(mode, f"{seconds:.1f}", f"{args.rows / seconds:.2f}", compare(got, first))
    Console().print(table)
    print(f"manifest and outputs in {folder}")


if __name__ == "__main__":
    main()
