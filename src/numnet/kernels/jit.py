"""Compiled kernels (numba): formulas that NumPy runs as several passes, fused into one loop.

Each kernel computes what a readable NumPy rule elsewhere states (the optimizers' ``update``, the
loss's ``forward``/``backward``, ...), in the same order of operations and in the arrays' own
dtype (scalars are passed in that dtype), so float32 results agree with NumPy's to a few ulp;
tests/kernels/test_engine.py holds them to it. Loops are serial: with BLAS on every core between
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
def relu(z, a):
    """a = max(z, 0) (flat arrays; NaN stays NaN as in np.maximum)."""
    for i in range(z.size):
        a[i] = max(z[i], 0)


@_jit
def relu_backward(grad, a, dz):
    """dz = grad ⊙ 1[a > 0] (flat arrays)."""
    for i in range(a.size):
        dz[i] = grad[i] if a[i] > 0 else 0



# inference: an affine map that skips zero inputs ------------------------------------------------

@_jit
def affine_skipping_zeros(x, Wt, b, relu, out):
    """out[n] = b + Σ_{i: x[n,i] ≠ 0} x[n,i]·Wt[i]   (= x·Wt + b), then max(·, 0) if ``relu``.

    x (N, K) pixels (uint8) or activations, Wt (K, O) = Wᵀ with rows contiguous, b (O,),
    out (N, O). A digit's pixels are about 80% zeros and a ReLU layer's outputs about half, so for
    a few rows this reads only the rows of Wt that count (a GEMV reads all of W, 0.8 MB for
    784-256). The sum runs in the order of i, each step a vectorised row update."""
    n, k = x.shape
    o = Wt.shape[1]
    acc = np.empty(o, dtype=Wt.dtype)
    for r in range(n):
        acc[:] = b
        for i in range(k):
            v = x[r, i]
            if v != 0:
                f = Wt.dtype.type(v)
                for j in range(o):
                    acc[j] += f * Wt[i, j]
        if relu:
            for j in range(o):
                out[r, j] = max(acc[j], 0)
        else:
            out[r] = acc


@_jit
def bias_relu(z, b):
    """z ← max(z + b, 0) in place, row by row (z (N, O) C-contiguous, b (O,)): Dense then ReLU."""
    for r in range(z.shape[0]):
        for j in range(z.shape[1]):
            z[r, j] = max(z[r, j] + b[j], 0)


@_jit
def dense_chain_skipping_zeros(x, weights, biases, widths, relus):
    """A few rows through a chain of Dense (+ ReLU) steps, each as ``affine_skipping_zeros``:
    h₀ = x, h_k = ReLU?(h_{k−1}·Wt_k + b_k), in one compiled call (a call costs about a microsecond
    and more for every argument; a batch-1 forward only a few microseconds).

    The steps' arrays lie one after another: ``weights`` holds each Wt_k (widths[k], widths[k+1])
    flattened, ``biases`` each b_k (widths[k+1],); ``relus[k]``: step k ends with a ReLU.
    Returns the last h (N, widths[-1])."""
    n = x.shape[0]
    h = np.empty((n, widths[1]), dtype=weights.dtype)
    affine_skipping_zeros(x, weights[:widths[0] * widths[1]].reshape(widths[0], widths[1]), biases[:widths[1]],
                          relus[0], h)
    w_at, b_at = widths[0] * widths[1], widths[1]
    for k in range(1, len(relus)):
        k_in, k_out = widths[k], widths[k + 1]
        nxt = np.empty((n, k_out), dtype=weights.dtype)
        affine_skipping_zeros(h, weights[w_at:w_at + k_in * k_out].reshape(k_in, k_out), biases[b_at:b_at + k_out],
                              relus[k], nxt)
        w_at, b_at, h = w_at + k_in * k_out, b_at + k_out, nxt
    return h


# the first layer's input -------------------------------------------------------------------------

@_jit
def standardize_pixels(p, scale, mean, inv_std, out):
    """x̂ = (p·(1/255) − μ)·(1/σ) for uint8 pixels p (N, K), μ (K,), in one pass (NumPy: four),
    the same operations in the same order and dtype as ``to_float`` then ``Standardize.forward``."""
    for r in range(p.shape[0]):
        for i in range(p.shape[1]):
            out[r, i] = (out.dtype.type(p[r, i]) * scale - mean[i]) * inv_std
