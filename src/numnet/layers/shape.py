"""Layers that only rearrange values: Flatten, Reshape, Mirror and Shift (backward undoes the rearrangement)."""
from __future__ import annotations

import math

import numpy as np

from ..errors import ConfigError
from ..functional import whole
from .base import Layer


class Flatten(Layer):
    """(N, d1, d2, ...) -> (N, d1·d2·...); backward restores the input shape."""

    equations = {"forward": "{y} = flatten({x})", "backward": "∂L/∂{x} = reshape(∂L/∂{y})"}
    symbol = "x"

    def forward(self, x):
        self.shape = x.shape
        return x.reshape(len(x), -1)

    def backward(self, grad):
        return grad.reshape(self.shape)

    def output_shape(self, input_shape):
        return (math.prod(input_shape),)


class Reshape(Layer):
    """(N, ...) -> (N, *shape), e.g. Reshape((1, 28, 28)) turns MNIST rows into 1-channel images."""

    equations = {"forward": "{y} = reshape({x})", "backward": "∂L/∂{x} = reshape(∂L/∂{y})"}

    def __init__(self, shape):
        self.shape = tuple(whole(s, "shape") for s in shape)

    def forward(self, x):
        self.x_shape = x.shape
        try:
            return x.reshape((len(x),) + self.shape)
        except ValueError:
            raise ConfigError(f"cannot reshape input of shape {x.shape[1:]} to {self.shape}") from None

    def backward(self, grad):
        return grad.reshape(self.x_shape)

    def takes(self, input_shape):
        return math.prod(input_shape) == math.prod(self.shape)

    def output_shape(self, input_shape):
        return self.shape

    def config(self):
        return {"type": "Reshape", "shape": list(self.shape)}


class Mirror(Layer):
    """Images mirrored left-right, (N, ..., H, W) -> the same shape:

        y[..., i, j] = x[..., i, W − 1 − j]          ∂L/∂x[..., i, j] = ∂L/∂y[..., i, W − 1 − j]

    Test-time augmentation for pictures whose mirror image is the same class (clothes, not digits):
    ``numnet ensemble MODEL --mirror`` averages f(x) and f(Mirror(x)).
    """

    equations = {"forward": "{y}[…, j] = {x}[…, W−1−j]", "backward": "∂L/∂{x}[…, j] = ∂L/∂{y}[…, W−1−j]"}
    symbol = "x"

    def forward(self, x):
        return np.ascontiguousarray(x[..., ::-1])

    def backward(self, grad):
        return np.ascontiguousarray(grad[..., ::-1])

    def output_shape(self, input_shape):
        return images(self, input_shape)


class Shift(Layer):
    """Images moved by ``dy`` pixels down and ``dx`` pixels right, zeros coming in at the edges,
    (N, ..., H, W) -> the same shape:

        y[..., i, j] = x[..., i − dy, j − dx]   (0 where i − dy or j − dx falls outside the image)
        ∂L/∂x[..., i, j] = ∂L/∂y[..., i + dy, j + dx]   (0 outside): the gradient moved back

    Test-time augmentation for digits, whose mirror image is another symbol but whose slightly moved
    image is the same digit: ``numnet ensemble MODEL --shift 1`` averages f(x) and f of the four
    one-pixel moves.
    """

    equations = {"forward": "{y}[…, i, j] = {x}[…, i−dy, j−dx]",
                 "backward": "∂L/∂{x}[…, i, j] = ∂L/∂{y}[…, i+dy, j+dx]"}
    symbol = "x"

    def __init__(self, dy: int = 0, dx: int = 0):
        self.dy, self.dx = whole(dy, "dy", minimum=None), whole(dx, "dx", minimum=None)

    def forward(self, x):
        return move(x, self.dy, self.dx)

    def backward(self, grad):
        return move(grad, -self.dy, -self.dx)

    def output_shape(self, input_shape):
        return images(self, input_shape)

    def config(self):
        return {"type": "Shift", "dy": self.dy, "dx": self.dx}


def images(layer, input_shape) -> tuple:
    """The samples' shape, unchanged, if they are images (H, W) or (C, H, W); ConfigError otherwise."""
    if len(input_shape) < 2:
        raise ConfigError(f"{type(layer).__name__} needs images (H, W) or (C, H, W), got samples of shape "
                          f"{tuple(input_shape)}")
    return tuple(input_shape)


def move(a, dy: int, dx: int):
    """``a`` (..., H, W) moved by dy rows down and dx columns right, zeros where nothing came in."""
    out = np.zeros_like(a)
    H, W = a.shape[-2:]
    if abs(dy) < H and abs(dx) < W:
        out[..., max(dy, 0):H + min(dy, 0), max(dx, 0):W + min(dx, 0)] = \
            a[..., max(-dy, 0):H + min(-dy, 0), max(-dx, 0):W + min(-dx, 0)]
    return out
