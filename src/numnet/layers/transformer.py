"""The pre-norm Transformer encoder block, as
``nn.TransformerEncoderLayer(D, h, mlp_dim, dropout=0, activation='gelu', batch_first=True, norm_first=True)``:

    u = x + MHSA(LN₁(x))                         (attention, with a residual connection)
    y = u + W₂·GELU(W₁·LN₂(u) + b₁) + b₂          (the token-wise MLP, with a residual connection)

backward, the same two steps in reverse, each residual adding its identity path:
    du = dy + LN₂ᵀ(W₁ᵀ(GELU'ᵀ(W₂ᵀ dy)))         dx = du + LN₁ᵀ(MHSAᵀ(du))

The block is made of child layers (norm1, attn, norm2, linear1, act, linear2, PyTorch's names but
``attn`` for its ``self_attn``); its parameters are theirs, with dotted names
(``attn.in_proj_weight``, ``linear1.W``, ``norm2.gamma``), which ``Sequential`` binds into its flat
buffers like any layer's.
"""
from __future__ import annotations

import numpy as np

from ..errors import ConfigError
from ..functional import whole
from .attention import GELU, LayerNorm, MultiHeadSelfAttention
from .base import Layer
from .dense import Dense


class TransformerEncoderBlock(Layer):
    """Pre-norm encoder block on tokens (N, L, D); see the module docstring for the formulas.
    dim D, num_heads h (D divisible by h), mlp_dim: width of the hidden MLP layer."""

    child_names = ("norm1", "attn", "norm2", "linear1", "act", "linear2")

    def __init__(self, dim: int, num_heads: int, mlp_dim: int, dtype=np.float32):
        self.dim, self.num_heads = whole(dim, "dim"), whole(num_heads, "num_heads")
        self.mlp_dim = whole(mlp_dim, "mlp_dim")
        self.norm1 = LayerNorm(self.dim, dtype=dtype)
        self.attn = MultiHeadSelfAttention(self.dim, self.num_heads, dtype=dtype)
        self.norm2 = LayerNorm(self.dim, dtype=dtype)
        self.linear1 = Dense(self.dim, self.mlp_dim, init="xavier", dtype=dtype)
        self.act = GELU()
        self.linear2 = Dense(self.mlp_dim, self.dim, init="xavier", dtype=dtype)

    def forward(self, x):
        u = x + self.attn.forward(self.norm1.forward(x))
        return u + self.linear2.forward(self.act.forward(self.linear1.forward(self.norm2.forward(u))))

    def backward(self, grad):
        g = self.linear1.backward(self.act.backward(self.linear2.backward(grad)))
        du = grad + self.norm2.backward(g)
        dx_attn = self.norm1.backward(self.attn.backward(du))
        if not self.input_grad:
            return None
        return du + dx_attn

    def values_per_sample(self, input_shape, output_shape):
        """Its attention's working set, or its MLP's hidden activations L·M."""
        return max(self.attn.values_per_sample(input_shape, output_shape), input_shape[0] * self.mlp_dim)

    def output_shape(self, input_shape):
        if len(input_shape) != 2 or input_shape[1] != self.dim:
            raise ConfigError(f"TransformerEncoderBlock({self.dim}) expects tokens (L, {self.dim}), "
                              f"got {tuple(input_shape)}")
        return input_shape

    def config(self):
        return {"type": "TransformerEncoderBlock", "dim": self.dim, "num_heads": self.num_heads,
                "mlp_dim": self.mlp_dim}
