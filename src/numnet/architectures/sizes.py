"""The size limits of a network, checked from its config before anything is allocated: the walk of
:mod:`numnet.layers.sizes` (each layer's output shape, parameters and values per sample, as the
layer declares them) against :data:`MAX_PARAMETERS`, :data:`MAX_VALUES_PER_SAMPLE` and, for a batch,
:data:`MAX_BATCH_BYTES`. ``build`` checks its budget with it, ``numnet.load`` a model file's layers,
``fit`` its batch; ``summary`` shows the walk.

    Budget(shape).add(layers, what)   the running totals, refused over MAX_PARAMETERS (all layers)
                                      or MAX_VALUES_PER_SAMPLE (one layer)
    check_layers(layers, shape, ...)  the same for layers already made (a loaded model's)
    check_batch(layers, shape, N, itemsize)   a batch of N samples against MAX_BATCH_BYTES
"""
from __future__ import annotations

from ..errors import ConfigError
from ..layers.sizes import SHAPE_ERRORS, LayerSize, output_shape, parameters, pass_values, step, walk

#: the largest network ``mlp`` and ``build`` make: trainable parameters in all (training holds about
#: five copies: values, gradients, Adam's two moments, a scratch array: 1 GB in float32 at the cap)
MAX_PARAMETERS = 50_000_000
#: the most values one sample may occupy in any layer (its output, a convolution's padded input or
#: im2col windows, a recurrent layer's gates, attention's scores; 16 MiB per sample in float32;
#: MNIST's largest preset, cnn-best, needs 18,432)
MAX_VALUES_PER_SAMPLE = 1 << 22
#: the most bytes the values of one batch's forward and backward pass may take (every layer's values
#: per sample, plus working copies of the largest: :func:`numnet.layers.sizes.pass_values`, times the
#: batch size and the dtype's bytes): with parameters, optimizer state and the data set beside it,
#: training stays under 2 GB
MAX_BATCH_BYTES = 1 << 30

__all__ = ["MAX_BATCH_BYTES", "MAX_PARAMETERS", "MAX_VALUES_PER_SAMPLE", "SHAPE_ERRORS", "Budget", "LayerSize",
           "check_batch", "check_layers", "check_size", "output_shape", "step", "walk"]


def check_size(parameters: int, values_per_sample: int, what: str) -> None:
    """Refuse a network: ``parameters`` trainable values in all, or ``values_per_sample`` values of
    one sample in one layer, over :data:`MAX_PARAMETERS` / :data:`MAX_VALUES_PER_SAMPLE`."""
    if parameters > MAX_PARAMETERS:
        raise ConfigError(f"{what}: {parameters:,} parameters, more than the limit of {MAX_PARAMETERS:,}")
    if values_per_sample > MAX_VALUES_PER_SAMPLE:
        raise ConfigError(f"{what}: {values_per_sample:,} values per sample in one layer, more than the limit "
                          f"of {MAX_VALUES_PER_SAMPLE:,}")


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


def check_layers(layers, input_shape, what: str) -> None:
    """Refuse layers already made (a loaded model's) over :data:`MAX_PARAMETERS` or, for samples of
    ``input_shape`` (None: unknown, parameters only), :data:`MAX_VALUES_PER_SAMPLE` or one sample's
    pass over :data:`MAX_BATCH_BYTES` (float32). Raises ConfigError, also where a layer cannot take
    the shape that reaches it."""
    if input_shape is None:
        check_size(sum(parameters(layer) for layer in layers), 0, what)
        return
    total, sizes = 0, []
    for i, size in enumerate(walk(layers, input_shape)):
        total += size.parameters
        check_size(total, size.values, f"{what}, layer {i} ({type(size.layer).__name__})")
        sizes.append(size)
    _check_pass(sizes, 1, 4, what)


def check_batch(layers, input_shape, batch_size: int, itemsize: int, what: str = "training") -> None:
    """Refuse a batch of ``batch_size`` samples of ``input_shape`` through ``layers`` whose pass needs
    more than :data:`MAX_BATCH_BYTES` at ``itemsize`` bytes a value (ConfigError naming the batch size
    that fits)."""
    _check_pass(list(walk(layers, input_shape)), batch_size, itemsize, what)


def _check_pass(sizes, batch_size, itemsize, what):
    per_sample = pass_values(sizes) * itemsize
    if batch_size * per_sample <= MAX_BATCH_BYTES:
        return
    fits = MAX_BATCH_BYTES // per_sample
    advice = f"use a batch size of at most {fits:,}" if fits else "one sample alone is over it"
    raise ConfigError(f"{what}: a batch of {batch_size:,} needs {batch_size * per_sample / 2**30:,.2f} GiB for its "
                      f"activations ({per_sample:,} bytes a sample), more than the limit of "
                      f"{MAX_BATCH_BYTES / 2**30:g} GiB: {advice}")
