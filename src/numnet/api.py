"""The façade a user calls: ``numnet.Sequential`` with ``fit``, ``save`` and ``summary`` as methods,
and ``numnet.load``.

The container (:class:`numnet.model.Sequential`: layers, forward, backward, parameters, evaluate,
predict) sits low, beneath the training loop, the file format and the views; those are functions of
their packages that take a model (:func:`numnet.train.options.fit`, :func:`numnet.io.save`,
:func:`numnet.views.summary`). This module sits above them all and adds the three as methods, so
``model.fit(...)`` and ``model.save(path)`` read as in Keras while every import points down.
"""
from __future__ import annotations

from . import model
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
