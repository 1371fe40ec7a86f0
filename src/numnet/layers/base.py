"""The layer contract, which every layer of numnet follows (Deep Learning from Scratch's
``common/layers.py``, numpy-ml, PyTorch's ``nn.Module`` for composition):

* ``forward(x)`` computes the output and caches what ``backward`` needs;
* ``backward(grad)`` takes dL/d(output), returns dL/d(input) and writes each parameter's gradient
  next to it: parameter ``W`` has its gradient in ``dW`` (same shape). Gradients are overwritten,
  not accumulated, on every call.
* parameters are listed in ``param_names``; other saved state (running statistics) in ``buffer_names``;
  ``array_shapes()`` computes their shapes from the layer's dimensions;
* a layer may hold child layers as plain attributes, named in ``child_names`` (in order); its
  parameters are then its own followed by its children's, with dotted names (``attn.in_proj_weight``);
* ``init_params(rng)`` fills the layer's own parameters from a seeded generator; ``config()`` gives
  the constructor arguments (JSON) so that a saved model can be rebuilt; ``output_shape`` maps one
  sample's input shape to its output shape; ``equations`` holds the forward and backward formulas
  that ``numnet explain`` shows.

Sizes before storage. A constructor stores dimensions only: ``param_shapes()`` and
``buffer_shapes()`` say what the layer (children included) will hold without allocating it, which
is what the budget check, ``Sequential``'s build and the checks of a model file read. The arrays
come into being when they are needed: a ``Sequential`` allocates every parameter as a view into
one flat buffer (``bind``); a layer used on its own allocates its arrays on first use
(``allocate``), initialised from its own ``seed`` in its own ``dtype``.

Parameter storage. A ``Sequential`` keeps every parameter as a view into one flat buffer and
every gradient as a view into another, so an optimizer step is a few passes over two arrays. A
layer written as the tutorials write it, ``self.dW = dz.T @ self.x``, would replace that view
with a new array that nobody reads. It does not here: parameter, gradient and buffer attributes
are *slots* (the ``_Slot`` descriptor below), and assigning to a bound slot copies the values into
the bound array (``self.dW[...] = dz.T @ self.x``). An assignment of the wrong shape is an error
that names the layer. ``Layer.parameters()`` returns :class:`Parameter` records that read the very
same arrays, for optimizers, gradient checks, persistence and explain.

Ownership of values and dtype: a layer built on its own (``Dense(784, 10, dtype=np.float64,
seed=1)``) draws its own initial values; inside a ``Sequential`` the model owns both: it builds
every parameter in the model's dtype and initialises it from the model's seed (``seed=None`` keeps
the layers' values).
"""
from __future__ import annotations

import copy
import math

import numpy as np

from ..errors import ConfigError


