"""Convolution and pooling layers on image batches (N, C, H, W), as ``torch.nn.Conv2d`` & co.

Conv2D is im2col + one GEMM, with the batch *inside* the image in memory: activations live as
(H, W, N, C) arrays ("spatial-major"), handed from layer to layer as (N, C, H, W) *views*. Shapes and
values are NCHW as in PyTorch; only memory differs. Why: the GEMM's rows are the output positions
(i, j, n), so its (Ho·Wo·N, O) result is already the next activation, and everything that moves
windows around — pooling's strided views, col2im's shifted adds — works on blocks of N·C contiguous
floats (1024 for a batch of 32 with 32 channels) instead of C: pooling and col2im run 1.4-2.3x faster
than with channels-last (N, H, W, C) memory. Element-wise layers (ReLU, BatchNorm, pooling) keep the
layout, and a convolution's backward gets dL/dz as a free (Ho·Wo·N, O) view.

Sizes: Ho = ⌊(H + 2p − kh) / s⌋ + 1, Wo = ⌊(W + 2p − kw) / s⌋ + 1.
"""
from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import as_strided

from . import init as initializers
from .errors import ConfigError
from .layers import REGISTRY, Layer


def _pair(v, name):
    if isinstance(v, (tuple, list)):
        if len(v) != 2:
            raise ConfigError(f"{name} must be an int or a pair, got {v!r}")
        a, b = int(v[0]), int(v[1])
    else:
        a = b = int(v)
    return a, b


def _out_size(size, k, s, p):
    return (size + 2 * p - k) // s + 1


