"""The perceptron of tutorials 4 and 5: one neuron, a step (or sign) output, and Rosenblatt's rule.

    z = w·x + b;   ŷ = step(z) = 1[z ≥ 0]   (or sign(z) ∈ {−1, 1}, tutorial 5)

Learning rule, one sample at a time, only the mistakes move the weights:

    w ← w + η(y − ŷ)·x;   b ← b + η(y − ŷ)

No gradient is involved: step′(z) = 0 wherever it exists, so backpropagation could not train this
neuron. On linearly separable data the rule stops making mistakes after finitely many updates
(Novikoff's theorem: at most (R/γ)² with R = max ‖x‖ and γ the margin); on XOR it never does.
"""
from __future__ import annotations

import numpy as np

from .errors import ConfigError, NonFiniteError
from .layers.activations import Step
from .layers.dense import Dense
from .layers.shape import Flatten

OUTPUTS = {"step": (0, 1), "sign": (-1, 1)}


class Perceptron:
    """A single neuron with a threshold output, trained by the perceptron rule.

    n_features: length of x (inputs are flattened to (N, n_features)); lr: η;
    activation: 'step' (labels 0/1, tutorial 4) or 'sign' (labels −1/1, tutorial 5).
    w: (n_features,), b: float; both start at zero (the rule needs no random start).
    """

    def __init__(self, n_features: int, lr: float = 1.0, activation: str = "step"):
        if activation not in OUTPUTS:
            raise ConfigError(f"activation must be 'step' or 'sign', not {activation!r}")
        if not lr > 0:
            raise ConfigError(f"lr must be positive, not {lr}")
        self.n_features, self.lr, self.activation = int(n_features), float(lr), activation
        self.w = np.zeros(self.n_features)
        self.b = 0.0
        self.history: list[dict] = []
        self.converged = False

    def _rows(self, x):
        x = np.asarray(x)
        if x.dtype == np.uint8:
            x = x / 255.0                       # pixels, as everywhere in numnet: x = pixel / 255
        x = x.reshape(len(x), -1).astype(np.float64, copy=False)
        if x.shape[1] != self.n_features:
            raise ConfigError(f"expected {self.n_features} features per sample, got {x.shape[1]}")
        return x

    def net_input(self, x):
        """z = x·w + b, (N,)."""
        return self._rows(x) @ self.w + self.b

    def predict(self, x):
        """ŷ = step(z) ∈ {0, 1} (or sign(z) ∈ {−1, 1}); z = 0 counts as the positive side."""
        low, high = OUTPUTS[self.activation]
        return np.where(self.net_input(x) >= 0, high, low)

    def layers(self) -> list:
        """The same neuron as layers, for a model file every command reads: Flatten, Dense(n, 1) holding
        w and b, Step: ŷ = step(w·x + b) ∈ {0, 1}, class 1 ("is it D?") where z ≥ 0. A sign perceptron
        becomes the same step (sign(z) = 2·step(z) − 1 draws the same line; the file's classes are 0/1)."""
        dense = Dense(self.n_features, 1, dtype=np.float64)
        dense.W, dense.b = self.w.reshape(1, -1).copy(), np.array([self.b])
        return [Flatten(), dense, Step()]

    def score(self, x, y) -> float:
        """Accuracy: fraction of samples with ŷ = y."""
        return float(np.mean(self.predict(x) == np.asarray(y)))

    def fit(self, x, y, epochs: int = 10, shuffle: bool = True, seed: int = 0, pocket: bool = False,
            progress=None):
        """Apply the rule to every sample, epoch after epoch, until an epoch makes no mistake
        (``converged``) or ``epochs`` have passed. Returns the history: per epoch, the number of
        mistakes (updates) made during it and the training accuracy after it.

        pocket: on data that no line separates the rule never settles (each mistake moves the line);
        keep the weights of the epoch with the best training accuracy instead of the last
        (Gallant's pocket algorithm, checked once per epoch). ``progress(entry)`` after each epoch.
        Raises :class:`~numnet.errors.NonFiniteError` when an epoch leaves a weight that is not finite
        (an infinite η: ∞·0 is NaN), as a diverged network's training does.
        """
        x, y = self._rows(x), np.asarray(y)
        low, high = OUTPUTS[self.activation]
        if len(x) != len(y):
            raise ConfigError(f"{len(x)} samples but {len(y)} labels")
        if not np.isin(y, (low, high)).all():
            raise ConfigError(f"labels for a {self.activation} perceptron must be {low} or {high}")
        rng = np.random.default_rng(seed)
        self.converged = False
        best = (-1.0, self.w.copy(), self.b)
        with np.errstate(invalid="ignore", over="ignore"):      # an infinite η: said once, below
            for _ in range(epochs):
                mistakes = 0
                for i in (rng.permutation(len(x)) if shuffle else range(len(x))):
                    y_hat = high if x[i] @ self.w + self.b >= 0 else low
                    if y_hat != y[i]:
                        delta = self.lr * (y[i] - y_hat)          # η(y − ŷ)
                        self.w += delta * x[i]                    # w ← w + η(y − ŷ)x
                        self.b += delta                           # b ← b + η(y − ŷ)
                        mistakes += 1
                if not (np.isfinite(self.w).all() and np.isfinite(self.b)):
                    raise NonFiniteError(f"diverged at epoch {len(self.history) + 1}: a weight is not finite "
                                         f"(lr {self.lr:g}); try a lower --lr")
                entry = {"epoch": len(self.history) + 1, "mistakes": mistakes,
                         "train_accuracy": float(np.mean(self.predict(x) == y))}
                self.history.append(entry)
                if entry["train_accuracy"] > best[0]:
                    best = (entry["train_accuracy"], self.w.copy(), self.b)
                if progress is not None:
                    progress(entry)
                if mistakes == 0:
                    self.converged = True
                    break
        if pocket and not self.converged:
            _, self.w, self.b = best
        return self.history


def toy_separable(n: int = 100, seed: int = 0):
    """A linearly separable 2-D set: points of two Gaussian blobs, labelled by the side of the
    line x₁ + x₂ = 0 they fall on, with a margin of at least 0.5 (points closer are dropped)."""
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 1.5, size=(4 * n, 2))
    side = x.sum(axis=1) / np.sqrt(2)
    x = x[np.abs(side) >= 0.5][:n]
    return x, (x.sum(axis=1) > 0).astype(np.int64)


def xor():
    """The four points of XOR: no line separates them."""
    return np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]]), np.array([0, 1, 1, 0])
