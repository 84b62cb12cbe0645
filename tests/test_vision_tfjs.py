"""The tfjs-graph-to-ONNX converter against a naive numpy reference of TensorFlow's ops."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
import pytest

from reamo.tools.vision.tfjs import TfjsConversionError, convert_file, load_graph

RNG = np.random.default_rng(0)


def _s(text: str) -> dict[str, str]:
    return {"s": base64.b64encode(text.encode()).decode()}


def _ints(*values: int) -> dict[str, Any]:
    return {"list": {"i": [str(v) for v in values]}}


def _node(name: str, op: str, inputs: list[str] | None = None, **attr: Any) -> dict[str, Any]:
    return {"name": name, "op": op, "input": inputs or [], "attr": attr}


def write_model(
    folder: Path, nodes: list[dict[str, Any]], weights: dict[str, np.ndarray], outputs: list[str]
) -> Path:
    """A tfjs graph model: float weights stored as float16 (as @vladmandic/human ships them)."""
    manifest, blob = [], b""
    for name, value in weights.items():
        entry: dict[str, Any] = {"name": name, "shape": list(value.shape)}
        if value.dtype == np.float32:
            entry.update(dtype="float32", quantization={"dtype": "float16", "original_dtype": "float32"})
            blob += value.astype(np.float16).tobytes()
        else:
            entry["dtype"] = "int32"
            blob += value.astype(np.int32).tobytes()
        manifest.append(entry)
        nodes.insert(0, _node(name, "Const"))
    (folder / "weights.bin").write_bytes(blob)
    spec = {
        "format": "graph-model",
        "modelTopology": {"node": nodes},
        "weightsManifest": [{"paths": ["weights.bin"], "weights": manifest}],
        "signature": {"outputs": {o: {"name": o} for o in outputs}},
    }
    (folder / "model.json").write_text(json.dumps(spec))
    return folder / "model.json"


def conv_same(x: np.ndarray, w: np.ndarray, stride: int, depthwise: bool = False) -> np.ndarray:
    """TensorFlow's NHWC convolution with SAME padding, by loops."""
    _, h, wd, c = x.shape
    kh, kw = w.shape[:2]
    oh, ow = -(-h // stride), -(-wd // stride)
    ph = max((oh - 1) * stride + kh - h, 0)
    pw = max((ow - 1) * stride + kw - wd, 0)
    xp = np.pad(x, ((0, 0), (ph // 2, ph - ph // 2), (pw // 2, pw - pw // 2), (0, 0)))
    out_c = c * w.shape[3] if depthwise else w.shape[3]
    out = np.zeros((1, oh, ow, out_c), np.float64)
    for y in range(oh):
        for xx in range(ow):
            patch = xp[0, y * stride : y * stride + kh, xx * stride : xx * stride + kw, :]
            if depthwise:
                out[0, y, xx] = np.einsum("ijc,ijcm->cm", patch, w).reshape(-1)
            else:
                out[0, y, xx] = np.einsum("ijc,ijco->o", patch, w)
    return out


def resize_asymmetric(x: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    _, h, w, _ = x.shape
    out = np.zeros((1, size[0], size[1], x.shape[3]))
    for y in range(size[0]):
        for xx in range(size[1]):
            sy, sx = y * h / size[0], xx * w / size[1]
            y0, x0 = int(np.floor(sy)), int(np.floor(sx))
            y1, x1 = min(y0 + 1, h - 1), min(x0 + 1, w - 1)
            dy, dx = sy - y0, sx - x0
            top = x[0, y0, x0] * (1 - dx) + x[0, y0, x1] * dx
            bottom = x[0, y1, x0] * (1 - dx) + x[0, y1, x1] * dx
            out[0, y, xx] = top * (1 - dy) + bottom * dy
    return out


def maxpool_same(x: np.ndarray) -> np.ndarray:
    xp = np.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)), constant_values=-np.inf)
    return np.max([xp[:, i : i + x.shape[1], j : j + x.shape[2]] for i in range(3) for j in range(3)], axis=0)


DIMS = [{"size": s} for s in ("1", "8", "8", "3")]


def test_convolutions_resize_pooling_and_decoding_match_tensorflow(tmp_path: Path) -> None:
    weights = {
        "w1": RNG.normal(size=(3, 3, 3, 4)).astype(np.float32),
        "b1": RNG.normal(size=4).astype(np.float32),
        "dw": RNG.normal(size=(3, 3, 4, 2)).astype(np.float32),
        "axes": np.array([1, 2], np.int32),
        "size": np.array([8, 8], np.int32),
        "flat": np.array([1, -1], np.int32),
        "k": np.array(5, np.int32),
        "seven": np.array(7, np.int32),
        "zero": np.array(0, np.int32),
        "idx": np.array([0, 2], np.int32),
        "one": np.array(1, np.int32),
        "b": np.array([0, 1], np.int32),
        "e": np.array([2, 4], np.int32),
        "st": np.array([1, 1], np.int32),
    }
    nodes = [
        _node("x", "Placeholder", dtype={"type": "DT_FLOAT"}, shape={"shape": {"dim": DIMS}}),
        _node("conv", "_FusedConv2D", ["x", "w1", "b1"], strides=_ints(1, 2, 2, 1), padding=_s("SAME"),
              data_format=_s("NHWC"), fused_ops={"list": {"s": [_s("BiasAdd")["s"], _s("Relu")["s"]]}}),
        _node("dconv", "DepthwiseConv2dNative", ["conv", "dw"], strides=_ints(1, 1, 1, 1), padding=_s("SAME")),  # noqa: E501
        _node("mean", "Mean", ["dconv", "axes"], keep_dims={"b": True}),
        _node("mul", "Mul", ["dconv", "mean"]),
        _node("up", "ResizeBilinear", ["mul", "size"], align_corners={"b": False}, half_pixel_centers={"b": False}),  # noqa: E501
        _node("pool", "MaxPool", ["up"], ksize=_ints(1, 3, 3, 1), strides=_ints(1, 1, 1, 1), padding=_s("SAME")),  # noqa: E501
        _node("reshape", "Reshape", ["pool", "flat"]),
        _node("topk", "TopKV2", ["reshape", "k"], sorted={"b": True}),
        _node("fdiv", "FloorDiv", ["topk:1", "seven"], T={"type": "DT_INT32"}),
        _node("fmod", "FloorMod", ["topk:1", "seven"], T={"type": "DT_INT32"}),
        _node("cdiv", "Cast", ["fdiv"], DstT={"type": "DT_FLOAT"}),
        _node("cmod", "Cast", ["fmod"], DstT={"type": "DT_FLOAT"}),
        _node("cat", "ConcatV2", ["topk", "cdiv", "cmod", "zero"]),
        _node("slice", "StridedSlice", ["cat", "b", "e", "st"], begin_mask={"i": "0"}, end_mask={"i": "0"},
              shrink_axis_mask={"i": "0"}, ellipsis_mask={"i": "0"}, new_axis_mask={"i": "0"}),
        _node("gather", "GatherV2", ["topk", "idx", "one"], batch_dims={"i": "0"}),
        _node("out", "Identity", ["slice"]),
    ]  # fmt: skip
    path = write_model(tmp_path, nodes, weights, ["out", "gather"])
    onnx_path = convert_file(path, tmp_path / "m.onnx", ["out", "gather"])
    x = RNG.uniform(0, 1, size=(1, 8, 8, 3)).astype(np.float32)
    got_slice, got_gather = ort.InferenceSession(str(onnx_path)).run(["out", "gather"], {"x": x})

    w = {
        k: v.astype(np.float16).astype(np.float64) if v.dtype == np.float32 else v for k, v in weights.items()
    }
    conv = np.maximum(conv_same(x.astype(np.float64), w["w1"], 2) + w["b1"], 0)
    dconv = conv_same(conv, w["dw"], 1, depthwise=True)
    pooled = maxpool_same(resize_asymmetric(dconv * dconv.mean(axis=(1, 2), keepdims=True), (8, 8)))
    flat = pooled.reshape(1, -1)
    order = np.argsort(-flat[0], kind="stable")[:5]
    values = flat[0, order][None]
    cat = np.concatenate([values, (order // 7)[None], (order % 7)[None]], axis=0)
    np.testing.assert_allclose(got_slice, cat[0:2, 1:4], rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(got_gather, values[:, [0, 2]], rtol=1e-4)


def test_unsupported_op_and_truncated_weights_are_named(tmp_path: Path) -> None:
    nodes = [
        _node("x", "Placeholder", dtype={"type": "DT_FLOAT"}, shape={"shape": {"dim": [{"size": "1"}]}}),
        _node("y", "Cumprod", ["x"]),
    ]
    path = write_model(tmp_path, nodes, {}, ["y"])
    with pytest.raises(TfjsConversionError, match=r"'Cumprod'.*not supported"):
        convert_file(path, tmp_path / "m.onnx")
    path = write_model(tmp_path, [], {"w": np.ones((4, 4), np.float32)}, ["w"])
    (tmp_path / "weights.bin").write_bytes(b"\x00" * 5)
    with pytest.raises(TfjsConversionError, match="truncated"):
        load_graph(path)
    (tmp_path / "model.json").write_text("{not json")
    with pytest.raises(TfjsConversionError, match="not a tfjs graph"):
        load_graph(path)
