"""``Sequential.fit``'s keyword options, translated into the loop's pieces in one place.

``model.fit(x, y, epochs=2, validation_split=0.1, schedule=..., checkpoint="run.npz")`` is
``numnet.train.fit(model, (x, y), optimizer, epochs=2, callbacks=[...])`` with the callbacks those
options name, in the order that makes a run repeat bit for bit. The old path
``numnet.training.fit(model, x, y, ...)`` is this function.
"""
from __future__ import annotations

import numpy as np

from ..errors import ConfigError
from . import loop, parallel
from .averaging import EMA
from .callbacks import Callback, Diverged, DivergenceGuard, EvaluateFirst, Listener, Schedule, StopTraining, Validation
from .checkpoint import Checkpoint, Resume
from .sampling import Augment, Iterations, LabelSmoothing
from .steps import Parallel, TrainStep


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


def fit(model, x, y, epochs: int = 1, batch_size: int = 32, optimizer=None, validation_data=None,
        validation_split: float = 0.0, shuffle: bool = True, seed: int = 0, progress=None, augment=None,
        schedule=None, gradient="backprop", workers: int | None = None, callbacks=(), checkpoint=None,
        resume: bool = False, iterations: int | None = None, sample: str = "shuffle", log_every: int | None = None,
        epoch0: bool = True, ema: float | None = None, label_smoothing: float | None = None):
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
    total, loss, step), 'epoch' (the history entry, epoch 0 included) or 'end'. ``callbacks``: more such
    callables (with ``set_model`` if they need the model) or :class:`~numnet.train.callbacks.Callback`
    objects (e.g. ``numnet.EarlyStopping``). Any of them may raise :class:`StopTraining` to end training early.
    augment: optional callable ``augment(x_batch, rng) -> x_batch`` applied to each training
    batch (floats, in the input's sample shape), with the fit's seeded rng.
    schedule: optional callable ``schedule(step, total_steps) -> lr`` setting the optimizer's
    learning rate before each step (step counts from 0 over the whole run of ``epochs``).
    gradient: 'backprop' (default), 'numerical' (central differences, tutorial 2's way: two forward
    passes per parameter entry; slow), or a function ``gradient(model, x, y) -> (output, loss)``.
    workers: threads that share each step (``numnet.train.parallel``); None: ``auto_workers``.
    checkpoint: a path: after every epoch the model, the optimizer's state, the position in the
    run and every random generator's state are saved there (atomically).
    resume: continue the run recorded in ``model.training_state`` (a model loaded from a
    checkpoint): ``epochs`` is then the run's total, and the result is bit for bit that of the
    uninterrupted run (with one worker).
    iterations: train for this many steps instead of ``epochs`` (tutorial 2's ``iters_num``); the
    history still gets one entry per ceil(N / batch_size) steps (the last one may be shorter).
    sample: 'shuffle' (each epoch a permutation) or 'with-replacement' (each step a fresh batch of
    ``batch_size`` indices drawn uniformly, as tutorial 2's ``np.random.choice(train_size, batch_size)``).
    log_every: send the 'batch' event every this many steps (1: every step, as tutorial 2's print);
    its ``step`` counts steps from 1 over the whole run.
    A non-finite loss or parameter raises :class:`Diverged`. Returns the history: one dict per
    epoch with train_loss, train_accuracy and, with validation, val_loss and val_accuracy. A model
    with no history first gets entry epoch 0: the same figures for the untrained model (tutorial 3's
    "initial accuracy"; its train figures from the first 10,000 training samples at most, which is
    plenty for a model that guesses), seconds 0 (``epoch0=False`` skips it, e.g. to time training alone).
    ema: a decay β (e.g. 0.999): keep the exponential moving average of the weights
    (:class:`~numnet.train.averaging.EMA`); each epoch's figures are the average's, and the model
    ends with it.
    label_smoothing: ε: train on the targets (1 − ε)·one_hot(y) + ε/K
    (:class:`~numnet.train.sampling.LabelSmoothing`; softmax cross-entropy and integer labels only).
    """
    x, y = loop.check_data(x, y)
    if sample not in ("shuffle", "with-replacement"):
        raise ConfigError(f"sample must be 'shuffle' or 'with-replacement', not {sample!r}")
    if validation_split:
        (x, y), validation_data = split_validation(x, y, validation_split, seed)
    step = TrainStep(model, gradient)            # built first: an unknown gradient is refused before the workers
    workers = parallel.check_workers(model, workers, batch_size, gradient)
    if workers > 1:
        step = Parallel(model, workers)          # backprop only: check_workers refuses numerical gradients here
    # the order matters: the run's length before resuming it, the entry complete before it is saved,
    # saved before anyone may stop the run; augmentation draws before the schedule reads the step
    pieces = [Iterations(iterations)] if iterations is not None else []
    pieces += [Resume()] if resume else []
    pieces += [EvaluateFirst()] if epoch0 else []
    pieces += [DivergenceGuard()]
    pieces += [EMA(ema)] if ema is not None else []            # before the figures of each epoch are taken
    pieces += [Validation(*validation_data)] if validation_data is not None else []
    pieces += [Augment(augment)] if augment is not None else []
    pieces += [LabelSmoothing(label_smoothing)] if label_smoothing else []
    pieces += [Schedule(schedule)] if schedule is not None else []
    pieces += [Checkpoint(checkpoint)] if checkpoint is not None else []
    pieces += [c if isinstance(c, Callback) else Listener(c, log_every) for c in (progress, *callbacks)
               if c is not None]
    order = "with-replacement" if sample == "with-replacement" else "shuffle" if shuffle else "in-order"
    return loop.fit(step, (x, y), optimizer, epochs=epochs, batch_size=batch_size, order=order,
                    callbacks=pieces, seed=seed)


__all__ = ["Diverged", "StopTraining", "fit", "split_validation"]
