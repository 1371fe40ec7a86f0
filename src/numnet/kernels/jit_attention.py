"""Compiled kernels (numba) for attention and the Transformer's MLP: the attention maps' softmax
and its backward, and GELU, each one compiled loop in place of NumPy's several passes.

The products Q·Kᵀ, P·V and their gradients stay NumPy's batched matmul (BLAS per (sample, head),
written straight into the (N, L, ·) layout through ``out=`` views: no transposed copies, no
concatenation); a loop over the L×L maps of every head measured 10x slower than those products,
and the passes between them (scale, max, exp, sum, divide; softmax's Jacobian) are what the
kernels fuse. The maps are kept transposed (keys × queries, see ``softmax_columns``). They compute what ``MultiHeadSelfAttention`` and ``GELU`` compute with NumPy, in the
same order of operations and the arrays' dtype, except where a docstring says otherwise;
tests/kernels/test_engine_attention.py holds them to it. Serial loops, ``nogil`` (data-parallel
worker threads run them at once), compiled on first use and cached on disk.
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit, types
from numba.extending import overload

_jit = njit(cache=True, nogil=True, error_model="numpy")


# e^x for float32 x ≤ 0 in multiplications and adds only, so that loops over it vectorise (libm's
# expf does not): x = n·ln 2 + r, |r| ≤ ln 2/2, e^r by Cephes' expf polynomial, 2^n from a table;
# within 1e-7 relative (an ulp) of e^x, 0 below −104
_POW2 = np.array([2.0 ** k for k in range(-150, 1)], dtype=np.float32)


@njit(inline="always", error_model="numpy")
def exp_neg32(x):
    t = np.float32
    v = max(x, t(-104))
    n = np.floor(v * t(1.44269504088896341) + t(0.5))
    r = v - n * t(0.693359375)
    r = r - n * t(-2.12194440e-4)
    p = (((((t(1.9875691500e-4) * r + t(1.3981999507e-3)) * r + t(8.3334519073e-3)) * r + t(4.1665795894e-2)) * r
          + t(1.6666665459e-1)) * r + t(5.0000001201e-1)) * (r * r) + r + t(1)
    e = p * _POW2[min(max(int(n) + 150, 0), 150)]
    return x if np.isnan(x) else e                # NaN stays NaN


def exp_neg(x):
    """e^x for x ≤ 0: ``exp_neg32`` for float32, else NumPy's exp (in compiled code, see the overload)."""
    return np.exp(x)


@overload(exp_neg)
def _exp_neg(x):
    if x == types.float32:
        return lambda x: exp_neg32(x)
    return lambda x: np.exp(x)


@_jit
def softmax_columns(ST, L, scale):
    """The attention maps from the transposed scores Sᵀ = K·Qᵀ (…, L keys, L queries), in place: per
    query (column) i, s = Sᵀ[:, i]·scale, P[i] = e^(s − max s) / Σ e^(s − max s), stored as Pᵀ.

    ST: the (…, L, L) array flattened (C-contiguous), ``scale`` in its dtype. Column-wise, the
    innermost loops run over queries in contiguous memory and vectorise: 3x faster than row by row
    over the 17 keys of a ViT's maps."""
    LL = L * L
    top = np.empty(L, dtype=ST.dtype)
    total = np.empty(L, dtype=ST.dtype)
    for b in range(ST.size // LL):
        blk = ST[b * LL:(b + 1) * LL]         # one (sample, head): blk[t·L + i] = S[i, t]
        for i in range(L):
            top[i] = blk[i] * scale
        for t in range(L):
            for i in range(L):
                s = blk[t * L + i] * scale
                blk[t * L + i] = s
                top[i] = max(top[i], s)
        total[:] = 0
        for t in range(L):
            for i in range(L):
                e = exp_neg(blk[t * L + i] - top[i])
                blk[t * L + i] = e
                total[i] += e
        for t in range(L):
            for i in range(L):
                blk[t * L + i] = blk[t * L + i] / total[i]


@_jit
def softmax_columns_backward(PT, dPT, L, scale):
    """dPᵀ ← scale·Pᵀ ⊙ (dPᵀ − Σ_keys dPᵀ ⊙ Pᵀ), in place (softmax's Jacobian for each query's
    column, then the 1/√d of the scores folded in, so that dQ = dS·K and dK = dSᵀ·Q). PT, dPT: the
    (…, L, L) transposed maps and their gradients, flattened."""
    LL = L * L
    dot = np.empty(L, dtype=PT.dtype)
    for b in range(PT.size // LL):
        p, g = PT[b * LL:(b + 1) * LL], dPT[b * LL:(b + 1) * LL]
        dot[:] = 0
        for t in range(L):
            for i in range(L):
                dot[i] += g[t * L + i] * p[t * L + i]
        for t in range(L):
            for i in range(L):
                g[t * L + i] = p[t * L + i] * (g[t * L + i] - dot[i]) * scale


@_jit
def gelu(x, y, cdf, keep):
    """y = x·Φ(x), Φ(x) = (1 + erf(x/√2))/2 (flat arrays); with ``keep`` Φ(x) is stored in cdf for
    backward (else cdf may be empty)."""
    t = x.dtype.type
    r2 = t(1 / math.sqrt(2))
    for i in range(x.size):
        v = x[i]
        c = t(0.5) * (t(1) + math.erf(v * r2))
        y[i] = v * c
        if keep:
            cdf[i] = c


# erf(z) ≈ z·p(z²)/q(z²) on [−4, 4] (±1 in float32 beyond): Eigen's rational approximation for
# float32, |error| < 5e-7; only multiplications and adds, so the loop vectorises (libm's erf does not)
_ERF_P = (-2.72614225801306e-10, 2.77068142495902e-08, -2.10102402082508e-06, -5.69250639462346e-05,
          -7.34990630326855e-04, -2.95459980854025e-03, -1.60960333262415e-02)
_ERF_Q = (-1.45660718464996e-05, -2.13374055278905e-04, -1.68282697438203e-03, -7.37332916720468e-03,
          -1.42647390514189e-02)


@_jit
def gelu_float32(x, y, slope, keep):
    """``gelu`` for float32 arrays with erf from the rational approximation above (GELU within 1e-6
    of the exact one: float32's rounding of values about 10); with ``keep`` it stores the derivative
    slope = Φ(x) + x·φ(x), φ(x) = e^(−x²/2)/√(2π) (``exp_neg32``), so that backward is one product."""
    t = np.float32
    p0, p1, p2, p3, p4, p5, p6 = _ERF_P
    q0, q1, q2, q3, q4 = _ERF_Q
    p0, p1, p2, p3, p4, p5, p6 = t(p0), t(p1), t(p2), t(p3), t(p4), t(p5), t(p6)
    q0, q1, q2, q3, q4 = t(q0), t(q1), t(q2), t(q3), t(q4)
    r2, r2pi = t(1 / math.sqrt(2)), t(1 / math.sqrt(2 * math.pi))
    for i in range(x.size):
        v = x[i]
        z = min(max(v * r2, t(-4)), t(4))
        z2 = z * z
        num = z * ((((((p0 * z2 + p1) * z2 + p2) * z2 + p3) * z2 + p4) * z2 + p5) * z2 + p6)
        den = (((q0 * z2 + q1) * z2 + q2) * z2 + q3) * z2 + q4
        c = t(0.5) * (t(1) + num / den)
        y[i] = v * c
        if keep:
            slope[i] = c + v * exp_neg32(t(-0.5) * v * v) * r2pi
