"""A TensorFlow.js graph model (``model.json`` + weight shards) converted to ONNX with numpy and ``onnx``.

TensorFlow-based converters do not run on numpy 2, so REAMO converts the few graph models it uses itself.
The graph keeps TensorFlow's NHWC layout; each convolution or pooling is wrapped in transposes to ONNX's
NCHW, which onnxruntime's optimiser folds away. Unsupported ops raise ``TfjsConversionError`` naming them.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from reamo.errors import ReamoError

OPSET = 17

_MANIFEST_DTYPES: dict[str, Any] = {
    "float32": np.float32,
    "int32": np.int32,
    "bool": np.bool_,
    "uint8": np.uint8,
    "uint16": np.uint16,
    "float16": np.float16,
}


class TfjsConversionError(ReamoError, ValueError):
    """The tfjs graph uses something this converter does not handle (the message names it)."""


@dataclass
class TfjsGraph:
    """A parsed tfjs graph model: its nodes, their constant values and the signature's inputs/outputs."""

    nodes: list[dict[str, Any]]
    weights: dict[str, npt.NDArray[Any]]
    inputs: list[str]
    outputs: list[str]
    output_shapes: dict[str, list[int | None]] = field(default_factory=dict)
    metadata: dict[str, str] = field(default_factory=dict)


