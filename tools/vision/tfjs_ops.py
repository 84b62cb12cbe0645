"""The tfjs graph ops and their ONNX equivalents, for ``reamo.tools.vision.tfjs``.

Each handler reads one TensorFlow node and emits ONNX nodes named after its outputs. Axes, shapes, sizes
and ``k`` must be constants (as tfjs graph models store them); convolutions and pooling are wrapped in
NHWC <-> NCHW transposes.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from reamo.tools.vision.tfjs import TfjsConversionError, TfjsGraph

_NCHW = [0, 3, 1, 2]
_NHWC = [0, 2, 3, 1]
_INT64_MAX = np.iinfo(np.int64).max
_INT64_MIN = np.iinfo(np.int64).min


def attr(node: dict[str, Any], key: str, default: Any = None) -> Any:
    """A node attribute as a plain value: ints, floats, bools, strings, int lists, string lists, types."""
    a = node.get("attr", {}).get(key)
    if a is None:
        return default
    if "list" in a:
        lst = a["list"]
        if "i" in lst:
            return [int(v) for v in lst["i"]]
        if "s" in lst:
            return [base64.b64decode(v).decode() for v in lst["s"]]
        return []
    if "i" in a:
        return int(a["i"])
    if "f" in a:
        return float(a["f"])
    if "b" in a:
        return bool(a["b"])
    if "s" in a:
        return base64.b64decode(a["s"]).decode()
    if "type" in a:
        return a["type"]
    return default


def source(ref: str) -> tuple[str, int]:
    name, _, port = ref.partition(":")
    return name, int(port) if port else 0


class Builder:
    """Emits ONNX nodes for tfjs nodes; tensors are named after their TensorFlow outputs."""

    def __init__(self, graph: TfjsGraph) -> None:
        from onnx import helper

        self.helper = helper
        self.graph = graph
        self.nodes: list[Any] = []
        self.initializers: list[Any] = []
        self.names: dict[str, str] = {}  # tf output ref -> onnx tensor name
        self.consts: dict[str, npt.NDArray[Any]] = {}
        self.dtypes: dict[str, str] = {}
        self._count = 0

    # -- helpers ------------------------------------------------------------------------------------------

    def fresh(self, hint: str) -> str:
        self._count += 1
        return f"{hint}__{self._count}"

    def const(self, value: npt.NDArray[Any] | Sequence[Any] | float | int, hint: str = "const") -> str:
        from onnx import numpy_helper

        name = self.fresh(hint)
        self.initializers.append(numpy_helper.from_array(np.asarray(value), name))
        return name

    def emit(self, op: str, inputs: Sequence[str], hint: str, n_out: int = 1, **attrs: Any) -> list[str]:
        outs = [self.fresh(hint) for _ in range(n_out)]
        self.nodes.append(self.helper.make_node(op, list(inputs), outs, **attrs))
        return outs

    def inp(self, node: dict[str, Any], i: int) -> str:
        refs = [r for r in node.get("input", []) if not r.startswith("^")]
        name, port = source(refs[i])
        key = f"{name}:{port}"
        if key not in self.names and name in self.consts:
            self.names[key] = self.const(self.consts[name], name)
        if key not in self.names:
            raise TfjsConversionError(f"{node['name']}: input {refs[i]!r} is not produced by any node")
        return self.names[key]

    def value(self, node: dict[str, Any], i: int) -> npt.NDArray[Any]:
        """A constant input's value (axes, shapes, sizes must be constants for this converter)."""
        refs = [r for r in node.get("input", []) if not r.startswith("^")]
        name, _ = source(refs[i])
        if name not in self.consts:
            raise TfjsConversionError(
                f"{node['name']} ({node['op']}): input {refs[i]!r} must be a constant; dynamic shapes "
                "and axes are not supported"
            )
        return self.consts[name]

    def n_inputs(self, node: dict[str, Any]) -> int:
        return len([r for r in node.get("input", []) if not r.startswith("^")])

    def bind(self, node: dict[str, Any], outs: Iterable[str]) -> None:
        for port, out in enumerate(outs):
            self.names[f"{node['name']}:{port}"] = out

    def nchw(self, x: str, hint: str) -> str:
        return self.emit("Transpose", [x], hint + "_nchw", perm=_NCHW)[0]

    def nhwc(self, x: str, hint: str) -> str:
        return self.emit("Transpose", [x], hint + "_nhwc", perm=_NHWC)[0]

    # -- ops ----------------------------------------------------------------------------------------------

    def convert_node(self, node: dict[str, Any]) -> None:
        op = node["op"]
        handler = HANDLERS.get(op)
        if handler is None:
            raise TfjsConversionError(
                f"tfjs op {op!r} (node {node['name']!r}) is not supported; "
                f"supported: {', '.join(sorted(HANDLERS))}"
            )
        handler(self, node)


