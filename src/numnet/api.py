"""The façade a user calls: ``numnet.Sequential`` with ``fit``, ``save`` and ``summary`` as methods,
``numnet.load`` and ``numnet.ensemble``.

The container (:class:`numnet.model.Sequential`: layers, forward, backward, parameters, evaluate,
predict) sits low, beneath the training loop, the file format and the views; those are functions of
their packages that take a model (:func:`numnet.train.options.fit`, :func:`numnet.io.save`,
:func:`numnet.views.summary`). This module sits above them all and adds the three as methods, so
``model.fit(...)`` and ``model.save(path)`` read as in Keras while every import points down.
"""
from __future__ import annotations

import copy

from . import model
from .errors import ConfigError
from .functional import whole
from .layers import Ensemble, Mirror, Shift
from .io.serialize import load as load_file
from .io.serialize import save as save_file
from .train.options import fit as fit_model
from .views.summary import summary as summary_table


class Sequential(model.Sequential):
    """:class:`numnet.model.Sequential` plus ``fit``, ``save`` and ``summary`` (same arguments)."""

    def fit(self, x, y, **options):
        """Train the model: see :func:`numnet.train.options.fit` for the options (epochs, batch_size,
        optimizer, validation_data, validation_split, seed, progress, callbacks, augment, schedule,
        gradient, workers, checkpoint, resume, ...), which it turns into the pieces of the loop
        :func:`numnet.train.fit`. Returns the history, one dict per epoch."""
        return fit_model(self, x, y, **options)

    def save(self, path) -> str:
        """Write the model to ``path`` (.npz: arrays + a JSON entry ``__config__``), atomically."""
        return save_file(self, path)

    def summary(self, input_shape=None) -> str:
        """Keras-style table of layers, output shapes and parameter counts (:func:`numnet.views.summary`)."""
        return summary_table(self, input_shape)


def load(path) -> Sequential:
    """Load a model saved by :meth:`Sequential.save` (:func:`numnet.io.load`): no pickle, every size
    checked before anything is allocated."""
    return load_file(path, model_class=Sequential)


def ensemble(models, names=None, mirror: bool = False, shift: int = 0) -> Sequential:
    """One model that averages the logits of trained ``models`` (:class:`numnet.layers.Ensemble`:
    softmax of the mean logits, the members' probabilities averaged in the log domain). The members
    must take the same input and have the same loss, dtype and classes; their layers are copied.
    Test-time augmentation, with which one model is enough: ``mirror``: each model also sees its input
    mirrored left-right (:class:`numnet.layers.Mirror`: pictures whose mirror image is the same class,
    clothes); ``shift`` = s: each model also sees its input moved s pixels up, down, left and right
    (:class:`numnet.layers.Shift`: digits, for a network not trained on moved ones). Each view is
    one more member of the average.
    ``names`` (one per model, e.g. their files) are recorded in ``info["ensemble"]``. Raises
    ConfigError for fewer than two members or members that do not fit together."""
    models = list(models)
    names = list(names) if names is not None else [f"model {k}" for k in range(len(models))]
    shift = whole(shift, "shift", minimum=0)
    if len(models) < (1 if mirror or shift else 2):
        raise ConfigError(f"an ensemble needs at least two models (or one with mirror or shift), got {len(models)}")
    first = models[0]
    for name, m in zip(names, models):
        if m.binary:
            raise ConfigError(f"{name} is a one-output (--binary) model: an ensemble averages classifiers "
                              "of several classes")
        for what, mine, theirs in (("input shape", m.input_shape, first.input_shape),
                                   ("dtype", m.dtype.name, first.dtype.name),
                                   ("loss", m.loss.config(), first.loss.config())):
            if mine != theirs:
                raise ConfigError(f"{name} has {what} {mine}, {names[0]} has {theirs}: the members of an "
                                  "ensemble must agree")
    if (mirror or shift) and (first.input_shape is None or len(first.input_shape) < 2):
        raise ConfigError(f"{'mirror' if mirror else 'shift'} needs a model of images (H, W) or (C, H, W); "
                          f"{names[0]} takes samples of shape {first.input_shape}")
    if shift and shift >= min(first.input_shape[-2:]):
        raise ConfigError(f"shift must be smaller than the images ({first.input_shape[-2]}×{first.input_shape[-1]} "
                          f"pixels), got {shift}")
    views = [[]] + ([[Mirror()]] if mirror else [])
    views += [[Shift(dy, dx)] for dy, dx in ((-shift, 0), (shift, 0), (0, -shift), (0, shift))] if shift else []
    members = [[*copy.deepcopy(view), *copy.deepcopy(m.layers)] for view in views for m in models]
    layer = Ensemble(members)
    if first.input_shape is not None:
        layer.output_shape(tuple(first.input_shape))          # the members' outputs agree (ConfigError)
    out = Sequential([layer], loss=first.loss.config()["type"], dtype=first.dtype, seed=None)
    out.input_shape = first.input_shape
    out.eval()
    out.info = {"ensemble": [{"model": name, "history": m.history[-1:]} for name, m in zip(names, models)],
                "mirror": bool(mirror), "shift": shift}
    return out
