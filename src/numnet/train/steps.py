"""A training step's work on the model: where the gradient comes from, and who makes the update.

``fit`` takes a plain model (a :class:`TrainStep`: backpropagation on this thread) or a model wrapped
in one, as PyTorch wraps a module in ``DistributedDataParallel``:

* ``TrainStep(model, gradient="numerical")`` — the gradient by central differences (``train/gradients.py``),
  or any function ``gradient(model, x, y) -> (output, loss)``;
* ``Parallel(model, workers=k)`` — each batch split over k threads (``train/parallel.py``).
"""
from __future__ import annotations

import functools

from ..errors import ConfigError
from . import parallel
from .gradients import SOURCES, backprop


class TrainStep:
    """``step.forward_backward(x, y)`` → (output, loss) with ∂L/∂θ left in ``model.flat_grads``;
    ``step.update(optimizer)`` then moves the parameters. ``gradient``: 'backprop', 'numerical' or a
    function ``(model, x, y) -> (output, loss)``."""

    workers = 1

    def __init__(self, model, gradient="backprop"):
        source = SOURCES.get(gradient, gradient) if isinstance(gradient, str) else gradient
        if not callable(source):
            raise ConfigError(f"gradient must be 'backprop', 'numerical' or a function, not {gradient!r}")
        self.model = model
        self.forward_backward = functools.partial(source, model)     # (a partial: no Python frame per step)
        self.params, self.grads = [model.flat_params], [model.flat_grads]
        #: whether uint8 pixels may go into the model unconverted (a Standardize in front scales them)
        self.takes_pixels = source is backprop

    def update(self, optimizer):
        optimizer.step(self.params, self.grads)

    def epoch_begin(self):
        """Before an epoch's steps."""

    def epoch_end(self):
        """After an epoch's steps (before its evaluation)."""

    def close(self):
        """At the end of training, however it ends."""


class Parallel(TrainStep):
    """Backpropagation with each batch split over ``workers`` threads (:class:`parallel.DataParallel`,
    started at the first epoch), BLAS on one thread per worker during the steps, and the optimizer
    step in slices."""

    def __init__(self, model, workers: int):
        super().__init__(model)
        self.workers, self.engine = workers, None
        self.takes_pixels = False

    def update(self, optimizer):
        self.engine.step(optimizer, self.params, self.grads)

    def epoch_begin(self):
        if self.engine is None:
            self.engine = parallel.DataParallel(self.model, self.workers)
            self.forward_backward = self.engine.forward_backward
        self.engine.one_blas_thread()

    def epoch_end(self):
        self.engine.all_blas_threads()

    def close(self):
        if self.engine is not None:
            self.engine.close()
