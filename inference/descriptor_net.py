"""dlib's ResNet face-descriptor network (dlib_face_recognition_resnet_model_v1.dat) run by onnxruntime.

The installed dlib is built without BLAS, so its network costs ~90 ms of processor time per 150 px face chip. This
module reads the weights out of dlib's own file and builds the same network as an ONNX graph, layer for layer as
dlib computes it, so that onnxruntime gives the same 128-d descriptors (within float32 rounding) at a fraction of
the time.

The network is dlib's `anet_type` (examples/dnn_face_recognition_ex.cpp):

    loss_metric<fc_no_bias<128, avg_pool_everything<alevel0<alevel1<alevel2<alevel3<alevel4<
        max_pool<3,3,2,2, relu<affine<con<32,7,7,2,2, input_rgb_image_sized<150>>>>>>>>>>>>>

dlib writes a network from its loss layer down: each layer's version number, then (recursively) the layers below
it, then the layer's own details on the way back up. So the file holds ~200 version numbers going down, the input
layer, and the layers' details from the input up; the reader below walks the same architecture the same way.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .errors import InferenceError

CHIP_SIZE = 150
DESCRIPTOR_SIZE = 128
MODEL_FILENAME = "dlib_face_recognition_resnet_model_v1.dat"
# Every operator used is in opset 17, which onnxruntime has run since 1.14.
_OPSET = 17
_IR_VERSION = 8


# ---------------------------------------------------------------------------------------------------------------
# The network's layers, as run (input to output).


@dataclass(frozen=True)
class Conv:
    weight: np.ndarray  # (filters, channels, rows, cols) float32
    bias: np.ndarray | None  # (filters,) float32
    stride: tuple[int, int]  # y, x
    padding: tuple[int, int]  # y, x, on both sides
    relu: bool  # dlib's fused con+relu (con_6 use_relu)


@dataclass(frozen=True)
class Affine:
    """gamma * x + beta per channel (or per element in dlib's FC_MODE): a batch norm frozen after training."""

    gamma: np.ndarray  # (1, channels, 1, 1) or (1, channels, rows, cols) float32
    beta: np.ndarray


@dataclass(frozen=True)
class Relu:
    pass


@dataclass(frozen=True)
class Pool:
    kind: str  # "max" or "avg"
    window: tuple[int, int]  # rows, cols; (0, 0): the whole image (avg_pool_everything)
    stride: tuple[int, int]
    padding: tuple[int, int]


@dataclass(frozen=True)
class Tag:
    """Marks this point's output as tag `number` for a later skip or add_prev."""

    number: int


@dataclass(frozen=True)
class Skip:
    """Continues from tag `number`'s output."""

    number: int


@dataclass(frozen=True)
class AddPrev:
    """Adds tag `number`'s output. Where the two differ in size, dlib adds them as if the smaller were zero-padded at
    its end (more channels, rows or columns): the output is the larger in each dimension."""

    number: int


@dataclass(frozen=True)
class FullyConnected:
    weight: np.ndarray  # (inputs, outputs) float32: dlib computes x @ weight


Layer = Conv | Affine | Relu | Pool | Tag | Skip | AddPrev | FullyConnected


@dataclass(frozen=True)
class DescriptorNet:
    """The network read from dlib's file: the input's per-channel averages (R, G, B) and its layers, input first."""

    channel_means: tuple[float, float, float]
    layers: tuple[Layer, ...]


# ---------------------------------------------------------------------------------------------------------------
# The architecture, from the loss layer down, as dlib's types nest (examples/dnn_face_recognition_ex.cpp).


def _block(filters: int, stride: int) -> list[tuple[Any, ...]]:
    """block<N,affine,stride,SUBNET> = affine<con<N,3,3,1,1,relu<affine<con<N,3,3,stride,stride,SUBNET>>>>>"""
    return [("affine",), ("con", filters, 3, 1), ("relu",), ("affine",), ("con", filters, 3, stride)]


def _ares(filters: int) -> list[tuple[Any, ...]]:
    """relu<add_prev1<block<N,affine,1,tag1<SUBNET>>>>"""
    return [("relu",), ("add_prev", 1), *_block(filters, 1), ("tag", 1)]


def _ares_down(filters: int) -> list[tuple[Any, ...]]:
    """relu<add_prev2<avg_pool<2,2,2,2,skip1<tag2<block<N,affine,2,tag1<SUBNET>>>>>>>"""
    return [("relu",), ("add_prev", 2), ("avg_pool", 2, 2), ("skip", 1), ("tag", 2), *_block(filters, 2), ("tag", 1)]


def _architecture() -> list[tuple[Any, ...]]:
    """anet_type's layers below its loss, outermost (the output) first; the input layer is not listed."""
    levels = [
        _ares_down(256),  # alevel0
        *[_ares(256), _ares(256), _ares_down(256)],  # alevel1
        *[_ares(128), _ares(128), _ares_down(128)],  # alevel2
        *[_ares(64), _ares(64), _ares(64), _ares_down(64)],  # alevel3
        *[_ares(32), _ares(32), _ares(32)],  # alevel4
    ]
    return [
        ("fc_no_bias", DESCRIPTOR_SIZE),
        ("avg_pool", 0, 1),  # avg_pool_everything
        *[layer for level in levels for layer in level],
        ("max_pool", 3, 2),
        ("relu",),
        ("affine",),
        ("con", 32, 7, 2),
    ]


# ---------------------------------------------------------------------------------------------------------------
# dlib's serialization (dlib/serialize.h, dlib/cuda/tensor.h).


class _Reader:
    """Reads dlib's serialized values from bytes; every failure is an InferenceError naming the byte offset."""

    def __init__(self, data: bytes, source: str):
        self.data = data
        self.offset = 0
        self.source = source

    def fail(self, what: str) -> InferenceError:
        return InferenceError(
            "engine_unavailable",
            f"{self.source} is not dlib's face-descriptor network (dlib_face_recognition_resnet_model_v1.dat): "
            f"{what} (at byte {self.offset} of {len(self.data)})",
        )

    def take(self, count: int) -> bytes:
        if count < 0 or self.offset + count > len(self.data):
            raise self.fail(f"the file ends early (wanted {count} more bytes)")
        chunk = self.data[self.offset : self.offset + count]
        self.offset += count
        return chunk

    def integer(self) -> int:
        """An integer: a control byte (low nibble: how many little-endian bytes follow, 1-8; 0x80: negative)."""
        control = self.take(1)[0]
        size = control & 0x0F
        if size == 0 or size > 8 or control & 0x70:
            raise self.fail(f"bad integer control byte 0x{control:02x}")
        value = int.from_bytes(self.take(size), "little")
        return -value if control & 0x80 else value

    def floating(self) -> float:
        """A float or double: mantissa (int64) * 2 ** exponent (int16), each written as an integer."""
        if self.offset < len(self.data) and self.data[self.offset] & 0x70:
            raise self.fail("a floating point number in dlib's old text format")
        mantissa, exponent = self.integer(), self.integer()
        if exponent >= 32000:  # dlib's is_inf, is_ninf, is_nan
            return {32000: float("inf"), 32001: float("-inf")}.get(exponent, float("nan"))
        return float(np.ldexp(float(mantissa), exponent))

    def boolean(self) -> bool:
        flag = self.take(1)
        if flag not in (b"0", b"1"):
            raise self.fail(f"bad boolean {flag!r}")
        return flag == b"1"

    def text(self) -> str:
        size = self.integer()
        if size > 256:
            raise self.fail(f"implausible string length {size}")
        return self.take(size).decode("latin-1")

    def version(self, layer: str, accepted: Sequence[str]) -> str:
        start = self.offset
        version = self.text()
        if version not in accepted:
            self.offset = start
            raise self.fail(f"expected the {layer} layer ({' or '.join(accepted)}), found {version!r}")
        return version

    def int_version(self, what: str, accepted: range) -> int:
        version = self.integer()
        if version not in accepted:
            raise self.fail(f"unexpected version {version} of {what}")
        return version

    def tensor(self) -> np.ndarray:
        """A resizable_tensor: version 2, its 4 dimensions, then raw little-endian float32s."""
        self.int_version("a tensor", range(2, 3))
        shape = tuple(self.integer() for _ in range(4))
        if any(size < 0 for size in shape):
            raise self.fail(f"bad tensor shape {shape}")
        count = math.prod(shape)
        return np.frombuffer(self.take(4 * count), dtype="<f4").reshape(shape).astype(np.float32)

    def alias_tensor(self) -> tuple[int, int, int, int]:
        """An alias_tensor: the shape of a view into a layer's params."""
        self.int_version("a tensor view", range(1, 2))
        shape = (self.integer(), self.integer(), self.integer(), self.integer())
        if any(size < 0 for size in shape):
            raise self.fail(f"bad tensor view shape {shape}")
        return shape


def _params_view(reader: _Reader, params: np.ndarray, offset: int, shape: tuple[int, int, int, int]) -> np.ndarray:
    size = math.prod(shape)
    flat = params.reshape(-1)
    if offset + size > flat.size:
        raise reader.fail(f"a layer's parameters hold {flat.size} values, fewer than its shapes need")
    return flat[offset : offset + size].reshape(shape).copy()


def _read_con(reader: _Reader, filters: int, size: int, stride: int) -> Conv:
    version = reader.version("con", ("con_4", "con_5", "con_6"))
    params = reader.tensor()
    num_filters = reader.integer()
    shape = (reader.integer(), reader.integer(), reader.integer(), reader.integer())  # nr, nc, stride_y, stride_x
    padding = (reader.integer(), reader.integer())
    filters_shape = reader.alias_tensor()
    biases_shape = reader.alias_tensor()
    for _ in range(4):  # learning rate and weight decay multipliers
        reader.floating()
    use_bias = reader.boolean() if version in ("con_5", "con_6") else True
    use_relu = reader.boolean() if version == "con_6" else False
    if (num_filters, *shape) != (filters, size, size, stride, stride) or filters_shape[0] != filters:
        raise reader.fail(f"expected con<{filters},{size},{size},{stride},{stride}>, found {num_filters} {shape}")
    weight = _params_view(reader, params, 0, filters_shape)
    bias = _params_view(reader, params, weight.size, biases_shape).reshape(-1) if use_bias else None
    return Conv(weight, bias, (shape[2], shape[3]), padding, use_relu)


def _read_affine(reader: _Reader) -> Affine | None:
    """The affine layer, None where dlib disabled it (then it passes its input on)."""
    version = reader.version("affine", ("affine_", "affine_2", "bn_con2", "bn_fc2"))
    if version.startswith("bn_"):
        raise reader.fail("a batch norm layer as trained (bn_) where the frozen affine layer should be")
    params = reader.tensor()
    gamma_shape = reader.alias_tensor()
    beta_shape = reader.alias_tensor()
    reader.integer()  # mode: CONV_MODE (per channel) or FC_MODE (per element); the shapes say which
    disabled = reader.boolean() if version == "affine_2" else False
    if disabled:
        return None
    gamma = _params_view(reader, params, 0, gamma_shape)
    beta = _params_view(reader, params, gamma.size, beta_shape)
    return Affine(gamma, beta)


def _read_relu(reader: _Reader) -> Relu | None:
    version = reader.version("relu", ("relu_", "relu_2"))
    disabled = reader.boolean() if version == "relu_2" else False
    return None if disabled else Relu()


def _read_pool(reader: _Reader, kind: str, window: int, stride: int) -> Pool:
    reader.version(f"{kind}_pool", (f"{kind}_pool_2",))
    shape = (reader.integer(), reader.integer(), reader.integer(), reader.integer())  # nr, nc, stride_y, stride_x
    padding = (reader.integer(), reader.integer())
    if shape != (window, window, stride, stride):
        raise reader.fail(f"expected {kind}_pool<{window},{window},{stride},{stride}>, found {shape}")
    return Pool(kind, (window, window), (stride, stride), padding)


def _read_fc_no_bias(reader: _Reader, outputs: int) -> FullyConnected:
    version = reader.version("fc_no_bias", ("fc_2", "fc_3"))
    num_outputs, num_inputs = reader.integer(), reader.integer()
    params = reader.tensor()
    weights_shape = reader.alias_tensor()
    reader.alias_tensor()  # biases: none
    bias_mode = reader.integer()
    for _ in range(4):
        reader.floating()
    if version == "fc_3":
        reader.boolean()  # use_bias
    if num_outputs != outputs or bias_mode != 1:  # FC_NO_BIAS
        raise reader.fail(f"expected fc_no_bias<{outputs}>, found {num_outputs} outputs, bias mode {bias_mode}")
    if weights_shape[:2] != (num_inputs, num_outputs):
        raise reader.fail(f"fc weights of shape {weights_shape} for {num_inputs} inputs and {num_outputs} outputs")
    weight = _params_view(reader, params, 0, weights_shape).reshape(num_inputs, num_outputs)
    return FullyConnected(weight)


def _read_layer_details(reader: _Reader, spec: tuple[Any, ...]) -> Layer | None:
    match spec:
        case ("con", filters, size, stride):
            return _read_con(reader, filters, size, stride)
        case ("affine",):
            return _read_affine(reader)
        case ("relu",):
            return _read_relu(reader)
        case ("max_pool", window, stride):
            return _read_pool(reader, "max", window, stride)
        case ("avg_pool", window, stride):
            return _read_pool(reader, "avg", window, stride)
        case ("add_prev", number):
            reader.version("add_prev", ("add_prev_",))
            return AddPrev(number)
        case ("fc_no_bias", outputs):
            return _read_fc_no_bias(reader, outputs)
    raise AssertionError(spec)


def net_parse(data: bytes, source: str = "the model") -> DescriptorNet:
    """The network in the bytes of dlib_face_recognition_resnet_model_v1.dat. For any other file, truncated or
    damaged, raises InferenceError("engine_unavailable": the installation is broken) naming what was wrong and where.
    """
    reader = _Reader(data, source)
    try:
        return _net_read(reader)
    except InferenceError:
        raise
    except (ValueError, OverflowError, MemoryError) as error:  # a damaged shape or size
        raise reader.fail(str(error)) from error


def _net_read(reader: _Reader) -> DescriptorNet:
    reader.int_version("the loss layer", range(1, 2))
    loss = reader.version("loss_metric", ("loss_metric_", "loss_metric_2"))
    if loss == "loss_metric_2":
        reader.floating(), reader.floating()  # margin, distance threshold: training only

    architecture = _architecture()
    # Going down: each layer's version (add_layer's, add_tag_layer's, add_skip_layer's).
    add_layer_versions: list[int] = []
    for depth, spec in enumerate(architecture):
        if spec[0] in ("tag", "skip"):
            reader.int_version(f"a {spec[0]} layer", range(1, 2))
        elif depth == len(architecture) - 1:  # the add_layer just above the input layer
            add_layer_versions.append(reader.int_version("the first layer", range(2, 4)))
        else:
            add_layer_versions.append(reader.int_version(f"a layer ({spec[0]})", range(1, 3)))

    reader.version("input_rgb_image_sized", ("input_rgb_image_sized",))
    means = (reader.floating(), reader.floating(), reader.floating())
    rows, cols = reader.integer(), reader.integer()
    if (rows, cols) != (CHIP_SIZE, CHIP_SIZE):
        raise reader.fail(f"expected a {CHIP_SIZE}x{CHIP_SIZE} input, found {rows}x{cols}")

    # Coming back up: each add_layer's details and its saved training state.
    layers: list[Layer] = []
    for height, spec in enumerate(reversed(architecture)):
        if spec[0] == "tag":
            layers.append(Tag(spec[1]))
            continue
        if spec[0] == "skip":
            layers.append(Skip(spec[1]))
            continue
        layer = _read_layer_details(reader, spec)
        if layer is not None:
            layers.append(layer)
        version = add_layer_versions.pop()
        for _ in range(3):  # this_layer_setup_called, gradient_input_is_stale, get_output_and_gradient_input_disabled
            reader.boolean()
        reader.tensor()  # x_grad
        reader.tensor()  # cached_output
        if height == 0:  # the add_layer over the input layer
            reader.tensor()  # grad_final
            if version >= 3:
                reader.integer()  # _sample_expansion_factor
        elif version == 2:
            reader.tensor()  # params_grad
    if reader.offset != len(reader.data):
        raise reader.fail(f"{len(reader.data) - reader.offset} bytes follow the network")
    return DescriptorNet((means[0], means[1], means[2]), tuple(layers))


def net_read(path: str | Path) -> DescriptorNet:
    """The network in dlib's file at `path` (see net_parse)."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as error:
        raise InferenceError("engine_unavailable", f"cannot read {path}: {error}") from error
    return net_parse(data, str(path))


# ---------------------------------------------------------------------------------------------------------------
# The ONNX graph.


def _output_size(size: int, window: int, stride: int, padding: int) -> int:
    """dlib's (and ONNX's) output rows or columns of a convolution or pooling: rounded down."""
    return 1 + (size + 2 * padding - window) // stride


def onnx_model(net: DescriptorNet) -> Any:
    """The network as an onnx.ModelProto: input "chips", (n, 150, 150, 3) uint8 RGB; output "descriptors",
    (n, 128) float32.

    dlib's input layer takes each channel as (value - average) / 256 in float32, in planes R, G, B (NCHW); its
    convolutions are cross-correlations with zero padding as stored; its poolings round the output size down; its
    add_prev zero-pads the smaller operand at its end.
    """
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    nodes: list[Any] = []
    initializers: list[Any] = []
    names = iter(range(1_000_000))

    def constant(value: np.ndarray, hint: str) -> str:
        name = f"{hint}_{next(names)}"
        initializers.append(numpy_helper.from_array(np.ascontiguousarray(value), name))
        return name

    def node(op: str, inputs: list[str], hint: str, **attributes: Any) -> str:
        output = f"{hint}_{next(names)}"
        nodes.append(helper.make_node(op, inputs, [output], **attributes))
        return output

    means = np.array(net.channel_means, dtype=np.float32).reshape(1, 1, 1, 3)
    x = node("Cast", ["chips"], "pixels", to=TensorProto.FLOAT)
    x = node("Sub", [x, constant(means, "channel_means")], "centred")
    x = node("Mul", [x, constant(np.array(1 / 256, dtype=np.float32), "scale")], "scaled")
    x = node("Transpose", [x], "planes", perm=[0, 3, 1, 2])
    shape = (3, CHIP_SIZE, CHIP_SIZE)  # channels, rows, cols
    tags: dict[int, tuple[str, tuple[int, int, int]]] = {}

    for layer in net.layers:
        match layer:
            case Conv(weight, bias, stride, padding, relu):
                if weight.shape[1] != shape[0]:
                    raise InferenceError("engine_unavailable", f"a convolution of {weight.shape} on {shape}")
                inputs = [x, constant(weight, "conv_weight")] + ([] if bias is None else [constant(bias, "conv_bias")])
                x = node(
                    "Conv",
                    inputs,
                    "conv",
                    kernel_shape=list(weight.shape[2:]),
                    strides=list(stride),
                    pads=[padding[0], padding[1], padding[0], padding[1]],
                )
                if relu:
                    x = node("Relu", [x], "relu")
                shape = (
                    weight.shape[0],
                    _output_size(shape[1], weight.shape[2], stride[0], padding[0]),
                    _output_size(shape[2], weight.shape[3], stride[1], padding[1]),
                )
            case Affine(gamma, beta):
                x = node("Mul", [x, constant(gamma, "gamma")], "scaled")
                x = node("Add", [x, constant(beta, "beta")], "affine")
            case Relu():
                x = node("Relu", [x], "relu")
            case Pool("avg", (0, 0), _, _):
                x = node("GlobalAveragePool", [x], "avg_pool_everything")
                shape = (shape[0], 1, 1)
            case Pool(kind, window, stride, padding):
                x = node(
                    "MaxPool" if kind == "max" else "AveragePool",
                    [x],
                    f"{kind}_pool",
                    kernel_shape=list(window),
                    strides=list(stride),
                    pads=[padding[0], padding[1], padding[0], padding[1]],
                )
                shape = (
                    shape[0],
                    _output_size(shape[1], window[0], stride[0], padding[0]),
                    _output_size(shape[2], window[1], stride[1], padding[1]),
                )
            case Tag(number):
                tags[number] = (x, shape)
            case Skip(number):
                x, shape = tags[number]
            case AddPrev(number):
                other, other_shape = tags[number]
                total = (max(shape[0], other_shape[0]), max(shape[1], other_shape[1]), max(shape[2], other_shape[2]))
                x = node(
                    "Add",
                    [
                        _zero_padded(node, constant, x, shape, total),
                        _zero_padded(node, constant, other, other_shape, total),
                    ],
                    "add_prev",
                )
                shape = total
            case FullyConnected(weight):
                x = node("Flatten", [x], "flat", axis=1)
                x = node("MatMul", [x, constant(weight, "fc_weight")], "fc")
    nodes[-1].output[0] = "descriptors"  # the fully connected layer's MatMul

    graph = helper.make_graph(
        nodes,
        "dlib_face_recognition_resnet_model_v1",
        [helper.make_tensor_value_info("chips", TensorProto.UINT8, ["n", CHIP_SIZE, CHIP_SIZE, 3])],
        [helper.make_tensor_value_info("descriptors", TensorProto.FLOAT, ["n", DESCRIPTOR_SIZE])],
        initializers,
    )
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", _OPSET)], producer_name="candor.descriptor_net"
    )
    model.ir_version = _IR_VERSION
    onnx.checker.check_model(model)
    return model


def _zero_padded(node: Any, constant: Any, x: str, shape: tuple[int, int, int], total: tuple[int, int, int]) -> str:
    if shape == total:
        return x
    pads = np.array([0, 0, 0, 0, 0, *(t - s for t, s in zip(total, shape, strict=True))], dtype=np.int64)
    return str(node("Pad", [x, constant(pads, "pads")], "zero_padded"))


# ---------------------------------------------------------------------------------------------------------------
# Running it.


def session_create(net: DescriptorNet) -> Any:
    """An onnxruntime session of the network's ONNX graph (onnx_model), on one thread: the analysis runs in a forked
    child whose processor time is limited, where more threads would only add processor time."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(onnx_model(net).SerializeToString(), options, providers=["CPUExecutionProvider"])


def descriptors(chips: Sequence[np.ndarray], session: Any) -> np.ndarray:
    """The (n, 128) float64 descriptors of face chips, each (150, 150, 3) RGB uint8 as dlib.get_face_chip(rgb, shape,
    150, 0.25) cuts them: dlib's compute_face_descriptor(chips) within float32 rounding. `session`: session_create's."""
    if not chips:
        return np.zeros((0, DESCRIPTOR_SIZE), dtype=np.float64)
    batch = np.stack([np.asarray(chip) for chip in chips])
    if batch.shape[1:] != (CHIP_SIZE, CHIP_SIZE, 3) or batch.dtype != np.uint8:
        raise InferenceError("unsupported_image", f"face chips must be ({CHIP_SIZE}, {CHIP_SIZE}, 3) RGB uint8")
    (output,) = session.run(["descriptors"], {"chips": batch})
    return np.asarray(output, dtype=np.float64)
