"""im2col and col2im: a convolution as one GEMM.

Memory layout. Convolutional activations are *spatial-major*: (H, W, N, C) memory behind the
(N, C, H, W) shape that layers see. im2col's rows are the output positions in the order (i, j, n),
so the GEMM's (Ho·Wo·N, O) result is already the next activation in that layout, and col2im's
shifted adds move blocks of N·C contiguous floats (1024 for 32 images of 32 channels) instead of C.
"""
from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import as_strided

from ..functional import conv_out_size
from . import engine

#: inputs with at most this many channels gather X_col one kernel position at a time
FEW_CHANNELS = 4
#: scratch buffers a convolution keeps at most (beyond this many shapes they are dropped and remade)
SCRATCH_BUFFERS = 6


def _buffer(scratch, name, shape, dtype):
    """A scratch array reused from call to call, kept per shape (a batch and the smaller last batch,
    an evaluation slice and its remainder, each keep theirs instead of reallocating in turn); zeros
    when first made (a padded copy's borders must stay 0); a new one without ``scratch``."""
    if scratch is None:
        return np.zeros(shape, dtype=dtype)
    key = (name, shape, np.dtype(dtype))
    buf = scratch.get(key)
    if buf is None:
        if len(scratch) >= SCRATCH_BUFFERS:
            scratch.clear()
        buf = scratch[key] = np.zeros(shape, dtype=dtype)
    return buf


def im2col(x, kernel_size, stride=(1, 1), padding=(0, 0), scratch=None):
    """The windows of x (N, C, H, W) as the rows of X_col (Ho·Wo·N, kh·kw·C):

        X_col[(i, j, n), (u, v, c)] = x̃[n, c, s·i + u, s·j + v]      (x̃: x zero-padded by p)

    ``scratch``: a dict in which the buffers are kept from call to call (the result is a view of
    one of them, valid until the next call). Two ways to gather, same values:
    few channels (grey images): X_colᵀ, one contiguous block of Ho·Wo·N values per kernel position
    and channel (3x faster than rows of kh·kw·C floats); many channels: from a channels-last copy of
    x, where a window's kh·kw pieces of C floats lie close together (1.3x faster than from
    (H, W, N, C) memory).
    """
    N, C, H, W = x.shape
    (kh, kw), (sh, sw), (ph, pw) = kernel_size, stride, padding
    Ho, Wo = conv_out_size(H, kh, sh, ph), conv_out_size(W, kw, sw, pw)
    if C <= FEW_CHANNELS:
        xp = x.transpose(2, 3, 0, 1)                                  # (H, W, N, C), a view
        if ph or pw or not xp.flags.c_contiguous:                     # one copy (borders stay 0)
            xp = _buffer(scratch, "x_hwnc", (H + 2 * ph, W + 2 * pw, N, C), x.dtype)
            xp[ph:ph + H, pw:pw + W] = x.transpose(2, 3, 0, 1)
        sH, sW, sN, sC = xp.strides          # windows[u, v, c, i, j, n] = xp[s·i + u, s·j + v, n, c]
        windows = as_strided(xp, (kh, kw, C, Ho, Wo, N), (sH, sW, sC, sH * sh, sW * sw, sN), writeable=False)
        cols_t = _buffer(scratch, "cols_t", (kh * kw * C, Ho * Wo * N), x.dtype)
        np.copyto(cols_t.reshape(kh, kw, C, Ho, Wo, N), windows)
        return cols_t.T                                               # a view
    kernels = engine.conv_kernels()
    if kernels is not None and x.transpose(2, 3, 0, 1).flags.c_contiguous:   # spatial-major: compiled
        cols = _buffer(scratch, "cols", (Ho, Wo, N, kh, kw, C), x.dtype)   # gather, straight from x
        kernels.im2col_rows(x.transpose(2, 3, 0, 1), cols, sh, sw, ph, pw)
        return cols.reshape(Ho * Wo * N, kh * kw * C)
    xp = _buffer(scratch, "x_nhwc", (N, H + 2 * ph, W + 2 * pw, C), x.dtype)   # borders stay 0
    xp[:, ph:ph + H, pw:pw + W] = x.transpose(0, 2, 3, 1)
    sN, sH, sW, sC = xp.strides              # windows[i, j, n, u, v, c] = xp[n, s·i + u, s·j + v, c]
    windows = as_strided(xp, (Ho, Wo, N, kh, kw, C), (sH * sh, sW * sw, sN, sH, sW, sC), writeable=False)
    cols = _buffer(scratch, "cols", (Ho, Wo, N, kh, kw, C), x.dtype)
    np.copyto(cols, windows)
    return cols.reshape(Ho * Wo * N, kh * kw * C)


def col2im(dX_col, x_shape, kernel_size, stride=(1, 1), padding=(0, 0)):
    """The adjoint of im2col: dx[n, c, s·i + u − p, s·j + v − p] += dX_col[(i, j, n), (u, v, c)].

    ``dX_col``: (kh·kw, Ho·Wo·N, C), the columns of one kernel position (u, v) in each block (as
    ``np.matmul(dZ, W_k)`` gives them), so that each of the kh·kw shifted adds moves contiguous
    blocks (with the numba engine: the same adds in one compiled loop, ``jit_conv.col2im``).
    Returns dx (N, C, H, W), spatial-major in memory.
    """
    N, C, H, W = x_shape
    (kh, kw), (sh, sw), (ph, pw) = kernel_size, stride, padding
    Ho, Wo = conv_out_size(H, kh, sh, ph), conv_out_size(W, kw, sw, pw)
    kernels = engine.conv_kernels()
    if kernels is not None and dX_col.flags.c_contiguous:            # the same adds in one compiled loop
        dx = np.empty((H, W, N, C), dtype=dX_col.dtype)
        kernels.col2im(dX_col.reshape(kh, kw, Ho, Wo, N * C), dx.reshape(H, W, N * C), sh, sw, ph, pw)
        return dx.transpose(2, 3, 0, 1)
    blocks = dX_col.reshape(kh, kw, Ho, Wo, N, C)
    dxp = np.zeros((H + 2 * ph, W + 2 * pw, N, C), dtype=dX_col.dtype)
    for u in range(kh):
        for v in range(kw):
            window = dxp[u:u + sh * (Ho - 1) + 1:sh, v:v + sw * (Wo - 1) + 1:sw]
            np.add(window, blocks[u, v], out=window)
    return dxp[ph:ph + H, pw:pw + W].transpose(2, 3, 0, 1)


def sum_of_products(a, b, rows: int = 1024):
    """a·b for a (K, R) and b (R, O) with a long inner dimension R and a small K·O result (conv dW).

    For small K (a first layer's kh·kw·C = 25) OpenBLAS runs such long thin products 1.3-2x slower
    than the sum of the products of 1024-column blocks, Σ_j a[:, j]·b[j] (one stacked matmul);
    otherwise one GEMM.
    """
    K, R = a.shape
    if K > 64 or R <= 2 * rows:
        return a @ b
    n = R // rows
    out = np.matmul(a[:, :n * rows].reshape(K, n, rows).transpose(1, 0, 2), b[:n * rows].reshape(n, rows, -1)).sum(axis=0)
    if n * rows < R:
        out += a[:, n * rows:] @ b[n * rows:]
    return out
