"""Training: the loop apart from the model (Deep Learning from Scratch's ``trainer.py``).

May import: io (checkpoints), architectures, model, layers, losses, optim, schedules, data,
functional, errors.

* :mod:`.loop` — ``fit(model, x, y, ...)``: epochs of mini-batches, evaluation, checkpoints;
* :mod:`.callbacks` — ``EarlyStopping`` and friends;
* :mod:`.gradients` — where a batch's gradient comes from: backprop or numerical differences;
* :mod:`.parallel` — data parallelism over threads (a wrapper around a plain model);
* :mod:`.transfer` — start from a saved model, freeze layers, clip gradients;
* :mod:`.recipe` — ``Recipe``: a preset or ``--arch`` and its options → layers, model, optimizer,
  schedule, augmentation, workers (what ``numnet train``, the sweep and scikit-learn share).
"""
from .callbacks import EarlyStopping
from .gradients import backprop, numerical_gradient
from .loop import Diverged, StopTraining, fit
from .recipe import Recipe

__all__ = ["Diverged", "EarlyStopping", "Recipe", "StopTraining", "backprop", "fit", "numerical_gradient"]
