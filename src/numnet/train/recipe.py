"""A training recipe, assembled in one place: a ``--model`` preset (or an ``--arch`` spec) and the
options given on top of it → the network's layers, the model, the optimizer (with its clipping and
frozen-layer wrapper), the learning-rate schedule, the augmentation, the workers, the epochs and the
batch size. ``numnet train``, ``numnet sweep``, ``NumnetClassifier`` and the benchmarks all build
their runs from a :class:`Recipe`, so the same recipe gives the same model and optimizer everywhere.

    recipe = Recipe.from_preset("cnn", epochs=1)             # the preset's defaults, then the options
    model = recipe.network(x.shape[1:], 10, numnet.Sequential)
    model.fit(x, y, **recipe.fit_options(model), validation_data=(xt, yt))

``fit_options`` gives the keyword arguments of ``Sequential.fit`` (epochs, batch_size, optimizer,
schedule, augment, workers, gradient, seed); the caller adds what belongs to its run (validation,
progress, callbacks, checkpoints).
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, fields

import numpy as np

from .. import optim, schedules
from ..architectures import PRESETS, build, mlp, parse_sizes, preset
from ..data import augment
from ..errors import ConfigError
from ..layers import Sigmoid
from . import parallel, transfer

#: the options that shape the network; each preset declares those it takes (``PRESETS[name]["options"]``)
NETWORK_OPTIONS = ("hidden", "activation", "init")
#: the training settings a preset gives defaults for (saved with a model as ``info["recipe"]``)
TRAINING_KEYS = ("optimizer", "lr", "weight_decay", "schedule", "augment", "epochs", "batch_size", "clip_norm",
                 "ema", "label_smoothing")


@dataclass
class Recipe:
    """Everything a run decides before its first step.

    Network: ``arch`` (a layer spec for ``architectures.build``) or, when it is None, the MLP of
    ``hidden`` widths and ``activation`` (``architectures.mlp``); ``init`` the dense layers'
    initialiser (None: the default); ``loss`` (mse and mae get a sigmoid output layer).
    Training: ``optimizer``, ``lr`` (None: the optimizer's default rate, ``optim.DEFAULT_LR``),
    ``weight_decay``, ``schedule``, ``augment``, ``epochs``, ``batch_size``, ``clip_norm``, ``ema`` (the
    decay of a moving average of the weights, :class:`~numnet.train.averaging.EMA`), ``label_smoothing``
    (ε of :class:`~numnet.train.sampling.LabelSmoothing`), ``gradient``
    ('backprop' or 'numerical'), ``workers`` (None: ``parallel.auto_workers``), ``seed`` (weights and
    batch order), ``dtype``. Transfer: ``init_from`` (a saved model's path), ``new_head``, ``freeze``.
    ``preset``: the ``--model`` preset it came from.
    """

    preset: str = "mlp"
    arch: str | None = None
    hidden: tuple = (25, 25)
    activation: str = "relu"
    init: str | None = None
    loss: str = "cross_entropy"
    optimizer: str = "adam"
    lr: float | None = None
    weight_decay: float | None = None
    schedule: str | None = None
    augment: str | None = None
    epochs: int = 5
    batch_size: int = 100
    clip_norm: float | None = None
    ema: float | None = None
    label_smoothing: float | None = None
    gradient: str = "backprop"
    workers: int | None = None
    seed: int = 0
    dtype: str = "float32"
    init_from: str | None = None
    new_head: bool = False
    freeze: int = 0

    def __post_init__(self):
        if isinstance(self.hidden, str):
            self.hidden = parse_sizes(self.hidden)
        self.hidden = tuple(int(h) for h in self.hidden)

    @classmethod
    def from_preset(cls, name: str = "mlp", **options) -> Recipe:
        """The recipe of ``--model name``: its layers and training defaults, then ``options`` (any of
        the fields; None means not given: 'none' turns a preset's schedule or augmentation off).
        ``arch`` replaces the layers (with the mlp preset's training defaults only). Another
        ``optimizer`` than the preset's starts from its own default rate unless ``lr`` is given.
        Raises ConfigError for an unknown preset, ``arch`` with another preset than mlp, or a network
        option the preset (or ``arch``) does not take."""
        spec, training = preset(name)
        given = {k: v for k, v in options.items() if v is not None}
        unknown = set(given) - {f.name for f in fields(cls) if f.name != "preset"}
        if unknown:
            raise TypeError(f"Recipe has no option {', '.join(sorted(unknown))}")
        arch = given.pop("arch", None)
        if arch is not None and name != "mlp":
            raise ConfigError("give --model or --arch, not both")
        takes = ("init",) if arch is not None else PRESETS[name]["options"]
        for key in NETWORK_OPTIONS:
            if key in given and key not in takes:
                where = "--arch (its layers are the spec's)" if arch is not None else \
                    f"--model {name} (its layers are {spec}; use --arch to choose them)"
                raise ConfigError(f"--{key} does not apply to {where}")
        if given.get("optimizer", training["optimizer"]) != training["optimizer"]:
            training["lr"] = None                               # another optimizer: its own default rate
        return cls(preset=name, arch=arch if arch is not None else spec, **{**training, **given})

    @classmethod
    def from_arch(cls, spec: str, **options) -> Recipe:
        """The recipe of ``--arch spec``: the mlp preset's training defaults, then ``options``."""
        return cls.from_preset("mlp", arch=spec, **options)

    @property
    def training(self) -> dict:
        """The training settings that are set ({optimizer, lr, ..., clip_norm}; what a model saves)."""
        return {k: v for k in TRAINING_KEYS if (v := getattr(self, k)) is not None}

    @property
    def base_lr(self) -> float:
        """The learning rate the schedule peaks at: ``lr``, or the optimizer's default."""
        return self.lr or optim.DEFAULT_LR[self.optimizer]

    # the network --------------------------------------------------------------------------------
    def check(self) -> None:
        """Refuse a bad layer spec before any data is read."""
        if self.arch is not None:
            build(self.arch, num_classes=None)

    def layers(self, input_shape, num_classes: int) -> list:
        """The layers for samples of ``input_shape`` and ``num_classes`` outputs (sizes checked first).
        A preset's own spec gets a head of ``num_classes`` outputs (written back to ``arch``, which the
        run records): its user chose no layers to fix. An ``--arch`` spec is the user's, as written."""
        if self.arch is not None and self.preset != "mlp":
            self.arch = with_head(self.arch, num_classes)
        if self.arch is None:
            layers = mlp(self.hidden, self.activation, in_features=math.prod(input_shape), num_classes=num_classes,
                         init=self.init)
        else:
            layers = build(self.arch, input_shape=input_shape, num_classes=num_classes, init=self.init)
        if self.loss in ("mse", "mae"):
            layers.append(Sigmoid())                        # outputs in (0, 1) against 0/1 targets
        return layers

    def network(self, input_shape, num_classes: int, container):
        """A fresh model (``container``: ``numnet.Sequential`` to have ``fit`` and ``save``), weights
        from ``seed``, then copied from ``init_from`` and frozen as the recipe says."""
        model = container(self.layers(input_shape, num_classes), loss=self.loss, dtype=np.dtype(self.dtype),
                          seed=self.seed)
        if self.init_from:
            transfer.copy_weights(transfer.load(self.init_from), model, head=not self.new_head)
        return self.restrict(model)

    def restrict(self, model):
        """Freeze the first ``freeze`` layers with parameters (a resumed model too); returns the model."""
        if self.init_from or self.freeze:
            transfer.freeze(model, self.freeze)
        return model

    # the training -------------------------------------------------------------------------------
    def make_optimizer(self, model, optimizer=None):
        """A new optimizer (or ``optimizer``, e.g. a resumed one's), wrapped to clip the gradient to
        ``clip_norm`` and update the trainable layers only when the recipe clips or freezes."""
        if optimizer is None:
            decay = {"weight_decay": self.weight_decay} if self.weight_decay else {}
            optimizer = optim.get(self.optimizer, self.lr, **decay)
        if self.clip_norm or self.freeze:
            optimizer = transfer.Restricted(optimizer, model, self.clip_norm)
        return optimizer

    def fit_options(self, model, optimizer=None) -> dict:
        """The keyword arguments of ``model.fit`` for this recipe: epochs, batch_size, optimizer
        (:meth:`make_optimizer`), schedule (peaking at :attr:`base_lr`: a resumed optimizer holds its
        last rate), augment, workers (checked against the model), gradient, seed, ema and label_smoothing."""
        return {"epochs": self.epochs, "batch_size": self.batch_size,
                "optimizer": self.make_optimizer(model, optimizer),
                "schedule": schedules.get(self.schedule, self.base_lr), "augment": augment.get(self.augment),
                "workers": parallel.check_workers(model, self.workers, self.batch_size, self.gradient),
                "gradient": self.gradient, "seed": self.seed, "ema": self.ema,
                "label_smoothing": self.label_smoothing}


def with_head(spec: str, num_classes: int) -> str:
    """``spec`` with its last layer, a ``dense(K)``, made ``dense(num_classes)``: a preset for a
    yes/no task (one output) or a data set of another class count."""
    return re.sub(r"dense\(\d+\)\s*$", f"dense({int(num_classes)})", spec)
