"""The benchmark runner: one ``Reamo`` per system over each suite, every instance timed and scored.

A failing instance (a typed input error, a crashed backend, anything) is recorded with its error and
scored as an empty prediction, so its gold still counts against recall; it never aborts the run.
"""

from __future__ import annotations

import resource
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from reamo.config import ReamoConfig
from reamo.errors import InputError
from reamo.evaluation.baselines import PipelinePlanner
from reamo.evaluation.scoring import (
    CallCounts,
    InstanceScores,
    count_calls,
    score_extraction,
    score_instance,
)
from reamo.evaluation.suite import Suite, SuiteInstance
from reamo.pools import Pool
from reamo.schemas import ExtractionResult
from reamo.sdk import Reamo
from reamo.tools import ToolRegistry
from reamo.tools.perception import metadata_perceivers

__all__ = [
    "COMPARED",
    "METRICS",
    "InstanceRun",
    "SystemRun",
    "applies",
    "bench_systems",
    "build_systems",
    "peak_rss_mb",
    "run_instance",
    "run_suite",
    "run_system_instance",
    "suite_metrics",
    "system_metrics",
]

METRICS = ("ner", "re", "et", "ea", "iseg", "aseg", "vtrck")
"""The paper's columns, in its order."""

IE_METRICS = ("ner", "re", "et", "ea")

METRIC_NAMES = {
    "ner": "NER",
    "re": "RE",
    "et": "ET",
    "ea": "EA",
    "iseg": "I-Seg",
    "aseg": "A-Seg",
    "vtrck": "V-Trck",
}


def peak_rss_mb() -> float:
    """The peak resident memory of this process so far, in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def suite_metrics(suite: Suite) -> list[str]:
    """The columns a suite is scored on: its task's IE metrics, and each grounding its media allow."""
    tasks = {i.task for i in suite.instances}
    wanted = (
        {"ner"} & tasks | ({"re"} if "re" in tasks else set()) | ({"et", "ea"} if "ee" in tasks else set())
    )
    for metric, medium in (("iseg", "image"), ("aseg", "audio"), ("vtrck", "video")):
        if any(getattr(i.inputs, medium) for i in suite.instances):
            wanted.add(metric)
    return [m for m in METRICS if m in wanted]


@dataclass
class InstanceRun:
    """One instance as one system ran it."""

    id: str
    modalities: str
    seconds: float
    scores: InstanceScores
    result: ExtractionResult | None = None
    error: str | None = None
    calls: CallCounts = field(default_factory=CallCounts)

    @property
    def ok(self) -> bool:
        return self.error is None

    def to_json(self) -> dict[str, Any]:
        prediction = (
            self.result.model_dump(
                mode="json",
                include={"entities", "relations", "events", "diagnostics", "complete", "timings"},
            )
            if self.result is not None
            else None
        )
        return {
            "id": self.id,
            "modalities": self.modalities,
            "ok": self.ok,
            "error": self.error,
            "seconds": round(self.seconds, 4),
            "scores": scores_json(self.scores, METRICS),
            "prediction": prediction,
        }


@dataclass
class SystemRun:
    """One system over one suite."""

    system: str
    planner: str
    suite: Suite
    instances: list[InstanceRun] = field(default_factory=list)
    wall_seconds: float = 0.0
    peak_rss_mb: float = 0.0

    @property
    def totals(self) -> InstanceScores:
        return sum((i.scores for i in self.instances), InstanceScores())

    @property
    def failed(self) -> int:
        return sum(not i.ok for i in self.instances)

    @property
    def calls(self) -> CallCounts:
        return sum((i.calls for i in self.instances), CallCounts())

    def latency(self) -> dict[str, float]:
        seconds = sorted(i.seconds for i in self.instances)
        if not seconds:
            return {"median": 0.0, "p90": 0.0, "mean": 0.0}
        p90 = seconds[min(len(seconds) - 1, int(0.9 * len(seconds)))]
        return {
            "median": round(statistics.median(seconds), 4),
            "p90": round(p90, 4),
            "mean": round(statistics.fmean(seconds), 4),
        }

    @property
    def throughput(self) -> float:
        """Instances a second over the whole run (model loading included)."""
        return len(self.instances) / self.wall_seconds if self.wall_seconds else 0.0

    def to_json(self, metrics: list[str]) -> dict[str, Any]:
        return {
            "system": self.system,
            "planner": self.planner,
            "instances": len(self.instances),
            "failed": self.failed,
            "scores": scores_json(self.totals, system_metrics(self.system, metrics)),
            "latency_s": self.latency(),
            "throughput_per_s": round(self.throughput, 3),
            "wall_s": round(self.wall_seconds, 3),
            "peak_rss_mb": round(self.peak_rss_mb, 1),
            "calls": self.calls.rates(),
            "per_instance": [i.to_json() for i in self.instances],
        }


def scores_json(scores: InstanceScores, metrics: tuple[str, ...] | list[str]) -> dict[str, Any]:
    """Scores ×100 with one decimal plus their counts, for the named metrics."""
    out: dict[str, Any] = {}
    for metric in metrics:
        if metric in ("ner", "re", "et", "ea"):
            prf = getattr(scores.ie, metric)
            out[metric] = {**prf.scaled(), "tp": prf.tp, "pred": prf.n_pred, "gold": prf.n_gold}
        else:
            mean = getattr(scores, metric)
            out[metric] = {"score": mean.scaled(), "n": mean.count}
    return out


