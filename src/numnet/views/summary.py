"""Model summaries, as Keras prints them: each layer, its output shape and its parameter count.

A view: it reads a model (``model.layers``; output shapes and parameter counts from the walk of
:mod:`numnet.layers.sizes`, saved statistics from each layer's ``buffer_shapes``) and returns
data or text; it never prints and never runs the network.

Counts: a layer's ``parameters`` are the entries of its trainable arrays (Dense ``W``, ``b``: out·in + out;
Conv2D ``W``, ``b``: O·C·kh·kw + O; BatchNorm ``gamma``, ``beta``: 2C), what the optimizer updates; the
total is their sum, ``model.num_parameters``. The saved statistics that training does not update by
gradient (Standardize's μ and σ, BatchNorm's running mean and variance) are counted apart, as
``non_trainable`` (Keras counts them in its "Non-trainable params").
"""
from __future__ import annotations

import math

from ..errors import ConfigError
from ..layers.sizes import SHAPE_ERRORS, step


def describe(layer) -> str:
    """A short description of a layer, e.g. 'Conv2D(1->32, 5x5, stride 2, pad 1)' or 'Dense(784->128)'."""
    name = type(layer).__name__

    def pair(v):
        a, b = v
        return f"{a}x{b}"

    if name == "Dense":
        return f"Dense({layer.in_features}->{layer.out_features})"
    if name == "Conv2D":
        extra = "" if tuple(layer.stride) == (1, 1) else f", stride {pair(layer.stride)}"
        extra += "" if tuple(layer.padding) == (0, 0) else f", pad {pair(layer.padding)}"
        return f"Conv2D({layer.in_channels}->{layer.out_channels}, {pair(layer.kernel_size)}{extra})"
    if name in ("MaxPool2D", "AvgPool2D"):
        extra = "" if tuple(layer.stride) == tuple(layer.kernel_size) else f", stride {pair(layer.stride)}"
        return f"{name}({pair(layer.kernel_size)}{extra})"
    if name == "Dropout":
        return f"Dropout({layer.p:g})"
    if name == "BatchNorm":
        return f"BatchNorm({layer.num_features})"
    if name == "Reshape":
        return f"Reshape({', '.join(map(str, layer.shape))})"
    return name


def _input_shape(model, input_shape):
    shape = input_shape if input_shape is not None else getattr(model, "input_shape", None)
    return tuple(int(s) for s in shape) if shape is not None else None


def summary_rows(model, input_shape=None) -> list[dict]:
    """One dict per layer: ``index``, ``type`` (class name), ``description``, ``output_shape`` (one
    sample's, a list without the batch dimension; None where it cannot be known, e.g. a model that
    was never trained and no ``input_shape``), ``parameters`` (trainable entries) and
    ``non_trainable`` (saved statistics' entries).

    ``input_shape``: one sample's input shape; default ``model.input_shape`` (set by ``fit``).
    Raises ConfigError when a known input shape does not fit a layer (as the forward pass would).
    """
    shape = _input_shape(model, input_shape)
    rows = []
    for i, layer in enumerate(model.layers):
        try:
            size = step(layer, shape)                # the walk of numnet.layers.sizes
        except SHAPE_ERRORS:
            raise ConfigError(f"layer {i} ({describe(layer)}) cannot take inputs of shape {shape} "
                              f"(model input {_input_shape(model, input_shape)})") from None
        shape = size.output_shape      # unknown input: shapes are known again after e.g. a Dense
        rows.append({
            "index": i,
            "type": type(layer).__name__,
            "description": describe(layer),
            "output_shape": list(shape) if shape is not None else None,
            "parameters": size.parameters,
            "non_trainable": sum(math.prod(s) for s in layer.buffer_shapes().values()),
        })
    return rows


def summary_dict(model, input_shape=None) -> dict:
    """The summary as data (what ``numnet summary --json`` prints): ``layers`` (the rows of
    :func:`summary_rows`), ``total_parameters`` (their sum), ``non_trainable_parameters``,
    ``input_shape`` (a list, or None if unknown) and ``dtype``."""
    rows = summary_rows(model, input_shape)
    shape = _input_shape(model, input_shape)
    return {"layers": rows, "total_parameters": sum(r["parameters"] for r in rows),
            "non_trainable_parameters": sum(r["non_trainable"] for r in rows),
            "input_shape": list(shape) if shape is not None else None,
            "dtype": getattr(getattr(model, "dtype", None), "name", None)}


def _shape_text(shape) -> str:
    return "?" if shape is None else "(" + ", ".join(["None", *map(str, shape)]) + ")"


def summary(model, input_shape=None) -> str:
    """The summary as a Keras-style table (a string; the caller prints it), e.g.::

        Model: Sequential (float32), input (None, 28, 28)
        ____________________________________________________________________
         #   Layer (type)                 Output shape             Param #
        ====================================================================
         0   Reshape(1, 28, 28)           (None, 1, 28, 28)              0
         1   Conv2D(1->32, 5x5)           (None, 32, 24, 24)           832
        ...
        ====================================================================
        Total params: 317,770 (1.21 MiB)
        Trainable params: 317,770
        Non-trainable params: 704 (BatchNorm running mean and variance)
    """
    info = summary_dict(model, input_shape)
    rows = info["layers"]
    cells = [(str(r["index"]), r["description"], _shape_text(r["output_shape"]), f"{r['parameters']:,}")
             for r in rows]
    header = ("#", "Layer (type)", "Output shape", "Param #")
    widths = [max([len(header[k]), *(len(c[k]) for c in cells)]) for k in range(4)]
    widths[1], widths[2] = max(widths[1], 28), max(widths[2], 22)

    def line(c):
        return f" {c[0]:<{widths[0]}}   {c[1]:<{widths[1]}}  {c[2]:<{widths[2]}}  {c[3]:>{widths[3]}}"

    rule = len(line(header))
    itemsize = getattr(getattr(model, "dtype", None), "itemsize", 4)
    total = info["total_parameters"]
    shape = info["input_shape"]
    out = [f"Model: {type(model).__name__} ({info['dtype']}), input {_shape_text(shape)}", "_" * rule,
           line(header), "=" * rule]
    out += [line(c) for c in cells]
    out += ["=" * rule,
            f"Total params: {total:,} ({_bytes(total * itemsize)})",
            f"Trainable params: {total:,}",
            f"Non-trainable params: {info['non_trainable_parameters']:,}{_what_is_saved(rows)}",
            "_" * rule]
    return "\n".join(out)


_SAVED = {"Standardize": "Standardize mean and scale", "BatchNorm": "BatchNorm running mean and variance"}


def _what_is_saved(rows) -> str:
    kinds = dict.fromkeys(_SAVED.get(r["type"], f"{r['type']} state") for r in rows if r["non_trainable"])
    return f" ({'; '.join(kinds)})" if kinds else ""


def _bytes(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.2f} {unit}"
        n /= 1024
    return f"{n} B"
