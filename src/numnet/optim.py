"""Optimizers. ``step(params, grads)`` updates each parameter array in place from its gradient.

numnet's models keep all parameters in one contiguous buffer (and all gradients in another), so
a step is a handful of vectorised operations however many layers there are. The formulas are
those of the seeds and match ``torch.optim`` (tested against it).
"""
from __future__ import annotations

import math
import threading
from typing import NamedTuple

import numpy as np

from .errors import ConfigError


class Optimizer:
    """Base class. ``weight_decay`` λ (SGD, Momentum, Adam) is L2 regularisation as in ``torch.optim``:
    the gradient becomes g + λ·W (the gradient of L + (λ/2)·‖W‖²) before the update.
    ``AdamW`` instead decays the weights directly (decoupled weight decay)."""

    def __init__(self, lr: float, weight_decay: float = 0.0):
        if not lr > 0:
            raise ConfigError(f"learning rate must be positive, got {lr}")
        if not weight_decay >= 0:
            raise ConfigError(f"weight decay must be >= 0, got {weight_decay}")
        self.lr = float(lr)
        self.weight_decay = float(weight_decay)
        self.t = 0          # steps taken
        self.state = {}     # per-parameter buffers, keyed by (position, name)

    def step(self, params, grads, pool=None, parts: int = 1):
        """Update every parameter in place from its gradient. With a thread pool (``fit(workers=k)``)
        a large contiguous parameter is updated in ``parts`` slices at once, this thread taking the
        first: the formulas are element-wise, so the values are the same as in one piece."""
        self.t += 1
        for i, (p, g) in enumerate(zip(params, grads)):
            g = self.l2(i, p, g)
            if pool is None or parts < 2 or p.size < self.min_part * parts or not (
                    p.flags.c_contiguous and g.flags.c_contiguous):
                self.update(i, p, g)
                continue
            p1, g1 = p.reshape(-1), g.reshape(-1)
            edges = [p.size * j // parts for j in range(parts + 1)]
            jobs = [(Part(i, p, slice(a, b)), p1[a:b], g1[a:b]) for a, b in zip(edges, edges[1:])]
            futures = [pool.submit(self.update, *job) for job in jobs[1:]]
            self.update(*jobs[0])
            for f in futures:
                f.result()

    #: slices of fewer entries are not worth a thread
    min_part = 1 << 16

    def l2(self, i, p, g):
        """g + λ·W in a scratch buffer (the gradient itself is left alone); g when λ = 0."""
        if not self.weight_decay:
            return g
        gw = self.buffer(i, "l2", p)
        np.multiply(p, self.weight_decay, out=gw)
        gw += g
        return gw

    def update(self, i, p, g):
        raise NotImplementedError

    def buffer(self, i, name, like):
        """A zero-initialised state array ``name`` for parameter ``i``, created on first use; for a
        ``Part`` of a parameter, that slice of the whole parameter's array."""
        if isinstance(i, Part):
            with _CREATING:
                whole = self.buffer(i.index, name, i.whole)
            return whole.reshape(-1)[i.part]
        key = (i, name)
        if key not in self.state:
            self.state[key] = np.zeros_like(like)
        return self.state[key]

    def config(self):
        cfg = {"type": type(self).__name__.lower(), "lr": self.lr}
        if self.weight_decay:
            cfg["weight_decay"] = self.weight_decay
        return cfg


class Part(NamedTuple):
    """Entries ``part`` (a slice) of the flattened parameter ``index``, updated on their own thread
    (``update`` gets it as ``i``; ``buffer(i, ...)`` then returns that slice of the state)."""
    index: int
    whole: np.ndarray
    part: slice


_CREATING = threading.Lock()     # state arrays are created once, whichever thread asks first


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

    def __init__(self, lr: float = 0.01, momentum: float = 0.9, weight_decay: float = 0.0):
        super().__init__(lr, weight_decay)
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

    The code computes the same values in fewer passes over the parameters (10 NumPy operations
    instead of 12; a seed-002 epoch gets 10% faster): it keeps the moments without their (1 − β)
    factors, M = m/(1 − β1) and V = v/(1 − β2), so that M ← β1·M + g and V ← β2·V + g², and folds
    all the constant factors into two scalars (see ``update``). ``moments(i)`` gives m and v.
    (V is 1000 times v, so in float32 it overflows for gradients above about 6e17 instead of 2e19;
    either is far beyond any trainable loss.)
    """

    def __init__(self, lr: float = 1e-3, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8,
                 weight_decay: float = 0.0):
        super().__init__(lr, weight_decay)
        self.beta1, self.beta2, self.eps = float(beta1), float(beta2), float(eps)

    def update(self, i, p, g):
        b1, b2, t = self.beta1, self.beta2, self.t
        M, V = self.buffer(i, "M", p), self.buffer(i, "V", p)
        step = self.buffer(i, "step", p)         # one scratch array: g², then the denominator, then the step
        M *= b1                                  # M ← β1·M + g        (m = (1 − β1)·M)
        M += g
        np.multiply(g, g, out=step)              # V ← β2·V + g²       (v = (1 − β2)·V)
        V *= b2
        V += step
        # m̂ = M·(1 − β1)/(1 − β1ᵗ) and √v̂ = s·√V with s = √((1 − β2)/(1 − β2ᵗ)), so
        # W ← W − η·m̂/(√v̂ + ε) = W − (η·(1 − β1)/((1 − β1ᵗ)·s))·M / (√V + ε/s)
        s = math.sqrt((1 - b2) / (1 - b2 ** t))   # Python floats: a NumPy float64 would upcast the float32 arrays
        np.sqrt(V, out=step)
        step += self.eps / s
        np.divide(M, step, out=step)
        step *= self.lr * (1 - b1) / ((1 - b1 ** t) * s)
        p -= step

    def moments(self, i):
        """(m, v) of parameter ``i`` as in the formulas above (new arrays)."""
        return (1 - self.beta1) * self.state[(i, "M")], (1 - self.beta2) * self.state[(i, "V")]

    def config(self):
        return {**super().config(), "beta1": self.beta1, "beta2": self.beta2, "eps": self.eps}


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter), as ``torch.optim.AdamW``:

    W ← W − η·λ·W, then the Adam step on the plain gradient (no λ·W in m or v).
    Default λ = 0.01, as in PyTorch.
    """

    def __init__(self, lr: float = 1e-3, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8,
                 weight_decay: float = 0.01):
        super().__init__(lr, beta1, beta2, eps, weight_decay)

    def l2(self, i, p, g):
        return g                                             # no λ·W in the gradient ...

    def update(self, i, p, g):
        if self.weight_decay:
            p *= 1 - self.lr * self.weight_decay             # ... but decoupled decay with the current η
        super().update(i, p, g)

    def config(self):
        return {**super().config(), "weight_decay": self.weight_decay}


REGISTRY = {"sgd": SGD, "momentum": Momentum, "adam": Adam, "adamw": AdamW}
DEFAULT_LR = {"sgd": 0.1, "momentum": 0.01, "adam": 1e-3, "adamw": 1e-3}


def get(name, lr=None, **kwargs) -> Optimizer:
    """An optimizer by name ('sgd', 'momentum', 'adam', 'adamw'); ``lr=None`` takes its default rate."""
    if isinstance(name, Optimizer):
        return name
    cls = REGISTRY.get(name)
    if cls is None:
        raise ConfigError(f"unknown optimizer {name!r} (choose from {', '.join(REGISTRY)})")
    return cls(DEFAULT_LR[name] if lr is None else lr, **kwargs)
