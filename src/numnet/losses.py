"""Losses. ``forward(output, target)`` returns the mean loss over the batch (a float) and caches
what ``backward()`` needs; ``backward()`` returns dL/d(output), already divided by the batch size N.
"""
from __future__ import annotations

import numpy as np

from .errors import ConfigError
from .functional import log_softmax, one_hot, sigmoid, softmax
from .kernels import engine


class Loss:
    """A loss on the last layer's output. Besides ``forward``/``backward`` it says how that output
    reads as a prediction (``link``): class probabilities and class ids, which every reader of a model
    (``predict_proba``, the ONNX graph, serve) takes from here. ``title``: its name in words, for figures."""

    title = "loss"

    def __call__(self, output, target):
        return self.forward(output, target)

    def config(self):
        return {"type": type(self).__name__}

    def link(self, width: int) -> str:
        """How ``width`` outputs read as class probabilities: ``"softmax"`` — p = softmax(z), K = width
        classes; or one output that answers "is it class 1?" with p, the two classes [1 − p, p]:
        ``"sigmoid"`` — p = σ(z) of a logit z — or ``"probability"`` — p is the output itself
        (clipped to 0..1), for a loss that compares it with the 0/1 target directly."""
        return "softmax"

    def probabilities(self, out):
        """Class probabilities (N, K) from the output, as ``link`` says: softmax of the logits, or
        for one output the two columns [1 − p, p]."""
        link = self.link(out.shape[-1])
        if link == "softmax":
            return softmax(out)
        p = out[:, 0].astype(np.float64)
        p = sigmoid(p) if link == "sigmoid" else np.clip(p, 0, 1)
        return np.stack([1 - p, p], axis=1).astype(out.dtype)

    def predicted_labels(self, out):
        """Class ids (N,) from the output: argmax of the logits, or for one output 1 where p > 0.5
        (for p = σ(z): where z > 0)."""
        link = self.link(out.shape[-1])
        if link == "softmax":
            return out.argmax(axis=1)
        return (out[:, 0] > (0 if link == "sigmoid" else 0.5)).astype(np.intp)


def _as_one_hot(target, z):
    target = np.asarray(target)
    if target.ndim == 1:
        return one_hot(target, z.shape[-1], z.dtype)
    if target.shape != z.shape:
        raise ConfigError(f"target shape {target.shape} does not match output shape {z.shape}")
    return target.astype(z.dtype, copy=False)


def _target_like(target, out):
    """Regression targets shaped like ``out``; integer labels become one-hot rows."""
    target = np.asarray(target)
    if target.ndim == 1 and out.ndim == 2 and out.shape[1] > 1:
        return one_hot(target, out.shape[1], out.dtype)
    return target.astype(out.dtype, copy=False).reshape(out.shape)


class SoftmaxCrossEntropy(Loss):
    """Softmax and cross-entropy fused on the logits z (N, K), numerically stable.

    L = −(1/N) Σ_n Σ_k y_nk · log softmax(z_n)_k
    dL/dz = (softmax(z) − y) / N

    ``target``: integer labels (N,) or one-hot (or soft) rows (N, K). With the numba engine, labels
    take one compiled pass over z that gives L and dL/dz together (``kernels.jit``).
    """

    title = "cross-entropy"

    def forward(self, z, target):
        target = np.asarray(target)
        n = len(z)
        jit, self.dz = engine.jit(), None
        if jit is not None and target.ndim == 1 and z.ndim == 2 and z.flags.c_contiguous and target.dtype.kind in "iu":
            self.dz = np.empty_like(z)
            return float(jit.softmax_cross_entropy(z, target, self.dz, z.dtype.type(n)))
        log_p = log_softmax(z)                              # log softmax(z), stable
        self.p = np.exp(log_p)                              # softmax(z), for the backward pass
        if target.ndim == 1:                                # L = −(1/N) Σ_n log p[n, y_n]
            self.labels, self.y = target, None
            return float(-log_p[np.arange(n), target].sum()) / n
        self.y = _as_one_hot(target, z)
        return float(-np.sum(self.y * log_p) / n)

    def backward(self):
        if self.dz is not None:
            return self.dz
        n = len(self.p)
        dz = self.p.copy()
        if self.y is None:
            dz[np.arange(n), self.labels] -= 1
        else:
            dz -= self.y
        dz /= n
        return dz


