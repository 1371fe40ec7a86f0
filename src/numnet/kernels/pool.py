"""Pooling windows as strided views, max pooling forward and backward."""
from __future__ import annotations

import numpy as np

from . import engine


def pool_windows(x, kernel_size, stride):
    """The kh·kw strided views x[..., u + s·i, v + s·j] (each (..., Ho, Wo)), with their (u, v).
    Ho = ⌊(H − kh)/s⌋ + 1 must be ≥ 1 (the caller checks)."""
    (kh, kw), (sh, sw) = kernel_size, stride
    H, W = x.shape[-2:]
    Ho, Wo = (H - kh) // sh + 1, (W - kw) // sw + 1
    return [((u, v), x[..., u:u + sh * (Ho - 1) + 1:sh, v:v + sw * (Wo - 1) + 1:sw])
            for u in range(kh) for v in range(kw)]


def _spatial(a):
    """a (N, C, H, W) as an (H, W, N·C) view when it is spatial-major in memory (as convolutions
    hand activations on), else None."""
    if a.ndim != 4 or a.dtype.kind != "f" or not a.transpose(2, 3, 0, 1).flags.c_contiguous:
        return None
    N, C, H, W = a.shape
    return a.transpose(2, 3, 0, 1).reshape(H, W, N * C)


def max_pool(x, kernel_size, stride):
    """y[..., i, j] = max_{u,v} x[..., s·i + u, s·j + v], in x's memory layout (kh·kw − 1 passes of
    ``np.maximum``, with either engine: a compiled loop was 2x slower)."""
    views = [view for _, view in pool_windows(x, kernel_size, stride)]
    if len(views) == 1:
        return views[0].copy(order="K")
    y = np.maximum(views[0], views[1])          # a ufunc's output keeps the input's memory layout
    for view in views[2:]:
        np.maximum(y, view, out=y)
    return y


def _like(ref, a):
    """``a``'s values in an array laid out in memory like ``ref`` (same shape)."""
    out = np.empty_like(ref, dtype=a.dtype)
    out[...] = a
    return out


def max_pool_backward(x, y, dy, kernel_size, stride):
    """dx: each dy[..., i, j] goes to the first position (u, v) of its window where x equals the
    maximum y (the first on ties, like PyTorch), 0 elsewhere; overlapping windows add up.

    Done as kh·kw whole-array passes: ``hit`` = (window view == y) and not yet ``taken`` by an
    earlier position; dx_view = dy ⊙ hit (with the numba engine and spatial-major arrays:
    compiled loops, ``jit_conv.max_pool_backward``).
    """
    if dy.strides != y.strides:              # e.g. NCHW from Flatten.backward: one copy into y's layout
        dy = _like(y, dy)
    kernels = engine.conv_kernels()
    xs, ys, dys = (_spatial(a) for a in (x, y, dy)) if kernels is not None else (None,) * 3
    if xs is not None and ys is not None and dys is not None:
        N, C, H, W = x.shape
        dx = np.empty((H, W, N, C), dtype=x.dtype)
        kernels.max_pool_backward(xs, ys, dys, dx.reshape(H, W, N * C), *kernel_size, *stride)
        return dx.transpose(2, 3, 0, 1)
    (kh, kw), (sh, sw), (Ho, Wo) = kernel_size, stride, y.shape[-2:]
    tiled = (sh, sw) == (kh, kw) and x.shape[-2:] == (Ho * kh, Wo * kw)
    dx = np.empty_like(x) if tiled else np.zeros_like(x)   # windows that tile x write every entry
    overlap = sh < kh or sw < kw
    views = pool_windows(x, kernel_size, stride)
    dx_views = dict(pool_windows(dx, kernel_size, stride))
    last = len(views) - 1
    for i, (uv, view) in enumerate(views):
        if i == 0:
            taken = hit = np.equal(view, y)            # *_like / ufunc outputs: y's memory layout
            hit_buffer = np.empty_like(hit)
        else:
            hit = np.equal(view, y, out=hit_buffer)
            np.greater(hit, taken, out=hit)            # hit and not taken: the first max of the window only
            if i < last:
                taken |= hit
        if overlap:
            dx_views[uv] += dy * hit
        else:
            np.multiply(dy, hit, out=dx_views[uv])
    return dx
