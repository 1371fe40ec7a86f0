"""Layers: Dense and the activations of the seeds. Each is a small class:

* ``forward(x)`` computes the output and caches what ``backward`` needs;
* ``backward(grad)`` takes dL/d(output) and returns dL/d(input), and writes the parameter
  gradients (``dW``, ``db``) next to the parameters (``W``, ``b``). Gradients are overwritten,
  not accumulated, on every call.

Shapes use N for the batch size. Row batches throughout: a sample is a row of ``x``.
"""
from __future__ import annotations

import copy

import numpy as np

from . import init as initializers


class Layer:
    """Base class of every layer."""

    param_names: tuple = ()   # trainable arrays, each with a gradient "d" + name
    buffer_names: tuple = ()  # other state saved with the model (e.g. running statistics)
    training = True           # False in evaluation mode (Sequential.train / .eval)
    input_grad = True         # False: backward may skip dL/dx and return None
    per_sample = True         # False: in training, a sample's output depends on its batch (BatchNorm)

    def forward(self, x):
        raise NotImplementedError

    def backward(self, grad):
        raise NotImplementedError

    def __call__(self, x):
        return self.forward(x)

    # parameters -----------------------------------------------------------------------
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
        """Make the parameters and gradients views into caller-owned storage (values copied)."""
        for n in self.param_names:
            params[n][...] = getattr(self, n)
            setattr(self, n, params[n])
            setattr(self, "d" + n, grads[n])

    def replica(self) -> "Layer":
        """A twin for another worker thread of ``Sequential.fit(workers=k)``: it shares the parameters
        and the saved state (the very same arrays) and keeps its own caches; ``Sequential`` gives it
        gradient arrays of its own. Layers with scratch buffers or random generators override this."""
        return copy.copy(self)

    def _sum_rows(self, a, out=None):
        """Σ over the rows of an (M, K) array, as a GEMV with a cached ones vector: 5x faster than
        ``a.sum(axis=0)`` when rows are short (conv feature maps, K = channels)."""
        ones = getattr(self, "_ones", None)
        if ones is None or len(ones) != len(a) or ones.dtype != a.dtype:
            ones = self._ones = np.ones(len(a), dtype=a.dtype)
        return np.matmul(ones, a, out=out)

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


class Dense(Layer):
    """Fully connected layer, as ``nn.Linear`` and seed 000's z = W·x + b.

    W: (out_features, in_features), b: (out_features,).
    forward:  z = x·Wᵀ + b            x: (N, in) -> z: (N, out)
    backward: dW = dzᵀ·x   (out, in)   db = Σ_n dz   (out,)   dx = dz·W   (N, in)
    """

    param_names = ("W", "b")

    def __init__(self, in_features: int, out_features: int, init="he", dtype=np.float32, seed: int = 0):
        self.in_features, self.out_features, self.init = int(in_features), int(out_features), init
        self.W = np.empty((self.out_features, self.in_features), dtype=dtype)
        self.b = np.zeros(self.out_features, dtype=dtype)
        self.dW, self.db = np.zeros_like(self.W), np.zeros_like(self.b)
        self.init_params(np.random.default_rng(seed))

    def init_params(self, rng):
        f = initializers.get(self.init)
        self.W[...] = f(self.W.shape, self.in_features, self.out_features, rng)
        self.b[...] = 0

    def forward(self, x):
        self.x = x
        z = x @ self.W.T
        z += self.b
        return z

    def backward(self, dz):
        np.matmul(dz.T, self.x, out=self.dW)
        dz.sum(axis=0, out=self.db)
        if not self.input_grad:
            return None       # first layer: dL/dx of the images is not needed (saves a GEMM)
        return dz @ self.W

    def output_shape(self, input_shape):
        return (self.out_features,)

    def config(self):
        return {"type": "Dense", "in_features": self.in_features, "out_features": self.out_features,
                "init": self.init if isinstance(self.init, str) else "he"}


class ReLU(Layer):
    """ReLU(z) = max(0, z);   dReLU/dz = 1 where z > 0 else 0."""

    def forward(self, z):
        self.a = np.maximum(z, 0)
        return self.a

    @property
    def mask(self):
        """dReLU/dz as booleans: z > 0, i.e. a > 0 (computed when needed: evaluation skips it)."""
        return self.a > 0

    def backward(self, grad):
        return grad * self.mask


class Sigmoid(Layer):
    """σ(z) = 1 / (1 + e^(−z));   dσ/dz = σ(z)·(1 − σ(z))."""

    def forward(self, z):
        self.a = sigmoid(z)
        return self.a

    def backward(self, grad):
        return grad * self.a * (1 - self.a)


