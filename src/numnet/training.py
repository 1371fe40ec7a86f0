"""The training loop, apart from the model (Deep Learning from Scratch's ``trainer.py``, PyTorch
examples' ``train()``): mini-batches, the gradient source, the optimizer step, the schedule,
augmentation and the callbacks. The library never prints: it reports through ``progress``.
"""
from __future__ import annotations

import time

import numpy as np

from . import losses, optim
from .errors import ConfigError
from .functional import to_float
from .gradients import SOURCES


def predicted_labels(model, out):
    """Class ids from a batch of outputs (N, K): argmax over K; for one output (N, 1), a binary
    classifier: 1 where the logit is ≥ 0 (BCE, fused sigmoid), or the probability ≥ 0.5."""
    if out.ndim == 2 and out.shape[1] == 1:
        threshold = 0.0 if isinstance(model.loss, losses.BinaryCrossEntropy) else 0.5
        return (out[:, 0] >= threshold).astype(np.int64)
    return out.argmax(axis=1)


class StopTraining(Exception):
    """Raised by a callback to end training after the current batch (the history keeps the epochs
    completed so far)."""


def fit(model, x, y, epochs: int = 1, batch_size: int = 32, optimizer="adam", validation_data=None,
        shuffle: bool = True, seed: int = 0, progress=None, augment=None, schedule=None,
        gradient="backprop", workers: int | None = None, callbacks=(), iterations: int | None = None,
        sample: str = "shuffle", log_every: int | None = None):
    """Train ``model`` with mini-batches: each epoch visits every sample once, in a new order.

    x: (N, ...) uint8 pixels or floats; y: (N,) integer labels (or targets for the loss).
    optimizer: an Optimizer or a name ('sgd', 'momentum', 'adam', 'adamw').
    seed: batch order comes from ``numpy.random.default_rng(seed)``.
    progress: optional callable ``progress(event, **info)``, with event 'batch' (epoch, seen,
    total, loss, step) or 'epoch' (the history entry, epoch 0 included). ``callbacks``: more such callables. Any of them
    may raise :class:`StopTraining` to end training early.
    augment: optional callable ``augment(x_batch, rng) -> x_batch`` applied to each training
    batch (floats, in the input's sample shape), with the fit's seeded rng.
    schedule: optional callable ``schedule(step, total_steps) -> lr`` setting the optimizer's
    learning rate before each step (step counts from 0 over the whole fit).
    gradient: where the gradients come from: 'backprop' (default), 'numerical' (central
    differences, seed 001's way: two forward passes per parameter entry; slow), or a function
    ``gradient(model, x, y) -> (output, loss)`` (see ``numnet.gradients``).
    workers: threads that share each step (``numnet.parallel``); None: ``auto_workers``.
    iterations: train for this many steps instead of ``epochs`` (seed 001's ``iters_num``); the
    history still gets one entry per ceil(N / batch_size) steps (the last one may be shorter).
    sample: 'shuffle' (each epoch a permutation) or 'with-replacement' (each step a fresh batch of
    ``batch_size`` indices drawn uniformly, as seed 001's ``np.random.choice(train_size, batch_size)``).
    log_every: send the 'batch' event every this many steps (1: every step, as seed 001's print);
    its ``step`` counts steps from 1 over the whole fit.
    Returns the history: one dict per epoch with train_loss, train_accuracy and, with
    validation_data, val_loss and val_accuracy. A model with no history first gets entry epoch 0:
    the same figures for the untrained model (seed 002's "initial accuracy"), seconds 0.
    """
    from . import parallel

    x, y = np.asarray(x), np.asarray(y)
    if len(x) != len(y):
        raise ConfigError(f"{len(x)} samples but {len(y)} targets")
    if epochs < 1 or batch_size < 1 or (iterations is not None and iterations < 1):
        raise ConfigError("epochs, iterations and batch_size must be positive")
    if sample not in ("shuffle", "with-replacement"):
        raise ConfigError(f"sample must be 'shuffle' or 'with-replacement', not {sample!r}")
    source = SOURCES.get(gradient, gradient) if isinstance(gradient, str) else gradient
    if not callable(source):
        raise ConfigError(f"gradient must be 'backprop', 'numerical' or a function, not {gradient!r}")
    opt = optim.get(optimizer)
    workers = parallel.check_workers(model, workers, batch_size, gradient)
    listeners = [c for c in (progress, *callbacks) if c is not None]
    rng = np.random.default_rng(seed)
    n = len(x)
    model.input_shape = tuple(x.shape[1:])
    x_rows = x.reshape(n, -1)
    batch_raw = np.empty((min(batch_size, n), x_rows.shape[1]), dtype=x.dtype)
    batch_x = np.empty(batch_raw.shape, dtype=model.dtype)
    first = next((layer for layer in model.layers if layer.param_names), None)
    params, grads = [model.flat_params], [model.flat_grads]
    classify = y.ndim == 1 and y.dtype.kind in "iub"
    report_every = log_every or max(1, (n // batch_size) // 200)
    steps_per_epoch = -(-n // batch_size)
    total_steps = iterations or steps_per_epoch * epochs
    epochs = -(-total_steps // steps_per_epoch)
    step = 0
    model.adapt(x)
    engine = None

    def tell(event, **info):
        for listener in listeners:
            listener(event, **info)
        model.train()              # in case a callback evaluated the model (evaluation mode)

    try:
        model.train()
        if first is not None:
            first.input_grad = False
        if not model.history:
            loss0, acc0 = model.evaluate(x, y)
            entry = {"epoch": 0, "train_loss": loss0, "train_accuracy": acc0 if classify else None, "seconds": 0.0}
            if validation_data is not None:
                entry["val_loss"], entry["val_accuracy"] = model.evaluate(*validation_data)
            model.history.append(entry)
            model.train()
            if listeners:
                tell("epoch", **entry)
        if workers > 1:
            engine = parallel.DataParallel(model, workers)
        first_epoch = model.history[-1]["epoch"] + 1
        for epoch in range(first_epoch, first_epoch + epochs):
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
                raw, xb = batch_raw[:m], batch_x[:m]
                np.take(x_rows, idx, axis=0, out=raw)
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
                loss_sum += loss * m
                seen += m
                if classify:
                    correct += int(np.count_nonzero(predicted_labels(model, out) == yb))
                if listeners and (step % report_every == 0 if log_every else b % report_every == 0 or start + m >= n):
                    tell("batch", epoch=epoch, seen=start + m, total=n, loss=loss, step=step)
            if engine is not None:
                engine.all_blas_threads()
            entry = {"epoch": epoch, "train_loss": loss_sum / seen,
                     "train_accuracy": correct / seen if classify else None,
                     "seconds": time.perf_counter() - start_time}
            if validation_data is not None:
                entry["val_loss"], entry["val_accuracy"] = model.evaluate(*validation_data)
                model.train()
            model.history.append(entry)
            if listeners:
                tell("epoch", **entry)
    except StopTraining:
        pass
    finally:
        if engine is not None:
            engine.close()
        if first is not None:
            first.input_grad = True
        model.eval()
    model.info["optimizer"] = opt.config()
    model.info["batch_size"] = batch_size
    model.info["workers"] = workers
    return model.history
