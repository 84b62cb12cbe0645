"""SHAS's probabilistic divide-and-conquer (pDAC) segmentation over per-frame speech probabilities
(Tsiamas et al., 2022): split a segment at its least speech-like frame, recursively, until every segment
is at most a maximum length, trimming low-probability frames from the ends of each part."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

Probs = npt.NDArray[np.floating]


def trim(probs: Probs, start: int, end: int, threshold: float) -> tuple[int, int]:
    """``[start, end)`` without its leading and trailing frames below ``threshold`` (empty: start == end)."""
    above = np.flatnonzero(probs[start:end] >= threshold)
    if not len(above):
        return start, start
    return start + int(above[0]), start + int(above[-1]) + 1


def pdac(
    probs: Probs, *, max_frames: int, min_frames: int = 0, threshold: float = 0.5, smooth_frames: int = 1
) -> list[tuple[int, int]]:
    """Frame ranges ``[start, end)`` of the segments, in order, each at most ``max_frames`` long.

    A split falls at the lowest-probability frame at least ``min_frames`` from either end (when the
    segment is long enough for that); the split frame itself belongs to neither part. With
    ``smooth_frames`` > 1 the split point is chosen on a moving average of that many frames, so that a
    pause outweighs a brief dip inside a word (trimming still reads the raw probabilities).
    """
    if max_frames < 1:
        raise ValueError(f"max_frames must be at least 1, got {max_frames}")
    probs = np.asarray(probs, dtype=np.float64)
    k = max(1, smooth_frames)
    choose = np.convolve(probs, np.ones(k) / k, mode="same") if k > 1 and len(probs) >= k else probs
    done: list[tuple[int, int]] = []
    todo = [trim(probs, 0, len(probs), threshold)]
    while todo:
        start, end = todo.pop()
        if end <= start:
            continue
        if end - start <= max_frames:
            done.append((start, end))
            continue
        margin = min_frames if end - start > 2 * min_frames + 1 else 0
        lo, hi = start + margin, end - margin
        split = lo + int(np.argmin(choose[lo:hi]))
        todo.append(trim(probs, start, split, threshold))
        todo.append(trim(probs, split + 1, end, threshold))
    return sorted(done)
