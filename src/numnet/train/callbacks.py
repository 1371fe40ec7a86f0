"""Callbacks: what ``fit`` does besides the step, each a small class with one job (Keras's callbacks).

A callback overrides any of ``on_train_begin(run)``, ``on_epoch_begin(run)``, ``on_batch_begin(run)``,
``on_batch_end(run)``, ``on_epoch_end(run, entry)`` and ``on_train_end(run)``; ``run`` (a
:class:`numnet.train.loop.Run`) holds the model, the optimizer, the random generator, the position and,
during a batch, the batch. ``fit`` calls a batch hook only on the callbacks that override it, so an
observer of epochs costs nothing per batch. Raising :class:`StopTraining` ends training after the
current batch or epoch (the history keeps the epochs completed so far).

* :class:`Listener` — a plain function ``fn(event, **info)`` as a callback ('batch', 'epoch', 'end'):
  the progress hook the CLI renders (``cli/progress.py``), Optuna's pruner, a test's spy;
* :class:`EvaluateFirst` — epoch 0: the untrained model's figures;
* :class:`Validation` — val_loss and val_accuracy after every epoch;
* :class:`EarlyStopping` — stop when the monitored figure stops improving;
* :class:`DivergenceGuard` — :class:`Diverged` on a non-finite loss or parameter;
* :class:`Schedule` — the learning rate of every step from a schedule.
"""
from __future__ import annotations

import math
import time

import numpy as np

from ..errors import ConfigError
from .gradients import restore_buffers, saved_buffers

#: epoch 0's train loss and accuracy come from at most this many training samples (the untrained
#: model is near chance everywhere; evaluating all 60,000 through a CNN would cost seconds)
EPOCH0_SAMPLES = 10_000


class StopTraining(Exception):
    """Raised by a callback to end training after the current batch (the history keeps the epochs
    completed so far)."""


class Diverged(ArithmeticError):
    """The loss or a parameter became NaN or infinite: training stopped (the model's parameters are
    not usable; a checkpoint keeps the last good epoch)."""

    def __init__(self, epoch, step, what):
        self.epoch, self.step = epoch, step
        super().__init__(f"diverged at epoch {epoch}, step {step}: {what}; try a lower --lr")


class Callback:
    """Does nothing at every hook: override the ones you need (``fit`` skips batch hooks left as they are)."""

    def on_train_begin(self, run):
        pass

    def on_epoch_begin(self, run):
        pass

    def on_batch_begin(self, run):
        pass

    def on_batch_end(self, run):
        pass

    def on_epoch_end(self, run, entry):
        pass

    def on_train_end(self, run):
        pass


class Listener(Callback):
    """A function ``fn(event, **info)`` as a callback: event 'batch' (epoch, seen, total, loss, step)
    every ``log_every`` steps (None: about 200 times an epoch, and at its last batch), 'epoch' (the
    history entry, epoch 0 included) and 'end'. ``fn.set_model(model)`` is called first if it exists.
    The model is put back in training mode after each call, in case ``fn`` evaluated it."""

    def __init__(self, fn, log_every: int | None = None):
        self.fn, self.log_every, self.every = fn, log_every, 1

    def on_train_begin(self, run):
        if hasattr(self.fn, "set_model"):
            self.fn.set_model(run.model)
        self.every = self.log_every or max(1, (run.samples // run.batch_size) // 200)

    def on_batch_end(self, run):
        if self.log_every:                               # every K steps (tutorial 2's per-step log)
            due = run.step % self.every == 0
        else:                                            # about 200 events an epoch, and the epoch's last batch
            due = run.batch % self.every == 0 or run.seen >= run.samples
        if due:
            self.fn("batch", epoch=run.epoch, seen=run.seen, total=run.samples, loss=run.loss, step=run.step)
            run.model.train()

    def on_epoch_end(self, run, entry):
        self.fn("epoch", **entry)
        run.model.train()

    def on_train_end(self, run):
        self.fn("end")


class EvaluateFirst(Callback):
    """Epoch 0: a model with no history first gets an entry for the untrained model (tutorial 3's
    "initial accuracy"): its train figures from the first :data:`EPOCH0_SAMPLES` training samples
    (plenty for a model that guesses), seconds 0; reported to every callback as an epoch."""

    def on_epoch_begin(self, run):
        if run.model.history:
            return
        entry = {"epoch": 0, "train_loss": None, "train_accuracy": None, "seconds": 0.0}
        start = time.perf_counter()
        entry["train_loss"], entry["train_accuracy"] = run.model.evaluate(run.x[:EPOCH0_SAMPLES],
                                                                           run.y[:EPOCH0_SAMPLES])
        entry["eval_seconds"] = time.perf_counter() - start
        run.model.train()
        run.report(entry)


class Validation(Callback):
    """After every epoch (epoch 0 included), ``val_loss`` and ``val_accuracy`` added to its entry, on
    (x, y): data held out of training (e.g. by ``numnet.train.options.split_validation``), and the
    seconds that took to ``eval_seconds`` (the entry's ``seconds`` are the training steps' alone)."""

    def __init__(self, x, y):
        self.x, self.y = x, y

    def on_epoch_end(self, run, entry):
        start = time.perf_counter()
        entry["val_loss"], entry["val_accuracy"] = run.model.evaluate(self.x, self.y)
        entry["eval_seconds"] = entry.get("eval_seconds", 0.0) + time.perf_counter() - start
        run.model.train()


class DivergenceGuard(Callback):
    """Raise :class:`Diverged` as soon as a step's loss is not finite, and after an epoch's last step
    if a parameter is not (that step's loss came before its update), before the epoch is recorded."""

    def on_batch_end(self, run):
        if not math.isfinite(run.loss):
            raise Diverged(run.epoch, run.batch + 1, f"loss {run.loss}")
        if (run.seen >= run.samples or run.step == run.total_steps) and not np.isfinite(run.model.flat_params).all():
            raise Diverged(run.epoch, run.steps_per_epoch, "a parameter is not finite")


class Schedule(Callback):
    """Before each step, the optimizer's learning rate ← ``schedule(step, total_steps)`` (``numnet.schedules``;
    step counts from 0 over the whole run)."""

    def __init__(self, schedule):
        self.schedule = schedule

    def on_batch_begin(self, run):
        run.optimizer.lr = self.schedule(run.step, run.total_steps)


class EarlyStopping(Callback):
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

    def on_train_begin(self, run):
        self.model = run.model

    def _improved(self, value):
        if self.best is None:
            return True
        return value < self.best - self.min_delta if self.mode == "min" else value > self.best + self.min_delta

    def on_epoch_end(self, run, entry):
        value = entry.get(self.monitor)
        if value is None:
            raise ConfigError(f"early stopping monitors {self.monitor!r}, which this training does not report "
                              "(validate: a validation split, validation data or a Validation callback)")
        if math.isfinite(value) and self._improved(value):
            self.best, self.best_epoch, self.waited = value, entry["epoch"], 0
            if self.restore_best_weights:
                self.best_state = _snapshot(self.model)
            return
        self.waited += 1
        if self.waited >= self.patience:
            self.stopped_epoch = entry["epoch"]
            self._restore()
            raise StopTraining(f"no improvement of {self.monitor} for {self.patience} epochs")

    def on_train_end(self, run):
        self._restore()

    def _restore(self):
        if self.restore_best_weights and self.best_state is not None:
            flat, buffers = self.best_state
            self.model.flat_params[...] = flat
            restore_buffers(buffers)


def _snapshot(model):
    """The parameters and every buffer (children's included), to put back the best epoch's."""
    return model.flat_params.copy(), saved_buffers(model)
