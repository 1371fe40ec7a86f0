"""Compiled kernels (numba) for the recurrent layers: one time step of RNN, LSTM and GRU past the
BLAS product, forward and backward-through-time, each one pass over the step's (N, G·H) block.

A forward step is ``g = h_{t−1}·W_hhᵀ`` (one GEMM, NumPy/BLAS) then one ``*_step`` call: it adds the
input projection ``A_t = x_t·W_ihᵀ`` (computed for all steps at once, without biases) and the
biases, applies the gates' nonlinearities and the cell update, and writes h_t and what BPTT needs.
A backward step is one ``*_delta`` call then the GEMM ``g = δa_t·W_hh`` that carries δh to the
step before. The formulas and their order of operations are those of the NumPy rules in
``numnet.layers.recurrent`` (σ(a) = (1 + tanh(a/2))/2, the biases added as ((A + b_ih) + b_hh),
δc updated before the gates' deltas, ...), in the arrays' own dtype: float64 agrees with the
NumPy engine to rounding, float32 to a few ulp per step (the kernels' float32 tanh is a rational
approximation, within 7 ulp, where NumPy's vectorised one is not available to numba);
tests/kernels/test_engine_recurrent.py holds them to it.

Shapes: N rows (the batch), H hidden units, gates stacked in blocks of H columns as in the
weights (LSTM i, f, g, o; GRU r, z, n). Outputs must not overlap inputs: LLVM checks that at run
time and falls back to a scalar loop, 5x slower (the layers pass distinct arrays). Each row's
loops touch few arrays, so that LLVM vectorises them. Serial loops, ``nogil`` (data-parallel
workers run them at once), compiled on first use and cached on disk.
"""
from __future__ import annotations

import numpy as np
from numba import njit, types
from numba.extending import overload

_jit = njit(cache=True, nogil=True, error_model="numpy")


def _tanh(a):
    """tanh(a): libm's for float64; for float32 a rational approximation that compiles to SIMD
    loops (libm's tanhf is a call per element, 40x slower than NumPy's vectorised tanh here)."""
    return np.tanh(a)


def _tanh_float32(a):
    """tanh(a) ≈ a·P(a²)/Q(a²) on a clamped to ±7.9053 (Eigen's ``generic_fast_tanh_float``, float32
    arithmetic): within 7 ulp of tanh, 1 on average; NumPy's float32 tanh is within 1.4 ulp."""
    x = min(max(a, np.float32(-7.90531110763549805)), np.float32(7.90531110763549805))
    x2 = x * x
    p = x2 * np.float32(-2.76076847742355e-16) + np.float32(2.00018790482477e-13)
    p = x2 * p + np.float32(-8.60467152213735e-11)
    p = x2 * p + np.float32(5.12229709037114e-08)
    p = x2 * p + np.float32(1.48572235717979e-05)
    p = x2 * p + np.float32(6.37261928875436e-04)
    p = x2 * p + np.float32(4.89352455891786e-03)
    q = x2 * np.float32(1.19825839466702e-06) + np.float32(1.18534705686654e-04)
    q = x2 * q + np.float32(2.26843463243900e-03)
    q = x2 * q + np.float32(4.89352518554385e-03)
    return x * p / q


@overload(_tanh, inline="always")
def _tanh_typed(a):
    if a == types.float32:
        return _tanh_float32
    return lambda a: np.tanh(a)


@njit(inline="always")
def _sigmoid(a, half):
    """σ(a) = (1 + tanh(a/2))/2 as ``_sigmoid_``: a·½, tanh, ·½, +½, each rounded in a's dtype."""
    return _tanh(a * half) * half + half


# RNN ---------------------------------------------------------------------------------------------

@_jit
def rnn_step(g, A, b_ih, b_hh, h):
    """h_t = tanh(g + ((A_t + b_ih) + b_hh)) with g = h_{t−1}·W_hhᵀ   (g, A_t, h (N, H))."""
    for n in range(g.shape[0]):
        gn, An, hn = g[n], A[n], h[n]
        for j in range(g.shape[1]):
            hn[j] = _tanh(gn[j] + ((An[j] + b_ih[j]) + b_hh[j]))


@_jit
def rnn_delta(g, dH, h, da):
    """δh = g + dH_t (g = δa_{t+1}·W_hh, 0 at t = T);  δa_t = δh ⊙ (1 − h_t²)."""
    one = h.dtype.type(1)
    for n in range(g.shape[0]):
        gn, dHn, hn, dan = g[n], dH[n], h[n], da[n]
        for j in range(g.shape[1]):
            dan[j] = (gn[j] + dHn[j]) * (one - hn[j] * hn[j])


# LSTM --------------------------------------------------------------------------------------------

@_jit
def lstm_step(g, A, b_ih, b_hh, c_prev, gate, c, tanh_c, h):
    """a = g + ((A_t + b_ih) + b_hh) (N, 4H);  gate = [σ(a_i), σ(a_f), tanh(a_g), σ(a_o)];
    c_t = f ⊙ c_{t−1} + i ⊙ g;  tanh_c = tanh(c_t);  h_t = o ⊙ tanh(c_t).
    The four blocks run as one loop, gate = tanh(a·s)·s + u with s = ½, u = ½ for σ and s = 1,
    u = 0 for tanh (exact: the same numbers as σ and tanh apart)."""
    H = h.shape[1]
    s, u = np.full(4 * H, 0.5, dtype=h.dtype), np.full(4 * H, 0.5, dtype=h.dtype)
    s[2 * H:3 * H], u[2 * H:3 * H] = 1, 0
    for n in range(g.shape[0]):
        gn, An, gate_n = g[n], A[n], gate[n]
        for k in range(4 * H):
            gate_n[k] = _tanh((gn[k] + ((An[k] + b_ih[k]) + b_hh[k])) * s[k]) * s[k] + u[k]
        cp, cn, tcn, hn = c_prev[n], c[n], tanh_c[n], h[n]
        for j in range(H):
            ct = gate_n[H + j] * cp[j] + gate_n[j] * gate_n[2 * H + j]
            cn[j] = ct
            tc = _tanh(ct)
            tcn[j] = tc
            hn[j] = gate_n[3 * H + j] * tc


