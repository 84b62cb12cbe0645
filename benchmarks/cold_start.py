"""Cold start of a whole ``reamo extract`` process, per modality: wall time and peak memory.

Each run is a fresh ``reamo extract --task ner --json`` process (imports, model loading, one
extraction, exit), as a user pays for it on the command line. Per modality the table gives the median
wall time and the median peak RSS over ``--runs`` runs (each run's own peak, from ``wait4``), the
entities found and the lines the process wrote to stderr (library noise would show there).

Inputs: a sentence; Grace Hopper's portrait that matplotlib ships; that sentence spoken by piper (the
``tts`` extra) or ``--audio FILE``; a folder of frames panning across the portrait or ``--video DIR``.
The machine may be shared: the load average before and after is printed beside the numbers.

    python benchmarks/cold_start.py [--runs 3] [--only text,image,audio,video] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

TEXT = "Barack Obama met Angela Merkel in Berlin."
MODALITIES = ("text", "image", "audio", "video")
FRAMES = 8


def photo() -> Path:
    import matplotlib

    return Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg"


def spoken(folder: Path) -> Path:
    """TEXT read by piper into a wav file."""
    try:
        from reamo.evaluation.tts import synthesize
    except ImportError as exc:
        raise SystemExit(f"speech needs piper (pip install -e '.[tts]') or --audio FILE: {exc}") from exc
    path = folder / "spoken.wav"
    list(synthesize(TEXT, path, noise=False))
    return path


def frames(folder: Path, count: int = FRAMES) -> Path:
    """``count`` frames panning across the portrait: a short video as a folder of JPEGs."""
    from PIL import Image

    clip = folder / "clip"
    clip.mkdir(parents=True, exist_ok=True)
    image = Image.open(photo()).convert("RGB")
    width, height = image.size
    crop = (int(width * 0.8), int(height * 0.8))
    for i in range(count):
        x = (width - crop[0]) * i // max(1, count - 1)
        image.crop((x, 0, x + crop[0], crop[1])).save(clip / f"{i:05d}.jpg", quality=90)
    return clip


def run_once(command: list[str], folder: Path) -> dict[str, Any]:
    """One process: its wall time, its own peak RSS (``wait4``), its stdout's entities, its stderr."""
    out, err = folder / "stdout.txt", folder / "stderr.txt"
    with out.open("wb") as stdout, err.open("wb") as stderr:
        started = time.perf_counter()
        process = subprocess.Popen(command, stdout=stdout, stderr=stderr)
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)  # reaped here: Popen must not wait again
    errors = err.read_text(encoding="utf-8", errors="replace").splitlines()
    row: dict[str, Any] = {
        "wall_s": wall,
        "peak_rss_mb": usage.ru_maxrss / 1024,
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "exit": process.returncode,
        "stderr_lines": len([line for line in errors if line.strip()]),
        "stderr": errors[-20:],
    }
    if process.returncode == 0:
        result = json.loads(out.read_text(encoding="utf-8"))
        row["entities"] = [[e["text"], e["label"]] for e in result["entities"]]
    return row


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=3, help="processes per modality")
    parser.add_argument("--only", help=f"comma-separated modalities (default: {','.join(MODALITIES)})")
    parser.add_argument("--audio", help="a speech file instead of the sentence spoken by piper")
    parser.add_argument("--video", help="a video file or folder of frames instead of the panning portrait")
    parser.add_argument("--planner", help="planner spec (default: the configured one)")
    parser.add_argument("--reamo", default=str(Path(sys.executable).with_name("reamo")), help="the command")
    parser.add_argument("--json", help="write every run here")
    args = parser.parse_args()
    wanted = args.only.split(",") if args.only else list(MODALITIES)
    unknown = set(wanted) - set(MODALITIES)
    if unknown:
        raise SystemExit(f"unknown modalities {sorted(unknown)}; use {', '.join(MODALITIES)}")
    console = Console()
    load_before = os.getloadavg()
    rows: dict[str, list[dict[str, Any]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        inputs: dict[str, list[str]] = {
            "text": ["--text", TEXT],
            "image": ["--image", str(photo())],
            "audio": ["--audio", args.audio or (str(spoken(folder)) if "audio" in wanted else "")],
            "video": ["--video", args.video or (str(frames(folder)) if "video" in wanted else "")],
        }
        for modality in wanted:
            command = [args.reamo, "extract", "--task", "ner", "--json", *inputs[modality]]
            command += ["--planner", args.planner] if args.planner else []
            rows[modality] = []
            for n in range(args.runs):
                with console.status(f"{modality}: process {n + 1}/{args.runs}"):
                    rows[modality].append(run_once(command, folder))
    load_after = os.getloadavg()
    load = f"load average {load_before[0]:.2f} before, {load_after[0]:.2f} after"
    table = Table(title=f"reamo extract --task ner, whole process, {os.cpu_count()} CPUs, {load}")
    for column in ("input", "runs", "median wall s", "min-max wall s", "median peak RSS MB", "median CPU s"):
        table.add_column(column, justify="left" if column == "input" else "right", no_wrap=True)
    table.add_column("stderr lines", justify="right", no_wrap=True)
    table.add_column("entities", overflow="fold")
    summary = {}
    for modality, runs in rows.items():
        ok = [r for r in runs if r["exit"] == 0]
        if not ok:
            table.add_row(
                modality, str(len(runs)), "failed", "", "", "", "", " | ".join(runs[-1]["stderr"][-3:])
            )
            continue
        walls = [r["wall_s"] for r in ok]
        summary[modality] = {
            "median_wall_s": statistics.median(walls),
            "median_peak_rss_mb": statistics.median(r["peak_rss_mb"] for r in ok),
            "median_cpu_s": statistics.median(r["cpu_s"] for r in ok),
            "failed": len(runs) - len(ok),
        }
        table.add_row(
            modality,
            f"{len(ok)}" + (f" ({len(runs) - len(ok)} failed)" if len(ok) < len(runs) else ""),
            f"{summary[modality]['median_wall_s']:.2f}",
            f"{min(walls):.2f}-{max(walls):.2f}",
            f"{summary[modality]['median_peak_rss_mb']:.0f}",
            f"{summary[modality]['median_cpu_s']:.2f}",
            str(max(r["stderr_lines"] for r in ok)),
            ", ".join(f"{t} ({label})" for t, label in ok[-1]["entities"]),
        )
    Console(width=200 if not sys.stdout.isatty() else None).print(table)
    if args.json:
        Path(args.json).write_text(
            json.dumps(
                {"load_before": load_before, "load_after": load_after, "summary": summary, "runs": rows},
                indent=1,
            )
        )


if __name__ == "__main__":
    main()
