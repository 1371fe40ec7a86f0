"""The training loop, apart from the model (Deep Learning from Scratch's ``trainer.py``, PyTorch
examples' ``train()``): one epoch = batches → forward → loss → backward → optimizer step, with
callbacks around it. Everything else (validation, checkpoints, schedules, augmentation, progress,
divergence checks, early stopping) is a callback (``train/callbacks.py``, ``train/checkpoint.py``,
``train/sampling.py``); where the gradient comes from and how many threads share a step is the
model's wrapper (``train/steps.py``). The library never prints: it reports through callbacks.
"""
from __future__ import annotations

import time

import numpy as np

from .. import optim
from ..architectures.sizes import check_batch
from ..errors import ConfigError
from ..functional import to_float, true_labels
from ..layers import Flatten, Standardize
from .callbacks import Callback, Listener, StopTraining
from .gradients import rng_states
from .sampling import get_order
from .steps import TrainStep

HOOKS = ("on_train_begin", "on_epoch_begin", "on_batch_begin", "on_batch_end", "on_epoch_end", "on_train_end")


class Run:
    """What the callbacks see of a run: ``model``, ``optimizer``, the training data ``x``, ``y``,
    ``samples`` (N), ``batch_size``, ``steps_per_epoch``, ``epochs`` (of the run), ``total_steps``,
    ``rng`` (the run's one generator), ``done`` (epochs done), ``step`` (steps done), ``epoch`` (the
    epoch under way, numbered on from the model's history). During a batch: ``batch`` (its index in
    the epoch), ``x_batch``/``y_batch`` (a callback may replace them before the step), ``seen`` (samples of
    the epoch so far, this batch included) and, after the step, ``loss``."""

    def __init__(self, model, optimizer, x, y, batch_size, epochs, seed, callbacks):
        self.model, self.optimizer, self.x, self.y = model, optimizer, x, y
        self.samples, self.batch_size, self.seed = len(x), batch_size, seed
        self.steps_per_epoch = -(-self.samples // batch_size)
        self.epochs, self.total_steps = epochs, self.steps_per_epoch * epochs   # a schedule spans the whole run
        self.rng = np.random.default_rng(seed)
        self.done = self.step = self.batch = self.seen = 0
        self.epoch = model.history[-1]["epoch"] + 1 if model.history else 1
        self.x_batch = self.y_batch = self.loss = None
        self.callbacks = callbacks
        self.hooks = {name: [getattr(c, name) for c in callbacks
                             if getattr(type(c), name, getattr(Callback, name)) is not getattr(Callback, name)]
                      for name in HOOKS}

    def report(self, entry):
        """Append an epoch's entry to the history and hand it to every callback (which may add to it)."""
        self.model.history.append(entry)
        for hook in self.hooks["on_epoch_end"]:
            hook(self, entry)

    def state(self) -> dict:
        """Where the run stands, for a checkpoint: ``model.training_state``."""
        return {"epoch": self.done, "epochs": self.epochs, "step": self.step, "seed": self.seed,
                "batch_size": self.batch_size, "samples": self.samples, "rng": self.rng.bit_generator.state,
                "layer_rngs": {str(i): s for i, s in rng_states(self.model).items()}}


class Inputs:
    """``inputs(idx)``: the model's input for the samples ``idx`` of x, taken into one reused buffer
    and converted to the model's dtype, in the input's sample shape. With ``pixels``, uint8 pixels
    go unconverted to a Standardize in front, which scales and standardises them in one pass."""

    def __init__(self, model, x, batch_size: int, pixels: bool):
        self.rows, self.dtype, self.shape = x.reshape(len(x), -1), model.dtype, tuple(x.shape[1:])
        self.buffer = np.empty((min(batch_size, len(x)), self.rows.shape[1]), dtype=model.dtype)
        front = next((layer for layer in model.layers if not isinstance(layer, Flatten)), None)
        self.pixels = pixels and x.dtype == np.uint8 and isinstance(front, Standardize)

    def __call__(self, idx):
        m = len(idx)
        raw = np.take(self.rows, idx, axis=0)         # (with out=, NumPy's take is 10x slower)
        xb = raw if self.pixels else to_float(raw, self.dtype, out=self.buffer[:m])
        return xb.reshape((m,) + self.shape)


def check_data(x, y):
    """(x, y) as arrays, with as many targets as samples, and at least one."""
    x, y = np.asarray(x), np.asarray(y)
    if len(x) != len(y):
        raise ConfigError(f"{len(x)} samples but {len(y)} targets")
    if len(x) == 0:
        raise ConfigError("no training samples")
    return x, y


def check_labels(model, y):
    """Integer labels must name one of the model's outputs: 0..K−1 for K outputs, 0/1 for a binary
    model (a label of −1 would otherwise index the last class, and one of K would crash mid-epoch)."""
    if y.ndim != 1 or y.dtype.kind not in "iu" or not len(y):
        return
    width = model._out_width()
    top = 1 if model.binary else (width - 1 if width else None)
    low, high = int(y.min()), int(y.max())
    if low < 0 or (top is not None and high > top):
        raise ConfigError(f"labels must lie in 0..{top if top is not None else 'K−1'}, got {low}..{high}")


def fit(model, data, optimizer=None, *, epochs: int = 1, batch_size: int = 32, order="shuffle", callbacks=(),
        seed: int = 0):
    """Train ``model`` on ``data`` = (x, y) with mini-batches; returns ``model.history``.

    model: a ``Sequential`` (trained by backpropagation), or one wrapped in a :class:`numnet.train.steps.TrainStep`
    (numerical gradients, a gradient function, or ``Parallel(model, workers)``). The loss is the
    model's own (``model.loss``, the one ``evaluate`` and the saved file use).
    x: (N, ...) uint8 pixels or floats; y: (N,) integer labels, one-hot rows (N, K), 0/1 targets for
    a binary model, or targets for a regression loss.
    optimizer: an Optimizer or a name ('sgd', 'momentum', 'adam', 'adamw'); None: the model's own
    (``model.optimizer``, kept by ``fit`` and by ``save``/``load``, so training continues where it
    stopped) or a new Adam.
    order: 'shuffle' (each epoch a permutation), 'in-order', 'with-replacement', or an object with
    ``batches(n, batch_size, rng)`` (``train/sampling.py``).
    callbacks: :class:`numnet.train.callbacks.Callback` objects, or functions ``fn(event, **info)``
    (:class:`~numnet.train.callbacks.Listener`), called in this order; any may raise
    :class:`~numnet.train.callbacks.StopTraining`.
    seed: the run's generator ``numpy.random.default_rng(seed)``: the batch order and the callbacks'
    draws (augmentation).

    Each epoch appends ``{"epoch", "train_loss", "train_accuracy", "seconds"}`` (``seconds``: the training
    steps alone; evaluations add ``eval_seconds``) (and what the callbacks
    add, e.g. val_loss) to ``model.history``, numbered on from the entries already there, and records
    the run's position in ``model.training_state``.
    """
    step = model if isinstance(model, TrainStep) else TrainStep(model)
    model = step.model
    if not (isinstance(data, (tuple, list)) and len(data) == 2):
        raise ConfigError("data must be a pair (x, y): fit(model, (x, y), ...); model.fit(x, y, ...) takes them apart")
    x, y = check_data(*data)
    if epochs < 1 or batch_size < 1:
        raise ConfigError("epochs and batch_size must be positive")
    check_batch(model.layers, x.shape[1:], min(batch_size, len(x)), model.dtype.itemsize)   # before any activation
    sampler = get_order(order)
    opt = optim.get(optimizer if optimizer is not None else getattr(model, "optimizer", None) or "adam")
    callbacks = [c if isinstance(c, Callback) or not callable(c) else Listener(c) for c in callbacks]
    run = Run(model, opt, x, y, batch_size, epochs, seed, callbacks)
    hooks = run.hooks
    for hook in hooks["on_train_begin"]:
        hook(run)                 # e.g. Resume puts the position back, Iterations sets the length

    model.input_shape = tuple(x.shape[1:])
    inputs = Inputs(model, x, batch_size, pixels=step.takes_pixels and not any(
        getattr(c, "transforms_batch", False) for c in callbacks))
    first = next((layer for layer in model.layers if layer.param_shapes()), None)
    labels = true_labels(y)
    check_labels(model, y)
    model.adapt(x)
    batch_begin, batch_end = hooks["on_batch_begin"], hooks["on_batch_end"]
    try:
        with np.errstate(over="ignore", invalid="ignore"):   # a DivergenceGuard checks, rather than warnings
            model.train()
            if first is not None:
                first.input_grad = False       # nothing below the first layer with parameters learns
            while run.done < run.epochs:
                for hook in hooks["on_epoch_begin"]:
                    hook(run)                  # e.g. EvaluateFirst reports epoch 0
                run.epoch = model.history[-1]["epoch"] + 1 if model.history else 1
                start_time = time.perf_counter()
                step.epoch_begin()
                loss_sum, correct, run.seen = 0.0, 0, 0
                for run.batch, idx in enumerate(sampler.batches(run.samples, batch_size, run.rng)):
                    run.x_batch, run.y_batch = inputs(idx), y[idx]
                    for hook in batch_begin:
                        hook(run)              # e.g. Augment, Schedule
                    run.step += 1
                    out, run.loss = step.forward_backward(run.x_batch, run.y_batch)   # forward → loss → backward
                    step.update(opt)                                                  # the optimizer's step
                    loss_sum += run.loss * len(idx)
                    run.seen += len(idx)
                    if labels is not None:
                        correct += int(np.count_nonzero(model.predicted_labels(out) == labels[idx]))
                    for hook in batch_end:
                        hook(run)              # e.g. DivergenceGuard, progress
                    if run.step == run.total_steps:
                        break
                step.epoch_end()
                entry = {"epoch": run.epoch, "train_loss": loss_sum / run.seen,
                         "train_accuracy": correct / run.seen if labels is not None else None,
                         "seconds": time.perf_counter() - start_time}
                run.done += 1
                model.optimizer = opt
                model.training_state = run.state()
                run.report(entry)              # e.g. Validation, Checkpoint, EarlyStopping, progress
    except StopTraining:
        pass
    finally:
        step.close()
        if first is not None:
            first.input_grad = True
        model.eval()
    model.optimizer = opt
    model.info["optimizer"] = opt.config()
    model.info["batch_size"] = batch_size
    model.info["workers"] = step.workers
    for hook in hooks["on_train_end"]:
        hook(run)
    model.eval()
    return model.history
