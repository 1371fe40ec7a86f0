"""Callbacks for ``fit``: callables ``callback(event, **info)`` with event 'batch' (epoch, seen,
total, loss), 'epoch' (the history entry) or 'end'. Raising ``StopTraining`` ends training."""
from __future__ import annotations

import math

from ..errors import ConfigError
from .loop import StopTraining


class EarlyStopping:
    """Stop when the monitored quantity (default ``val_loss``, from ``validation_split`` or
    ``validation_data``, never the test set) has not improved for ``patience`` epochs.

    restore_best_weights: at the end, put back the parameters (and running statistics) of the best
    epoch. ``best_epoch`` and ``stopped_epoch`` tell what happened.
    """

    def __init__(self, patience: int = 3, monitor: str = "val_loss", min_delta: float = 0.0,
                 restore_best_weights: bool = True):
        if isinstance(patience, bool) or not isinstance(patience, int) or patience < 1:
            raise ConfigError(f"patience must be a positive integer, got {patience!r}")
        self.patience, self.monitor, self.min_delta = patience, monitor, float(min_delta)
        self.restore_best_weights = restore_best_weights
        self.mode = "max" if "accuracy" in monitor else "min"
        self.model = None
        self.best = self.best_epoch = self.stopped_epoch = None
        self.best_state = None
        self.waited = 0

    def set_model(self, model):
        self.model = model

    def _improved(self, value):
        if self.best is None:
            return True
        return value < self.best - self.min_delta if self.mode == "min" else value > self.best + self.min_delta

    def __call__(self, event, **info):
        if event == "end":
            self._restore()
            return
        if event != "epoch":
            return
        value = info.get(self.monitor)
        if value is None:
            raise ConfigError(f"early stopping monitors {self.monitor!r}, which this training does not report "
                              "(give a validation split)")
        if math.isfinite(value) and self._improved(value):
            self.best, self.best_epoch, self.waited = value, info["epoch"], 0
            if self.restore_best_weights and self.model is not None:
                self.best_state = _snapshot(self.model)
            return
        self.waited += 1
        if self.waited >= self.patience:
            self.stopped_epoch = info["epoch"]
            self._restore()
            raise StopTraining(f"no improvement of {self.monitor} for {self.patience} epochs")

    def _restore(self):
        if self.restore_best_weights and self.best_state is not None:
            flat, buffers = self.best_state
            self.model.flat_params[...] = flat
            for layer, saved in zip(self.model.layers, buffers):
                for name, value in saved.items():
                    setattr(layer, name, value.copy())


def _snapshot(model):
    return (model.flat_params.copy(),
            [{n: getattr(layer, n).copy() for n in layer.buffer_names} for layer in model.layers])
