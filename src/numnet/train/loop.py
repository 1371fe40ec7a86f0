"""The training loop, apart from the model (Deep Learning from Scratch's ``trainer.py``, PyTorch
examples' ``train()``): mini-batches, the gradient source, the optimizer step, the schedule,
augmentation, callbacks, a validation split, divergence checks and checkpoints. The library never
prints: it reports through ``progress`` and the callbacks.
"""
from __future__ import annotations

import math
import time

import numpy as np

from .. import optim
from ..errors import ConfigError
from ..functional import to_float, true_labels
from ..io.serialize import save
from ..layers import Flatten, Standardize
from . import parallel
from .gradients import SOURCES, rng_states, set_rng_states

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


def split_validation(x, y, fraction: float, seed: int = 0):
    """(x_train, y_train), (x_val, y_val): a seeded random ``fraction`` of the samples held out."""
    if not 0 < fraction < 1:
        raise ConfigError(f"validation split must be between 0 and 1, got {fraction}")
    n_val = int(round(len(x) * fraction))
    if not 1 <= n_val < len(x):
        raise ConfigError(f"a validation split of {fraction} leaves no samples on one side ({len(x)} in all)")
    order = np.random.default_rng([seed, 1]).permutation(len(x))
    held, kept = np.sort(order[:n_val]), np.sort(order[n_val:])
    return (x[kept], y[kept]), (x[held], y[held])


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


