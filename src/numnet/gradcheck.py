"""Numerical gradients by central differences (seed 001), and checks of backprop against them."""
from __future__ import annotations

import numpy as np


def numerical_gradient(f, x, h: float = 1e-4):
    """∂f/∂x by central differences, one entry at a time (seed 001's ``numerical_gradient``):

    ∂f/∂x_i ≈ (f(x + h·e_i) − f(x − h·e_i)) / (2h)

    ``f`` takes no argument and reads ``x``, which is perturbed in place and restored exactly.
    """
    grad = np.zeros_like(x, dtype=np.float64)
    it = np.nditer(x, flags=["multi_index"], op_flags=["readwrite"])
    for _ in it:
        i = it.multi_index
        saved = x[i].copy()
        x[i] = saved + h
        f_plus = f()
        x[i] = saved - h
        f_minus = f()
        x[i] = saved
        grad[i] = (f_plus - f_minus) / (2 * h)
    return grad


def relative_error(a, n, tiny: float = 1e-12):
    """|a − n| / max(|a|, |n|, tiny), element-wise."""
    a, n = np.asarray(a, np.float64), np.asarray(n, np.float64)
    return np.abs(a - n) / np.maximum(np.maximum(np.abs(a), np.abs(n)), tiny)
