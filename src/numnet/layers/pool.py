"""Pooling: max, average and global average over windows of image batches (N, C, H, W)."""
from __future__ import annotations

import numpy as np

from ..errors import ConfigError
from ..functional import pair
from ..kernels import max_pool, max_pool_backward, pool_windows
from .base import Layer


class _Pool2D(Layer):
    """Shared shape logic of the k×k pooling layers (stride defaults to k; no padding)."""

    def __init__(self, kernel_size=2, stride=None):
        self.kernel_size = pair(kernel_size, "kernel_size")
        self.stride = pair(stride if stride is not None else kernel_size, "stride")
        if min(*self.kernel_size, *self.stride) < 1:
            raise ConfigError(f"invalid pooling sizes: kernel {kernel_size}, stride {stride}")

    def _check(self, x):
        H, W = x.shape[-2:]
        if H < self.kernel_size[0] or W < self.kernel_size[1]:
            raise ConfigError(f"{type(self).__name__} window {self.kernel_size} does not fit a {H}x{W} input")

    def takes(self, input_shape):
        return len(input_shape) >= 2

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

    equations = {"forward": "{y} = maxpool({x})   (the largest value of each window)",
                 "backward": "∂L/∂{x} = ∂L/∂{y} at each window's arg-max, 0 elsewhere"}

    def forward(self, x):
        self._check(x)
        self.x = x
        self.y = max_pool(x, self.kernel_size, self.stride)
        return self.y

    def backward(self, grad):
        return max_pool_backward(self.x, self.y, grad, self.kernel_size, self.stride)


class AvgPool2D(_Pool2D):
    """Average pooling, as ``nn.AvgPool2d``: y[n,c,i,j] = (1/(kh·kw)) Σ_{u,v} x[n, c, s·i + u, s·j + v].

    backward: every input of a window gets grad / (kh·kw).
    """

    equations = {"forward": "{y} = avgpool({x})   (the mean of each window)",
                 "backward": "∂L/∂{x} = ∂L/∂{y} / (kh·kw) spread over each window"}

    def forward(self, x):
        self._check(x)
        self.x_shape = x.shape
        views = [view for _, view in pool_windows(x, self.kernel_size, self.stride)]
        y = views[0].copy(order="K")            # keep the input's memory layout
        for view in views[1:]:
            y += view
        y *= 1 / len(views)
        return y

    def backward(self, grad):
        dx = np.zeros(self.x_shape, dtype=grad.dtype)
        g = grad * (1 / (self.kernel_size[0] * self.kernel_size[1]))
        for _, view in pool_windows(dx, self.kernel_size, self.stride):
            view += g
        return dx


class GlobalAvgPool2D(Layer):
    """Mean over the spatial positions: (N, C, H, W) -> (N, C),  y[n,c] = (1/HW) Σ_{i,j} x[n,c,i,j].

    backward: dx[n,c,i,j] = grad[n,c] / (HW).
    """

    equations = {"forward": "{y} = mean of each channel of {x}", "backward": "∂L/∂{x} = ∂L/∂{y} / (H·W) at every position"}

    def forward(self, x):
        self.x_shape = x.shape
        return x.mean(axis=(2, 3))

    def backward(self, grad):
        N, C, H, W = self.x_shape
        return np.broadcast_to((grad / (H * W))[:, :, None, None], self.x_shape).copy()

    def takes(self, input_shape):
        return len(input_shape) == 3

    def output_shape(self, input_shape):
        return (input_shape[0],)
