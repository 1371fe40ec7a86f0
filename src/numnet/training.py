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


class StopTraining(Exception):
    """Raised by a callback to end training after the current batch (the history keeps the epochs
    completed so far)."""


def fit(model, x, y, epochs: int = 1, batch_size: int = 32, optimizer="adam", validation_data=None,
        shuffle: bool = True, seed: int = 0, progress=None, augment=None, schedule=None,
        gradient="backprop", workers: int | None = None, callbacks=()):
    """Train ``model`` with mini-batches: each epoch visits every sample once, in a new order.

    x: (N, ...) uint8 pixels or floats; y: (N,) integer labels (or targets for the loss).
    optimizer: an Optimizer or a name ('sgd', 'momentum', 'adam', 'adamw').
    seed: batch order comes from ``numpy.random.default_rng(seed)``.
    progress: optional callable ``progress(event, **info)``, with event 'batch' (epoch, seen,
    total, loss) or 'epoch' (the history entry). ``callbacks``: more such callables. Any of them
    may raise :class:`StopTraining` to end training early.
    augment: optional callable ``augment(x_batch, rng) -> x_batch`` applied to each training
    batch (floats, in the input's sample shape), with the fit's seeded rng.
    schedule: optional callable ``schedule(step, total_steps) -> lr`` setting the optimizer's
    learning rate before each step (step counts from 0 over the whole fit).
    gradient: where the gradients come from: 'backprop' (default), 'numerical' (central
    differences, seed 001's way: two forward passes per parameter entry; slow), or a function
    ``gradient(model, x, y) -> (output, loss)`` (see ``numnet.gradients``).
    workers: threads that share each step (``numnet.parallel``); None: ``auto_workers``.
    Returns the history: one dict per epoch with train_loss, train_accuracy and, with
    validation_data, val_loss and val_accuracy.
    """
    from . import parallel

    x, y = np.asarray(x), np.asarray(y)
    if len(x) != len(y):
        raise ConfigError(f"{len(x)} samples but {len(y)} targets")
    if epochs < 1 or batch_size < 1:
        raise ConfigError("epochs and batch_size must be positive")
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
    classify = isinstance(model.loss, (losses.SoftmaxCrossEntropy, losses.LogSoftmaxNLL)) and y.ndim == 1
    report_every = max(1, (n // batch_size) // 200)
    steps_per_epoch = -(-n // batch_size)
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
        if workers > 1:
            engine = parallel.DataParallel(model, workers)
        for epoch in range(len(model.history) + 1, len(model.history) + epochs + 1):
            start_time = time.perf_counter()
            order = rng.permutation(n) if shuffle else np.arange(n)
            loss_sum, correct = 0.0, 0
            if engine is not None:
                engine.one_blas_thread()          # for the training steps only
            for b, start in enumerate(range(0, n, batch_size)):
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
                    opt.lr = schedule(step, steps_per_epoch * epochs)
                step += 1
                if engine is not None:
                    out, loss = engine.forward_backward(xb, yb)
                    engine.step(opt, params, grads)
                else:
                    out, loss = source(model, xb, yb)
                    opt.step(params, grads)
                loss_sum += loss * m
                if classify:
                    correct += int(np.count_nonzero(out.argmax(axis=1) == yb))
                if listeners and (b % report_every == 0 or start + m >= n):
                    tell("batch", epoch=epoch, seen=start + m, total=n, loss=loss)
            if engine is not None:
                engine.all_blas_threads()
            entry = {"epoch": epoch, "train_loss": loss_sum / n,
                     "train_accuracy": correct / n if classify else None,
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
