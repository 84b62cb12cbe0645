"""The agent core's own cost: one extraction through the whole graph with a scripted planner and an
instant tool, so what is timed is perceive (file facts), prompt rendering, schema derivation,
validation, dispatch, merge and checkpointing, not any model.

    python benchmarks/core_overhead.py [--runs 50]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image
from rich.console import Console
from rich.table import Table

from reamo import Reamo
from reamo.agent import ScriptedPlanner
from reamo.schemas import ImageRegion
from reamo.tools import ToolArgs, ToolContext, ToolRegistry, tool
from reamo.tools.perception import metadata_perceivers


@tool("bench.image.box.v1", module="ImageSegmentation", modality="image")
def whole_image(args: ToolArgs, ctx: ToolContext) -> list[ImageRegion]:
    """Return the whole image as the region (instant)."""
    img = ctx.perception.images[args.target]
    return [ImageRegion(media=args.target, box=(0, 0, img.width, img.height), score=1.0)]


ANSWER = {
    "entities": [
        {"text": "Barack Obama", "label": "person", "concept": True},
        {"text": "Angela Merkel", "label": "person", "concept": True},
        {"text": "Berlin", "label": "location"},
    ],
    "calls": [
        {"module": "ImageSegmentation", "instruction": "Barack Obama", "target": "image:0"},
        {"module": "ImageSegmentation", "instruction": "Angela Merkel", "target": "image:0"},
    ],
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=50)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp())
    Image.fromarray(np.zeros((480, 640, 3), np.uint8)).save(folder / "photo.png")
    text_only = {**ANSWER, "calls": []}
    text = "Barack Obama met Angela Merkel in Berlin."
    cases = {
        "text": (text_only, {"text": text}),
        "text+image": (ANSWER, {"text": text, "image": folder / "photo.png"}),
    }
    table = Table(title=f"Agent core overhead ({args.runs} runs each)")
    for column in ("input", "median ms", "p90 ms", "tool calls"):
        table.add_column(column)
    for name, (answer, inputs) in cases.items():
        reamo = Reamo(
            planner=ScriptedPlanner([answer], repeat_last=True),
            registry=ToolRegistry([whole_image]),
            perceivers=metadata_perceivers(),
        )
        times, calls = [], 0
        for _ in range(args.runs):
            started = time.perf_counter()
            result = reamo.extract("ner", **inputs)
            times.append(time.perf_counter() - started)
            calls = len(result.calls)
        times.sort()
        p90 = times[int(0.9 * (len(times) - 1))]
        table.add_row(name, f"{statistics.median(times) * 1e3:.1f}", f"{p90 * 1e3:.1f}", str(calls))
    Console().print(table)
    Console().print(f"load average: {Path('/proc/loadavg').read_text().split()[:3]}")


if __name__ == "__main__":
    main()
