"""ONNX export: a numnet model as an ONNX graph that any ONNX runtime can run.

Machinery, not math: it reads a model's layers and parameters and writes the same function with
ONNX operators, built with the ``onnx`` package's ``helper`` API (``pip install numnet[onnx]``).

The graph, for a model whose samples have shape S (``model.input_shape``, e.g. (28, 28)):

* input ``input``: (batch, *S), the batch dimension dynamic. What it holds depends on ``input=``:
  - ``"pixels"`` (default): float pixels 0..255; the graph multiplies by 1/255, as
    ``Sequential.prepare`` does for uint8 arrays (x = pixel / 255);
  - ``"uint8"``: uint8 pixels 0..255, cast to float and then multiplied by 1/255;
  - ``"scaled"``: floats as the model's first layer sees them (no scaling), for models trained on
    float data, which ``Sequential.prepare`` also passes through unchanged.
* outputs ``logits`` (batch, K): the last layer's output, and ``probabilities``: what
  ``model.predict_proba`` gives, read from the logits as the model's loss says (``Loss.link``):
  their softmax (batch, K), or for a one-output model (``--binary D``) the two columns [1 − p, p]
  (batch, 2) with p = σ(z) (binary cross-entropy) or p = the output clipped to 0..1 (MSE, MAE).
  The argmax of ``probabilities`` is ``model.predict``.

Layers, dispatched on ``type(layer).__name__``:

    Standardize      x̂ = (x − μ)·(1/σ)                      Sub, Mul
    Flatten          (N, d1, d2, ...) -> (N, d1·d2·...)      Flatten(axis=1)
    Reshape          (N, ...) -> (N, *shape)                 Reshape([0, *shape])
    Mirror           y[…, j] = x[…, W−1−j]                   Slice(axes=[-1], steps=[-1])
    Shift            y[…, i, j] = x[…, i−dy, j−dx], zeros in  Pad, Slice
    Dense            z = x·Wᵀ + b                            Gemm(transB=1); on tokens MatMul, Add
    ReLU, Sigmoid, Tanh, Softmax                             Relu, Sigmoid, Tanh, Softmax(axis=-1)
    Step             1 if z ≥ 0 else 0                       GreaterOrEqual, Cast
    Conv2D           pads (p_h, p_w, p_h, p_w), strides      Conv (Unsqueeze first for (N, H, W) input)
    MaxPool2D, AvgPool2D                                     MaxPool, AveragePool (floor, no pads)
    GlobalAvgPool2D  (N, C, H, W) -> (N, C)                  GlobalAveragePool, Flatten
    BatchNorm        y = γ·(x − running_mean)/√(running_var + ε) + β   BatchNormalization (inference)
    Dropout          identity in evaluation                  (omitted)
    RNN, LSTM, GRU   ONNX's RNN, LSTM, GRU (gates reordered, time-major)       see ``numnet.io.onnx_sequence``
    LayerNorm, GELU, MultiHeadSelfAttention, PositionalEmbedding, PatchEmbedding,
    TokenPool, TransformerEncoderBlock     MatMul, Softmax, Reshape, Transpose, LayerNormalization, Erf...

Any other layer raises :class:`ExportError` naming it. The graph computes in the model's dtype
(float32, or float64 for float64 models) unless ``dtype=`` says otherwise: onnxruntime has no
float64 Conv (nor RNN, LSTM, GRU, Erf), so a float64 CNN, recurrent network or Transformer for
onnxruntime is exported with ``dtype="float32"``.
"""
from __future__ import annotations

import math
import os
import time

import numpy as np

from .. import __version__
from ..errors import ExportError, NumnetError
from ..files import write_file
from ..functional import PIXEL_SCALE  # x = pixel / 255, as the model scales uint8 input
from .onnx_sequence import CONVERTERS as _SEQUENCE_CONVERTERS
from .onnx_sequence import dense_on_tokens

#: the default opset; any from MIN_OPSET up to what the installed onnx knows may be asked for
OPSET = 17
MIN_OPSET = 13
#: the IR version written with opsets up to 17 (newer runtimes read it; older ones reject newer IRs)
IR_VERSION = 8
INPUT_KINDS = ("pixels", "uint8", "scaled")