class Tanh(Layer):
    """tanh(z);   dtanh/dz = 1 − tanh(z)²."""

    def forward(self, z):
        self.a = np.tanh(z)
        return self.a

    def backward(self, grad):
        return grad * (1 - self.a * self.a)


class Step(Layer):
    """The perceptron's step (Heaviside) function of seed 003: 1 if z ≥ 0 else 0.

    Its derivative is 0 everywhere it exists, so no gradient flows back through it: use it for
    the perceptron, not for networks trained by backpropagation.
    """

    def forward(self, z):
        return (z >= 0).astype(z.dtype)

    def backward(self, grad):
        return np.zeros_like(grad)


class Softmax(Layer):
    """softmax(z)_i = e^(z_i − max z) / Σ_j e^(z_j − max z), over the last axis.

    backward (Jacobian-vector product): dz = s ⊙ (g − Σ_j g_j s_j).
    For training use the fused :class:`numnet.SoftmaxCrossEntropy` loss on the logits instead.
    """

    def forward(self, z):
        self.s = softmax(z)
        return self.s

    def backward(self, grad):
        s = self.s
        return s * (grad - np.sum(grad * s, axis=-1, keepdims=True))


class Flatten(Layer):
    """(N, d1, d2, ...) -> (N, d1·d2·...); backward restores the input shape."""

    def forward(self, x):
        self.shape = x.shape
        return x.reshape(len(x), -1)

    def backward(self, grad):
        return grad.reshape(self.shape)

    def output_shape(self, input_shape):
        return (int(np.prod(input_shape)),)


class Standardize(Layer):
    """Per-feature centring and one global scale, fitted on the training data:

    x̂ = (x − μ) / σ,   μ = mean of each input feature (pixel),
                        σ = √(mean over features of Var[x_j])  (one number)
    backward: dx = grad / σ.   No trainable parameters; μ and σ are saved with the model.

    ``Sequential.fit`` calls :meth:`adapt` on the training inputs the first time it trains.
    Centring each pixel makes the first layer's optimisation better conditioned (seed 000's
    "normalise the inputs"): it is worth about 0.8 points of accuracy after 2 epochs of
    784-25-25-10, compared with the global (x − 0.1307)/0.3081.
    """

    buffer_names = ("mean", "std")

    def __init__(self, shape=None):
        self.shape = tuple(shape) if shape is not None else None
        self.adapted = shape is not None
        self.mean = np.zeros(self.shape or (1,), dtype=np.float64)
        self.std = np.ones((), dtype=np.float64)

    def adapt(self, batches):
        """Fit μ and σ from an iterable of input batches (N, ...); per-batch sums in the batch's
        dtype, accumulated in float64."""
        n, total, total_sq = 0, np.float64(0), np.float64(0)
        for x in batches:
            if x.dtype.kind in "biu":
                x = x.astype(np.float64)                                # integer sums of squares overflow
            n += len(x)
            total = total + x.sum(axis=0)
            total_sq = total_sq + np.einsum("n...,n...->...", x, x)     # Σ x², without an x² array
        self.mean = total / n
        self.std = np.asarray(np.sqrt(max(float(np.mean(total_sq / n - self.mean ** 2)), 1e-12)))
        self.shape, self.adapted = self.mean.shape, True
        self._cache = None

    def _constants(self, dtype):
        cache = getattr(self, "_cache", None)
        if cache is None or cache[0].dtype != dtype:
            self._cache = cache = (self.mean.astype(dtype), dtype.type(1 / self.std))
        return cache

    def forward(self, x):
        mean, inv_std = self._constants(x.dtype)
        self.inv_std = inv_std
        out = x - mean
        out *= inv_std
        return out

    def backward(self, grad):
        if not self.input_grad:
            return None
        return grad * self.inv_std

    def config(self):
        return {"type": "Standardize", "shape": list(self.shape) if self.shape else None}


def sigmoid(z):
    """σ(z) = 1 / (1 + e^(−z)), computed without overflow for large |z|."""
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1 / (1 + e), e / (1 + e))


def softmax(z):
    """Row-wise softmax with max subtraction, so e^z never overflows."""
    e = np.exp(z - np.max(z, axis=-1, keepdims=True))
    e /= np.sum(e, axis=-1, keepdims=True)
    return e


#: layer classes by name, for saved architectures; other modules register theirs here
REGISTRY = {cls.__name__: cls for cls in (Dense, ReLU, Sigmoid, Tanh, Step, Softmax, Flatten, Standardize)}


def from_config(cfg: dict) -> Layer:
    from .errors import ConfigError

    cfg = dict(cfg)
    cls = REGISTRY.get(cfg.pop("type", None))
    if cls is None:
        raise ConfigError(f"unknown layer type in {cfg!r}")
    return cls(**cfg)
