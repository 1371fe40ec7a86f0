"""The sizes of a network, read from its layers in one walk: each layer's output shape
(``layer.output_shape(input_shape)``), its parameters (``layer.param_shapes()``) and the most values
one sample occupies in it while training (``layer.values_per_sample``). Each layer says its own
sizes; the walk knows no layer type. The limits that refuse a network are
:mod:`numnet.architectures.sizes`'s; the walk lives here, on the layers' floor, so that inference
(which sizes its chunks from it) stands below the architectures that check against it.

    step(layer, shape)    -> LayerSize(layer, input_shape, output_shape, parameters, values)
    walk(layers, shape)   -> one LayerSize per layer, each layer's input the one before's output
    pass_values(sizes)    -> the values one sample holds in a forward and backward pass

Values per sample, beyond the output: a convolution's zero-padded input C·Hp·Wp and its im2col
windows Ho·Wo·C·kh·kw; a recurrent layer's gate activations T·G·H (G gates); attention's queries,
keys and values 3·L·D and its scores h·L·L (one L×L map per head); a Transformer block's also its
MLP's L·M.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from ..errors import ConfigError, NumnetError

#: the errors a layer's ``output_shape`` raises for an input it cannot take
SHAPE_ERRORS = (TypeError, ValueError, IndexError, AttributeError, ArithmeticError, NumnetError)

#: working copies of the largest layer's values that a pass holds beside every layer's own (attention's
#: backward holds its probabilities P, dP, dP·P and dS, each h·L·L, at once)
WORKING_COPIES = 3


@dataclass(frozen=True)
class LayerSize:
    """One layer in the walk: one sample's ``input_shape`` and ``output_shape`` (None: unknown),
    its trainable ``parameters`` and the most ``values`` one sample occupies in it (None: unknown)."""
    layer: object
    input_shape: tuple | None
    output_shape: tuple | None
    parameters: int
    values: int | None


def parameters(layer) -> int:
    """The entries of a layer's trainable arrays, from ``param_shapes()``."""
    return sum(math.prod(shape) for shape in layer.param_shapes().values())


def step(layer, input_shape) -> LayerSize:
    """One layer's sizes for one sample of ``input_shape``. Raises ConfigError when the layer cannot
    take it. ``input_shape`` None (unknown): the output shape where the layer's does not depend on its
    input (a Dense), else None."""
    if input_shape is None:
        try:
            out = tuple(int(s) for s in layer.output_shape(None))
        except SHAPE_ERRORS:
            out = None
        return LayerSize(layer, None, out, parameters(layer), None)
    shape = tuple(int(s) for s in input_shape)
    try:
        if not layer.takes(shape):
            raise ValueError
        out = tuple(int(s) for s in layer.output_shape(shape))
    except ConfigError:
        raise
    except SHAPE_ERRORS:
        raise ConfigError(f"{type(layer).__name__} cannot take inputs of shape {shape}") from None
    values = layer.values_per_sample(shape, out) if min(out, default=1) >= 1 else 0
    return LayerSize(layer, shape, out, parameters(layer), values)


def walk(layers, input_shape):
    """One :class:`LayerSize` per layer, in order (a generator): the whole network's sizes."""
    shape = None if input_shape is None else tuple(input_shape)
    for layer in layers:
        size = step(layer, shape)
        yield size
        shape = size.output_shape


def output_shape(layers, input_shape):
    """One sample's output shape after ``layers``, or None where a layer cannot say."""
    shape = input_shape
    try:
        for size in walk(layers, input_shape):
            shape = size.output_shape
    except SHAPE_ERRORS:          # a layer whose shape rule does not apply here: the caller decides
        return None
    return shape


def pass_values(sizes) -> int:
    """The values one sample holds in a forward and backward pass through the layers of ``sizes``
    (:class:`LayerSize` records with known values): its input, every layer's values (each keeps what
    its backward needs) and :data:`WORKING_COPIES` more of the largest. A batch of N samples takes
    N times as many."""
    sizes = list(sizes)
    values = [math.prod(sizes[0].input_shape) if sizes else 0] + [s.values for s in sizes]
    return sum(values) + WORKING_COPIES * max(values)
