"""Optimizers. ``step(params, grads)`` updates each parameter array in place from its gradient.

numnet's models keep all parameters in one contiguous buffer (and all gradients in another), so
a step is a handful of vectorised operations however many layers there are. The formulas are
those of the seeds and match ``torch.optim`` (tested against it).
"""
from __future__ import annotations

import math

import numpy as np

from .errors import ConfigError


class Optimizer:
    def __init__(self, lr: float):
        if not lr > 0:
            raise ConfigError(f"learning rate must be positive, got {lr}")
        self.lr = float(lr)
        self.t = 0          # steps taken
        self.state = {}     # per-parameter buffers, keyed by (position, name)

    def step(self, params, grads):
        self.t += 1
        for i, (p, g) in enumerate(zip(params, grads)):
            self.update(i, p, g)

    def update(self, i, p, g):
        raise NotImplementedError

    def buffer(self, i, name, like):
        """A zero-initialised state array ``name`` for parameter ``i``, created on first use."""
        key = (i, name)
        if key not in self.state:
            self.state[key] = np.zeros_like(like)
        return self.state[key]

    def config(self):
        return {"type": type(self).__name__.lower(), "lr": self.lr}


class SGD(Optimizer):
    """Plain gradient descent: W ← W − η·∂L/∂W."""

    def update(self, i, p, g):
        step = self.buffer(i, "step", p)
        np.multiply(g, self.lr, out=step)
        p -= step


class Momentum(Optimizer):
    """SGD with momentum, as ``torch.optim.SGD(momentum=μ)``:

    v ← μ·v + ∂L/∂W;   W ← W − η·v

    For a constant η this is the same trajectory as the textbook form v ← μ·v − η·∂L/∂W,
    W ← W + v (whose v is −η times ours).
    """

    def __init__(self, lr: float = 0.01, momentum: float = 0.9):
        super().__init__(lr)
        self.momentum = float(momentum)

    def update(self, i, p, g):
        v, step = self.buffer(i, "v", p), self.buffer(i, "step", p)
        v *= self.momentum
        v += g
        np.multiply(v, self.lr, out=step)
        p -= step

    def config(self):
        return {**super().config(), "momentum": self.momentum}


class Adam(Optimizer):
    """Adam with bias correction, as in seed 000 (and ``torch.optim.Adam``):

    m ← β1·m + (1 − β1)·g            v ← β2·v + (1 − β2)·g²
    m̂ = m / (1 − β1ᵗ)                v̂ = v / (1 − β2ᵗ)
    W ← W − η·m̂ / (√v̂ + ε)

    The code computes the same value with the corrections folded into two scalars (fewer passes
    over the parameters; see ``update``).
    """

    def __init__(self, lr: float = 1e-3, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8):
        super().__init__(lr)
        self.beta1, self.beta2, self.eps = float(beta1), float(beta2), float(eps)

    def update(self, i, p, g):
        b1, b2, t = self.beta1, self.beta2, self.t
        m, v = self.buffer(i, "m", p), self.buffer(i, "v", p)
        step, denom = self.buffer(i, "step", p), self.buffer(i, "denom", p)
        # m ← β1·m + (1 − β1)·g, as m += (1 − β1)·(g − m)
        np.subtract(g, m, out=step)
        step *= 1 - b1
        m += step
        # v ← β2·v + (1 − β2)·g², as v += (1 − β2)·(g² − v)
        np.multiply(g, g, out=step)
        step -= v
        step *= 1 - b2
        v += step
        # W ← W − η·m̂ / (√v̂ + ε) with m̂ = m/(1 − β1ᵗ), v̂ = v/(1 − β2ᵗ); multiplying numerator and
        # denominator by √(1 − β2ᵗ) leaves two scalars: W ← W − η·(√(1 − β2ᵗ)/(1 − β1ᵗ))·m / (√v + ε·√(1 − β2ᵗ))
        sqrt_bc2 = math.sqrt(1 - b2 ** t)   # Python floats: a NumPy float64 would upcast the float32 arrays
        np.sqrt(v, out=denom)
        denom += self.eps * sqrt_bc2
        np.divide(m, denom, out=step)
        step *= self.lr * sqrt_bc2 / (1 - b1 ** t)
        p -= step

    def config(self):
        return {**super().config(), "beta1": self.beta1, "beta2": self.beta2, "eps": self.eps}


REGISTRY = {"sgd": SGD, "momentum": Momentum, "adam": Adam}
DEFAULT_LR = {"sgd": 0.1, "momentum": 0.01, "adam": 1e-3}


def get(name, lr=None, **kwargs) -> Optimizer:
    """An optimizer by name ('sgd', 'momentum', 'adam'); ``lr=None`` takes its default rate."""
    if isinstance(name, Optimizer):
        return name
    cls = REGISTRY.get(name)
    if cls is None:
        raise ConfigError(f"unknown optimizer {name!r} (choose from {', '.join(REGISTRY)})")
    return cls(DEFAULT_LR[name] if lr is None else lr, **kwargs)