class NLLLoss(Loss):
    """Negative log-likelihood of log-probabilities (e.g. from :func:`log_softmax`).

    L = −(1/N) Σ_n log_p[n, y_n];   dL/dlog_p = −y / N  (one-hot y).
    """

    title = "negative log-likelihood"

    def forward(self, log_p, target):
        self.y = _as_one_hot(target, log_p)
        return float(-np.sum(self.y * log_p) / len(log_p))

    def backward(self):
        return -self.y / len(self.y)


class LogSoftmaxNLL(Loss):
    """log-softmax followed by NLL: the same value as SoftmaxCrossEntropy, built in two steps.

    a = log_softmax(z);  L = NLL(a, y);  dL/dz = dL/da − softmax(z) · Σ_k dL/da_k
    """

    title = "cross-entropy (log-softmax + NLL)"

    def forward(self, z, target):
        self.log_p = log_softmax(z)
        self.nll = NLLLoss()
        return self.nll.forward(self.log_p, target)

    def backward(self):
        da = self.nll.backward()
        return da - np.exp(self.log_p) * np.sum(da, axis=1, keepdims=True)


class MSE(Loss):
    """Mean squared error of tutorial 5: L = (1/N) Σ_n Σ_k (ŷ − y)² / K;  dL/dŷ = 2(ŷ − y) / (N·K).

    Integer labels are one-hot encoded first. (Mean over every element, as ``nn.MSELoss``.)
    """

    title = "mean squared error"

    def forward(self, y_hat, target):
        self.diff = y_hat - _target_like(target, y_hat)
        return float(np.mean(self.diff ** 2))

    def backward(self):
        return 2 * self.diff / self.diff.size

    def link(self, width: int) -> str:
        """One output (``--binary D``: a sigmoid output against 0/1 targets): the output is p itself."""
        return "probability" if width == 1 else "softmax"


class MAE(Loss):
    """Mean absolute error of tutorial 5: L = mean |ŷ − y|;  dL/dŷ = sign(ŷ − y) / (N·K)."""

    title = "mean absolute error"

    def forward(self, y_hat, target):
        self.diff = y_hat - _target_like(target, y_hat)
        return float(np.mean(np.abs(self.diff)))

    def backward(self):
        return np.sign(self.diff) / self.diff.size

    def link(self, width: int) -> str:
        """One output (``--binary D``: a sigmoid output against 0/1 targets): the output is p itself."""
        return "probability" if width == 1 else "softmax"


class BinaryCrossEntropy(Loss):
    """Sigmoid and binary cross-entropy fused on the logits z (tutorial 4's worked example).

    a = σ(z);  L = −mean[ y·log a + (1 − y)·log(1 − a) ];  dL/dz = (a − y) / size
    Stable form: L = mean[ max(z, 0) − z·y + log(1 + e^(−|z|)) ].
    One output: targets 0/1 (N,). K outputs: integer labels become one-hot rows (K one-vs-rest
    sigmoids, each with its own BCE).
    """

    title = "binary cross-entropy"

    def forward(self, z, target):
        y = _target_like(target, z)                         # labels (N,) and K > 1 outputs: one-hot
        self.a, self.y = sigmoid(z), y
        return float(np.mean(np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z)))))

    def backward(self):
        return (self.a - self.y) / self.a.size

    def link(self, width: int) -> str:
        """One output: ``"sigmoid"`` (it answers "is it class 1?" with p = σ(z)); K outputs: softmax."""
        return "sigmoid" if width == 1 else "softmax"


def rmse(y_hat, y) -> float:
    """Root mean squared error (a metric): sqrt(mean((ŷ − y)²))."""
    return float(np.sqrt(np.mean((np.asarray(y_hat, float) - np.asarray(y, float)) ** 2)))


REGISTRY = {c.__name__: c for c in (SoftmaxCrossEntropy, NLLLoss, LogSoftmaxNLL, MSE, MAE, BinaryCrossEntropy)}
ALIASES = {"cross_entropy": SoftmaxCrossEntropy, "nll": LogSoftmaxNLL, "mse": MSE, "mae": MAE,
           "bce": BinaryCrossEntropy}


def get(name) -> Loss:
    """A loss by name ('cross_entropy', 'nll', 'mse', 'mae', 'bce' or a class name) or instance."""
    if isinstance(name, Loss):
        return name
    cls = ALIASES.get(name) or REGISTRY.get(name)
    if cls is None:
        raise ConfigError(f"unknown loss {name!r} (choose from {', '.join(ALIASES)})")
    return cls()