def _const(b: Builder, node: dict[str, Any]) -> None:
    name = node["name"]
    if name not in b.graph.weights:
        raise TfjsConversionError(f"constant {name!r} has no value in the weights manifest")
    b.consts[name] = b.graph.weights[name]  # an initializer is made only if a node reads it as a tensor


def _placeholder(b: Builder, node: dict[str, Any]) -> None:
    b.bind(node, [node["name"]])


def _identity(b: Builder, node: dict[str, Any]) -> None:
    b.bind(node, [b.inp(node, 0)])
    name = node["name"]
    src, _ = source(node["input"][0])
    if src in b.consts:
        b.consts[name] = b.consts[src]


def _conv(b: Builder, node: dict[str, Any]) -> None:
    op = node["op"]
    depthwise = "Depthwise" in op
    if attr(node, "data_format", "NHWC") != "NHWC":
        raise TfjsConversionError(f"{node['name']}: only NHWC convolutions are supported")
    padding = attr(node, "padding", "VALID")
    if padding not in ("SAME", "VALID"):
        raise TfjsConversionError(f"{node['name']}: padding {padding!r} is not supported")
    weight = b.value(node, 1).astype(np.float32)
    kh, kw = weight.shape[:2]
    if depthwise:
        channels, mult = weight.shape[2], weight.shape[3]
        onnx_w = weight.reshape(kh, kw, channels * mult).transpose(2, 0, 1)[:, None, :, :]
        group = channels
    else:
        onnx_w = weight.transpose(3, 2, 0, 1)
        group = 1
    fused = attr(node, "fused_ops", []) or []
    inputs = [
        b.nchw(b.inp(node, 0), node["name"]),
        b.const(np.ascontiguousarray(onnx_w), node["name"] + "_w"),
    ]
    if fused and fused[0] == "BiasAdd":
        inputs.append(b.const(b.value(node, 2).astype(np.float32), node["name"] + "_b"))
        fused = fused[1:]
    elif fused:
        raise TfjsConversionError(f"{node['name']}: fused ops {fused} are not supported (need BiasAdd first)")
    strides = attr(node, "strides", [1, 1, 1, 1])
    dilations = attr(node, "dilations", [1, 1, 1, 1]) or [1, 1, 1, 1]
    out = b.emit(
        "Conv",
        inputs,
        node["name"],
        auto_pad="SAME_UPPER" if padding == "SAME" else "VALID",
        strides=strides[1:3],
        dilations=dilations[1:3],
        group=group,
        kernel_shape=[kh, kw],
    )[0]
    for act in fused:
        out = _activation(b, act, out, node)
    b.bind(node, [b.nhwc(out, node["name"])])


def _activation(b: Builder, act: str, x: str, node: dict[str, Any]) -> str:
    if act == "Relu":
        return b.emit("Relu", [x], node["name"] + "_relu")[0]
    if act == "Relu6":
        return b.emit(
            "Clip",
            [x, b.const(np.array(0, np.float32)), b.const(np.array(6, np.float32))],
            node["name"] + "_relu6",
        )[0]
    if act == "Elu":
        return b.emit("Elu", [x], node["name"] + "_elu")[0]
    if act == "Sigmoid":
        return b.emit("Sigmoid", [x], node["name"] + "_sigmoid")[0]
    raise TfjsConversionError(f"{node['name']}: fused activation {act!r} is not supported")


def _unary(onnx_op: str) -> Callable[[Builder, dict[str, Any]], None]:
    def handle(b: Builder, node: dict[str, Any]) -> None:
        if onnx_op == "Relu6":
            out = _activation(b, "Relu6", b.inp(node, 0), node)
        else:
            out = b.emit(onnx_op, [b.inp(node, 0)], node["name"])[0]
        b.bind(node, [out])

    return handle


def _binary(onnx_op: str) -> Callable[[Builder, dict[str, Any]], None]:
    def handle(b: Builder, node: dict[str, Any]) -> None:
        b.bind(node, b.emit(onnx_op, [b.inp(node, 0), b.inp(node, 1)], node["name"]))

    return handle


def _is_int(node: dict[str, Any]) -> bool:
    return attr(node, "T", "DT_FLOAT") in ("DT_INT32", "DT_INT64")


def _floor_mod(b: Builder, node: dict[str, Any]) -> None:
    x, y = b.inp(node, 0), b.inp(node, 1)
    if _is_int(node):
        b.bind(node, b.emit("Mod", [x, y], node["name"], fmod=0))
        return
    q = b.emit("Floor", b.emit("Div", [x, y], node["name"] + "_div"), node["name"] + "_floor")[0]
    b.bind(node, b.emit("Sub", [x, b.emit("Mul", [q, y], node["name"] + "_mul")[0]], node["name"]))