def fit(model, x, y, epochs: int = 1, batch_size: int = 32, optimizer=None, validation_data=None,
        validation_split: float = 0.0, shuffle: bool = True, seed: int = 0, progress=None, augment=None,
        schedule=None, gradient="backprop", workers: int | None = None, callbacks=(), checkpoint=None,
        resume: bool = False, iterations: int | None = None, sample: str = "shuffle", log_every: int | None = None,
        epoch0: bool = True):
    """Train ``model`` with mini-batches: each epoch visits every sample once, in a new order.

    x: (N, ...) uint8 pixels or floats; y: (N,) integer labels, one-hot rows (N, K), 0/1 targets
    for a binary model, or targets for a regression loss.
    optimizer: an Optimizer or a name ('sgd', 'momentum', 'adam', 'adamw'); None: the model's own
    (``model.optimizer``, kept by ``fit`` and by ``save``/``load``, so training continues where it
    stopped) or a new Adam.
    validation_split: hold out this seeded fraction of (x, y) and report val_loss/val_accuracy on
    it after every epoch (instead of ``validation_data``).
    seed: batch order (and augmentation) come from ``numpy.random.default_rng(seed)``.
    progress: optional callable ``progress(event, **info)``, with event 'batch' (epoch, seen,
    total, loss, step), 'epoch' (the history entry, epoch 0 included) or 'end'. ``callbacks``: more such callables (with
    ``set_model`` if they need the model, e.g. ``numnet.callbacks.EarlyStopping``). Any of them may
    raise :class:`StopTraining` to end training early.
    augment: optional callable ``augment(x_batch, rng) -> x_batch`` applied to each training
    batch (floats, in the input's sample shape), with the fit's seeded rng.
    schedule: optional callable ``schedule(step, total_steps) -> lr`` setting the optimizer's
    learning rate before each step (step counts from 0 over the whole run of ``epochs``).
    gradient: 'backprop' (default), 'numerical' (central differences, seed 001's way: two forward
    passes per parameter entry; slow), or a function ``gradient(model, x, y) -> (output, loss)``.
    workers: threads that share each step (``numnet.parallel``); None: ``auto_workers``.
    checkpoint: a path: after every epoch the model, the optimizer's state, the position in the
    run and every random generator's state are saved there (atomically).
    resume: continue the run recorded in ``model.training_state`` (a model loaded from a
    checkpoint): ``epochs`` is then the run's total, and the result is bit for bit that of the
    uninterrupted run (with one worker).
    iterations: train for this many steps instead of ``epochs`` (seed 001's ``iters_num``); the
    history still gets one entry per ceil(N / batch_size) steps (the last one may be shorter).
    sample: 'shuffle' (each epoch a permutation) or 'with-replacement' (each step a fresh batch of
    ``batch_size`` indices drawn uniformly, as seed 001's ``np.random.choice(train_size, batch_size)``).
    log_every: send the 'batch' event every this many steps (1: every step, as seed 001's print);
    its ``step`` counts steps from 1 over the whole run.
    A non-finite loss or parameter raises :class:`Diverged`. Returns the history: one dict per
    epoch with train_loss, train_accuracy and, with validation, val_loss and val_accuracy. A model
    with no history first gets entry epoch 0: the same figures for the untrained model (seed 002's
    "initial accuracy"; its train figures from the first 10,000 training samples at most, which is
    plenty for a model that guesses), seconds 0 (``epoch0=False`` skips it, e.g. to time training alone).
    """

    x, y = np.asarray(x), np.asarray(y)
    if len(x) != len(y):
        raise ConfigError(f"{len(x)} samples but {len(y)} targets")
    if len(x) == 0:
        raise ConfigError("no training samples")
    if epochs < 1 or batch_size < 1 or (iterations is not None and iterations < 1):
        raise ConfigError("epochs, iterations and batch_size must be positive")
    if sample not in ("shuffle", "with-replacement"):
        raise ConfigError(f"sample must be 'shuffle' or 'with-replacement', not {sample!r}")
    if validation_split:
        (x, y), validation_data = split_validation(x, y, validation_split, seed)
    source = SOURCES.get(gradient, gradient) if isinstance(gradient, str) else gradient
    if not callable(source):
        raise ConfigError(f"gradient must be 'backprop', 'numerical' or a function, not {gradient!r}")
    opt = optim.get(optimizer if optimizer is not None else getattr(model, "optimizer", None) or "adam")
    workers = parallel.check_workers(model, workers, batch_size, gradient)
    listeners = [c for c in (progress, *callbacks) if c is not None]
    for listener in listeners:
        if hasattr(listener, "set_model"):
            listener.set_model(model)
    rng = np.random.default_rng(seed)
    n = len(x)
    steps_per_epoch = -(-n // batch_size)
    total_steps = iterations or steps_per_epoch * epochs          # the schedule spans the whole run
    run_epochs = -(-total_steps // steps_per_epoch)
    done, step = 0, 0
    if resume:
        state = getattr(model, "training_state", None)
        if not state:
            raise ConfigError("nothing to resume: the model carries no training state (train with a checkpoint)")
        if state["batch_size"] != batch_size or state["samples"] != n:
            raise ConfigError(f"resume with the run's batch size {state['batch_size']} and {state['samples']} samples")
        done, step = state["epoch"], state["step"]
        rng.bit_generator.state = state["rng"]
        set_rng_states(model, {int(i): s for i, s in state["layer_rngs"].items()})
        if done >= run_epochs:
            raise ConfigError(f"the checkpoint has {done} epochs already; ask for more (--epochs > {done})")
    model.input_shape = tuple(x.shape[1:])
    x_rows = x.reshape(n, -1)
    batch_x = np.empty((min(batch_size, n), x_rows.shape[1]), dtype=model.dtype)
    first = next((layer for layer in model.layers if layer.param_shapes()), None)
    params, grads = [model.flat_params], [model.flat_grads]
    labels = true_labels(y)
    check_labels(model, y)
    report_every = log_every or max(1, (n // batch_size) // 200)
    model.adapt(x)
    engine = None
    # uint8 pixels go to a Standardize in front unconverted: it scales and standardises in one pass
    pixels_in = (x.dtype == np.uint8 and augment is None and source is SOURCES["backprop"] and workers == 1
                 and isinstance(next((layer for layer in model.layers if not isinstance(layer, Flatten)), None),
                                Standardize))

    def tell(event, **info):
        for listener in listeners:
            listener(event, **info)
        model.train()              # in case a callback evaluated the model (evaluation mode)

    quiet = np.errstate(over="ignore", invalid="ignore")   # divergence is checked below, not warned about
    try:
        quiet.__enter__()
        model.train()
        if first is not None:
            first.input_grad = False
        if epoch0 and not model.history:          # epoch 0: the untrained model, as seed 002 prints it
            entry = {"epoch": 0, "train_loss": None, "train_accuracy": None, "seconds": 0.0}
            entry["train_loss"], entry["train_accuracy"] = model.evaluate(x[:EPOCH0_SAMPLES], y[:EPOCH0_SAMPLES])
            if validation_data is not None:
                entry["val_loss"], entry["val_accuracy"] = model.evaluate(*validation_data)
            model.history.append(entry)
            model.train()
            if listeners:
                tell("epoch", **entry)
        if workers > 1:
            engine = parallel.DataParallel(model, workers)
        for run_epoch in range(done + 1, run_epochs + 1):
            epoch = model.history[-1]["epoch"] + 1 if model.history else 1
            start_time = time.perf_counter()
            order = rng.permutation(n) if shuffle and sample == "shuffle" else np.arange(n)
            loss_sum, correct, seen = 0.0, 0, 0
            if engine is not None:
                engine.one_blas_thread()          # for the training steps only
            for b, start in enumerate(range(0, n, batch_size)):
                if step == total_steps:
                    break
                if sample == "with-replacement":
                    idx = rng.integers(0, n, min(batch_size, n))
                else:
                    idx = order[start:start + batch_size]
                m = len(idx)
                raw, xb = np.take(x_rows, idx, axis=0), batch_x[:m]     # (with out=, NumPy's take is 10x slower)
                if pixels_in:
                    xb = raw
                else:
                    to_float(raw, model.dtype, out=xb)
                yb = y[idx]
                xb = xb.reshape((m,) + model.input_shape)
                if augment is not None:
                    xb = augment(xb, rng)
                if schedule is not None:
                    opt.lr = schedule(step, total_steps)
                step += 1
                if engine is not None:
                    out, loss = engine.forward_backward(xb, yb)
                    engine.step(opt, params, grads)
                else:
                    out, loss = source(model, xb, yb)
                    opt.step(params, grads)
                if not math.isfinite(loss):
                    raise Diverged(epoch, b + 1, f"loss {loss}")
                loss_sum += loss * m
                seen += m
                if labels is not None:
                    correct += int(np.count_nonzero(model.predicted_labels(out) == labels[idx]))
                if listeners and (step % report_every == 0 if log_every else b % report_every == 0 or start + m >= n):
                    tell("batch", epoch=epoch, seen=start + m, total=n, loss=loss, step=step)
            if engine is not None:
                engine.all_blas_threads()
            if not np.isfinite(model.flat_params).all():
                raise Diverged(epoch, steps_per_epoch, "a parameter is not finite")
            entry = {"epoch": epoch, "train_loss": loss_sum / seen,
                     "train_accuracy": correct / seen if labels is not None else None,
                     "seconds": time.perf_counter() - start_time}
            if validation_data is not None:
                entry["val_loss"], entry["val_accuracy"] = model.evaluate(*validation_data)
                model.train()
            model.history.append(entry)
            model.optimizer = opt
            model.training_state = {"epoch": run_epoch, "epochs": run_epochs, "step": step, "seed": seed,
                                    "batch_size": batch_size, "samples": n, "rng": rng.bit_generator.state,
                                    "layer_rngs": {str(i): s for i, s in rng_states(model).items()}}
            if checkpoint is not None:
                save(model, checkpoint)
            if listeners:
                tell("epoch", **entry)
    except StopTraining:
        pass
    finally:
        quiet.__exit__(None, None, None)
        if engine is not None:
            engine.close()
        if first is not None:
            first.input_grad = True
        model.eval()
    model.optimizer = opt
    model.info["optimizer"] = opt.config()
    model.info["batch_size"] = batch_size
    model.info["workers"] = workers
    for listener in listeners:
        listener("end")
    model.eval()
    return model.history

