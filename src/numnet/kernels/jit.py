"""Compiled kernels (numba): formulas that NumPy runs as several passes, fused into one loop.

Each kernel computes what a readable NumPy rule elsewhere states (the optimizers' ``update``, the
loss's ``forward``/``backward``, ...), in the same order of operations and in the arrays' own
dtype (scalars are passed in that dtype), so float32 results agree with NumPy's to a few ulp;
tests/test_engine.py holds them to it. Loops are serial: with BLAS on every core between
them, parallel loops made training slower (issue 16). ``nogil``: data-parallel worker threads
can run them at once. Compiled on first use, cached on disk (``cache=True``).
"""
from __future__ import annotations

import numpy as np
from numba import njit

_jit = njit(cache=True, nogil=True, error_model="numpy")   # x/0 gives inf as in NumPy (and loops vectorise)


# optimizers: one pass over the flat parameter buffer ------------------------------------------

@_jit
def sgd_step(p, g, lr, wd):
    """W ← W − η·(g + λ·W)   (``SGD.update`` after ``Optimizer.l2``)."""
    for i in range(p.size):
        p[i] -= (g[i] + p[i] * wd) * lr


@_jit
def momentum_step(p, g, v, mu, lr, wd):
    """v ← μ·v + (g + λ·W);   W ← W − η·v   (``Momentum.update``)."""
    for i in range(p.size):
        v[i] = v[i] * mu + (g[i] + p[i] * wd)
        p[i] -= v[i] * lr


@_jit
def adam_step(p, g, m, v, b1, one_minus_b1, b2, one_minus_b2, c_eps, step_size, wd, decay):
    """m ← β1·m + (1 − β1)·g;  v ← β2·v + (1 − β2)·g²;  W ← decay·W − step_size·m/(√v + c·ε)
    with g ← g + λ·W for Adam's L2 (``wd``) and decay = 1 − η·λ for AdamW (``Adam.update``)."""
    for i in range(p.size):
        gi = g[i] + p[i] * wd
        m[i] = m[i] * b1 + gi * one_minus_b1
        v[i] = v[i] * b2 + gi * gi * one_minus_b2
        p[i] = p[i] * decay - m[i] / (np.sqrt(v[i]) + c_eps) * step_size


# losses and activations ------------------------------------------------------------------------

@_jit
def softmax_cross_entropy(z, labels, dz, n):
    """Mean cross-entropy of the logits z (N, K) against integer labels, and its gradient in one
    pass over z: dz = (softmax(z) − onehot(y)) / N (``n``: N in z's dtype). Returns
    −(1/N) Σ_n log softmax(z_n)[y_n], summed in float64 (``SoftmaxCrossEntropy``)."""
    k = z.shape[1]
    total = 0.0
    for r in range(z.shape[0]):
        row, out = z[r], dz[r]
        top = row[0]
        for j in range(1, k):
            top = max(top, row[j])
        s = 0.0
        for j in range(k):
            e = np.exp(row[j] - top)
            out[j] = e
            s += e
        y = labels[r]
        if y < 0 or y >= k:
            raise IndexError("label out of range")
        total += np.log(s) - (row[y] - top)
        for j in range(k):
            out[j] = out[j] / s
        out[y] -= 1
        for j in range(k):
            out[j] /= n
    return total / max(z.shape[0], 1)


@_jit
def relu_backward(grad, a, dz):
    """dz = grad ⊙ 1[a > 0] (flat arrays)."""
    for i in range(a.size):
        dz[i] = grad[i] if a[i] > 0 else 0