def headline(scores: InstanceScores, metric: str) -> float:
    """The one number a table cell shows: F1 for extraction, the mean for grounding."""
    if metric in ("ner", "re", "et", "ea"):
        return float(getattr(scores.ie, metric).scaled()["f1"])
    return float(getattr(scores, metric).scaled())


def run_instance(reamo: Reamo, instance: SuiteInstance) -> InstanceRun:
    """Run and score one instance; any exception is caught and recorded."""
    inputs = instance.inputs
    start = time.perf_counter()
    result: ExtractionResult | None = None
    error: str | None = None
    try:
        result = reamo.extract(
            instance.task,
            text=inputs.text,
            image=inputs.image,
            audio=inputs.audio,
            video=inputs.video,
            labels=instance.labels,
        )
    except Exception as exc:  # one failing instance never sinks the run
        error = f"{type(exc).__name__}: {exc}"
    seconds = time.perf_counter() - start
    try:
        scores = score_instance(instance, result)
    except Exception as exc:  # a prediction or gold that cannot be scored (a mask of the wrong size)
        error = (error + "; " if error else "") + f"scoring: {type(exc).__name__}: {exc}"
        scores = InstanceScores(ie=score_extraction(instance, None))  # its gold still counts
    calls = count_calls(instance, result) if instance.modalities != "T" else CallCounts()
    return InstanceRun(instance.id, instance.modalities, seconds, scores, result, error, calls)


def run_system_instance(systems: dict[str, Reamo], job: tuple[str, SuiteInstance]) -> InstanceRun:
    """Run one instance with the named system of a worker's systems (``bench_systems``)."""
    system, instance = job
    return run_instance(systems[system], instance)


def run_suite(
    reamo: Reamo,
    suite: Suite,
    *,
    system: str,
    on_instance: Callable[[InstanceRun], None] | None = None,
    pool: Pool[dict[str, Reamo]] | None = None,
) -> SystemRun:
    """Run one system over every instance of a suite: here with ``reamo``, or with a pool of worker
    processes that each built the same systems (``bench_systems``), their runs kept in suite order."""
    run = SystemRun(system=system, planner=reamo.planner.describe().name, suite=suite)
    start = time.perf_counter()
    if pool is None:
        for instance in suite.instances:
            outcome = run_instance(reamo, instance)
            run.instances.append(outcome)
            if on_instance is not None:
                on_instance(outcome)
    else:
        done: dict[int, InstanceRun] = {}
        jobs = [(system, instance) for instance in suite.instances]
        for i, outcome in pool.imap(run_system_instance, jobs):
            done[i] = outcome
            if on_instance is not None:
                on_instance(outcome)
        run.instances = [done[i] for i in range(len(jobs))]
    run.wall_seconds = time.perf_counter() - start
    run.peak_rss_mb = peak_rss_mb()
    return run


COMPARED = "zero-shot"
"""The default name of the system ``--compare CONFIG`` runs beside REAMO."""


def build_systems(
    reamo: Reamo, *, baseline: bool, compare: Reamo | None = None, compare_name: str = COMPARED
) -> dict[str, Reamo]:
    """REAMO as configured; ``compare``, the same system under a second config (``reamo bench --compare``,
    e.g. scorers and planner tuned without the suites' training sources: the zero-shot column), named
    ``compare_name``; and, with ``baseline``, the paper's pipeline baseline (same planner and refiners,
    every entity to every tool) and spaCy alone (no refiners). Baselines share the configured instance's
    tools and perceivers, so every model loads once."""
    out = {"reamo": reamo}
    if compare is not None:
        if compare_name in ("reamo", "pipeline", "spacy"):
            raise InputError(f"--compare-name {compare_name!r} names a built-in system; choose another name.")
        out[compare_name] = compare
    if baseline:
        shared: dict[str, Any] = {"registry": reamo.registry, "perceivers": reamo.perceivers}
        out["pipeline"] = Reamo(reamo.config, planner=PipelinePlanner(reamo.planner), **shared)
        # spaCy alone reads the text only: no perception model, no grounding tool, no refiner
        text_only: dict[str, Any] = {
            "registry": ToolRegistry([]),
            "perceivers": metadata_perceivers(reamo.config),
            "refiners": [],
        }
        out["spacy"] = Reamo(reamo.config, planner="spacy", **text_only)
    return out


def bench_systems(
    config: ReamoConfig,
    baseline: bool,
    compare: ReamoConfig | None = None,
    compare_name: str = COMPARED,
) -> dict[str, Reamo]:
    """The systems a bench worker process runs, built there once from the configs (``build_systems``)."""
    second = Reamo(compare) if compare is not None else None
    return build_systems(Reamo(config), baseline=baseline, compare=second, compare_name=compare_name)


def system_metrics(system: str, metrics: list[str]) -> list[str]:
    """The metrics a system is scored on: spaCy alone grounds nothing, so only extraction."""
    return [m for m in metrics if m in IE_METRICS] if system == "spacy" else metrics


def applies(system: str, suite: Suite) -> bool:
    """spaCy alone is a baseline for text NER only. The pipeline baseline differs from REAMO only in
    its tool calls, so on a suite without media (no tool applies) it is REAMO itself: not run again."""
    if system == "spacy":
        return all(i.task == "ner" and i.has_text for i in suite.instances)
    if system == "pipeline":
        return any(i.inputs.image or i.inputs.audio or i.inputs.video for i in suite.instances)
    return True
