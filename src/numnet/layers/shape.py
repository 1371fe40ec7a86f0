"""Layers that only rearrange values: Flatten and Reshape (backward undoes the rearrangement)."""
from __future__ import annotations

import math

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