def _onnx():
    try:
        import onnx
    except ImportError:
        raise ExportError("ONNX export needs the onnx package: pip install 'numnet[onnx]'") from None
    return onnx


class _Graph:
    """The nodes and initializers (constants) of the graph being built, with fresh tensor names."""

    def __init__(self, onnx, dtype):
        self.onnx, self.helper = onnx, onnx.helper
        self.dtype = np.dtype(dtype)
        self.elem_type = onnx.helper.np_dtype_to_tensor_dtype(self.dtype)
        self.nodes, self.initializers, self.names = [], [], set()

    def name(self, base):
        name, k = base, 1
        while name in self.names:
            k += 1
            name = f"{base}_{k}"
        self.names.add(name)
        return name

    def const(self, base, array, dtype=None):
        """An initializer holding ``array`` (cast to the graph's dtype unless ``dtype`` is given)."""
        array = np.asarray(array, dtype=dtype or self.dtype)
        name = self.name(base)
        self.initializers.append(self.onnx.numpy_helper.from_array(array, name))
        return name

    def node(self, op, inputs, base, **attrs):
        """One node with one output, named after ``base``; returns the output's name."""
        out = self.name(base)
        self.nodes.append(self.helper.make_node(op, list(inputs), [out], name=f"{base}/{op}", **attrs))
        return out


# layer converters: (graph, layer, x, sample shape, prefix) -> (output name, output sample shape) ------
def _standardize(g, layer, x, shape, p):
    mean = np.asarray(layer.mean, dtype=np.float64)
    if mean.shape not in ((1,), ()) and tuple(mean.shape) != tuple(shape):
        raise ExportError(f"layer {p} (Standardize): its mean has shape {mean.shape}, but its input has {shape}")
    centred = g.node("Sub", [x, g.const(f"{p}.mean", mean)], f"{p}.centred")
    return g.node("Mul", [centred, g.const(f"{p}.inv_std", 1 / float(layer.std))], f"{p}.out"), shape


def _flatten(g, layer, x, shape, p):
    return g.node("Flatten", [x], f"{p}.out", axis=1), (math.prod(shape),)


def _reshape(g, layer, x, shape, p):
    if math.prod(layer.shape) != math.prod(shape):
        raise ExportError(f"layer {p} (Reshape): cannot reshape {shape} to {layer.shape}")
    target = g.const(f"{p}.shape", [0, *layer.shape], dtype=np.int64)   # 0: keep the batch dimension
    return g.node("Reshape", [x, target], f"{p}.out"), tuple(layer.shape)


def _mirror(g, layer, x, shape, p):
    last = np.iinfo(np.int64)
    start, end, axis, step = (g.const(f"{p}.{n}", [v], dtype=np.int64) for n, v in
                              (("start", -1), ("end", last.min), ("axis", -1), ("step", -1)))
    return g.node("Slice", [x, start, end, axis, step], f"{p}.out"), shape


def _shift(g, layer, x, shape, p):
    rank, pads, starts, ends = len(shape) + 1, [0] * (2 * len(shape) + 2), [], []
    for axis, d, size in ((-2, layer.dy, shape[-2]), (-1, layer.dx, shape[-1])):
        pads[rank + axis], pads[2 * rank + axis] = max(d, 0), max(-d, 0)      # zeros in before, after
        starts.append(max(-d, 0))
        ends.append(max(-d, 0) + size)
    padded = g.node("Pad", [x, g.const(f"{p}.pads", pads, dtype=np.int64)], f"{p}.padded")
    start, end, axes = (g.const(f"{p}.{n}", v, dtype=np.int64) for n, v in (("start", starts), ("end", ends),
                                                                            ("axes", [-2, -1])))
    return g.node("Slice", [padded, start, end, axes], f"{p}.out"), shape


def _dense(g, layer, x, shape, p):
    if len(shape) > 1:                                   # tokens (L, in): MatMul on the last axis
        return dense_on_tokens(g, layer, x, shape, p)
    if tuple(shape) != (layer.in_features,):
        raise ExportError(f"layer {p} (Dense): expects ({layer.in_features},) inputs, gets {shape}")
    out = g.node("Gemm", [x, g.const(f"{p}.W", layer.W), g.const(f"{p}.b", layer.b)], f"{p}.out", transB=1)
    return out, (layer.out_features,)


