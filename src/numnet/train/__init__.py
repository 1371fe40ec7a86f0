"""Training: the loop apart from the model (Deep Learning from Scratch's ``trainer.py``).

May import: io (checkpoints), architectures, model, layers, losses, optim, schedules, data,
functional, errors.

* :mod:`.loop` — ``fit(model, (x, y), optimizer, epochs=, batch_size=, order=, callbacks=, seed=)``:
  batches → forward → loss → backward → optimizer step, callbacks around it;
* :mod:`.options` — ``Sequential.fit``'s keyword options (validation_split, schedule, checkpoint, …)
  turned into the loop's pieces, in one place;
* :mod:`.callbacks` — progress, epoch 0, validation, early stopping, divergence, schedules;
* :mod:`.checkpoint` — save the run after every epoch, resume it bit for bit;
* :mod:`.averaging` — ``EMA``: the run ends with a moving average of its weights;
* :mod:`.sampling` — the order of an epoch (shuffle, in order, with replacement), augmentation, iterations;
* :mod:`.steps` — a model wrapped for its step: the gradient source, data-parallel workers;
* :mod:`.gradients` — where a batch's gradient comes from: backprop or numerical differences;
* :mod:`.parallel` — data parallelism over threads (a wrapper around a plain model);
* :mod:`.transfer` — start from a saved model, freeze layers, clip gradients;
* :mod:`.recipe` — ``Recipe``: a preset or ``--arch`` and its options → layers, model, optimizer,
  schedule, augmentation, workers (what ``numnet train``, the sweep and scikit-learn share).
"""
from .averaging import EMA
from .callbacks import (
    Callback,
    Diverged,
    DivergenceGuard,
    EarlyStopping,
    EvaluateFirst,
    Listener,
    Schedule,
    StopTraining,
    Validation,
)
from .checkpoint import Checkpoint, Resume
from .gradients import backprop, numerical_gradient
from .loop import Run, fit
from .recipe import Recipe
from .sampling import Augment, InOrder, Iterations, Shuffle, WithReplacement
from .steps import Parallel, TrainStep

__all__ = ["EMA", "Augment", "Callback", "Checkpoint", "Diverged", "DivergenceGuard", "EarlyStopping", "EvaluateFirst",
           "InOrder", "Iterations", "Listener", "Parallel", "Recipe", "Resume", "Run", "Schedule", "Shuffle",
           "StopTraining", "TrainStep", "Validation", "WithReplacement", "backprop", "fit", "numerical_gradient"]
