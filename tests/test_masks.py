"""Tests for reamo.masks against pycocotools (the reference implementation)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from reamo import masks

mask_utils = pytest.importorskip("pycocotools.mask")


# --------------------------------------------------------------------------
# Strategies and helpers
# --------------------------------------------------------------------------


def _ref_encode(mask: np.ndarray) -> dict[str, Any]:
    rle: dict[str, Any] = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
    return rle


def _ref_counts(mask: np.ndarray) -> str:
    counts = _ref_encode(mask)["counts"]
    assert isinstance(counts, bytes)
    return counts.decode("ascii")


_dims = st.integers(min_value=1, max_value=40)


@st.composite
def random_masks(draw: st.DrawFn) -> np.ndarray:
    """Arbitrary (often noisy) masks of varied shape, incl. 1xN and Nx1."""
    shape = draw(
        st.one_of(
            st.tuples(_dims, _dims),
            st.tuples(st.just(1), st.integers(1, 300)),
            st.tuples(st.integers(1, 300), st.just(1)),
        )
    )
    return draw(hnp.arrays(np.bool_, shape))


@st.composite
def run_masks(draw: st.DrawFn) -> np.ndarray:
    """Masks built from explicit runs, so long runs and big deltas occur."""
    h = draw(st.integers(1, 200))
    w = draw(st.integers(1, 200))
    n = h * w
    cuts = sorted(set(draw(st.lists(st.integers(0, n), max_size=30))))
    flat = np.zeros(n, dtype=bool)
    value = draw(st.booleans())
    prev = 0
    for c in [*cuts, n]:
        flat[prev:c] = value
        value = not value
        prev = c
    return flat.reshape((h, w), order="F")


@st.composite
def special_masks(draw: st.DrawFn) -> np.ndarray:
    """All-zero / all-one masks of varied shape."""
    shape = draw(st.tuples(st.integers(1, 120), st.integers(1, 120)))
    fill = draw(st.booleans())
    return np.full(shape, fill, dtype=bool)


any_mask = st.one_of(random_masks(), run_masks(), special_masks())


# --------------------------------------------------------------------------
# encode / decode
# --------------------------------------------------------------------------


@settings(max_examples=400, deadline=None)
@given(any_mask)
def test_encode_matches_pycocotools(mask: np.ndarray) -> None:
    rle = masks.encode(mask)
    assert rle["size"] == [mask.shape[0], mask.shape[1]]
    assert isinstance(rle["counts"], str)
    assert rle["counts"] == _ref_counts(mask)


@settings(max_examples=300, deadline=None)
@given(any_mask)
def test_roundtrip(mask: np.ndarray) -> None:
    out = masks.decode(masks.encode(mask))
    assert out.dtype == np.bool_
    assert out.shape == mask.shape
    np.testing.assert_array_equal(out, mask)


@settings(max_examples=200, deadline=None)
@given(any_mask)
def test_decode_pycocotools_output(mask: np.ndarray) -> None:
    # pycocotools returns bytes counts; decode must accept them directly.
    np.testing.assert_array_equal(masks.decode(_ref_encode(mask)), mask)


@pytest.mark.parametrize("dtype", [np.bool_, np.uint8, np.int64])
def test_encode_accepts_dtypes_and_orders(dtype: type) -> None:
    rng = np.random.default_rng(0)
    m = rng.random((17, 23)) > 0.5
    expected = _ref_counts(m)
    assert masks.encode(m.astype(dtype))["counts"] == expected
    assert masks.encode(np.asfortranarray(m.astype(dtype)))["counts"] == expected
    assert masks.encode(m.astype(dtype)[:, ::-1][:, ::-1])["counts"] == expected


def test_known_values() -> None:
    assert masks.encode(np.zeros((2, 2), bool)) == {"size": [2, 2], "counts": "4"}
    assert masks.encode(np.ones((2, 2), bool)) == {"size": [2, 2], "counts": "04"}
    assert masks.encode(np.zeros((1, 1), bool)) == {"size": [1, 1], "counts": "1"}


@pytest.mark.parametrize("shape", [(0, 3), (3, 0), (0, 0)])
def test_empty_shape(shape: tuple[int, int]) -> None:
    m = np.zeros(shape, bool)
    rle = masks.encode(m)
    assert rle["counts"] == _ref_counts(m) == "0"
    assert masks.decode(rle).shape == shape
    assert masks.area(rle) == 0
    assert masks.to_box(rle) is None


def test_large_mask_matches_pycocotools() -> None:
    rng = np.random.default_rng(1)
    m = np.zeros((480, 640), bool)
    for _ in range(20):
        y0, x0 = rng.integers(0, 400), rng.integers(0, 560)
        m[y0 : y0 + rng.integers(1, 80), x0 : x0 + rng.integers(1, 80)] ^= True
    m |= rng.random(m.shape) > 0.999
    rle = masks.encode(m)
    assert rle["counts"] == _ref_counts(m)
    np.testing.assert_array_equal(masks.decode(rle), m)


def test_decode_uncompressed() -> None:
    rng = np.random.default_rng(2)
    m = rng.random((9, 13)) > 0.6
    counts = mask_utils.frPyObjects({"size": [9, 13], "counts": _uncompressed(m)}, 9, 13)["counts"]
    assert counts.decode("ascii") == masks.encode(m)["counts"]
    np.testing.assert_array_equal(masks.decode({"size": [9, 13], "counts": _uncompressed(m)}), m)
    np.testing.assert_array_equal(masks.decode({"size": [9, 13], "counts": np.array(_uncompressed(m))}), m)


def _uncompressed(m: np.ndarray) -> list[int]:
    flat = m.ravel(order="F")
    counts: list[int] = []
    value = False
    run = 0
    for px in flat:
        if bool(px) != value:
            counts.append(run)
            value = not value
            run = 0
        run += 1
    counts.append(run)
    return counts


@pytest.mark.parametrize(
    ("rle", "match"),
    [
        ({"size": [2, 2], "counts": [1, 5]}, "more than"),
        ({"size": [2, 2], "counts": [1, 2]}, "fewer than"),
        ({"size": [2, 2], "counts": "5"}, "more than"),
        ({"size": [2, 2], "counts": "0 4"}, "invalid character"),
        ({"size": [2, 2], "counts": "0~"}, "invalid character"),
        ({"size": [2, 2], "counts": "\u00e94"}, "invalid character"),
        ({"size": [2, 2], "counts": b"\xff"}, "not ASCII"),
        ({"size": [2, 2], "counts": "P"}, "middle of a value"),
        ({"size": [2, 2], "counts": "@"}, "negative"),
        ({"size": [2, 2], "counts": [2, -1, 3]}, "negative"),
        ({"size": [2, 2], "counts": [2.0, 2.0]}, "integers"),
        ({"size": [-2, 2], "counts": "0"}, ">= 0"),
        ({"size": [2], "counts": "4"}, "2 entries"),
        ({"size": "22", "counts": "4"}, "pair"),
        ({"size": [2.0, 2], "counts": "4"}, "integers"),
        ({"counts": "4"}, "missing 'size'"),
        ({"size": [2, 2]}, "missing 'counts'"),
        ({"size": [2, 2], "counts": 4}, "'counts' must be"),
    ],
)
def test_malformed_rle_raises(rle: dict[str, Any], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        masks.decode(rle)
    with pytest.raises(ValueError, match="malformed RLE"):
        masks.area(rle)


@pytest.mark.parametrize("shape", [(3,), (2, 3, 4), ()])
def test_encode_rejects_non_2d(shape: tuple[int, ...]) -> None:
    with pytest.raises(ValueError, match="2-D"):
        masks.encode(np.zeros(shape, bool))


# --------------------------------------------------------------------------
# area / to_box / iou
# --------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(any_mask)
def test_area_and_box_match_pycocotools(mask: np.ndarray) -> None:
    rle = masks.encode(mask)
    ref = _ref_encode(mask)
    assert masks.area(rle) == int(mask_utils.area(ref)) == int(mask.sum())
    box = masks.to_box(rle)
    x, y, w, h = (float(v) for v in mask_utils.toBbox(ref))
    if not mask.any():
        assert box is None
    else:
        assert box == (x, y, x + w, y + h)
        # Also check it is the tight box directly.
        rows = np.flatnonzero(mask.any(axis=1))
        cols = np.flatnonzero(mask.any(axis=0))
        assert box == (cols[0], rows[0], cols[-1] + 1, rows[-1] + 1)


@st.composite
def mask_pairs(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray]:
    shape = draw(st.tuples(st.integers(1, 30), st.integers(1, 30)))
    a = draw(hnp.arrays(np.bool_, shape))
    b = draw(hnp.arrays(np.bool_, shape))
    return a, b


@settings(max_examples=300, deadline=None)
@given(mask_pairs())
def test_iou_matches_pycocotools(pair: tuple[np.ndarray, np.ndarray]) -> None:
    a, b = pair
    got = masks.iou(masks.encode(a), masks.encode(b))
    ref = float(mask_utils.iou([_ref_encode(a)], [_ref_encode(b)], [0])[0, 0])
    assert got == pytest.approx(ref, abs=1e-12)
    assert masks.iou(masks.encode(a), masks.encode(a)) == (1.0 if a.any() else 0.0)


def test_iou_both_empty_is_zero() -> None:
    e = masks.encode(np.zeros((4, 5), bool))
    assert masks.iou(e, e) == 0.0


def test_iou_size_mismatch_raises() -> None:
    with pytest.raises(ValueError, match="sizes differ"):
        masks.iou(masks.encode(np.ones((2, 3), bool)), masks.encode(np.ones((3, 2), bool)))


# --------------------------------------------------------------------------
# from_box / from_polygons
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "box",
    [(0, 0, 10, 10), (3, 5, 17, 9), (0, 0, 40, 30), (39, 29, 40, 30), (7, 2, 8, 28)],
)
@pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")  # inside pycocotools
def test_from_box_integer_roundtrip_and_pycocotools(box: tuple[int, int, int, int]) -> None:
    rle = masks.from_box(box, 30, 40)
    assert masks.to_box(rle) == tuple(float(v) for v in box)
    x0, y0, x1, y1 = box
    ref = mask_utils.frPyObjects(np.array([[x0, y0, x1 - x0, y1 - y0]], dtype=np.float64), 30, 40)[0]
    np.testing.assert_array_equal(masks.decode(rle), mask_utils.decode(ref).astype(bool))


def test_from_box_clips_and_handles_degenerate() -> None:
    assert masks.to_box(masks.from_box((-5, -5, 100, 3), 10, 20)) == (0.0, 0.0, 20.0, 3.0)
    assert masks.area(masks.from_box((5, 5, 5, 9), 10, 10)) == 0
    assert masks.area(masks.from_box((8, 5, 2, 9), 10, 10)) == 0
    assert masks.area(masks.from_box((50, 50, 60, 60), 10, 10)) == 0
    # Fractional corners: pixels whose centre lies in [x0, x1) x [y0, y1).
    assert masks.to_box(masks.from_box((1.4, 1.6, 3.5, 3.6), 10, 10)) == (1.0, 2.0, 3.0, 4.0)


def test_from_box_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="box"):
        masks.from_box((1, 2, 3), 10, 10)
    with pytest.raises(ValueError, match="non-finite"):
        masks.from_box((0, 0, float("nan"), 3), 10, 10)
    with pytest.raises(ValueError, match="height"):
        masks.from_box((0, 0, 1, 1), -1, 10)


def _star(cx: float, cy: float, r_out: float, r_in: float, n: int) -> list[float]:
    pts: list[float] = []
    for i, t in enumerate(np.linspace(0, 2 * np.pi, 2 * n, endpoint=False)):
        r = r_out if i % 2 == 0 else r_in
        pts += [cx + r * float(np.cos(t)), cy + r * float(np.sin(t))]
    return pts


POLYGONS: dict[str, list[list[float]]] = {
    "triangle": [[10, 10, 90, 20, 40, 80]],
    "rectangle": [[5, 5, 60, 5, 60, 40, 5, 40]],
    "fractional_rectangle": [[5.3, 5.7, 60.2, 5.7, 60.2, 40.9, 5.3, 40.9]],
    "star": [_star(50, 50, 40, 16, 5)],
    "two_parts": [[10, 10, 30, 10, 30, 30, 10, 30], [50, 50, 90, 60, 70, 90]],
    "overlapping_parts": [[10, 10, 60, 10, 60, 60, 10, 60], [40, 40, 90, 40, 90, 90, 40, 90]],
    "partly_outside": [[-10, -10, 50, -5, 120, 70, 20, 110]],
    "diagonal_band": [[0, 0, 80, 70, 74, 76, 0, 10]],
    "circle": [_star(60, 45, 30, 30, 32)],
}


@pytest.mark.parametrize("name", sorted(POLYGONS))
def test_from_polygons_close_to_pycocotools(name: str) -> None:
    polys = POLYGONS[name]
    h, w = 100, 120
    ours = masks.from_polygons(polys, h, w)
    ref = mask_utils.merge(mask_utils.frPyObjects(polys, h, w))
    ref_counts = ref["counts"].decode("ascii")
    iou = masks.iou(ours, {"size": ref["size"], "counts": ref_counts})
    assert iou > 0.95, (name, iou)
    assert masks.area(ours) == pytest.approx(int(mask_utils.area(ref)), rel=0.05)


def test_from_polygons_area_close_to_analytic_area() -> None:
    # On a 2-3 px wide sliver pycocotools and we differ in boundary pixels
    # (IoU ~0.93), but both stay close to the true polygon area.
    sliver = [0.0, 0.0, 80.0, 70.0, 78.0, 72.0, 0.0, 3.0]
    for polys in ([sliver], POLYGONS["star"], POLYGONS["circle"]):
        xy = np.array(polys[0]).reshape(-1, 2)
        x, y = xy[:, 0], xy[:, 1]
        true_area = 0.5 * abs(float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))))
        assert masks.area(masks.from_polygons(polys, 100, 120)) == pytest.approx(true_area, rel=0.03)


def test_from_polygons_exact_on_axis_aligned_rectangle() -> None:
    rle = masks.from_polygons([[2, 3, 7, 3, 7, 9, 2, 9]], 12, 10)
    assert masks.to_box(rle) == (2.0, 3.0, 7.0, 9.0)
    assert masks.area(rle) == 5 * 6
    # Vertex order (clockwise vs counter-clockwise) does not matter.
    assert masks.from_polygons([[2, 9, 7, 9, 7, 3, 2, 3]], 12, 10) == rle


def test_from_polygons_degenerate_and_empty() -> None:
    empty = masks.encode(np.zeros((5, 6), bool))
    assert masks.from_polygons([], 5, 6) == empty
    assert masks.from_polygons([[1, 1, 4, 4]], 5, 6) == empty  # two vertices: no area
    assert masks.from_polygons([[1, 1, 4, 1, 2, 1]], 5, 6) == empty  # collinear
    assert masks.from_polygons([[0, 0, 6, 0, 6, 5]], 0, 0) == masks.encode(np.zeros((0, 0), bool))


def test_from_polygons_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="odd number"):
        masks.from_polygons([[1, 2, 3, 4, 5, 6, 7]], 10, 10)
    with pytest.raises(ValueError, match="non-finite"):
        masks.from_polygons([[1, 2, 3, float("inf"), 5, 6]], 10, 10)
    nested: Any = [[[1, 2], [3, 4], [5, 6]]]
    with pytest.raises(ValueError, match="flat list"):
        masks.from_polygons(nested, 10, 10)
    with pytest.raises(ValueError, match="width"):
        masks.from_polygons([[1, 2, 3, 4, 5, 6]], 10, -3)


def test_from_polygons_huge_coordinates_do_not_overflow() -> None:
    rle = masks.from_polygons([[-1e300, -1e300, 1e300, -1e300, 1e300, 1e300, -1e300, 1e300]], 4, 5)
    assert masks.area(rle) == 20
