"""Inverted dropout: a layer that behaves differently in training and evaluation."""
from __future__ import annotations

import numpy as np

from ..errors import ConfigError
from .base import Layer


class Dropout(Layer):
    """Inverted dropout, as ``nn.Dropout(p)``.

    training:   y = x ⊙ m / (1 − p),  m_i ~ Bernoulli(1 − p) drawn afresh for every batch
    evaluation: y = x  (the 1/(1 − p) during training keeps E[y] = x, so nothing to rescale)
    backward:   dx = grad ⊙ m / (1 − p)   (identity in evaluation)

    The masks come from a seeded ``numpy.random.Generator``: ``Dropout(p, seed)`` on its own; in a
    ``Sequential``, from a generator seeded by the model's seed (``init_params``), so the same seed
    gives the same masks. ``self.mask`` holds the last mask, scaled (m / (1 − p)).
    """

    equations = {"forward": "{y} = {x}   (off when evaluating; in training {x} ⊙ m / (1 − p))",
                 "backward": "∂L/∂{x} = ∂L/∂{y} ⊙ m / (1 − p)"}

    def __init__(self, p: float = 0.5, seed: int = 0):
        self.p = float(p)
        if not 0 <= self.p < 1:
            raise ConfigError(f"dropout probability must be in [0, 1), got {p}")
        self.seed = int(seed)
        self.rng = np.random.default_rng(self.seed)
        self.mask = None

    def init_params(self, rng):
        self.rng = np.random.default_rng(int(rng.integers(2 ** 63)))

    def forward(self, x):
        if not self.training or self.p == 0:
            self.mask = None
            return x
        dtype = x.dtype if x.dtype in (np.float32, np.float64) else np.float64
        keep = self.rng.random(x.shape, dtype=dtype) >= self.p
        self.mask = np.multiply(keep, 1 / (1 - self.p), dtype=dtype)
        return x * self.mask

    def explain_lines(self, phase):
        if self.training:
            return super().explain_lines(phase)
        return [("{y} = {x}   (evaluation: dropout is off)", "{x} → {y}")] if phase == "forward" else \
            [("∂L/∂{x} = ∂L/∂{y}   (evaluation: the identity; training multiplies by m / (1 − p))", "{dy} → {dx}")]

    def backward(self, grad):
        if self.mask is None:
            return grad
        return grad * self.mask

    def config(self):
        return {"type": "Dropout", "p": self.p, "seed": self.seed}
