"""Suite builders: the benchmark's suites from ``../shared/data``, written to a cache outside the repo.

``reamo bench build --data ../shared/data --out ~/.cache/reamo/suites`` writes one ``NAME.jsonl`` per
suite below (media copied next to it), and beside each scored text and speech suite its schema-shift
variants ``NAME.VARIANT.jsonl`` (``reamo.evaluation.variants``). Each suite is a fixed, seeded subset of
its source at the size given here, 200 instances like each of the paper's test sets (the full sets take
hours on 2 cores with an LLM planner); ``--limit N`` changes it (``--limit 0``: the whole source).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from reamo.errors import SuiteError
from reamo.evaluation.builders.common import BuildStats, sample
from reamo.evaluation.builders.media import build_coco128, build_davis2016
from reamo.evaluation.builders.mixed import build_coco128_mixed, build_davis_mixed
from reamo.evaluation.builders.text import (
    build_conll2003,
    build_m2e2,
    build_mnre,
    build_twitter2017,
    build_wnut17,
)
from reamo.evaluation.suite import SuiteInstance, write_suite
from reamo.evaluation.variants import VARIANT_SUITES, VARIANTS, variant_instances, variant_name

__all__ = ["BUILDERS", "BuildStats", "SuiteBuilder", "build_suites", "sample"]

BuildFn = Callable[[Path, Path, "int | None"], tuple[list[SuiteInstance], BuildStats]]


@dataclass(frozen=True)
class SuiteBuilder:
    name: str
    build: BuildFn
    limit: int | None
    """The documented default subset size (None: the whole source)."""
    description: str


BUILDERS: dict[str, SuiteBuilder] = {
    b.name: b
    for b in (
        SuiteBuilder("twitter2017_t_ner", build_twitter2017, 200, "Twitter-2017 test, text NER (4 types)"),
        SuiteBuilder("wnut17_t_ner", build_wnut17, 200, "WNUT-17 test, text NER (6 emerging-entity types)"),
        SuiteBuilder("conll2003_t_ner", build_conll2003, 200, "CoNLL-2003 test (eng.testb), text NER"),
        SuiteBuilder(
            "mnre_t_re", build_mnre, 200, "MNRE v2 test tweets, text RE (head/tail as gold entities)"
        ),
        SuiteBuilder("m2e2_t_ee", build_m2e2, 200, "M2E2 multimedia sentences (all 192), text EE"),
        SuiteBuilder("coco128_i_ner", build_coco128, None, "coco128 (all 128 images), image NER + I-Seg"),
        SuiteBuilder(
            "davis2016_v_ner", build_davis2016, None, "DAVIS-2016 val (10 videos, 648 frames), V-Trck"
        ),
        SuiteBuilder(
            "coco128-mixed",
            build_coco128_mixed,
            None,
            "coco128 with a sentence written from its gold: named entities and object classes, T+I",
        ),
        SuiteBuilder(
            "davis-mixed",
            build_davis_mixed,
            None,
            "DAVIS-2016 with a sentence written from its gold: named entities and object classes, T+V",
        ),
    )
}
"""Every suite builder by suite name; the spoken ones are added by ``reamo.evaluation.builders.spoken``."""


def build_suites(
    data: Path, out: Path, *, only: list[str] | None = None, limit: int | None = None
) -> dict[str, tuple[Path, BuildStats]]:
    """Build the named suites (default: all) into ``out``, each scored text and speech suite with its
    schema-shift variants; ``limit`` overrides every default size (0 = whole source). Returns each
    suite's (and variant's) file and build statistics."""
    from reamo.evaluation.builders import spoken  # noqa: F401  (registers the spoken builders if possible)

    names = only or list(BUILDERS)
    unknown = [n for n in names if n not in BUILDERS]
    if unknown:
        raise SuiteError(f"Unknown suite(s) {', '.join(unknown)}; known: {', '.join(BUILDERS)}.")
    if not data.is_dir():
        raise SuiteError(
            f"--data {str(data)!r} is not a folder; give the benchmark sources (../shared/data)."
        )
    out.mkdir(parents=True, exist_ok=True)
    built = {}
    for name in names:
        builder = BUILDERS[name]
        size = builder.limit if limit is None else (limit or None)
        instances, stats = builder.build(data, out, size)
        path = out / f"{name}.jsonl"
        write_suite(path, instances)
        built[name] = (path, stats)
        if name not in VARIANT_SUITES:
            continue
        for variant in VARIANTS:
            renamed = variant_name(name, variant)
            path = out / f"{renamed}.jsonl"
            count = write_suite(path, variant_instances(instances, variant))
            note = f"{name} with its labels as {variant} (same instances, gold renamed)"
            built[renamed] = (path, BuildStats(stats.source, stats.available, count, [note]))
    return built