def _elementwise(op, **attrs):
    def convert(g, layer, x, shape, p):
        return g.node(op, [x], f"{p}.out", **attrs), shape
    return convert


def _step(g, layer, x, shape, p):
    nonneg = g.node("GreaterOrEqual", [x, g.const(f"{p}.zero", 0)], f"{p}.nonneg")
    return g.node("Cast", [nonneg], f"{p}.out", to=g.elem_type), shape


def _image(g, x, shape, p, channels=None):
    """x as (N, C, H, W): an (N, H, W) input gets a channel axis (numnet's Conv2D accepts it when
    in_channels = 1). Returns (name, 4-D sample shape... (C, H, W), whether an axis was added)."""
    if len(shape) == 2 and channels in (None, 1):
        axes = g.const(f"{p}.axes", [1], dtype=np.int64)
        return g.node("Unsqueeze", [x, axes], f"{p}.nchw"), (1, *shape), True
    if len(shape) != 3 or (channels is not None and shape[0] != channels):
        want = f"({channels}, H, W)" if channels else "(C, H, W) or (H, W)"
        raise ExportError(f"layer {p}: expects {want} inputs, gets {shape}")
    return x, tuple(shape), False


def _conv2d(g, layer, x, shape, p):
    x, shape, _ = _image(g, x, shape, p, layer.in_channels)
    (ph, pw) = layer.padding
    out = g.node("Conv", [x, g.const(f"{p}.W", layer.W), g.const(f"{p}.b", layer.b)], f"{p}.out",
                 kernel_shape=list(layer.kernel_size), strides=list(layer.stride), pads=[ph, pw, ph, pw])
    return out, tuple(layer.output_shape(shape))


def _pool(op):
    def convert(g, layer, x, shape, p):
        x, image_shape, added = _image(g, x, shape, p)
        out = g.node(op, [x], f"{p}.pooled" if added else f"{p}.out",
                     kernel_shape=list(layer.kernel_size), strides=list(layer.stride))
        out_shape = tuple(layer.output_shape(image_shape))
        if min(out_shape) < 1:
            raise ExportError(f"layer {p} ({type(layer).__name__}): window {layer.kernel_size} does not fit {shape}")
        if added:     # numnet pooled the (N, H, W) input as it came: drop the channel axis again
            out = g.node("Squeeze", [out, g.const(f"{p}.axes_out", [1], dtype=np.int64)], f"{p}.out")
            out_shape = out_shape[1:]
        return out, out_shape
    return convert


def _global_avg_pool(g, layer, x, shape, p):
    if len(shape) != 3:
        raise ExportError(f"layer {p} (GlobalAvgPool2D): expects (C, H, W) inputs, gets {shape}")
    pooled = g.node("GlobalAveragePool", [x], f"{p}.pooled")           # (N, C, 1, 1)
    return g.node("Flatten", [pooled], f"{p}.out", axis=1), (shape[0],)


def _batchnorm(g, layer, x, shape, p):
    if len(shape) not in (1, 3) or shape[0] != layer.num_features:
        raise ExportError(f"layer {p} (BatchNorm({layer.num_features})): expects ({layer.num_features},) or "
                          f"({layer.num_features}, H, W) inputs, gets {shape}")
    inputs = [g.const(f"{p}.{name}", getattr(layer, name))
              for name in ("gamma", "beta", "running_mean", "running_var")]
    return g.node("BatchNormalization", [x, *inputs], f"{p}.out", epsilon=float(layer.eps)), shape


def _identity(g, layer, x, shape, p):
    return x, shape


def _ensemble(g, layer, x, shape, p):
    """z = (1/K)·Σ_k f_k(x): each member's layers on the same input, then Sum and a multiply by 1/K."""
    outputs = []
    for k in range(len(layer.members)):
        y, s = x, shape
        for j, child in enumerate(layer.member(k)):
            y, s = CONVERTERS[type(child).__name__](g, child, y, tuple(s), f"{p}.m{k}_{j}")
        outputs.append(y)
    total = g.node("Sum", outputs, f"{p}.sum")
    return g.node("Mul", [total, g.const(f"{p}.one_over_k", 1 / len(outputs))], f"{p}.mean"), s