class _Slot:
    """A parameter, gradient or buffer attribute: allocated on first use by a layer on its own
    (``Layer.allocate``); once the layer is bound to a model's flat buffers, writes go *into* the
    bound array, so ``self.dW = ...`` trains like ``self.dW[...] = ...``."""

    def __init__(self, name):
        self.name = name

    def __get__(self, layer, owner=None):
        if layer is None:
            return self
        try:
            return layer.__dict__[self.name]
        except KeyError:
            layer.allocate()
        try:
            return layer.__dict__[self.name]
        except KeyError:
            raise AttributeError(f"{type(layer).__name__} has no {self.name}") from None

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
    is ``layer.d<name>``, read each time (never a copy), so every reader sees the same memory.
    ``qualname``: the dotted name from the model (``3.attn.in_proj_weight``)."""

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


def twin(layer):
    """A copy of ``layer`` for another thread: the same parameter and buffer arrays, its own caches
    (what ``forward`` keeps for ``backward``), its own scratch buffers (``_scratch``) and its own
    random generators (seeded from the originals'), children twinned alike. Data-parallel training
    (``numnet.train.parallel``) and parallel inference (``numnet.inference.chunks``) run twins."""
    t = copy.copy(layer)
    for name, value in vars(layer).items():
        if isinstance(value, np.random.Generator):          # its own masks, seeded
            setattr(t, name, np.random.default_rng(int(value.integers(2 ** 63))))
        elif name == "_scratch":                            # its own reusable buffers
            setattr(t, name, {})
    for name, child in layer.children():
        setattr(t, name, twin(child))
    return t


def _dotted(prefix, name):
    return f"{prefix}.{name}" if prefix else name


class Layer:
    """Base class of every layer."""

    param_names: tuple = ()   # trainable arrays, each with a gradient "d" + name
    buffer_names: tuple = ()  # other state saved with the model (e.g. running statistics)
    child_names: tuple = ()   # attributes that hold child layers, in order
    input_grad = True         # False: backward may skip dL/dx and return None (the first layer)
    per_sample = True         # False: in training, a sample's output depends on its batch (BatchNorm)
    trainable = True          # False: the optimizer leaves this layer's parameters alone (frozen)
    adapted = True            # False: ``adapt`` must first fit it to the training inputs (Standardize)
    #: a layer that is not ``per_sample`` but takes its batch statistics through ``batch_sum(*partial_sums)``
    #: can train on parts of a batch (``numnet.train.parallel`` gives each worker's copy a summing one)
    batch_sum = None
    dtype = np.dtype(np.float32)   # of the arrays a layer allocates on its own (a Sequential sets its own)
    seed = 0                  # of the initial values a layer draws on its own
    #: the formulas ``numnet explain`` shows, with {x} the input's symbol, {y} the output's and {k}
    #: the layer's number among layers of its kind
    equations = {"forward": "{y} = {name}({x}{params})", "backward": "∂L/∂{x} = {name}.backward(∂L/∂{y})"}
    symbol = "a{i}"           # the output's symbol in explain ({i}: position, {k}: number of its kind)
    explaining = False        # True while ``numnet explain`` runs: backward keeps what explain shows

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        names = cls.__dict__.get("param_names", ())
        for attr in (*names, *("d" + n for n in names), *cls.__dict__.get("buffer_names", ())):
            if not isinstance(getattr(cls, attr, None), _Slot):
                setattr(cls, attr, _Slot(attr))

    def forward(self, x):
        raise NotImplementedError

    def backward(self, grad):
        raise NotImplementedError

    def __call__(self, x):
        return self.forward(x)

    # modes ----------------------------------------------------------------------------------
    @property
    def training(self) -> bool:
        """False in evaluation mode (``Sequential.train`` / ``.eval``); setting it sets the children's."""
        return self.__dict__.get("_training", True)

    @training.setter
    def training(self, mode):
        self.__dict__["_training"] = mode
        for _, child in self.children():
            child.training = mode

    # composition ----------------------------------------------------------------------------
    def children(self) -> list:
        """[(name, layer)] for each child layer, in ``child_names`` order."""
        return [(n, getattr(self, n)) for n in self.child_names]

    def named_layers(self, prefix: str = "") -> list:
        """[(dotted name, layer)]: this layer (named ``prefix``), then its children's trees in order."""
        out = [(prefix, self)]
        for n, child in self.children():
            out += child.named_layers(_dotted(prefix, n))
        return out

    # sizes (no allocation) ----------------------------------------------------------------------
    def array_shapes(self) -> dict:
        """{name: shape} of this layer's own parameters and buffers, computed from its dimensions
        without allocating. Every layer of numnet says it; the default reads the arrays the layer
        holds (a layer of your own that allocates them in its constructor)."""
        names = self.param_names + self.buffer_names
        missing = [n for n in names if n not in self.__dict__]
        if missing:
            raise ConfigError(f"{type(self).__name__} does not declare its size (array_shapes) "
                              f"and holds no {missing[0]}")
        return {n: np.shape(self.__dict__[n]) for n in names}

    def _shapes(self, kind, prefix=""):
        own = self.array_shapes()
        out = {_dotted(prefix, n): tuple(own[n]) for n in getattr(self, kind)}
        for n, child in self.children():
            out.update(child._shapes(kind, _dotted(prefix, n)))
        return out

    def param_shapes(self) -> dict:
        """{dotted name: shape} of every parameter, this layer's then its children's, without allocating."""
        return self._shapes("param_names")

    def buffer_shapes(self) -> dict:
        """{dotted name: shape} of every buffer (saved state that is not trained), children's included."""
        return self._shapes("buffer_names")

    def size(self) -> int:
        """Values held in parameters and buffers, children's included (computed, not allocated)."""
        return sum(math.prod(s) for s in (*self.param_shapes().values(), *self.buffer_shapes().values()))

    def output_shape(self, input_shape: tuple) -> tuple:
        """Shape of one sample's output given one sample's input shape."""
        return input_shape

    def takes(self, input_shape: tuple) -> bool:
        """Whether one sample of ``input_shape`` suits this layer, for a layer whose ``output_shape``
        does not check it (``numnet.layers.sizes`` asks before it walks on)."""
        return True

    def values_per_sample(self, input_shape: tuple, output_shape: tuple) -> int:
        """The most values one sample occupies in this layer while training: its output, or more
        where the forward pass keeps a larger working set (a convolution's windows, attention's
        scores). The per-sample memory budget of ``numnet.architectures`` reads it."""
        return math.prod(output_shape)

    # parameters -----------------------------------------------------------------------------
    def parameters(self, prefix: str = "") -> list:
        """[Parameter] for each trainable array, this layer's (``param_names`` order) then its
        children's, named by dotted paths from ``prefix``."""
        return [Parameter(layer, n, _dotted(path, n)) for path, layer in self.named_layers(prefix)
                for n in layer.param_names]

    def named_parameters(self, prefix: str = "") -> list:
        """[(dotted name, array)] of every parameter, children's included."""
        return [(p.qualname, p.value) for p in self.parameters(prefix)]

    def named_gradients(self, prefix: str = "") -> list:
        """[(dotted name, gradient array)], as ``named_parameters``."""
        return [(p.qualname, p.grad) for p in self.parameters(prefix)]

    def named_buffers(self, prefix: str = "") -> list:
        """[(dotted name, array)] of every buffer, children's included."""
        return [(_dotted(path, n), getattr(layer, n)) for path, layer in self.named_layers(prefix)
                for n in layer.buffer_names]

    @property
    def params(self) -> dict:
        return dict(self.named_parameters())

    @property
    def grads(self) -> dict:
        return dict(self.named_gradients())

    def init_params(self, rng) -> None:
        """Fill this layer's own parameters with fresh values drawn from ``rng`` (no-op without
        parameters); ``Sequential`` calls it on every layer and child, in order."""

    def init_buffers(self) -> None:
        """Give this layer's own buffers their initial values (no-op without buffers)."""

    def allocate(self) -> None:
        """The arrays of a layer used on its own, made on first use: parameters initialised by
        ``init_params`` from ``numpy.random.default_rng(seed)``, zero gradients, buffers by
        ``init_buffers``. (Inside a ``Sequential``, the model allocates and binds the parameters.)"""
        values = self.__dict__
        if any(n not in values for n in self.param_names):
            shapes = self.array_shapes()
            for n in self.param_names:
                values[n], values["d" + n] = np.zeros(shapes[n], self.dtype), np.zeros(shapes[n], self.dtype)
            self.init_params(np.random.default_rng(self.seed))
        if any(n not in values for n in self.buffer_names):
            self.init_buffers()

    def bind(self, params: dict, grads: dict, fill: bool = True) -> None:
        """Make the parameters and gradients (dotted names, children's included) views into
        caller-owned storage; from then on, assignments to them write into that storage. Values:
        those the layer holds, copied in; a layer that holds none gets its own initial values
        (``fill``, as on its own) or none (the caller initialises them)."""
        values, bound = self.__dict__, self.__dict__.setdefault("_bound", set())
        held = all(n in values for n in self.param_names)
        for n in self.param_names:
            if held:
                params[n][...] = values[n]
            values[n], values["d" + n] = params[n], grads[n]
            bound.update((n, "d" + n))
        if self.param_names and not held and fill:
            self.init_params(np.random.default_rng(self.seed))
        for c, child in self.children():
            child.bind({k[len(c) + 1:]: v for k, v in params.items() if k.startswith(c + ".")},
                       {k[len(c) + 1:]: v for k, v in grads.items() if k.startswith(c + ".")}, fill)

    # hooks, with what a plain layer does -----------------------------------------------------
    def adapt(self, batches) -> None:
        """Fit data-dependent state to the training inputs (an iterable of batches), when ``adapted``
        is False. Plain layers have none."""

    def state_loaded(self) -> None:
        """Called after the buffers were set from outside (a model file, another model): check
        them and update what depends on them (bad values: ConfigError)."""

    def describe(self, x, y) -> dict:
        """Anything worth showing about one forward pass (``numnet explain``), e.g. {"note": ...}."""
        return {}

    def describe_backward(self) -> dict:
        """Anything worth showing about the last backward pass (``numnet explain``)."""
        return {}

    def explain_lines(self, phase: str) -> list:
        """[(equation, shapes)] that ``numnet explain`` shows for ``phase`` ("forward" or "backward")
        of the last pass, one pair a line. In an equation {x}, {y}, {k} stand for the input's and
        the output's symbols and the layer's number; a shapes template names arrays, ``{name}`` (or
        ``{name}ᵀ``, transposed), and explain prints each one's shape: x, y (this sample's input and
        output), dy, dx (their gradients), a parameter or gradient by attribute path (W, dW,
        attn.in_proj_weight), or an entry of :meth:`explain_arrays`. The default reads
        ``equations`` (its ",   "-separated formulas, "shapes"/"backward_shapes" templates)."""
        eqs = self.equations[phase].split(",   ")
        template = self.equations.get("shapes" if phase == "forward" else "backward_shapes")
        if template:
            return list(zip(eqs, template.split(",   "), strict=True))
        if phase == "forward":
            shapes = ["{x} → {y}" + "".join(f"{', ' if j else '   with '}{n} {{{n}}}"
                                            for j, n in enumerate(self.params))]
        else:
            shapes = ["{dy} → {dx}"]
        return [(eq, shapes[0] if j == (0 if phase == "forward" else len(eqs) - 1) else "")
                for j, eq in enumerate(eqs)]

    def explain_arrays(self) -> dict:
        """{name: array} of one sample's intermediate arrays that :meth:`explain_lines` names
        (x̂ of a batch norm, a recurrent layer's gates, attention's Q, K, V, P), those available
        after the last forward (and backward) pass; the batch holds one sample."""
        return {}

    # persistence ----------------------------------------------------------------------------
    def config(self) -> dict:
        """Constructor arguments, JSON-serialisable; ``type`` names the class."""
        return {"type": type(self).__name__}

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.config().items() if k != "type")
        return f"{type(self).__name__}({args})"
