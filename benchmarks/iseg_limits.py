"""What limits I-Seg in a ``reamo bench`` run: wrong regions, missed ones, or the masks themselves.

    reamo bench SUITE.jsonl --json run.json
    python benchmarks/iseg_limits.py run.json

For each suite of the run with image gold, the I-Seg as scored (``reamo.evaluation.metrics``: per
instance, Hungarian-paired masks, the mean IoU over the longer list), then the same with every predicted
region that pairs with no gold region (IoU at most ``PAIRED``) removed by an oracle: what perfect
precision would give with this detector and these masks. Beside them, the mean IoU of the paired regions
(the masks' quality) and the counts: predicted, gold, paired, unpaired predictions, gold regions missed.
It reads the run's predictions and the suite's gold; nothing is run again.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from scipy.optimize import linear_sum_assignment  # type: ignore[import-untyped]

from reamo.evaluation.metrics import region_iou
from reamo.evaluation.scoring import gold_regions
from reamo.evaluation.suite import load_suite

PAIRED = 0.1
"""A predicted and a gold region the Hungarian algorithm paired count as one thing above this IoU."""


@dataclass
class Limits:
    scored: list[float]
    precise: list[float]
    ious: list[float]
    predicted: int = 0
    gold: int = 0

    def row(self, suite: str) -> dict[str, Any]:
        paired = len(self.ious)
        return {
            "suite": suite,
            "instances": len(self.scored),
            "I-Seg": round(100 * float(np.mean(self.scored)), 1) if self.scored else None,
            "I-Seg, unpaired predictions removed": round(100 * float(np.mean(self.precise)), 1)
            if self.precise
            else None,
            "paired mean IoU": round(100 * float(np.mean(self.ious)), 1) if self.ious else None,
            "predicted": self.predicted,
            "gold": self.gold,
            "paired": paired,
            "unpaired predictions": self.predicted - paired,
            "gold missed": self.gold - paired,
        }


def instance_limits(limits: Limits, gold: list[Any], predicted: list[Any]) -> None:
    """Adds one instance's scored and oracle I-Seg, its paired IoUs and its counts to ``limits``."""
    if not gold and not predicted:
        return  # not scored: the suite's mean skips it
    iou = np.array([[region_iou(g, p) for p in predicted] for g in gold], dtype=np.float64)
    iou = iou.reshape(len(gold), len(predicted))
    rows, cols = linear_sum_assignment(iou, maximize=True) if iou.size else ([], [])
    paired = [float(iou[r, c]) for r, c in zip(rows, cols, strict=True) if iou[r, c] > PAIRED]
    limits.scored.append(sum(float(iou[r, c]) for r, c in zip(rows, cols, strict=True)) / max(iou.shape))
    kept = max(len(gold), len(paired))
    limits.precise.append(sum(paired) / kept if kept else 0.0)
    limits.ious += paired
    limits.predicted += len(predicted)
    limits.gold += len(gold)


def suite_limits(report_suite: dict[str, Any]) -> Limits:
    suite = load_suite(report_suite["path"])
    instances = {i.id: i for i in suite.instances}
    limits = Limits([], [], [])
    system = report_suite["systems"][0]  # REAMO's own column
    for run in system["per_instance"]:
        prediction = run.get("prediction") or {}
        predicted = [
            g.get("mask") or g["box"]
            for entity in prediction.get("entities", [])
            for g in entity["groundings"]
            if g["kind"] == "image"
        ]
        instance_limits(limits, gold_regions(instances[run["id"]]), predicted)
    return limits


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("report", type=Path, help="a reamo bench --json report")
    parser.add_argument("--json", type=Path, help="also write the rows here")
    args = parser.parse_args()
    report = json.loads(args.report.read_text())
    rows = []
    for report_suite in report["suites"]:
        if "iseg" not in report_suite["metrics"]:
            continue
        row = suite_limits(report_suite).row(report_suite["suite"])
        rows.append(row)
        print("  ".join(f"{k}: {v}" for k, v in row.items()))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
