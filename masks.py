"""COCO run-length encoding (RLE) for binary masks, in plain numpy.

This module reimplements the parts of ``pycocotools.mask`` that are needed to
read and write COCO segmentation annotations, without importing pycocotools.

Conventions (identical to COCO):

* A mask is a 2-D array of shape ``(H, W)``; pixel ``(row, col)`` is
  foreground when it is non-zero.
* The mask is flattened in column-major (Fortran) order and described by
  alternating run lengths, always starting with a run of zeros (which may be
  of length 0).
* An RLE is a mapping ``{"size": [H, W], "counts": ...}``.  ``counts`` is
  either a list of run lengths ("uncompressed" RLE) or a string in COCO's
  compact character encoding ("compressed" RLE).  :func:`encode` produces the
  compressed form with ``counts`` as ``str`` (pycocotools returns ``bytes``
  with the same content); :func:`decode` accepts ``str``, ``bytes`` and lists.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = [
    "area",
    "decode",
    "encode",
    "from_box",
    "from_polygons",
    "iou",
    "to_box",
]

_Counts = npt.NDArray[np.int64]

# Characters of the compressed encoding are chr(48 + v) for v in 0..63.
_OFFSET = 48
_MAX_CHAR = _OFFSET + 63

# Coordinates are clipped to +-_BIG before float -> int casts.
_BIG = float(2**52)


# --------------------------------------------------------------------------
# Run lengths <-> COCO string
# --------------------------------------------------------------------------


def _counts_to_string(counts: Sequence[int]) -> str:
    """Encode run lengths as a COCO compressed-RLE string (``rleToString``)."""
    out: list[str] = []
    for i, cnt in enumerate(counts):
        x = cnt
        # COCO stores runs after the first three as deltas from two runs back
        # (note: ``i > 2``, not ``i >= 2``, exactly as in maskApi.c).
        if i > 2:
            x -= counts[i - 2]
        more = True
        while more:
            c = x & 0x1F
            x >>= 5  # arithmetic shift, like the C code on a signed long
            more = x != -1 if c & 0x10 else x != 0
            if more:
                c |= 0x20
            out.append(chr(c + _OFFSET))
    return "".join(out)


def _string_to_counts(s: str) -> list[int]:
    """Decode a COCO compressed-RLE string into run lengths (``rleFrString``)."""
    counts: list[int] = []
    x = 0
    k = 0
    for pos, ch in enumerate(s):
        code = ord(ch)
        if not _OFFSET <= code <= _MAX_CHAR:
            raise ValueError(
                f"malformed RLE: invalid character {ch!r} at position {pos} of "
                f"compressed counts (allowed: {chr(_OFFSET)!r}..{chr(_MAX_CHAR)!r})"
            )
        c = code - _OFFSET
        x |= (c & 0x1F) << (5 * k)
        k += 1
        if c & 0x20:
            continue  # continuation bit set: more chunks for this value
        if c & 0x10:
            x |= -1 << (5 * k)  # sign-extend
        if len(counts) > 2:
            x += counts[-2]
        counts.append(x)
        x = 0
        k = 0
    if k != 0:
        raise ValueError(
            "malformed RLE: compressed counts end in the middle of a value "
            "(last character has the continuation bit set)"
        )
    return counts


# --------------------------------------------------------------------------
# Validation / parsing of RLE mappings
# --------------------------------------------------------------------------


def _parse_size(rle: Mapping[str, object]) -> tuple[int, int]:
    if "size" not in rle:
        raise ValueError("malformed RLE: missing 'size'")
    size = rle["size"]
    if isinstance(size, (str, bytes)) or not isinstance(size, (Sequence, np.ndarray)):
        raise ValueError(f"malformed RLE: 'size' must be a pair [H, W], got {size!r}")
    if len(size) != 2:
        raise ValueError(f"malformed RLE: 'size' must have 2 entries [H, W], got {size!r}")
    dims: list[int] = []
    for d in size:
        if isinstance(d, (bool, np.bool_)) or not isinstance(d, (int, np.integer)):
            raise ValueError(f"malformed RLE: 'size' entries must be integers, got {size!r}")
        if d < 0:
            raise ValueError(f"malformed RLE: 'size' entries must be >= 0, got {size!r}")
        dims.append(int(d))
    return dims[0], dims[1]


def _parse(rle: Mapping[str, object]) -> tuple[int, int, _Counts]:
    """Validate an RLE mapping and return ``(H, W, run_lengths)``."""
    if not isinstance(rle, Mapping):
        raise ValueError(f"malformed RLE: expected a mapping, got {type(rle).__name__}")
    h, w = _parse_size(rle)
    if "counts" not in rle:
        raise ValueError("malformed RLE: missing 'counts'")
    raw = rle["counts"]
    counts: list[int]
    if isinstance(raw, bytes):
        try:
            raw = raw.decode("ascii")
        except UnicodeDecodeError as exc:
            raise ValueError(f"malformed RLE: compressed counts are not ASCII ({exc})") from exc
    if isinstance(raw, str):
        counts = _string_to_counts(raw)
    elif isinstance(raw, np.ndarray):
        if raw.ndim != 1 or not (raw.size == 0 or np.issubdtype(raw.dtype, np.integer)):
            raise ValueError(
                "malformed RLE: uncompressed counts must be a 1-D integer array, "
                f"got dtype {raw.dtype} with shape {raw.shape}"
            )
        counts = [int(v) for v in raw]
    elif isinstance(raw, Sequence):
        counts = []
        for v in raw:
            if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, np.integer)):
                raise ValueError(f"malformed RLE: uncompressed counts must be integers, got {v!r}")
            counts.append(int(v))
    else:
        raise ValueError(
            "malformed RLE: 'counts' must be a str/bytes (compressed) or a list of "
            f"ints (uncompressed), got {type(raw).__name__}"
        )
    for i, v in enumerate(counts):
        if v < 0:
            raise ValueError(f"malformed RLE: run {i} has negative length {v}")
    total = sum(counts)
    if total != h * w:
        what = "more" if total > h * w else "fewer"
        raise ValueError(
            f"malformed RLE: counts sum to {total}, {what} than the {h}x{w}={h * w} pixels given by 'size'"
        )
    return h, w, np.asarray(counts, dtype=np.int64).reshape(-1)


def _runs(mask: npt.NDArray[Any]) -> list[int]:
    """Column-major run lengths of a 2-D mask, starting with a zero-run."""
    flat = np.asarray(mask != 0).ravel(order="F")
    n = flat.size
    if n == 0:
        return [0]
    change = np.flatnonzero(flat[1:] != flat[:-1]) + 1
    bounds = np.concatenate(([0], change, [n]))
    runs: list[int] = np.diff(bounds).tolist()
    if flat[0]:
        runs.insert(0, 0)
    return runs


# --------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------


def encode(mask: npt.NDArray[Any]) -> dict[str, object]:
    """Encode a 2-D binary mask as COCO compressed RLE.

    Non-zero pixels are foreground.  The result equals
    ``pycocotools.mask.encode(np.asfortranarray(mask.astype(np.uint8)))`` for a
    0/1 mask, except that ``counts`` is a ``str`` instead of ``bytes``.
    """
    arr = np.asarray(mask)
    if arr.ndim != 2:
        raise ValueError(f"mask must be 2-D (H, W), got shape {arr.shape}")
    h, w = arr.shape
    return {"size": [int(h), int(w)], "counts": _counts_to_string(_runs(arr))}


def decode(rle: Mapping[str, object]) -> npt.NDArray[np.bool_]:
    """Decode a compressed (str/bytes counts) or uncompressed (list counts) RLE.

    Returns a boolean array of shape ``(H, W)``.  Raises ``ValueError`` when the
    RLE is malformed (bad size, bad characters, negative runs, or counts that do
    not sum to ``H * W``).
    """
    h, w, counts = _parse(rle)
    values = (np.arange(counts.size) % 2).astype(bool)
    flat = np.repeat(values, counts)
    return flat.reshape((h, w), order="F")


def area(rle: Mapping[str, object]) -> int:
    """Number of foreground pixels of an RLE (same as ``pycocotools.mask.area``)."""
    _, _, counts = _parse(rle)
    return int(counts[1::2].sum())


def to_box(rle: Mapping[str, object]) -> tuple[float, float, float, float] | None:
    """Tight bounding box ``(x0, y0, x1, y1)`` of the mask, ``x1``/``y1`` exclusive.

    This is ``pycocotools.mask.toBbox``'s ``[x, y, w, h]`` converted to corners
    (``x1 = x + w``, ``y1 = y + h``).  Returns ``None`` for an empty mask (where
    pycocotools returns ``[0, 0, 0, 0]``).
    """
    h, _, counts = _parse(rle)
    ends = np.cumsum(counts)
    starts = ends - counts
    fg = (np.arange(counts.size) % 2 == 1) & (counts > 0)
    if not fg.any():
        return None
    first = starts[fg]
    last = ends[fg] - 1
    col_first, row_first = np.divmod(first, h)
    col_last, row_last = np.divmod(last, h)
    # A run that wraps into another column covers the bottom of one column and
    # the top of the next, hence the full height.
    wraps = col_first != col_last
    y0 = 0 if wraps.any() else int(row_first.min())
    y1 = h if wraps.any() else int(row_last.max()) + 1
    x0 = int(col_first.min())
    x1 = int(col_last.max()) + 1
    return float(x0), float(y0), float(x1), float(y1)


def iou(a: Mapping[str, object], b: Mapping[str, object]) -> float:
    """Intersection over union of two RLE masks of the same size.

    Returns ``0.0`` when both masks are empty.  Raises ``ValueError`` when the
    sizes differ.
    """
    size_a = _parse_size(a)
    size_b = _parse_size(b)
    if size_a != size_b:
        raise ValueError(f"RLE sizes differ: {list(size_a)} vs {list(size_b)}")
    ma = decode(a)
    mb = decode(b)
    union = int(np.count_nonzero(ma | mb))
    if union == 0:
        return 0.0
    return int(np.count_nonzero(ma & mb)) / union


def _check_dims(height: int, width: int) -> None:
    for name, v in (("height", height), ("width", width)):
        if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, np.integer)) or v < 0:
            raise ValueError(f"{name} must be a non-negative integer, got {v!r}")


def _first_centre_at_or_after(t: npt.NDArray[np.float64]) -> npt.NDArray[np.int64]:
    """Smallest integer ``i`` with pixel centre ``i + 0.5 >= t``."""
    # Clip first so that huge coordinates cannot overflow the integer cast.
    return np.ceil(np.clip(t, -_BIG, _BIG) - 0.5).astype(np.int64)


def _rasterise_polygon(xy: npt.NDArray[np.float64], height: int, width: int) -> npt.NDArray[np.bool_]:
    """Even-odd scanline fill of one closed polygon, sampled at pixel centres."""
    out = np.zeros((height, width), dtype=bool)
    if xy.shape[0] < 3 or height == 0 or width == 0:
        return out
    x1, y1 = xy[:, 0], xy[:, 1]
    x2, y2 = np.roll(x1, -1), np.roll(y1, -1)
    # Horizontal edges never cross a scanline; drop them.
    keep = y1 != y2
    x1, y1, x2, y2 = x1[keep], y1[keep], x2[keep], y2[keep]
    if x1.size == 0:
        return out
    # Each edge crosses the scanlines y = r + 0.5 with ymin <= r + 0.5 < ymax
    # (half-open, so a shared vertex is counted exactly once).
    r0 = np.clip(_first_centre_at_or_after(np.minimum(y1, y2)), 0, height)
    r1 = np.clip(_first_centre_at_or_after(np.maximum(y1, y2)), 0, height)
    n = np.maximum(r1 - r0, 0)
    total = int(n.sum())
    if total == 0:
        return out
    edge = np.repeat(np.arange(n.size), n)
    offsets = np.arange(total) - np.repeat(np.cumsum(n) - n, n)
    rows = r0[edge] + offsets
    yc = rows + 0.5
    xs = x1[edge] + (yc - y1[edge]) * (x2[edge] - x1[edge]) / (y2[edge] - y1[edge])
    # Each crossing at x toggles inside/outside for pixels whose centre is > x.
    cols = np.clip(np.floor(np.clip(xs, -_BIG, _BIG) - 0.5).astype(np.int64) + 1, 0, width)
    toggles = np.zeros((height, width + 1), dtype=np.int64)
    np.add.at(toggles, (rows, cols), 1)
    out[:] = (np.cumsum(toggles[:, :width], axis=1) % 2).astype(bool)
    return out


def from_polygons(polygons: Sequence[Sequence[float]], height: int, width: int) -> dict[str, object]:
    """Rasterise COCO polygons (``[x1, y1, x2, y2, ...]`` each) into one RLE.

    The polygons of an object are unioned.  Coordinates are in pixel units with
    pixel ``(row, col)`` covering ``[col, col + 1) x [row, row + 1)``; a pixel
    is foreground when its centre lies inside a polygon under the even-odd
    rule.  Polygons with fewer than three vertices contribute nothing.

    pycocotools (``frPyObjects`` + ``merge``) rasterises on a 5x upsampled grid
    with its own rounding, so results agree only up to boundary pixels (IoU is
    typically well above 0.95 on realistic polygons), not bit for bit.
    """
    _check_dims(height, width)
    h, w = int(height), int(width)
    if isinstance(polygons, (str, bytes)):
        raise ValueError("polygons must be a sequence of coordinate sequences")
    mask = np.zeros((h, w), dtype=bool)
    for i, poly in enumerate(polygons):
        coords = np.asarray(poly, dtype=np.float64)
        if coords.ndim != 1:
            raise ValueError(
                f"polygon {i} must be a flat list [x1, y1, x2, y2, ...], got shape {coords.shape}"
            )
        if coords.size % 2:
            raise ValueError(f"polygon {i} has an odd number of coordinates ({coords.size})")
        if not np.all(np.isfinite(coords)):
            raise ValueError(f"polygon {i} has non-finite coordinates")
        mask |= _rasterise_polygon(coords.reshape(-1, 2), h, w)
    return encode(mask)


def from_box(box: Sequence[float], height: int, width: int) -> dict[str, object]:
    """RLE of a filled rectangle ``(x0, y0, x1, y1)`` (corners, x1/y1 exclusive).

    The box uses the same convention as :func:`to_box`, so
    ``to_box(from_box(b, h, w)) == b`` for integer boxes inside the image.
    Pixels whose centre lies in ``[x0, x1) x [y0, y1)`` are set; the box is
    clipped to the image.
    """
    _check_dims(height, width)
    h, w = int(height), int(width)
    coords = np.asarray(box, dtype=np.float64)
    if coords.shape != (4,):
        raise ValueError(f"box must be (x0, y0, x1, y1), got {box!r}")
    if not np.all(np.isfinite(coords)):
        raise ValueError(f"box has non-finite coordinates: {box!r}")
    first = _first_centre_at_or_after(coords)
    c0, r0, c1, r1 = (int(v) for v in first)
    c0, c1 = max(c0, 0), min(c1, w)
    r0, r1 = max(r0, 0), min(r1, h)
    mask = np.zeros((h, w), dtype=bool)
    if c1 > c0 and r1 > r0:
        mask[r0:r1, c0:c1] = True
    return encode(mask)


def box_area(box: Sequence[float]) -> float:
    """The area of an ``(x0, y0, x1, y1)`` box; 0 for an empty or inverted one."""
    return max(0.0, box[2] - box[0]) * max(0.0, box[3] - box[1])


def box_iou(a: Sequence[float], b: Sequence[float]) -> float:
    """Intersection over union of two ``(x0, y0, x1, y1)`` boxes by area; 0 when both are empty."""
    iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = iw * ih
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0