@_jit
def lstm_delta(g, dH, dc, gate, tanh_c, c_prev, da):
    """δh = g + dH_t;  δc ← δc + δh ⊙ o ⊙ (1 − tanh²c_t);
    δa = [δc⊙g⊙i(1−i), δc⊙c_{t−1}⊙f(1−f), δc⊙i⊙(1−g²), δh⊙tanh(c_t)⊙o(1−o)];  δc ← δc ⊙ f.
    (Two loops per row, each over few arrays: with all of them in one, LLVM did not vectorise it.)"""
    H = dc.shape[1]
    one = dc.dtype.type(1)
    for n in range(g.shape[0]):
        gn, dHn, dcn, tcn, cp = g[n], dH[n], dc[n], tanh_c[n], c_prev[n]
        i, f, gg, o = gate[n, :H], gate[n, H:2 * H], gate[n, 2 * H:3 * H], gate[n, 3 * H:]
        da_i, da_f, da_g, da_o = da[n, :H], da[n, H:2 * H], da[n, 2 * H:3 * H], da[n, 3 * H:]
        for j in range(H):
            dh = gn[j] + dHn[j]
            tc = tcn[j]
            dcn[j] = dcn[j] + dh * o[j] * (one - tc * tc)
            da_o[j] = dh * tc * (o[j] * (one - o[j]))
        for j in range(H):
            d = dcn[j]
            da_i[j] = d * gg[j] * (i[j] * (one - i[j]))
            da_f[j] = d * cp[j] * (f[j] * (one - f[j]))
            da_g[j] = d * i[j] * (one - gg[j] * gg[j])
            dcn[j] = d * f[j]


# GRU ---------------------------------------------------------------------------------------------

@_jit
def gru_step(g, A, b_ih, b_hh, h_prev, gate, m, h):
    """With g = h_{t−1}·W_hhᵀ (N, 3H): [r, z] = σ(((A_t + b_ih) + b_hh) + g) on the first 2H columns;
    m = g_n + b_hn;  n = tanh(r ⊙ m + (A_n + b_in));  h_t = (h_{t−1} − n) ⊙ z + n."""
    H = h.shape[1]
    half = h.dtype.type(0.5)
    b_in, b_hn = b_ih[2 * H:], b_hh[2 * H:]
    for n in range(g.shape[0]):
        gn, An, gate_n, mn, hp, hn = g[n], A[n], gate[n], m[n], h_prev[n], h[n]
        for k in range(2 * H):
            gate_n[k] = _sigmoid(((An[k] + b_ih[k]) + b_hh[k]) + gn[k], half)
        r, g_n, A_n, nt = gate_n[:H], gn[2 * H:], An[2 * H:], gate_n[2 * H:]
        for j in range(H):
            mn[j] = g_n[j] + b_hn[j]
            nt[j] = _tanh(r[j] * mn[j] + (A_n[j] + b_in[j]))
        z = gate_n[H:2 * H]
        for j in range(H):
            hn[j] = (hp[j] - nt[j]) * z[j] + nt[j]


@_jit
def gru_delta(dhz, g, dH, gate, m, h_prev, da_x, da_h):
    """δh = (dhz + g) + dH_t, where dhz = δh_{t+1} ⊙ z_{t+1} and g = δa^h_{t+1}·W_hh (both 0 at t = T);
    δa_n = δh⊙(1−z)⊙(1−n²);  δa_r = δa_n⊙m⊙r(1−r);  δa_z = δh⊙(h_{t−1}−n)⊙z(1−z);
    da_x = [δa_r, δa_z, δa_n], da_h = [δa_r, δa_z, δa_n ⊙ r];  dhz ← δh ⊙ z.
    (Three loops per row, each over few arrays, so that LLVM vectorises them.)"""
    H = dhz.shape[1]
    one = dhz.dtype.type(1)
    for n in range(g.shape[0]):
        dh, gn, dHn, hp, mn = dhz[n], g[n], dH[n], h_prev[n], m[n]        # dh: δh, then δh ⊙ z
        r, z, nt = gate[n, :H], gate[n, H:2 * H], gate[n, 2 * H:]
        dx_r, dx_z, dx_n = da_x[n, :H], da_x[n, H:2 * H], da_x[n, 2 * H:]
        dh_r, dh_z, dh_n = da_h[n, :H], da_h[n, H:2 * H], da_h[n, 2 * H:]
        for j in range(H):
            d = (dh[j] + gn[j]) + dHn[j]
            dh[j] = d
            dx_n[j] = d * (one - z[j]) * (one - nt[j] * nt[j])
        for j in range(H):
            d = dh[j]
            daz = d * (hp[j] - nt[j]) * (z[j] * (one - z[j]))
            dx_z[j] = daz
            dh_z[j] = daz
            dh[j] = d * z[j]
        for j in range(H):
            dan = dx_n[j]
            dar = dan * mn[j] * (r[j] * (one - r[j]))
            dx_r[j] = dar
            dh_r[j] = dar
            dh_n[j] = dan * r[j]