CONVERTERS = {
    "Standardize": _standardize,
    "Flatten": _flatten,
    "Reshape": _reshape,
    "Mirror": _mirror,
    "Shift": _shift,
    "Dense": _dense,
    "ReLU": _elementwise("Relu"),
    "Sigmoid": _elementwise("Sigmoid"),
    "Tanh": _elementwise("Tanh"),
    "Softmax": _elementwise("Softmax", axis=-1),
    "Step": _step,
    "Conv2D": _conv2d,
    "MaxPool2D": _pool("MaxPool"),
    "AvgPool2D": _pool("AveragePool"),
    "GlobalAvgPool2D": _global_avg_pool,
    "BatchNorm": _batchnorm,
    "Dropout": _identity,      # inverted dropout is the identity in evaluation
    "Ensemble": _ensemble,
}


CONVERTERS.update(_SEQUENCE_CONVERTERS)


def sample_shape(model, input_shape=None) -> tuple:
    """One sample's input shape: ``input_shape`` if given, else the one the model was trained on."""
    shape = input_shape if input_shape is not None else model.input_shape
    if shape is None:
        raise ExportError("the model does not know its input shape (it was never trained): pass input_shape, "
                          "e.g. (28, 28)")
    try:
        shape = tuple(int(s) for s in shape)
    except (TypeError, ValueError):
        raise ExportError(f"input shape must be a tuple of positive integers, got {shape!r}") from None
    if not shape or min(shape) < 1:
        raise ExportError(f"input shape must be a tuple of positive integers, got {shape!r}")
    return shape


def check_supported(model):
    """Raise :class:`ExportError` naming the first layer that has no ONNX form here (an ensemble's
    members' layers included)."""
    for i, top in enumerate(model.layers):
        for layer in (top.layers_of_all() if type(top).__name__ == "Ensemble" else [top]):
            name = type(layer).__name__
            if name not in CONVERTERS:
                raise ExportError(f"layer {i} ({name}) cannot be exported to ONNX yet; supported layers: "
                                  f"{', '.join(CONVERTERS)}")


def to_onnx(model, input: str = "pixels", input_shape=None, opset: int = OPSET, dtype=None):
    """The model as an ``onnx.ModelProto`` (see the module docstring for the graph), checked with
    ``onnx.checker`` (full shape inference). ``dtype``: float32 or float64 for the graph's floats
    (default: the model's)."""
    onnx = _onnx()
    helper = onnx.helper
    if input not in INPUT_KINDS:
        raise ExportError(f"input must be one of {', '.join(INPUT_KINDS)}, got {input!r}")
    max_opset = onnx.defs.onnx_opset_version()
    if isinstance(opset, bool) or not isinstance(opset, (int, np.integer)) or not MIN_OPSET <= opset <= max_opset:
        raise ExportError(f"opset must be an integer from {MIN_OPSET} to {max_opset}, got {opset!r}")
    try:
        dtype = np.dtype(model.dtype if dtype is None else dtype)
    except TypeError:
        dtype = None
    if dtype not in (np.float32, np.float64):
        raise ExportError(f"dtype must be float32 or float64, got {dtype}")
    check_supported(model)
    shape = sample_shape(model, input_shape)
    g = _Graph(onnx, dtype)
    g.opset = int(opset)          # a few operators changed form (ReduceMean's axes in 18, LayerNormalization from 17)
    g.names.update({"input", "logits", "probabilities"})
    in_type = onnx.TensorProto.UINT8 if input == "uint8" else g.elem_type
    x = "input"
    if input == "uint8":
        x = g.node("Cast", [x], "input.float", to=g.elem_type)
    if input != "scaled":
        x = g.node("Mul", [x, g.const("pixel_scale", PIXEL_SCALE)], "input.scaled")   # x = pixel / 255
    for i, layer in enumerate(model.layers):
        try:
            x, shape = CONVERTERS[type(layer).__name__](g, layer, x, tuple(shape), str(i))
        except (ValueError, TypeError, IndexError, NumnetError) as e:
            if isinstance(e, ExportError):
                raise
            raise ExportError(f"layer {i} ({type(layer).__name__}): {e}") from None
    if len(shape) != 1:
        raise ExportError(f"the model outputs samples of shape {shape}; ONNX export needs (classes,) rows")
    g.nodes.append(helper.make_node("Identity", [x], ["logits"], name="logits/Identity"))
    k = shape[0]
    classes = _probabilities(g, model.loss.link(k), k)
    graph = helper.make_graph(
        g.nodes, "numnet", [helper.make_tensor_value_info("input", in_type, ["batch", *sample_shape(model, input_shape)])],
        [helper.make_tensor_value_info("logits", g.elem_type, ["batch", k]),
         helper.make_tensor_value_info("probabilities", g.elem_type, ["batch", classes])],
        initializer=g.initializers)
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", int(opset))], producer_name="numnet",
                              producer_version=__version__,
                              doc_string=f"numnet {type(model).__name__}; input: {_INPUT_DOC[input]}")
    proto.ir_version = IR_VERSION if opset <= 17 else onnx.IR_VERSION
    helper.set_model_props(proto, {"numnet.input": input, "numnet.input_doc": _INPUT_DOC[input],
                                   "numnet.layers": ",".join(type(layer).__name__ for layer in model.layers)})
    try:
        onnx.checker.check_model(proto, full_check=True)
    except (onnx.checker.ValidationError, onnx.shape_inference.InferenceError) as e:
        raise ExportError(f"the exported graph does not pass onnx.checker: {str(e).splitlines()[0]}") from None
    return proto