def load_graph(model_json: Path) -> TfjsGraph:
    """Read ``model.json`` and the weight shards it names (float16 and quantised weights are expanded)."""
    try:
        spec = json.loads(model_json.read_text(encoding="utf-8"))
        nodes = spec["modelTopology"]["node"]
        manifest = spec["weightsManifest"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise TfjsConversionError(f"{str(model_json)!r} is not a tfjs graph model.json: {exc}") from exc
    if spec.get("format") not in (None, "graph-model"):
        raise TfjsConversionError(
            f"{model_json.name} is a tfjs {spec.get('format')!r}; only graph models convert"
        )
    weights: dict[str, npt.NDArray[Any]] = {}
    for group in manifest:
        blob = b"".join((model_json.parent / p).read_bytes() for p in group["paths"])
        offset = 0
        for w in group["weights"]:
            array, offset = _read_weight(w, blob, offset)
            weights[w["name"]] = array
    signature = spec.get("signature") or {}
    inputs = list((signature.get("inputs") or {}).keys()) or [
        n["name"] for n in nodes if n["op"] == "Placeholder"
    ]
    outputs = list((signature.get("outputs") or {}).keys())
    shapes = {
        name: [int(d["size"]) if int(d.get("size", -1)) >= 0 else None for d in dims]
        for name, out in (signature.get("outputs") or {}).items()
        if (dims := out.get("tensorShape", {}).get("dim")) is not None
    }
    meta = {k: str(spec[k]) for k in ("generatedBy", "convertedBy") if spec.get(k)}
    return TfjsGraph(
        nodes=nodes, weights=weights, inputs=inputs, outputs=outputs, output_shapes=shapes, metadata=meta
    )


def _read_weight(w: dict[str, Any], blob: bytes, offset: int) -> tuple[npt.NDArray[Any], int]:
    shape = [int(s) for s in w["shape"]]
    count = int(np.prod(shape)) if shape else 1
    quant = w.get("quantization")
    stored = quant["dtype"] if quant else w["dtype"]
    if stored not in _MANIFEST_DTYPES:
        raise TfjsConversionError(f"weight {w['name']!r} has unsupported dtype {stored!r}")
    dtype = np.dtype(_MANIFEST_DTYPES[stored])
    end = offset + count * dtype.itemsize
    if end > len(blob):
        raise TfjsConversionError(f"weight {w['name']!r} runs past the end of the weight files (truncated?)")
    raw = np.frombuffer(blob[offset:end], dtype=dtype).reshape(shape)
    if quant and stored == "float16":
        value = raw.astype(np.float32)
    elif quant:
        value = (raw.astype(np.float32) * float(quant["scale"]) + float(quant["min"])).astype(np.float32)
        if w["dtype"] == "int32":
            value = np.round(value).astype(np.int32)
    else:
        value = raw.copy()
    return value, end


def _needed(graph: TfjsGraph, outputs: Sequence[str]) -> list[dict[str, Any]]:
    """The nodes the outputs depend on, in dependency order (tfjs files need not be sorted)."""
    from reamo.tools.vision.tfjs_ops import source

    by_name = {n["name"]: n for n in graph.nodes}
    order: list[dict[str, Any]] = []
    state: dict[str, int] = {}
    for out in outputs:
        stack: list[tuple[str, bool]] = [(source(out)[0], False)]
        while stack:
            name, done = stack.pop()
            if done:
                state[name] = 2
                order.append(by_name[name])
                continue
            if state.get(name):
                continue
            if name not in by_name:
                raise TfjsConversionError(
                    f"the graph has no node {name!r}; outputs: {', '.join(graph.outputs)}"
                )
            state[name] = 1
            stack.append((name, True))
            for ref in by_name[name].get("input", []):
                src = source(ref.lstrip("^"))[0]
                if not state.get(src):
                    stack.append((src, False))
    return order


def convert(graph: TfjsGraph, outputs: Sequence[str] | None = None, *, producer: str = "reamo.tfjs") -> Any:
    """Convert ``graph`` (from ``load_graph``) to an ``onnx.ModelProto`` computing ``outputs``."""
    import onnx
    from onnx import TensorProto, helper

    from reamo.tools.vision.tfjs_ops import Builder, attr, source

    wanted = list(outputs or graph.outputs)
    if not wanted:
        raise TfjsConversionError("the model has no signature outputs: name the outputs to convert")
    b = Builder(graph)
    order = _needed(graph, wanted)
    inputs = []
    for node in order:
        b.convert_node(node)
        if node["op"] == "Placeholder":
            dims = [int(d.get("size", -1)) for d in node["attr"]["shape"]["shape"].get("dim", [])]
            elem = {"DT_FLOAT": TensorProto.FLOAT, "DT_INT32": TensorProto.INT32}[
                attr(node, "dtype", "DT_FLOAT")
            ]
            inputs.append(
                helper.make_tensor_value_info(node["name"], elem, [d if d >= 0 else None for d in dims])
            )
    outs = []
    for name in wanted:
        src, port = source(name)
        b.nodes.append(helper.make_node("Identity", [b.names[f"{src}:{port}"]], [name]))
        node = next(n for n in order if n["name"] == src)
        tf_type = attr(node, "T") or attr(node, "DstT") or attr(node, "dtype") or "DT_FLOAT"
        out_types = {
            "DT_INT32": TensorProto.INT32,
            "DT_INT64": TensorProto.INT64,
            "DT_BOOL": TensorProto.BOOL,
        }
        outs.append(
            helper.make_tensor_value_info(
                name, out_types.get(tf_type, TensorProto.FLOAT), graph.output_shapes.get(name)
            )
        )
    model = helper.make_model(
        helper.make_graph(b.nodes, "tfjs", inputs, outs, initializer=b.initializers),
        opset_imports=[helper.make_opsetid("", OPSET)],
        producer_name=producer,
    )
    model.ir_version = 8
    for key, value in graph.metadata.items():
        model.metadata_props.append(onnx.StringStringEntryProto(key=key, value=value))
    # outputs whose shape the signature does not give get it from ONNX's shape inference
    model = onnx.shape_inference.infer_shapes(model)
    for out in model.graph.output:
        if not out.type.tensor_type.HasField("shape"):
            out.type.tensor_type.shape.SetInParent()
    onnx.checker.check_model(model)
    return model


def convert_file(model_json: Path, out: Path, outputs: Sequence[str] | None = None) -> Path:
    """Convert a tfjs graph model on disk to an ONNX file; returns ``out``."""
    import onnx

    model = convert(load_graph(model_json), outputs)
    onnx.save(model, str(out))
    return out
