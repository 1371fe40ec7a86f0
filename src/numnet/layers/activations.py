"""Activation functions of the tutorials, each with its derivative beside it.

Element-wise: a = f(z) and ∂L/∂z = ∂L/∂a ⊙ f′(z). Softmax acts on a whole row.
"""
from __future__ import annotations

import numpy as np

from ..functional import sigmoid, softmax
from ..kernels import relu, relu_backward
from .base import Layer


class ReLU(Layer):
    """ReLU(z) = max(0, z);   dReLU/dz = 1 where z > 0 else 0."""

    equations = {"forward": "{y} = ReLU({x}) = max(0, {x})", "backward": "∂L/∂{x} = ∂L/∂{y} ⊙ 1[{x} > 0]"}
    symbol = "h{k}"

    def forward(self, z):
        self.a = relu(z)                             # max(0, z)
        return self.a

    @property
    def mask(self):
        """dReLU/dz as booleans: z > 0, i.e. a > 0 (computed when needed: evaluation skips it)."""
        return self.a > 0

    def backward(self, grad):
        return relu_backward(grad, self.a)           # grad ⊙ 1[a > 0], i.e. grad ⊙ mask

    def describe(self, z, a):
        zeros = int(np.count_nonzero(a[0] == 0))
        return {"zeros": zeros, "note": f"{zeros} of {a[0].size} units are zero (z ≤ 0)"}

    def describe_backward(self):
        active = int(np.count_nonzero(self.mask[0]))
        return {"mask_active": active, "note": f"ReLU mask: {active} of {self.mask[0].size} units pass the gradient"}


class Sigmoid(Layer):
    """σ(z) = 1 / (1 + e^(−z));   dσ/dz = σ(z)·(1 − σ(z))."""

    equations = {"forward": "{y} = σ({x}) = 1 / (1 + e^(−{x}))", "backward": "∂L/∂{x} = ∂L/∂{y} ⊙ σ({x})·(1 − σ({x}))"}
    symbol = "h{k}"

    def forward(self, z):
        self.a = sigmoid(z)
        return self.a

    def backward(self, grad):
        return grad * self.a * (1 - self.a)


class Tanh(Layer):
    """tanh(z);   dtanh/dz = 1 − tanh(z)²."""

    equations = {"forward": "{y} = tanh({x})", "backward": "∂L/∂{x} = ∂L/∂{y} ⊙ (1 − tanh²({x}))"}
    symbol = "h{k}"

    def forward(self, z):
        self.a = np.tanh(z)
        return self.a

    def backward(self, grad):
        return grad * (1 - self.a * self.a)


class Step(Layer):
    """The perceptron's step (Heaviside) function of tutorial 4: 1 if z ≥ 0 else 0.

    Its derivative is 0 everywhere it exists, so no gradient flows back through it: use it for
    the perceptron, not for networks trained by backpropagation.
    """

    equations = {"forward": "{y} = step({x}) = 1[{x} ≥ 0]", "backward": "∂L/∂{x} = 0   (step′ = 0 almost everywhere)"}
    symbol = "h{k}"

    def forward(self, z):
        return (z >= 0).astype(z.dtype)

    def backward(self, grad):
        return np.zeros_like(grad)


class Sign(Layer):
    """The sign function of tutorial 5's perceptron: 1 if z ≥ 0 else −1 (the step function, scaled
    to ±1: sign(z) = 2·step(z) − 1). Like the step, its derivative is 0 almost everywhere, so
    backpropagation gets no signal through it.
    """

    equations = {"forward": "{y} = sign({x}) = ±1", "backward": "∂L/∂{x} = 0   (sign′ = 0 almost everywhere)"}
    symbol = "h{k}"

    def forward(self, z):
        return np.where(z >= 0, 1, -1).astype(z.dtype)

    def backward(self, grad):
        return np.zeros_like(grad)


class Softmax(Layer):
    """softmax(z)_i = e^(z_i − max z) / Σ_j e^(z_j − max z), over the last axis.

    backward (Jacobian-vector product): dz = s ⊙ (g − Σ_j g_j s_j).
    For training use the fused :class:`numnet.SoftmaxCrossEntropy` loss on the logits instead.
    """

    equations = {"forward": "{y} = softmax({x})", "backward": "∂L/∂{x} = {y} ⊙ (∂L/∂{y} − Σⱼ ∂L/∂{y}ⱼ·{y}ⱼ)"}
    symbol = "p"

    def forward(self, z):
        self.s = softmax(z)
        return self.s

    def backward(self, grad):
        s = self.s
        return s * (grad - np.sum(grad * s, axis=-1, keepdims=True))
