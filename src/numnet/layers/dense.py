"""The fully connected layer of tutorial 1: z = W·x + b, on the last axis of any input."""
from __future__ import annotations

import numpy as np

from .. import init as initializers
from ..functional import whole
from .base import Layer


class Dense(Layer):
    """Fully connected layer, as ``nn.Linear`` and tutorial 1's z = W·x + b.

    W: (out_features, in_features), b: (out_features,).
    forward:  z = x·Wᵀ + b            x: (N, in) -> z: (N, out), or any (…, in) -> (…, out)
    backward: dW = dzᵀ·x   (out, in)   db = Σ_n dz   (out,)   dx = dz·W   (N, in)
              (the sums run over every leading axis: all tokens of all samples of (N, L, in))
    """

    param_names = ("W", "b")
    equations = {"forward": "{y} = W{k}·{x} + b{k}",
                 "backward": "∂L/∂W{k} = ∂L/∂{y}·{x}ᵀ,   ∂L/∂b{k} = ∂L/∂{y},   ∂L/∂{x} = W{k}ᵀ·∂L/∂{y}",
                 "shapes": "{W}·{x} + {b} → {y}",
                 "backward_shapes": "{dy}·{x}ᵀ → {dW},   {dy} → {db},   {W}ᵀ·{dy} → {dx}"}
    symbol = "z{k}"
    #: on tokens (L, in), each row a token: Z = X·Wᵀ + b, as the code computes it
    token_equations = (
        [("{y} = {x}·W{k}ᵀ + b{k}   (each row a token)", "{x}·{W}ᵀ + {b}ᵀ → {y}")],
        [("∂L/∂W{k} = ∂L/∂{y}ᵀ·{x}", "{dy}ᵀ·{x} → {dW}"), ("∂L/∂b{k} = Σ_tokens ∂L/∂{y}", "{dy} → {db}"),
         ("∂L/∂{x} = ∂L/∂{y}·W{k}", "{dy}·{W} → {dx}")])

    def __init__(self, in_features: int, out_features: int, init="he", dtype=np.float32, seed: int = 0):
        self.in_features, self.out_features = whole(in_features, "in_features"), whole(out_features, "out_features")
        self.init, self.dtype, self.seed = init, np.dtype(dtype), seed

    def array_shapes(self):
        return {"W": (self.out_features, self.in_features), "b": (self.out_features,)}

    def init_params(self, rng):
        f = initializers.get(self.init)
        self.W[...] = f(self.W.shape, self.in_features, self.out_features, rng)
        self.b[...] = 0

    def forward(self, x):
        self.x = x
        z = x @ self.W.T
        z += self.b
        return z

    def explain_lines(self, phase):
        if self.x.ndim > 2:
            return self.token_equations[phase == "backward"]
        return super().explain_lines(phase)

    def explain_arrays(self):
        return {"dz": self.dz[0]} if "dz" in self.__dict__ else {}

    def backward(self, dz):
        if self.explaining:
            self.dz = dz
        if dz.ndim == 2:
            np.matmul(dz.T, self.x, out=self.dW)     # dW = dzᵀ·x
            dz.sum(axis=0, out=self.db)              # db = Σ_n dz
        else:                                        # tokens (N, L, ·): the same over all N·L rows
            dz2 = dz.reshape(-1, self.out_features)
            np.matmul(dz2.T, self.x.reshape(-1, self.in_features), out=self.dW)
            dz2.sum(axis=0, out=self.db)
        if not self.input_grad:
            return None       # first layer: dL/dx of the images is not needed (saves a GEMM)
        return dz @ self.W                           # dx = dz·W

    def takes(self, input_shape):
        return len(input_shape) >= 1 and input_shape[-1] == self.in_features

    def output_shape(self, input_shape):
        """(out,) for rows (in,); (L, out) for tokens (L, in); (out,) for an unknown input (None)."""
        return (tuple(input_shape[:-1]) if input_shape is not None else ()) + (self.out_features,)

    def config(self):
        return {"type": "Dense", "in_features": self.in_features, "out_features": self.out_features,
                "init": self.init if isinstance(self.init, str) else "he"}