def _floor_div(b: Builder, node: dict[str, Any]) -> None:
    x, y = b.inp(node, 0), b.inp(node, 1)
    if _is_int(node):  # exact floor division: (x - x mod y) / y
        rem = b.emit("Mod", [x, y], node["name"] + "_mod", fmod=0)[0]
        b.bind(node, b.emit("Div", [b.emit("Sub", [x, rem], node["name"] + "_sub")[0], y], node["name"]))
        return
    b.bind(node, b.emit("Floor", b.emit("Div", [x, y], node["name"] + "_div"), node["name"]))


def _reduce(onnx_op: str) -> Callable[[Builder, dict[str, Any]], None]:
    def handle(b: Builder, node: dict[str, Any]) -> None:
        axes = [int(a) for a in np.atleast_1d(b.value(node, 1))]
        keep = 1 if attr(node, "keep_dims", False) else 0
        b.bind(node, b.emit(onnx_op, [b.inp(node, 0)], node["name"], axes=axes, keepdims=keep))

    return handle


def _concat(b: Builder, node: dict[str, Any]) -> None:
    n = b.n_inputs(node)
    axis = int(b.value(node, n - 1))
    b.bind(node, b.emit("Concat", [b.inp(node, i) for i in range(n - 1)], node["name"], axis=axis))


def _reshape(b: Builder, node: dict[str, Any]) -> None:
    shape = b.const(b.value(node, 1).astype(np.int64), node["name"] + "_shape")
    b.bind(node, b.emit("Reshape", [b.inp(node, 0), shape], node["name"]))


def _cast(b: Builder, node: dict[str, Any]) -> None:
    from onnx import TensorProto

    targets = {"DT_FLOAT": TensorProto.FLOAT, "DT_INT32": TensorProto.INT32, "DT_INT64": TensorProto.INT64}
    dst = attr(node, "DstT")
    if dst not in targets:
        raise TfjsConversionError(f"{node['name']}: cast to {dst} is not supported")
    b.bind(node, b.emit("Cast", [b.inp(node, 0)], node["name"], to=targets[dst]))


def _expand_dims(b: Builder, node: dict[str, Any]) -> None:
    axes = b.const(np.atleast_1d(b.value(node, 1)).astype(np.int64), node["name"] + "_axes")
    b.bind(node, b.emit("Unsqueeze", [b.inp(node, 0), axes], node["name"]))


def _squeeze(b: Builder, node: dict[str, Any]) -> None:
    dims = attr(node, "squeeze_dims", []) or []
    inputs = [b.inp(node, 0)]
    if dims:
        inputs.append(b.const(np.asarray(dims, dtype=np.int64), node["name"] + "_axes"))
    b.bind(node, b.emit("Squeeze", inputs, node["name"]))


def _strided_slice(b: Builder, node: dict[str, Any]) -> None:
    if attr(node, "ellipsis_mask", 0) or attr(node, "new_axis_mask", 0):
        raise TfjsConversionError(f"{node['name']}: StridedSlice with ellipsis or new axes is not supported")
    begin, end, step = (b.value(node, i).astype(np.int64).reshape(-1) for i in (1, 2, 3))
    begin_mask, end_mask = attr(node, "begin_mask", 0), attr(node, "end_mask", 0)
    shrink = attr(node, "shrink_axis_mask", 0)
    starts, ends = begin.copy(), end.copy()
    for i in range(begin.size):
        if begin_mask >> i & 1:
            starts[i] = 0 if step[i] > 0 else _INT64_MAX
        if end_mask >> i & 1:
            ends[i] = _INT64_MAX if step[i] > 0 else _INT64_MIN
        if shrink >> i & 1:
            ends[i] = starts[i] + 1 if starts[i] != -1 else _INT64_MAX
            step[i] = 1
    axes = np.arange(begin.size, dtype=np.int64)
    out = b.emit(
        "Slice",
        [
            b.inp(node, 0),
            *(
                b.const(v, node["name"] + h)
                for v, h in ((starts, "_s"), (ends, "_e"), (axes, "_a"), (step, "_p"))
            ),
        ],
        node["name"] + "_slice",
    )[0]
    squeeze = [i for i in range(begin.size) if shrink >> i & 1]
    if squeeze:
        out = b.emit("Squeeze", [out, b.const(np.asarray(squeeze, dtype=np.int64))], node["name"])[0]
    b.bind(node, [out])


