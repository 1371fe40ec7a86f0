"""Pure functions of the tutorials, written once each: the floor every layer, loss and view stands on.

Nothing here keeps state or imports anything of numnet's but its errors. Shapes: row batches,
a sample is a row (N, K); the functions work along the last axis.
"""
from __future__ import annotations

import numpy as np

from .errors import ConfigError

#: uint8 inputs are pixels: x = pixel / 255 (tutorial 1's "normalise to [0, 1]")
PIXEL_SCALE = 1 / 255


def sigmoid(z):
    """σ(z) = 1 / (1 + e^(−z)), computed without overflow for large |z|;  σ′(z) = σ(z)·(1 − σ(z))."""
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1 / (1 + e), e / (1 + e))


def softmax(z):
    """softmax(z)_k = e^(z_k − max z) / Σ_j e^(z_j − max z), row-wise (the max keeps e^z finite)."""
    e = np.exp(z - np.max(z, axis=-1, keepdims=True))
    e /= np.sum(e, axis=-1, keepdims=True)
    return e


def log_softmax(z):
    """log softmax(z) = z − logsumexp(z) = (z − max z) − log Σ e^(z − max z), row-wise."""
    shifted = z - np.max(z, axis=-1, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=-1, keepdims=True))


def one_hot(labels, num_classes: int, dtype=np.float32):
    """Integer labels (N,) -> one-hot rows (N, num_classes): y[n, labels[n]] = 1."""
    labels = np.asarray(labels)
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        raise ConfigError(f"labels must lie in 0..{num_classes - 1}")
    y = np.zeros((len(labels), num_classes), dtype=dtype)
    y[np.arange(len(labels)), labels] = 1
    return y


def smooth_labels(labels, num_classes: int, epsilon: float, dtype=np.float32):
    """Label smoothing (Szegedy et al. 2016): integer labels (N,) -> soft rows (N, K),
    y = (1 − ε)·one_hot(labels) + ε/K. The cross-entropy against them is
    L = (1 − ε)·(−log p_y) + ε·mean_k(−log p_k), PyTorch's ``CrossEntropyLoss(label_smoothing=ε)``."""
    y = one_hot(labels, num_classes, dtype)
    y *= 1 - epsilon
    y += epsilon / num_classes
    return y


def to_float(x, dtype=np.float32, out=None):
    """Model input from user data: uint8 pixels become x = pixel / 255, floats take ``dtype``
    (into ``out`` if given: the training loop's reused batch buffer)."""
    x = np.asarray(x)
    if x.dtype == np.uint8:
        return np.multiply(x, PIXEL_SCALE, dtype=dtype, out=out)
    if out is not None:
        out[...] = x
        return out
    return x.astype(dtype, copy=False)


def true_labels(y):
    """Class ids (N,) of targets given as integer labels, one-hot rows or 0/1 values; None for
    targets that are not classes (regression)."""
    y = np.asarray(y)
    if y.ndim == 1 and y.dtype.kind in "biu":
        return y
    if y.ndim == 2 and y.shape[1] > 1 and np.all((y == 0) | (y == 1)) and np.all(y.sum(axis=1) == 1):
        return y.argmax(axis=1)
    if y.ndim <= 2 and y.size == len(y) and np.all((y == 0) | (y == 1)):
        return y.reshape(-1).astype(np.intp)
    return None


def conv_out_size(size: int, k: int, s: int = 1, p: int = 0) -> int:
    """Output size of a convolution or pooling window: ⌊(size + 2p − k) / s⌋ + 1."""
    return (size + 2 * p - k) // s + 1


def whole(v, name: str = "size", minimum: int | None = 1) -> int:
    """``v`` as an int if it is a whole number ≥ ``minimum`` (5, 5.0, np.int64(5); any sign for
    ``minimum=None``); 10.5, '25', True, inf are refused rather than truncated."""
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, float, np.integer, np.floating)) \
            or isinstance(v, (float, np.floating)) and not np.isfinite(v) or v != int(v) \
            or minimum is not None and v < minimum:
        bound = "" if minimum is None else f" ≥ {minimum}"
        raise ConfigError(f"{name} must be a whole number{bound}, got {v!r}")
    return int(v)


def pair(v, name: str = "size", minimum: int = 1) -> tuple:
    """An int or a pair of ints as (a, b), e.g. a kernel size 5 -> (5, 5)."""
    if isinstance(v, (tuple, list)):
        if len(v) != 2:
            raise ConfigError(f"{name} must be an int or a pair, got {v!r}")
        return whole(v[0], name, minimum), whole(v[1], name, minimum)
    return whole(v, name, minimum), whole(v, name, minimum)
