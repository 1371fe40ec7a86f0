"""2-D convolution on image batches (N, C, H, W), as ``torch.nn.Conv2d``: im2col + one GEMM.

Activations are handed on as (N, C, H, W) views of (H, W, N, C) memory ("spatial-major", see
``numnet.kernels.conv``): shapes and values are NCHW as in PyTorch; only memory differs.
Sizes: Ho = ⌊(H + 2p − kh) / s⌋ + 1, Wo = ⌊(W + 2p − kw) / s⌋ + 1.
"""
from __future__ import annotations

import math

import numpy as np

from .. import init as initializers
from ..errors import ConfigError
from ..functional import conv_out_size, pair, whole
from ..kernels import col2im, im2col, sum_of_products, sum_rows
from .base import Layer


class Conv2D(Layer):
    """2-D convolution (cross-correlation, as ``nn.Conv2d``) with stride s and zero padding p.

    W: (out_channels, in_channels, kh, kw), b: (out_channels,).
    forward:  z[n,o,i,j] = b[o] + Σ_{c,u,v} W[o,c,u,v] · x̃[n, c, s·i + u, s·j + v]   (x̃: x padded by p)
              as one GEMM: Z = X_col · W_matᵀ + b, X_col: (Ho·Wo·N, kh·kw·C) the windows (im2col),
              W_mat: (O, kh·kw·C) the filters as rows
    backward: dW_mat = dZᵀ · X_col      db = Σ_{n,i,j} dz[n,:,i,j]
              dX_col = dZ · W_mat, then col2im: each window's gradient added back at its place
    Input (N, C, H, W); with in_channels = 1 also (N, H, W) (MNIST images as they come).
    """

    param_names = ("W", "b")
    equations = {"forward": "{y} = W ⋆ {x} + b   (Z = X_col·W_matᵀ + b: every filter against every window)",
                 "backward": "∂L/∂W_mat = ∂L/∂Zᵀ·X_col,   ∂L/∂b = Σ ∂L/∂Z,   ∂L/∂{x} = col2im(∂L/∂Z·W_mat)",
                 "shapes": "{X_col}·{W_mat}ᵀ + {b}ᵀ → {Z} → {y}   with W {W}",
                 "backward_shapes": "{dZ}ᵀ·{X_col} → {dW_mat} → {dW},   Σ {dZ} → {db},   "
                                    "{dZ}·{W_mat} → {dX_col} → {dx}"}
    eval_elements = 1 << 22      # evaluation: at most this many im2col entries at once (16 MiB in float32)

    def __init__(self, in_channels: int, out_channels: int, kernel_size=3, stride=1, padding=0,
                 init="he", dtype=np.float32, seed: int = 0):
        self.in_channels, self.out_channels = whole(in_channels, "in_channels"), whole(out_channels, "out_channels")
        self.kernel_size = pair(kernel_size, "kernel_size")
        self.stride = pair(stride, "stride")
        self.padding = pair(padding, "padding", minimum=0)
        if min(self.in_channels, self.out_channels, *self.kernel_size, *self.stride) < 1 or min(self.padding) < 0:
            raise ConfigError(f"invalid Conv2D sizes: channels {in_channels}->{out_channels}, kernel "
                              f"{kernel_size}, stride {stride}, padding {padding}")
        self.init, self.dtype, self.seed = init, np.dtype(dtype), seed
        self._scratch = {}                        # im2col's buffers, reused from batch to batch

    def array_shapes(self):
        return {"W": (self.out_channels, self.in_channels, *self.kernel_size), "b": (self.out_channels,)}

    def init_params(self, rng):
        kh, kw = self.kernel_size
        f = initializers.get(self.init)
        self.W[...] = f(self.W.shape, self.in_channels * kh * kw, self.out_channels * kh * kw, rng)
        self.b[...] = 0

    def forward(self, x):
        self.squeeze = x.ndim == 3
        if self.squeeze:
            x = x[:, None]
        if x.ndim != 4 or x.shape[1] != self.in_channels:
            raise ConfigError(f"Conv2D expects (N, {self.in_channels}, H, W) input, got shape {x.shape}")
        N, C, H, W = x.shape
        (kh, kw), (sh, sw), (ph, pw) = self.kernel_size, self.stride, self.padding
        Ho, Wo = conv_out_size(H, kh, sh, ph), conv_out_size(W, kw, sw, pw)
        if Ho < 1 or Wo < 1:
            raise ConfigError(f"Conv2D kernel {self.kernel_size} does not fit a {H}x{W} input")
        step = max(1, self.eval_elements // (Ho * Wo * kh * kw * C))
        if self.training or N <= step:
            return self._forward(x)
        # evaluation keeps nothing for backward: big batches go through a slice at a time
        z = np.empty((Ho, Wo, N, self.out_channels), dtype=x.dtype)
        for n0 in range(0, N, step):
            z[:, :, n0:n0 + step] = self._forward(x[n0:n0 + step]).transpose(2, 3, 0, 1)
        return z.transpose(2, 3, 0, 1)

    def _forward(self, x):
        self.x_shape = N, C, H, W = x.shape
        Ho, Wo = self.output_shape(x.shape)[1:]
        self.W_mat = self.W.transpose(0, 2, 3, 1).reshape(self.out_channels, -1)   # (O, kh·kw·C)
        self.X_col = im2col(x, self.kernel_size, self.stride, self.padding, self._scratch)
        Z = self.X_col @ self.W_mat.T                                 # (Ho·Wo·N, O): the GEMM
        Z += self.b
        return Z.reshape(Ho, Wo, N, self.out_channels).transpose(2, 3, 0, 1)   # (N, O, Ho, Wo)

    def explain_arrays(self):
        """One sample's windows X_col (Ho·Wo, C·kh·kw), W_mat (O, C·kh·kw), Z = X_col·W_matᵀ + b
        (Ho·Wo, O) and, after backward, ∂L/∂Z, ∂L/∂W_mat, ∂L/∂X_col."""
        O = self.out_channels
        out = {"X_col": self.X_col, "W_mat": self.W_mat, "Z": self.X_col @ self.W_mat.T + self.b}
        if "dZ" in self.__dict__:
            out.update(dZ=self.dZ, dW_mat=self.dW.transpose(0, 2, 3, 1).reshape(O, -1), dX_col=self.dZ @ self.W_mat)
        return out

    def backward(self, dz):
        N, C, H, W = self.x_shape
        (kh, kw), O = self.kernel_size, self.out_channels
        Ho, Wo = dz.shape[2:]
        dZ = dz.transpose(2, 3, 0, 1).reshape(Ho * Wo * N, O)         # a view for spatial-major memory
        if self.explaining:
            self.dZ = dZ
        dW_matT = sum_of_products(self.X_col.T, dZ)                   # dW_matᵀ = X_colᵀ·dZ  (kh·kw·C, O)
        self.dW[...] = dW_matT.reshape(kh, kw, C, O).transpose(3, 2, 0, 1)
        sum_rows(dZ, out=self.db)                                     # db = Σ rows of dZ
        if not self.input_grad:
            return None
        W_k = self.W.transpose(2, 3, 0, 1).reshape(kh * kw, O, C)     # W_mat's columns, one block per (u, v)
        dX_col = np.matmul(dZ, W_k)                                   # dX_col = dZ·W_mat, (kh·kw, Ho·Wo·N, C)
        dx = col2im(dX_col, self.x_shape, self.kernel_size, self.stride, self.padding)
        return dx[:, 0] if self.squeeze else dx

    def takes(self, input_shape):
        """(C, H, W) with C = in_channels, or (H, W) when in_channels = 1, as ``forward`` does."""
        return (len(input_shape) == 3 and input_shape[0] == self.in_channels) or \
            (len(input_shape) == 2 and self.in_channels == 1)

    def values_per_sample(self, input_shape, output_shape):
        """The output, the zero-padded input C·(H + 2p)·(W + 2p) or the im2col windows Ho·Wo·C·kh·kw."""
        c, (h, w) = (input_shape[0] if len(input_shape) == 3 else 1), input_shape[-2:]
        (kh, kw), (ph, pw) = self.kernel_size, self.padding
        return max(math.prod(output_shape), c * (h + 2 * ph) * (w + 2 * pw),
                   output_shape[1] * output_shape[2] * c * kh * kw)

    def output_shape(self, input_shape):
        H, W = input_shape[-2:]
        (kh, kw), (sh, sw), (ph, pw) = self.kernel_size, self.stride, self.padding
        return (self.out_channels, conv_out_size(H, kh, sh, ph), conv_out_size(W, kw, sw, pw))

    def config(self):
        return {"type": "Conv2D", "in_channels": self.in_channels, "out_channels": self.out_channels,
                "kernel_size": list(self.kernel_size), "stride": list(self.stride),
                "padding": list(self.padding), "init": self.init if isinstance(self.init, str) else "he"}
