"""Optimizers: the update rules as the papers (and the tutorials) write them, matching ``torch.optim``.

``step(params, grads)`` takes lists of arrays (numnet's models pass one flat buffer of all their
parameters and one of all their gradients, so a step is a handful of whole-array passes however
many layers there are) and updates each parameter in place with ``update(p, g, state)``, where
``state`` holds that parameter's buffers (Adam's m and v, ...): named arrays created by
``init_state`` on the first step. The updates are element-wise, so ``update`` on a slice of a
parameter with the same slice of its state is the same computation (``numnet.train.parallel`` uses that).
Each update writes through a scratch array (``tmp``) so that a step allocates nothing.

Speed beside the rule: with the numba engine (``numnet.kernels.engine``) the built-in optimizers
step through ``fused``, the same update as one compiled pass over the buffer instead of NumPy's
five to ten (tests/kernels/test_engine.py checks that the two agree); ``update`` stays the reference.
"""
from __future__ import annotations

import math

import numpy as np

from .errors import ConfigError
from .kernels import engine


class Optimizer:
    """Base class. ``weight_decay`` λ (SGD, Momentum, Adam) is L2 regularisation as in ``torch.optim``:
    the gradient becomes g + λ·W (the gradient of L + (λ/2)·‖W‖²) before the update.
    ``AdamW`` instead decays the weights directly (decoupled weight decay)."""

    state_names = ("tmp",)

    def __init__(self, lr: float, weight_decay: float = 0.0):
        if not lr > 0:
            raise ConfigError(f"learning rate must be positive, got {lr}")
        if not weight_decay >= 0:
            raise ConfigError(f"weight decay must be >= 0, got {weight_decay}")
        self.lr = float(lr)
        self.weight_decay = float(weight_decay)
        self.t = 0          # steps taken
        self.state = {}     # parameter position -> {name: array like the parameter}

    def step(self, params, grads):
        """One step: t ← t + 1, then every parameter updated in place from its gradient."""
        self.t += 1
        for i, (p, g) in enumerate(zip(params, grads)):
            self.apply(p, g, self.state_for(i, p))

    def apply(self, p, g, s):
        """The update of one parameter (or a slice of it) with its state ``s``: ``update`` as written,
        or with the numba engine its ``fused`` twin (same values, one compiled pass)."""
        kernels = engine.jit()
        if kernels is not None and self._fusable() and p.flags.c_contiguous and g.flags.c_contiguous:
            self.fused(kernels, p.reshape(-1), g.reshape(-1), {n: a.reshape(-1) for n, a in s.items()})
        else:
            self.update(p, self.l2(p, g, s), s)

    def _fusable(self) -> bool:
        """Whether ``fused`` computes this optimizer's rule: the class that defines ``fused`` also
        defines the ``update`` and ``l2`` in force (a subclass with its own rule steps as written)."""
        cls = type(self)
        ok = _FUSABLE.get(cls)
        if ok is None:
            owner = next((c for c in cls.__mro__ if "fused" in c.__dict__), Optimizer)
            ok = _FUSABLE[cls] = (owner is not Optimizer and owner.__dict__.get("update") is cls.update
                                  and cls.l2 is next(c for c in owner.__mro__ if "l2" in c.__dict__).l2)
        return ok

    def fused(self, kernels, p, g, s):
        raise NotImplementedError

    def state_for(self, i, p) -> dict:
        """The state of parameter ``i``, zeros (shaped like ``p``) on first use."""
        s = self.state.get(i)
        if s is None:
            names = self.state_names + (("l2",) if self.weight_decay and type(self).l2 is Optimizer.l2 else ())
            s = self.state[i] = {name: np.zeros_like(p) for name in names}
        return s

    def l2(self, p, g, s):
        """g + λ·W (in the state's scratch ``l2``; the gradient itself is left alone); g when λ = 0."""
        if not self.weight_decay:
            return g
        gw = s["l2"]
        np.multiply(p, self.weight_decay, out=gw)
        gw += g
        return gw

    def update(self, p, g, s):
        raise NotImplementedError

    def config(self):
        cfg = {"type": type(self).__name__.lower(), "lr": self.lr}
        if self.weight_decay:
            cfg["weight_decay"] = self.weight_decay
        return cfg


