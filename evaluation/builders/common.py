"""What every suite builder shares: the documented subset, and what a build reports."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

SEED = 0
"""Subsets are a seeded random sample of the source, kept in source order: the same on every machine."""


@dataclass
class BuildStats:
    """What a builder read and wrote, and anything it had to adapt (shown after the build)."""

    source: str
    available: int = 0
    written: int = 0
    notes: list[str] = field(default_factory=list)


def sample(total: int, limit: int | None, seed: int = SEED) -> set[int]:
    """Indices of a fixed subset of ``limit`` of ``total`` items (all when ``limit`` is None or larger)."""
    if limit is None or limit >= total:
        return set(range(total))
    return set(random.Random(seed).sample(range(total), limit))
