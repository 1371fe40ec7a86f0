"""Which samples each step sees: the order of an epoch, augmentation, and how many steps a run takes.

Every random draw comes from the run's one generator ``run.rng`` (``numpy.random.default_rng(seed)``),
in the order the steps need them (the epoch's permutation, then each batch's augmentation), so a
seeded run, and a run resumed from its checkpoint, repeats bit for bit.

* orders, for ``fit(order=...)``: :class:`Shuffle` (each epoch a permutation), :class:`InOrder`,
  :class:`WithReplacement` (tutorial 2's ``np.random.choice(train_size, batch_size)`` at every step);
* :class:`Augment` — a callback that transforms each training batch;
* :class:`LabelSmoothing` — a callback that softens each training batch's targets;
* :class:`Iterations` — a callback that sets the run's length in steps instead of epochs.
"""
from __future__ import annotations

import numpy as np

from ..errors import ConfigError
from ..functional import smooth_labels
from ..losses import SoftmaxCrossEntropy
from .callbacks import Callback


class Shuffle:
    """Each epoch visits every sample once, in a new random order: the indices of each batch."""

    def batches(self, n: int, batch_size: int, rng):
        order = rng.permutation(n)
        for start in range(0, n, batch_size):
            yield order[start:start + batch_size]


class InOrder:
    """Each epoch visits the samples in their order (no randomness)."""

    def batches(self, n: int, batch_size: int, rng):
        order = np.arange(n)
        for start in range(0, n, batch_size):
            yield order[start:start + batch_size]


class WithReplacement:
    """Each step a fresh batch of ``min(batch_size, n)`` indices drawn uniformly (repeats allowed);
    an epoch is still ceil(n / batch_size) steps."""

    def batches(self, n: int, batch_size: int, rng):
        for start in range(0, n, batch_size):
            yield rng.integers(0, n, min(batch_size, n))


#: orders by name, for ``fit(order=...)``
ORDERS = {"shuffle": Shuffle, "in-order": InOrder, "with-replacement": WithReplacement}


def get_order(order):
    """An order object from its name, or ``order`` itself if it has ``batches(n, batch_size, rng)``:
    a generator of each step's sample indices, ceil(n / batch_size) of them an epoch, all of
    ``batch_size`` samples but the last."""
    if isinstance(order, str):
        if order not in ORDERS:
            raise ConfigError(f"order must be one of {', '.join(ORDERS)}, not {order!r}")
        return ORDERS[order]()
    if not hasattr(order, "batches"):
        raise ConfigError(f"order must be a name or have a batches(n, batch_size, rng) method, not {order!r}")
    return order


class Augment(Callback):
    """Each training batch x ← ``augment(x, run.rng)`` (floats in the input's sample shape, e.g.
    ``numnet.data.augment.get("shift")``), drawing from the run's generator."""

    transforms_batch = True         # the batch must reach it as floats, not as uint8 pixels

    def __init__(self, augment):
        self.augment = augment

    def on_batch_begin(self, run):
        run.x_batch = self.augment(run.x_batch, run.rng)


class LabelSmoothing(Callback):
    """Each training batch's labels y ← (1 − ε)·one_hot(y) + ε/K (:func:`numnet.functional.smooth_labels`):
    the softmax cross-entropy then pulls the logits towards a sure but not certain answer. Only the
    training steps see it; accuracy, validation and the test loss use the true labels."""

    def __init__(self, epsilon: float):
        if not 0 < epsilon < 1:
            raise ConfigError(f"label smoothing must lie strictly between 0 and 1, got {epsilon}")
        self.epsilon = float(epsilon)

    def on_train_begin(self, run):
        model = run.model
        if not isinstance(model.loss, SoftmaxCrossEntropy) or model.binary or run.y.ndim != 1 \
                or run.y.dtype.kind not in "iu":
            raise ConfigError("label smoothing needs integer class labels and the softmax cross-entropy loss")
        self.classes = model._out_width()

    def on_batch_begin(self, run):
        run.y_batch = smooth_labels(run.y_batch, self.classes, self.epsilon, run.model.dtype)


class Iterations(Callback):
    """Train for ``steps`` steps instead of the ``epochs`` asked (tutorial 2's ``iters_num``): the run
    takes ceil(steps / steps per epoch) epochs, the last one cut short, and a schedule spans the steps."""

    def __init__(self, steps: int):
        if steps < 1:
            raise ConfigError("epochs, iterations and batch_size must be positive")
        self.steps = steps

    def on_train_begin(self, run):
        run.total_steps = self.steps
        run.epochs = -(-self.steps // run.steps_per_epoch)
