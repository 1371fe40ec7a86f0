"""Compiled kernels (numba) for convolutional networks: im2col's gather, col2im's shifted adds and
max pooling's backward pass, each one compiled loop in place of NumPy's several passes (the max
pool's forward pass stays NumPy's: its kh·kw ``np.maximum`` passes ran 2x faster than a loop here).

Arrays are indexed (H, W, N, C) or (H, W, P) with P = N·C: the spatial-major memory of conv
activations (``conv.py``), so that the innermost loops run over contiguous memory. The callers
(``conv.py``, ``pool.py``) hand arrays over in that layout and keep NumPy for others; the kernels
themselves take any strides (numba compiles a strided version), only slower. Each computes what
the NumPy function that calls it computes, in the same order of operations (the same sums, the
same first maximum): tests/kernels/test_engine_conv.py holds them to it. Serial loops, ``nogil``
(data-parallel worker threads run them at once), compiled on first use and cached on disk.
"""
from __future__ import annotations

import numpy as np
from numba import njit

_jit = njit(cache=True, nogil=True, error_model="numpy")


@_jit
def im2col_rows(x, cols, sh, sw, ph, pw):
    """cols[i, j, n, u, v, c] = x̃[s·i + u, s·j + v, n, c]   (x (H, W, N, C), x̃: x zero-padded by p;
    cols (Ho, Wo, N, kh, kw, C): X_col with rows (i, j, n) and columns (u, v, c))."""
    H, W, N, C = x.shape
    Ho, Wo, _, kh, kw, _ = cols.shape
    for i in range(Ho):
        for j in range(Wo):
            for n in range(N):
                for u in range(kh):
                    h = sh * i + u - ph
                    for v in range(kw):
                        w = sw * j + v - pw
                        if 0 <= h < H and 0 <= w < W:
                            for c in range(C):
                                cols[i, j, n, u, v, c] = x[h, w, n, c]
                        else:
                            for c in range(C):
                                cols[i, j, n, u, v, c] = 0


@_jit
def col2im(blocks, dx, sh, sw, ph, pw):
    """dx[s·i + u − p, s·j + v − p, q] = Σ_{u,v} blocks[u, v, i, j, q], added one window position
    (u, v) after the other as NumPy's shifted adds do (blocks (kh, kw, Ho, Wo, P): the columns of
    dX_col of each (u, v); dx (H, W, P), overwritten; what falls in the padding is dropped)."""
    kh, kw, Ho, Wo, P = blocks.shape
    H, W, _ = dx.shape
    dx[...] = 0
    for u in range(kh):
        for v in range(kw):
            for i in range(Ho):
                h = sh * i + u - ph
                if h < 0 or h >= H:
                    continue
                for j in range(Wo):
                    w = sw * j + v - pw
                    if w < 0 or w >= W:
                        continue
                    for q in range(P):
                        dx[h, w, q] += blocks[u, v, i, j, q]


@_jit
def max_pool_backward(x, y, dy, dx, kh, kw, sh, sw):
    """dx[s·i + u, s·j + v, q] = Σ dy[i, j, q] over the windows whose first position k = (u, v),
    row by row, with x = the maximum y is this one; 0 elsewhere (a NaN maximum equals no x).
    x, dx (H, W, P); y, dy (Ho, Wo, P); dx is overwritten. Two branch-free passes: ``first`` (the
    k of each window, kh·kw when none), then one pass per k over all windows, so that overlapping
    windows add up in the order of NumPy's passes."""
    Ho, Wo, P = y.shape
    H, W, _ = x.shape
    K = kh * kw
    one = dx.dtype.type
    first = np.full((Ho, Wo, P), K, dtype=np.int32)
    for i in range(Ho):
        for j in range(Wo):
            f = first[i, j]
            for k in range(K - 1, -1, -1):                            # the last match written last: the first
                h, w = sh * i + k // kw, sw * j + k % kw
                for q in range(P):
                    f[q] = k if x[h, w, q] == y[i, j, q] else f[q]
    tiled = sh == kh and sw == kw and H == Ho * kh and W == Wo * kw    # each x in exactly one window
    if not tiled:
        dx[...] = 0
    for k in range(K):
        for i in range(Ho):
            for j in range(Wo):
                h, w, f = sh * i + k // kw, sw * j + k % kw, first[i, j]
                if tiled:                                 # dy ⊙ hit as NumPy's (inf·0 = NaN alike)
                    for q in range(P):
                        dx[h, w, q] = dy[i, j, q] * one(f[q] == k)
                else:
                    for q in range(P):
                        dx[h, w, q] += dy[i, j, q] * one(f[q] == k)
