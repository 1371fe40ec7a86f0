"""Compiled kernels (numba) for normalisation layers: LayerNorm's forward and backward one row
(token) at a time, and BatchNorm's passes over an (M, C) matrix of a channel's values, each one
compiled loop in place of NumPy's several passes.

LayerNorm (``numnet.layers.attention.LayerNorm``), per row x of D features:
    μ = Σx/D,  σ² = Σ(x − μ)²/D,  s = 1/√(σ² + ε),  x̂ = (x − μ)·s,  y = γ ⊙ x̂ + β
    backward: dγ += g ⊙ x̂,  dβ += g (over the rows in order),  ĝ = g ⊙ γ,
              dx = s·(ĝ − Σĝ/D − x̂ ⊙ Σ(ĝ ⊙ x̂)/D)
BatchNorm (``numnet.layers.norm.BatchNorm``): the sums over the batch stay separate calls, so that
data-parallel training can add the workers' parts between them (``BatchNorm.batch_sum``).

Each computes what the layer's NumPy rule computes, in the same order of operations up to the order
of a row's sum, in the arrays' dtype: tests/kernels/test_engine_norm.py holds them to it. Serial
loops, ``nogil``, compiled on first use and cached on disk.
"""
from __future__ import annotations

import numpy as np
from numba import njit

_jit = njit(cache=True, nogil=True, error_model="numpy")


@_jit
def layer_norm(x, gamma, beta, eps, y, x_hat, inv_std, keep):
    """y = γ ⊙ x̂ + β for each row of x (R, D); with ``keep`` x̂ (R, D) and s = 1/√(σ² + ε) (R,) are
    stored for backward (else x_hat may be any (·, D) scratch, only its row 0 is used)."""
    R, D = x.shape
    t = x.dtype.type
    for r in range(R):
        row, xh = x[r], x_hat[r] if keep else x_hat[0]
        mu = t(0)
        for c in range(D):
            mu += row[c]
        mu = mu / t(D)
        var = t(0)
        for c in range(D):
            xc = row[c] - mu
            xh[c] = xc
            var += xc * xc
        s = t(1) / np.sqrt(var / t(D) + eps)
        if keep:
            inv_std[r] = s
        out = y[r]
        for c in range(D):
            xh[c] = xh[c] * s
            out[c] = xh[c] * gamma[c] + beta[c]


@_jit
def layer_norm_backward(grad, x_hat, inv_std, gamma, dgamma, dbeta, dx, input_grad):
    """dγ = Σ_rows g ⊙ x̂,  dβ = Σ_rows g (overwritten), and with ``input_grad``
    dx = s·(ĝ − mean ĝ − x̂ ⊙ mean(ĝ ⊙ x̂)), ĝ = g ⊙ γ, for each row of grad (R, D)."""
    R, D = grad.shape
    t = grad.dtype.type
    dgamma[:] = 0
    dbeta[:] = 0
    for r in range(R):
        g, xh = grad[r], x_hat[r]
        for c in range(D):
            dgamma[c] += g[c] * xh[c]
            dbeta[c] += g[c]
        if input_grad:
            m1, m2 = t(0), t(0)
            for c in range(D):
                gg = g[c] * gamma[c]
                m1 += gg
                m2 += gg * xh[c]
            m1, m2 = m1 / t(D), m2 / t(D)
            s, out = inv_std[r], dx[r]
            for c in range(D):
                out[c] = s * (g[c] * gamma[c] - m1 - xh[c] * m2)


@_jit
def centre_and_square(x, mu, xc, sq):
    """xc = x − μ (x (M, C), μ (C,)) and sq = Σ_rows xc ⊙ xc (C,), one pass: BatchNorm's centred
    values and its variance's sum (accumulated in sq's dtype, float64)."""
    M, C = x.shape
    sq[:] = 0
    for m in range(M):
        for c in range(C):
            v = x[m, c] - mu[c]
            xc[m, c] = v
            sq[c] += v * v


@_jit
def scale_shift(xc, k, beta, y):
    """y = xc ⊙ k + β, row by row (xc, y (M, C), k = γ/√(σ² + ε) and β (C,))."""
    M, C = xc.shape
    for m in range(M):
        for c in range(C):
            y[m, c] = xc[m, c] * k[c] + beta[c]


@_jit
def centre_scale_shift(x, mu, k, beta, y):
    """y = (x − μ) ⊙ k + β, row by row: BatchNorm in evaluation, with the running statistics."""
    M, C = x.shape
    for m in range(M):
        for c in range(C):
            y[m, c] = (x[m, c] - mu[c]) * k[c] + beta[c]


@_jit
def sum_and_dot(dy, xc, total, dot):
    """total = Σ_rows dy and dot = Σ_rows dy ⊙ xc (C,), one pass over (M, C) (accumulated in the
    outputs' dtype, float64)."""
    M, C = dy.shape
    total[:] = 0
    dot[:] = 0
    for m in range(M):
        for c in range(C):
            total[c] += dy[m, c]
            dot[c] += dy[m, c] * xc[m, c]


@_jit
def batch_norm_dx(dy, xc, k, a, b, dx):
    """dx = dy ⊙ k − xc ⊙ a − b, row by row (BatchNorm's training backward, a = k·dγ·s/M and
    b = k·dβ/M per channel)."""
    M, C = dy.shape
    for m in range(M):
        for c in range(C):
            dx[m, c] = dy[m, c] * k[c] - xc[m, c] * a[c] - b[c]
