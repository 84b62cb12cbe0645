"""The MUIE benchmark (``BENCHMARK.md``): suites, their builders, the paper's metrics, the runner.

``reamo bench build --data ../shared/data --out ~/.cache/reamo/suites`` builds the suites;
``reamo bench SUITE.jsonl ... [--baseline] [--json OUT]`` scores the configured system on them.
"""

from __future__ import annotations

from reamo.evaluation.baselines import PipelinePlanner
from reamo.evaluation.bench import run_bench
from reamo.evaluation.builders import BUILDERS, build_suites
from reamo.evaluation.scoring import InstanceScores, score_instance
from reamo.evaluation.suite import Suite, SuiteInstance, load_suite, write_suite

__all__ = [
    "BUILDERS",
    "InstanceScores",
    "PipelinePlanner",
    "Suite",
    "SuiteInstance",
    "build_suites",
    "load_suite",
    "run_bench",
    "score_instance",
    "write_suite",
]
