"""Inference in chunks: what ``predict``, ``predict_proba`` and ``evaluate`` run.

Two speed-ups around the plain forward pass, each giving the same values up to float rounding:
chunks sized so that no activation gets huge, and, for an MLP on uint8 pixels, the input scaling,
the standardisation and the first Dense folded into one GEMM (:func:`.frozen.folded_input_layer`).
A forward pass whose arithmetic overflows (finite but enormous weights: every z = ±inf, which a
ReLU turns into a confident-looking answer) is a :class:`~numnet.errors.NonFiniteError`, never a result.
"""
from __future__ import annotations

import math
from contextlib import contextmanager

import numpy as np

from ..errors import NonFiniteError
from ..layers.sizes import SHAPE_ERRORS, walk
from .frozen import Frozen

#: inference chunks hold at most this many values of the largest activation (32 MiB in float32)
ACTIVATION_BUDGET = 1 << 23


def chunk_rows(model, sample_shape, batch_size):
    """Rows per inference chunk: ``batch_size``, or fewer where the most values a sample occupies in
    one layer (``values_per_sample`` in the walk of :mod:`numnet.layers.sizes`: an output, a
    convolution's windows, attention's scores) is big. A CNN's first feature maps for 10,000 images
    would take 0.7 GB, and the passes over them would cost more than the convolutions (evaluating
    MNIST's test set with the `cnn` preset: 3.5 s in one chunk, 1 s in chunks of a few hundred)."""
    largest = math.prod(sample_shape)
    try:
        for size in walk(model.layers, sample_shape):
            largest = max(largest, size.values)
    except SHAPE_ERRORS:
        return batch_size          # the forward pass will say what is wrong with the input
    return max(1, min(batch_size, ACTIVATION_BUDGET // max(largest, 1)))


@contextmanager
def finite_arithmetic():
    """NumPy's overflow and invalid operations (inf − inf, 0·inf) raised as NonFiniteError inside."""
    try:
        with np.errstate(over="raise", invalid="raise"):
            yield
    except FloatingPointError as e:
        raise NonFiniteError(f"the model's forward pass overflowed ({e}): its weights are too large for a "
                             "finite answer") from None


def outputs(model, x, batch_size=10000):
    """(start, output) for each chunk of ``x``, in evaluation mode."""
    model.eval()
    x = np.asarray(x)
    if len(x) > 256:                  # small inputs go in one piece (and skip the shape walk's ~30 µs)
        batch_size = chunk_rows(model, x.shape[1:], batch_size)
    # folding costs about a third of a millisecond, repaid from about 300 images on
    plan = None
    if x.dtype == np.uint8 and len(x) >= 1024:
        plan = Frozen(model, snapshot=False)
        plan = plan if plan.folded else None
    for start in range(0, len(x), batch_size):
        xb = x[start:start + batch_size]
        with finite_arithmetic():
            out = model.forward(model.prepare(xb)) if plan is None else plan.forward(xb)
        yield start, out