class Conv2D(Layer):
    """2-D convolution (cross-correlation, as ``nn.Conv2d``) with stride s and zero padding p.

    W: (out_channels, in_channels, kh, kw), b: (out_channels,).
    forward:  z[n,o,i,j] = b[o] + Σ_{c,u,v} W[o,c,u,v] · x̃[n, c, s·i + u, s·j + v]   (x̃: x padded by p)
              as one GEMM: Z = X_col · W_matᵀ + b, X_col: (N·Ho·Wo, kh·kw·C) the windows (im2col)
    backward: dW_mat = dZᵀ · X_col      db = Σ_{n,i,j} dz[n,:,i,j]
              dX_col = dZ · W_mat, then col2im: each window's gradient added back at its place
              (one strided add per kernel position (u, v), kh·kw in all).
    Input (N, C, H, W); with in_channels = 1 also (N, H, W) (MNIST images as they come).
    """

    param_names = ("W", "b")
    few_channels = 4             # inputs with at most this many channels gather X_col position by position
    eval_elements = 1 << 22      # evaluation: at most this many im2col entries at once (16 MiB in float32)

    def __init__(self, in_channels: int, out_channels: int, kernel_size=3, stride=1, padding=0,
                 init="he", dtype=np.float32, seed: int = 0):
        self.in_channels, self.out_channels = int(in_channels), int(out_channels)
        self.kernel_size = _pair(kernel_size, "kernel_size")
        self.stride = _pair(stride, "stride")
        self.padding = _pair(padding, "padding")
        if min(self.in_channels, self.out_channels, *self.kernel_size, *self.stride) < 1 or min(self.padding) < 0:
            raise ConfigError(f"invalid Conv2D sizes: channels {in_channels}->{out_channels}, kernel "
                              f"{kernel_size}, stride {stride}, padding {padding}")
        self.init = init
        kh, kw = self.kernel_size
        self.W = np.empty((self.out_channels, self.in_channels, kh, kw), dtype=dtype)
        self.b = np.zeros(self.out_channels, dtype=dtype)
        self.dW, self.db = np.zeros_like(self.W), np.zeros_like(self.b)
        self._scratch = {}
        self.init_params(np.random.default_rng(seed))

    def init_params(self, rng):
        kh, kw = self.kernel_size
        f = initializers.get(self.init)
        self.W[...] = f(self.W.shape, self.in_channels * kh * kw, self.out_channels * kh * kw, rng)
        self.b[...] = 0

    def replica(self):
        twin = super().replica()
        twin._scratch = {}                      # its own im2col buffers
        return twin

    def _buffer(self, name, shape, dtype):
        """Scratch array reused from batch to batch (zeros when first made)."""
        buf = self._scratch.get(name)
        if buf is None or buf.shape != shape or buf.dtype != dtype:
            buf = self._scratch[name] = np.zeros(shape, dtype=dtype)
        return buf

    def forward(self, x):
        self.squeeze = x.ndim == 3
        if self.squeeze:
            x = x[:, None]
        if x.ndim != 4 or x.shape[1] != self.in_channels:
            raise ConfigError(f"Conv2D expects (N, {self.in_channels}, H, W) input, got shape {x.shape}")
        N, C, H, W = x.shape
        (kh, kw), (sh, sw), (ph, pw) = self.kernel_size, self.stride, self.padding
        Ho, Wo = _out_size(H, kh, sh, ph), _out_size(W, kw, sw, pw)
        if Ho < 1 or Wo < 1:
            raise ConfigError(f"Conv2D kernel {self.kernel_size} does not fit a {H}x{W} input")
        self.W_mat = self.W.transpose(0, 2, 3, 1).reshape(self.out_channels, -1)   # (O, kh·kw·C)
        step = max(1, self.eval_elements // (Ho * Wo * kh * kw * C))
        if self.training or N <= step:
            return self._forward(x, Ho, Wo)
        # evaluation keeps nothing for backward: big batches go through a slice at a time
        z = np.empty((Ho, Wo, N, self.out_channels), dtype=x.dtype)
        for n0 in range(0, N, step):
            z[:, :, n0:n0 + step] = self._forward(x[n0:n0 + step], Ho, Wo).transpose(2, 3, 0, 1)
        return z.transpose(2, 3, 0, 1)

    def _forward(self, x, Ho, Wo):
        N, C, H, W = self.x_shape = x.shape
        (kh, kw), (sh, sw), (ph, pw) = self.kernel_size, self.stride, self.padding
        if C <= self.few_channels:
            # few channels (grey images): X_colᵀ as a (kh·kw·C + 1, Ho·Wo·N) array, one contiguous block
            # per kernel position (u, v) (3x faster to gather than rows of kh·kw·C floats), and a last
            # row of ones so that the bias rides in the GEMM: z = [X_col, 1]·[W_mat, b]ᵀ, and in the
            # backward [X_col, 1]ᵀ·dZ gives dW_matᵀ and db together (saves two passes over z and dZ).
            xp = x.transpose(2, 3, 0, 1)                              # (H, W, N, C), a view
            if ph or pw or not xp.flags.c_contiguous:                 # one copy (borders stay 0)
                xp = self._buffer("x_hwnc", (H + 2 * ph, W + 2 * pw, N, C), x.dtype)
                xp[ph:ph + H, pw:pw + W] = x.transpose(2, 3, 0, 1)
            sH, sW, sN, sC = xp.strides          # windows[u, v, c, i, j, n] = xp[s·i + u, s·j + v, n, c]
            windows = as_strided(xp, (kh, kw, C, Ho, Wo, N), (sH, sW, sC, sH * sh, sW * sw, sN), writeable=False)
            K = kh * kw * C
            cols_t = self._buffer("cols_t", (K + 1, Ho * Wo * N), x.dtype)
            np.copyto(cols_t[:K].reshape(kh, kw, C, Ho, Wo, N), windows)
            cols_t[K] = 1
            self.cols = cols_t.T                                      # a view
            z = self.cols @ np.concatenate([self.W_mat, self.b[:, None]], axis=1).T
        else:
            # the windows are gathered from a channels-last (N, H, W, C) copy of x, where a window's
            # kh·kw pieces of C floats lie close together (1.3x faster than from (H, W, N, C) memory)
            xp = self._buffer("x_nhwc", (N, H + 2 * ph, W + 2 * pw, C), x.dtype)   # borders stay 0
            xp[:, ph:ph + H, pw:pw + W] = x.transpose(0, 2, 3, 1)
            sN, sH, sW, sC = xp.strides          # windows[i, j, n, u, v, c] = xp[n, s·i + u, s·j + v, c]
            windows = as_strided(xp, (Ho, Wo, N, kh, kw, C), (sH * sh, sW * sw, sN, sH, sW, sC), writeable=False)
            cols = self._buffer("cols", (Ho, Wo, N, kh, kw, C), x.dtype)        # im2col
            np.copyto(cols, windows)
            self.cols = cols.reshape(Ho * Wo * N, kh * kw * C)
            z = self.cols @ self.W_mat.T                              # (Ho·Wo·N, O): the GEMM
            z += self.b
        return z.reshape(Ho, Wo, N, self.out_channels).transpose(2, 3, 0, 1)

    def backward(self, dz):
        N, C, H, W = self.x_shape
        (kh, kw), (sh, sw), (ph, pw) = self.kernel_size, self.stride, self.padding
        O, Ho, Wo = dz.shape[1:]
        dZ = dz.transpose(2, 3, 0, 1).reshape(Ho * Wo * N, O)       # a view for (H, W, N, C) memory
        dW_matT = _sum_of_products(self.cols.T, dZ)    # dW_matᵀ = X_colᵀ·dZ (kh·kw·C, O): OpenBLAS is
        if len(dW_matT) > kh * kw * C:                 # several times faster than dZᵀ·X_col
            self.db[...] = dW_matT[-1]                 # the row of ones: db = Σ rows of dZ
            dW_matT = dW_matT[:-1]
        else:
            self._sum_rows(dZ, out=self.db)                           # db = Σ rows of dZ
        self.dW[...] = dW_matT.reshape(kh, kw, C, O).transpose(3, 2, 0, 1)
        if not self.input_grad:
            return None
        # dX_col = dZ·W_mat, computed as one (Ho·Wo·N, C) block per kernel position (u, v) (a stack of
        # GEMMs), so that col2im adds contiguous blocks: 4-6x faster than strided slices of dX_col
        W_k = self.W.transpose(2, 3, 0, 1).reshape(kh * kw, O, C)
        dcols = np.matmul(dZ, W_k).reshape(kh, kw, Ho, Wo, N, C)
        dxp = np.zeros((H + 2 * ph, W + 2 * pw, N, C), dtype=dz.dtype)
        for u in range(kh):                                           # col2im
            for v in range(kw):
                window = dxp[u:u + sh * (Ho - 1) + 1:sh, v:v + sw * (Wo - 1) + 1:sw]
                np.add(window, dcols[u, v], out=window)
        dx = dxp[ph:ph + H, pw:pw + W].transpose(2, 3, 0, 1)
        return dx[:, 0] if self.squeeze else dx

    def output_shape(self, input_shape):
        H, W = input_shape[-2:]
        (kh, kw), (sh, sw), (ph, pw) = self.kernel_size, self.stride, self.padding
        return (self.out_channels, _out_size(H, kh, sh, ph), _out_size(W, kw, sw, pw))

    def config(self):
        return {"type": "Conv2D", "in_channels": self.in_channels, "out_channels": self.out_channels,
                "kernel_size": list(self.kernel_size), "stride": list(self.stride),
                "padding": list(self.padding), "init": self.init if isinstance(self.init, str) else "he"}


def _sum_of_products(a, b, rows: int = 1024):
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


def _like(ref, a):
    """``a``'s values in an array laid out in memory like ``ref`` (same shape)."""
    out = np.empty_like(ref, dtype=a.dtype)
    out[...] = a
    return out


class _Pool2D(Layer):
    """Shared shape logic of the k×k pooling layers (stride defaults to k; no padding)."""

    def __init__(self, kernel_size=2, stride=None):
        self.kernel_size = _pair(kernel_size, "kernel_size")
        self.stride = _pair(stride if stride is not None else kernel_size, "stride")
        if min(*self.kernel_size, *self.stride) < 1:
            raise ConfigError(f"invalid pooling sizes: kernel {kernel_size}, stride {stride}")

    def _windows(self, x):
        """The kh·kw strided views x[:, :, u + s·i, v + s·j] (each (N, C, Ho, Wo)), with their (u, v)."""
        (kh, kw), (sh, sw) = self.kernel_size, self.stride
        H, W = x.shape[-2:]
        Ho, Wo = (H - kh) // sh + 1, (W - kw) // sw + 1
        if Ho < 1 or Wo < 1:
            raise ConfigError(f"{type(self).__name__} window {self.kernel_size} does not fit a {H}x{W} input")
        return [((u, v), x[..., u:u + sh * (Ho - 1) + 1:sh, v:v + sw * (Wo - 1) + 1:sw])
                for u in range(kh) for v in range(kw)]

    def output_shape(self, input_shape):
        (kh, kw), (sh, sw) = self.kernel_size, self.stride
        H, W = input_shape[-2:]
        return tuple(input_shape[:-2]) + ((H - kh) // sh + 1, (W - kw) // sw + 1)

    def config(self):
        return {"type": type(self).__name__, "kernel_size": list(self.kernel_size), "stride": list(self.stride)}


class MaxPool2D(_Pool2D):
    """Max pooling, as ``nn.MaxPool2d``: y[n,c,i,j] = max_{u,v} x[n, c, s·i + u, s·j + v].

    backward: the gradient goes to the arg-max of each window (the first one on ties, like PyTorch),
    0 elsewhere; overlapping windows (stride < k) add up.
    """

    def forward(self, x):
        self.x = x
        self.views = views = self._windows(x)
        if len(views) == 1:
            y = views[0][1].copy(order="K")
        else:
            y = np.maximum(views[0][1], views[1][1])   # a ufunc's output keeps the input's memory layout
            for _, view in views[2:]:
                np.maximum(y, view, out=y)
        self.y = y
        return y

    def backward(self, grad):
        x, y = self.x, self.y
        if grad.strides != y.strides:          # e.g. NCHW from Flatten.backward: one copy into y's layout
            grad = _like(y, grad)
        (kh, kw), (sh, sw), (Ho, Wo) = self.kernel_size, self.stride, y.shape[-2:]
        tiled = (sh, sw) == (kh, kw) and x.shape[-2:] == (Ho * kh, Wo * kw)
        dx = np.empty_like(x) if tiled else np.zeros_like(x)   # windows that tile x write every entry
        overlap = any(s < k for s, k in zip(self.stride, self.kernel_size))
        dx_views = dict(self._windows(dx))
        last = len(self.views) - 1
        for i, (uv, view) in enumerate(self.views):
            if i == 0:
                taken = hit = np.equal(view, y)            # *_like / ufunc outputs: y's memory layout
                hit_buffer = np.empty_like(hit)
            else:
                hit = np.equal(view, y, out=hit_buffer)
                np.greater(hit, taken, out=hit)          # hit and not taken: the first max of the window only
                if i < last:
                    taken |= hit
            if overlap:
                dx_views[uv] += grad * hit
            else:
                np.multiply(grad, hit, out=dx_views[uv])
        return dx


class AvgPool2D(_Pool2D):
    """Average pooling, as ``nn.AvgPool2d``: y[n,c,i,j] = (1/(kh·kw)) Σ_{u,v} x[n, c, s·i + u, s·j + v].

    backward: every input of a window gets grad / (kh·kw).
    """

    def forward(self, x):
        self.x_shape, self.x_dtype = x.shape, x.dtype
        views = self._windows(x)
        y = views[0][1].copy(order="K")         # keep the input's memory layout (channels last)
        for _, view in views[1:]:
            y += view
        y *= 1 / len(views)
        return y

    def backward(self, grad):
        dx = np.zeros(self.x_shape, dtype=grad.dtype)
        g = grad * (1 / (self.kernel_size[0] * self.kernel_size[1]))
        for _, view in self._windows(dx):
            view += g
        return dx


class GlobalAvgPool2D(Layer):
    """Mean over the spatial positions: (N, C, H, W) -> (N, C),  y[n,c] = (1/HW) Σ_{i,j} x[n,c,i,j].

    backward: dx[n,c,i,j] = grad[n,c] / (HW).
    """

    def forward(self, x):
        self.x_shape = x.shape
        return x.mean(axis=(2, 3))

    def backward(self, grad):
        N, C, H, W = self.x_shape
        return np.broadcast_to((grad / (H * W))[:, :, None, None], self.x_shape).copy()

    def output_shape(self, input_shape):
        return (input_shape[0],)


class Reshape(Layer):
    """(N, ...) -> (N, *shape), e.g. Reshape((1, 28, 28)) turns MNIST rows into 1-channel images."""

    def __init__(self, shape):
        self.shape = tuple(int(s) for s in shape)

    def forward(self, x):
        self.x_shape = x.shape
        try:
            return x.reshape((len(x),) + self.shape)
        except ValueError:
            raise ConfigError(f"cannot reshape input of shape {x.shape[1:]} to {self.shape}") from None

    def backward(self, grad):
        return grad.reshape(self.x_shape)

    def output_shape(self, input_shape):
        return self.shape

    def config(self):
        return {"type": "Reshape", "shape": list(self.shape)}


REGISTRY.update({cls.__name__: cls for cls in (Conv2D, MaxPool2D, AvgPool2D, GlobalAvgPool2D, Reshape)})