class SGD(Optimizer):
    """Plain gradient descent: W ← W − η·∂L/∂W."""

    def update(self, p, g, s):
        step = s["tmp"]
        np.multiply(g, self.lr, out=step)        # η·g
        p -= step

    def fused(self, k, p, g, s):
        dt = p.dtype.type
        k.sgd_step(p, g, dt(self.lr), dt(self.weight_decay))


class Momentum(Optimizer):
    """SGD with momentum, as ``torch.optim.SGD(momentum=μ)``:

    v ← μ·v + ∂L/∂W;   W ← W − η·v

    For a constant η this is the same trajectory as the textbook form v ← μ·v − η·∂L/∂W,
    W ← W + v (whose v is −η times ours).
    """

    state_names = ("v", "tmp")

    def __init__(self, lr: float = 0.01, momentum: float = 0.9, weight_decay: float = 0.0):
        super().__init__(lr, weight_decay)
        self.momentum = float(momentum)

    def update(self, p, g, s):
        v, step = s["v"], s["tmp"]
        v *= self.momentum                       # v ← μ·v + g
        v += g
        np.multiply(v, self.lr, out=step)        # W ← W − η·v
        p -= step

    def fused(self, k, p, g, s):
        dt = p.dtype.type
        k.momentum_step(p, g, s["v"], dt(self.momentum), dt(self.lr), dt(self.weight_decay))

    def config(self):
        return {**super().config(), "momentum": self.momentum}


class Adam(Optimizer):
    """Adam with bias correction, as in tutorial 1 (and ``torch.optim.Adam``):

    m ← β1·m + (1 − β1)·g            v ← β2·v + (1 − β2)·g²
    m̂ = m / (1 − β1ᵗ)                v̂ = v / (1 − β2ᵗ)
    W ← W − η·m̂ / (√v̂ + ε)

    ``state``: m and v as written, and one scratch array. The last line is computed without
    forming m̂ and v̂ (two passes fewer): with c = √(1 − β2ᵗ), √v̂ + ε = (√v + c·ε)/c, so
    η·m̂/(√v̂ + ε) = (η·c/(1 − β1ᵗ))·m/(√v + c·ε).
    """

    state_names = ("m", "v", "tmp")

    def __init__(self, lr: float = 1e-3, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8,
                 weight_decay: float = 0.0):
        super().__init__(lr, weight_decay)
        self.beta1, self.beta2, self.eps = float(beta1), float(beta2), float(eps)

    def update(self, p, g, s):
        b1, b2, t = self.beta1, self.beta2, self.t
        m, v, tmp = s["m"], s["v"], s["tmp"]
        m *= b1                                   # m ← β1·m + (1 − β1)·g
        np.multiply(g, 1 - b1, out=tmp)
        m += tmp
        v *= b2                                   # v ← β2·v + (1 − β2)·g²
        np.multiply(g, g, out=tmp)
        tmp *= 1 - b2
        v += tmp
        c = math.sqrt(1 - b2 ** t)                # Python floats: a NumPy float64 would upcast float32 arrays
        np.sqrt(v, out=tmp)                       # W ← W − η·m̂/(√v̂ + ε) = W − (η·c/(1 − β1ᵗ))·m/(√v + c·ε)
        tmp += c * self.eps
        np.divide(m, tmp, out=tmp)
        tmp *= self.lr * c / (1 - b1 ** t)
        p -= tmp

    def fused(self, k, p, g, s, decay=1.0, wd=None):
        b1, b2, t, dt = self.beta1, self.beta2, self.t, p.dtype.type
        c = math.sqrt(1 - b2 ** t)
        k.adam_step(p, g, s["m"], s["v"], dt(b1), dt(1 - b1), dt(b2), dt(1 - b2), dt(c * self.eps),
                    dt(self.lr * c / (1 - b1 ** t)), dt(self.weight_decay if wd is None else wd), dt(decay))

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

    def l2(self, p, g, s):
        return g                                             # no λ·W in the gradient ...

    def update(self, p, g, s):
        if self.weight_decay:
            p *= 1 - self.lr * self.weight_decay             # ... but decoupled decay with the current η
        super().update(p, g, s)

    def fused(self, k, p, g, s):
        super().fused(k, p, g, s, decay=1 - self.lr * self.weight_decay, wd=0.0)

    def config(self):
        return {**super().config(), "weight_decay": self.weight_decay}


_FUSABLE: dict = {}     # class -> whether its ``fused`` is its rule (``Optimizer._fusable``)

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
