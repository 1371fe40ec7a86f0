"""The sizes of a network, read from its layers in one walk: each layer's output shape
(``layer.output_shape(input_shape)``), its parameters (``layer.param_shapes()``) and the most values
one sample occupies in it while training (``layer.values_per_sample``). ``build`` checks its budget
with this walk, ``summary`` shows it, ``output_shape`` follows it. Each layer says its own sizes; the
walk knows no layer type.

    step(layer, shape)    -> LayerSize(layer, input_shape, output_shape, parameters, values)
    walk(layers, shape)   -> one LayerSize per layer, each layer's input the one before's output
    Budget(shape).add(layers, what)   the running totals, refused over MAX_PARAMETERS (all layers)
                                      or MAX_VALUES_PER_SAMPLE (one layer)

Values per sample, beyond the output: a convolution's zero-padded input C·Hp·Wp and its im2col
windows Ho·Wo·C·kh·kw; a recurrent layer's gate activations T·G·H (G gates); attention's queries,
keys and values 3·L·D and its scores h·L·L (one L×L map per head); a Transformer block's also its
MLP's L·M.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from ..errors import ConfigError, NumnetError

#: the largest network ``mlp`` and ``build`` make: trainable parameters in all (training holds about
#: five copies: values, gradients, Adam's two moments, a scratch array: 1 GB in float32 at the cap)
MAX_PARAMETERS = 50_000_000
#: the most values one sample may occupy in any layer (its output, a convolution's padded input or
#: im2col windows, a recurrent layer's gates, attention's scores; 16 MiB per sample in float32;
#: MNIST's largest preset, cnn-best, needs 18,432)
MAX_VALUES_PER_SAMPLE = 1 << 22

#: the errors a layer's ``output_shape`` raises for an input it cannot take
SHAPE_ERRORS = (TypeError, ValueError, IndexError, AttributeError, ArithmeticError, NumnetError)


@dataclass(frozen=True)
class LayerSize:
    """One layer in the walk: one sample's ``input_shape`` and ``output_shape`` (None: unknown),
    its trainable ``parameters`` and the most ``values`` one sample occupies in it (None: unknown)."""
    layer: object
    input_shape: tuple | None
    output_shape: tuple | None
    parameters: int
    values: int | None


def check_size(parameters: int, values_per_sample: int, what: str) -> None:
    """Refuse a network: ``parameters`` trainable values in all, or ``values_per_sample`` values of
    one sample in one layer, over :data:`MAX_PARAMETERS` / :data:`MAX_VALUES_PER_SAMPLE`."""
    if parameters > MAX_PARAMETERS:
        raise ConfigError(f"{what}: {parameters:,} parameters, more than the limit of {MAX_PARAMETERS:,}")
    if values_per_sample > MAX_VALUES_PER_SAMPLE:
        raise ConfigError(f"{what}: {values_per_sample:,} values per sample in one layer, more than the limit "
                          f"of {MAX_VALUES_PER_SAMPLE:,}")


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


class Budget:
    """The running totals of a network being built, one token's layers at a time: ``add`` walks the
    new layers from the current ``shape``, adds their parameters to ``parameters`` and refuses the
    network (ConfigError, see :func:`check_size`) over either limit. Layers hold no arrays until a
    model binds them, so a layer too big to allocate costs nothing to make and refuse."""

    def __init__(self, input_shape):
        self.shape = tuple(int(s) for s in input_shape)
        self.parameters = 0

    def add(self, layers, what: str):
        for size in walk(layers, self.shape):
            if min(size.output_shape, default=1) < 1:
                raise ConfigError(f"{what}: the window does not fit its input (output shape {size.output_shape})")
            self.parameters += size.parameters
            check_size(self.parameters, size.values, what)
            self.shape = size.output_shape
        return layers