def _probabilities(g, link, k) -> int:
    """The ``probabilities`` output from ``logits`` as ``Loss.link`` reads them; returns its width.
    softmax: Softmax(axis=1), K columns; one output z: p = σ(z) (sigmoid) or Clip(z, 0, 1)
    (probability), then Concat(1 − p, p), 2 columns."""
    helper = g.onnx.helper
    if link == "softmax":
        g.nodes.append(helper.make_node("Softmax", ["logits"], ["probabilities"], name="probabilities/Softmax", axis=1))
        return k
    if link not in ("sigmoid", "probability") or k != 1:
        raise ExportError(f"the model's loss reads its {k} outputs as {link!r}, which has no ONNX form here")
    if link == "sigmoid":
        p = g.node("Sigmoid", ["logits"], "probabilities.p")                           # p = σ(z)
    else:
        p = g.node("Clip", ["logits", g.const("zero", 0.0), g.const("one", 1.0)], "probabilities.p")
    q = g.node("Sub", [g.const("one", 1.0), p], "probabilities.not")                  # 1 − p
    g.nodes.append(helper.make_node("Concat", [q, p], ["probabilities"], name="probabilities/Concat", axis=1))
    return 2


_INPUT_DOC = {"pixels": "float pixels 0..255 (scaled by 1/255 in the graph)",
              "uint8": "uint8 pixels 0..255 (cast and scaled by 1/255 in the graph)",
              "scaled": "floats as the model's first layer takes them (no scaling)"}


def export(model, path, input: str = "pixels", input_shape=None, opset: int = OPSET, dtype=None, *,
           what: str = "ONNX file", inputs=()) -> dict:
    """Write the model to ``path`` as ONNX (arguments as :func:`to_onnx`) by the output-file policy
    (:func:`numnet.files.write_file`: atomically, never over a special file or one of ``inputs``;
    ``what`` names the target in errors). Returns {path, bytes, opset, input, input_shape, dtype,
    nodes, initializers, seconds}."""
    start = time.perf_counter()
    proto = to_onnx(model, input=input, input_shape=input_shape, opset=opset, dtype=dtype)
    data = proto.SerializeToString()
    write_file(path, lambda f: f.write(data), what, inputs=inputs)
    return {"path": os.fspath(path), "bytes": len(data), "opset": int(opset), "input": input,
            "input_shape": list(sample_shape(model, input_shape)),
            "dtype": np.dtype(model.dtype if dtype is None else dtype).name, "nodes": len(proto.graph.node),
            "initializers": len(proto.graph.initializer), "seconds": time.perf_counter() - start}


def run_reference(proto, x):
    """(logits, probabilities) of an ONNX model on ``x`` with onnx's reference evaluator (slow, exact
    NumPy semantics: the independent check the tests use)."""
    from onnx.reference import ReferenceEvaluator

    return tuple(ReferenceEvaluator(proto).run(None, {"input": x}))
