"""The layer contract, which every layer of numnet follows (Deep Learning from Scratch's
``common/layers.py``, numpy-ml):

* ``forward(x)`` computes the output and caches what ``backward`` needs;
* ``backward(grad)`` takes dL/d(output), returns dL/d(input) and writes each parameter's gradient
  next to it: parameter ``W`` has its gradient in ``dW`` (same shape). Gradients are overwritten,
  not accumulated, on every call.
* parameters are listed in ``param_names``; other saved state (running statistics) in ``buffer_names``;
* ``init_params(rng)`` fills the parameters from a seeded generator; ``config()`` gives the
  constructor arguments (JSON) so that a saved model can be rebuilt; ``output_shape`` maps one
  sample's input shape to its output shape; ``equations`` holds the forward and backward formulas
  that ``numnet explain`` shows.

Parameter storage. A ``Sequential`` keeps every parameter as a view into one flat buffer and
every gradient as a view into another, so an optimizer step is a few passes over two arrays. A
layer written as the tutorials write it, ``self.dW = dz.T @ self.x``, would replace that view
with a new array that nobody reads. It does not here: parameter and gradient attributes are
*slots* (the ``_Slot`` descriptor below), and assigning to a bound slot copies the values into the
bound array (``self.dW[...] = dz.T @ self.x``). An assignment of the wrong shape is an error that
names the layer. ``Layer.parameters()`` returns :class:`Parameter` records that read the very same
arrays, for optimizers, gradient checks, persistence and explain.

Ownership of values and dtype: a layer built on its own (``Dense(784, 10, dtype=np.float64,
seed=1)``) draws its own initial values; inside a ``Sequential`` the model owns both: it builds
every parameter in the model's dtype and initialises it from the model's seed (``seed=None`` keeps
the layers' values).
"""
from __future__ import annotations

import numpy as np

from ..errors import ConfigError


class _Slot:
    """A parameter or gradient attribute: plain storage until the layer is bound to a model's flat
    buffers, then writes go *into* the bound array, so ``self.dW = ...`` trains like ``self.dW[...] = ...``."""

    def __init__(self, name):
        self.name = name

    def __get__(self, layer, owner=None):
        if layer is None:
            return self
        try:
            return layer.__dict__[self.name]
        except KeyError:
            raise AttributeError(f"{type(layer).__name__} has no {self.name} yet") from None

    def __set__(self, layer, value):
        bound = layer.__dict__.get("_bound")
        if bound and self.name in bound:
            target = layer.__dict__[self.name]
            value = np.asarray(value)
            if value.shape != target.shape:
                raise ConfigError(f"{type(layer).__name__}.{self.name}: assigned an array of shape {value.shape}, "
                                  f"the parameter has shape {target.shape}")
            target[...] = value
        else:
            layer.__dict__[self.name] = value


class Parameter:
    """One trainable array of a layer and its gradient: ``value`` is ``layer.<name>`` and ``grad``
    is ``layer.d<name>``, read each time (never a copy), so every reader sees the same memory."""

    __slots__ = ("layer", "name", "qualname")

    def __init__(self, layer, name, qualname=None):
        self.layer, self.name, self.qualname = layer, name, qualname or name

    @property
    def value(self):
        return getattr(self.layer, self.name)

    @property
    def grad(self):
        return getattr(self.layer, "d" + self.name)

    @property
    def shape(self):
        return self.value.shape

    def __repr__(self):
        return f"Parameter({self.qualname}, shape={self.shape})"


class Layer:
    """Base class of every layer."""

    param_names: tuple = ()   # trainable arrays, each with a gradient "d" + name
    buffer_names: tuple = ()  # other state saved with the model (e.g. running statistics)
    training = True           # False in evaluation mode (Sequential.train / .eval)
    input_grad = True         # False: backward may skip dL/dx and return None (the first layer)
    per_sample = True         # False: in training, a sample's output depends on its batch (BatchNorm)
    trainable = True          # False: the optimizer leaves this layer's parameters alone (frozen)
    #: the formulas ``numnet explain`` shows, with {x} the input's symbol, {y} the output's and {k}
    #: the layer's number among layers of its kind
    equations = {"forward": "{y} = {name}({x}{params})", "backward": "∂L/∂{x} = {name}.backward(∂L/∂{y})"}
    symbol = "a{i}"           # the output's symbol in explain ({i}: position, {k}: number of its kind)

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        for name in cls.__dict__.get("param_names", ()):
            for attr in (name, "d" + name):
                if not isinstance(getattr(cls, attr, None), _Slot):
                    setattr(cls, attr, _Slot(attr))

    def forward(self, x):
        raise NotImplementedError

    def backward(self, grad):
        raise NotImplementedError

    def __call__(self, x):
        return self.forward(x)

    # parameters -----------------------------------------------------------------------
    def parameters(self) -> list:
        """[Parameter] for each trainable array, in ``param_names`` order."""
        return [Parameter(self, n) for n in self.param_names]

    @property
    def params(self) -> dict:
        return {n: getattr(self, n) for n in self.param_names}

    @property
    def grads(self) -> dict:
        return {n: getattr(self, "d" + n) for n in self.param_names}

    def param_shapes(self) -> dict:
        return {n: getattr(self, n).shape for n in self.param_names}

    def init_params(self, rng) -> None:
        """Fill the parameters with fresh values drawn from ``rng`` (no-op without parameters)."""

    def bind(self, params: dict, grads: dict) -> None:
        """Make the parameters and gradients views into caller-owned storage (the current values are
        copied in); from then on, assignments to them write into that storage."""
        bound = self.__dict__.setdefault("_bound", set())
        for n in self.param_names:
            params[n][...] = self.__dict__[n]
            self.__dict__[n], self.__dict__["d" + n] = params[n], grads[n]
            bound.update((n, "d" + n))

    @classmethod
    def declared_size(cls, config: dict):
        """How many values the constructor with ``config`` allocates (parameters and buffers),
        computed without allocating and with the constructor's checks (bad values: ConfigError):
        ``numnet.load`` checks it against the arrays a file holds before it builds anything.
        Here 0 for a class that names no parameters or buffers, else None: unknown. Every layer of
        numnet says it (load refuses one that does not); a layer of your own (``register``) that
        does not is built unchecked, so a model file could make it allocate what it likes."""
        return None if cls.param_names or cls.buffer_names else 0

    def output_shape(self, input_shape: tuple) -> tuple:
        """Shape of one sample's output given one sample's input shape."""
        return input_shape

    # persistence -------------------------------------------------------------------------
    def config(self) -> dict:
        """Constructor arguments, JSON-serialisable; ``type`` names the class."""
        return {"type": type(self).__name__}

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.config().items() if k != "type")
        return f"{type(self).__name__}({args})"