def _resize(mode: str) -> Callable[[Builder, dict[str, Any]], None]:
    def handle(b: Builder, node: dict[str, Any]) -> None:
        size = b.value(node, 1).astype(np.int64).reshape(-1)
        if attr(node, "align_corners", False):
            transform = "align_corners"
        elif attr(node, "half_pixel_centers", False):
            transform = "half_pixel" if mode == "linear" else "tf_half_pixel_for_nn"
        else:
            transform = "asymmetric"
        x = b.nchw(b.inp(node, 0), node["name"])
        shape = b.emit("Shape", [x], node["name"] + "_shape")[0]
        lead = b.emit(
            "Slice",
            [shape, b.const(np.array([0], np.int64)), b.const(np.array([2], np.int64))],
            node["name"] + "_nc",
        )[0]
        sizes = b.emit(
            "Concat", [lead, b.const(size, node["name"] + "_hw")], node["name"] + "_sizes", axis=0
        )[0]
        attrs: dict[str, Any] = {"mode": mode, "coordinate_transformation_mode": transform}
        if mode == "nearest":
            attrs["nearest_mode"] = "round_prefer_ceil" if transform == "align_corners" else "floor"
        out = b.emit("Resize", [x, "", "", sizes], node["name"], **attrs)[0]
        b.bind(node, [b.nhwc(out, node["name"])])

    return handle


def _pool(onnx_op: str) -> Callable[[Builder, dict[str, Any]], None]:
    def handle(b: Builder, node: dict[str, Any]) -> None:
        ksize, strides = attr(node, "ksize"), attr(node, "strides")
        padding = attr(node, "padding", "VALID")
        attrs: dict[str, Any] = {
            "kernel_shape": ksize[1:3],
            "strides": strides[1:3],
            "auto_pad": "SAME_UPPER" if padding == "SAME" else "VALID",
        }
        if onnx_op == "AveragePool":
            attrs["count_include_pad"] = 0
        out = b.emit(onnx_op, [b.nchw(b.inp(node, 0), node["name"])], node["name"], **attrs)[0]
        b.bind(node, [b.nhwc(out, node["name"])])

    return handle


def _topk(b: Builder, node: dict[str, Any]) -> None:
    from onnx import TensorProto

    k = b.const(np.atleast_1d(b.value(node, 1)).astype(np.int64), node["name"] + "_k")
    values, indices = b.emit("TopK", [b.inp(node, 0), k], node["name"], n_out=2, axis=-1, largest=1, sorted=1)
    b.bind(node, [values, b.emit("Cast", [indices], node["name"] + "_i32", to=TensorProto.INT32)[0]])


def _gather(b: Builder, node: dict[str, Any]) -> None:
    if attr(node, "batch_dims", 0):
        raise TfjsConversionError(f"{node['name']}: GatherV2 with batch_dims is not supported")
    axis = int(b.value(node, 2)) if b.n_inputs(node) > 2 else 0
    b.bind(node, b.emit("Gather", [b.inp(node, 0), b.inp(node, 1)], node["name"], axis=axis))


def _pack(b: Builder, node: dict[str, Any]) -> None:
    axis = attr(node, "axis", 0)
    axes = b.const(np.array([axis], np.int64))
    parts = [
        b.emit("Unsqueeze", [b.inp(node, i), axes], node["name"] + "_u")[0] for i in range(b.n_inputs(node))
    ]
    b.bind(node, b.emit("Concat", parts, node["name"], axis=axis))


HANDLERS: dict[str, Callable[[Builder, dict[str, Any]], None]] = {
    "Const": _const,
    "Placeholder": _placeholder,
    "Identity": _identity,
    "Conv2D": _conv,
    "_FusedConv2D": _conv,
    "DepthwiseConv2dNative": _conv,
    "FusedDepthwiseConv2dNative": _conv,
    "Relu": _unary("Relu"),
    "Relu6": _unary("Relu6"),
    "Sigmoid": _unary("Sigmoid"),
    "Tanh": _unary("Tanh"),
    "Exp": _unary("Exp"),
    "Sqrt": _unary("Sqrt"),
    "Neg": _unary("Neg"),
    "Add": _binary("Add"),
    "AddV2": _binary("Add"),
    "Sub": _binary("Sub"),
    "Mul": _binary("Mul"),
    "RealDiv": _binary("Div"),
    "Maximum": _binary("Max"),
    "Minimum": _binary("Min"),
    "Equal": _binary("Equal"),
    "Greater": _binary("Greater"),
    "Less": _binary("Less"),
    "FloorDiv": _floor_div,
    "FloorMod": _floor_mod,
    "Mean": _reduce("ReduceMean"),
    "Max": _reduce("ReduceMax"),
    "Sum": _reduce("ReduceSum"),
    "ConcatV2": _concat,
    "Reshape": _reshape,
    "Cast": _cast,
    "ExpandDims": _expand_dims,
    "Squeeze": _squeeze,
    "StridedSlice": _strided_slice,
    "Pack": _pack,
    "ResizeBilinear": _resize("linear"),
    "ResizeNearestNeighbor": _resize("nearest"),
    "MaxPool": _pool("MaxPool"),
    "AvgPool": _pool("AveragePool"),
    "TopKV2": _topk,
    "GatherV2": _gather,
}
