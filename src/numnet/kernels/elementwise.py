"""Element-wise derivatives: the NumPy formula, or its compiled loop with the numba engine."""
from __future__ import annotations

import numpy as np

from . import engine


def flat(x):
    """x's elements as a 1-D view in memory order (x contiguous in some order of its axes), else None."""
    if x.flags.c_contiguous:
        return x.reshape(-1)
    f = x.ravel(order="K")
    return f if f.base is not None and np.shares_memory(f, x) else None


def relu_backward(grad, a):
    """∂L/∂z = ∂L/∂a ⊙ 1[a > 0] for a = ReLU(z) (two NumPy passes; one compiled loop)."""
    jit = engine.jit()
    if jit is not None and grad.dtype == a.dtype and grad.strides == a.strides and grad.shape == a.shape:
        g, a1 = flat(grad), flat(a)
        if g is not None and a1 is not None:
            dz = np.empty_like(grad)             # a's memory layout
            jit.relu_backward(g, a1, flat(dz))
            return dz
    return grad * (a > 0)
