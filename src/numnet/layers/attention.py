"""Attention and the pieces of a small vision Transformer, on token batches (N, L, D):
N samples, L tokens, D features per token.

* ``LayerNorm``: normalises each token over its D features (``nn.LayerNorm(D)``).
* ``GELU``: x·Φ(x) (``nn.GELU()``; ``approximate="tanh"`` as ``nn.GELU(approximate='tanh')``).
* ``MultiHeadSelfAttention``: softmax(Q·Kᵀ/√d)·V per head (``nn.MultiheadAttention``, batch_first,
  the same parameter names and layout).

The tokens come from (and go back out through) ``numnet.layers.tokens``: PatchEmbedding,
PositionalEmbedding, TokenPool, imported here too. The pre-norm Transformer encoder block that
combines these layers is in ``numnet.layers.transformer``.
"""
from __future__ import annotations

import math

import numpy as np

from .. import init as initializers
from ..errors import ConfigError
from ..functional import softmax, whole
from .base import Layer
from .tokens import PatchEmbedding, PositionalEmbedding, TokenPool  # noqa: F401 (numnet.layers imports them from here)


def _sum_leading(a):
    """Σ over every axis but the last: (…, D) → (D,)."""
    return a.reshape(-1, a.shape[-1]).sum(axis=0)


class LayerNorm(Layer):
    """Layer normalisation over the last axis, as ``nn.LayerNorm(D, eps)``:

    μ = mean_j x_j    σ² = mean_j (x_j − μ)²    x̂ = (x − μ)/√(σ² + ε)    y = γ ⊙ x̂ + β
    backward (per token): dγ = Σ g ⊙ x̂   dβ = Σ g   (sums over all tokens of the batch)
        dx = (1/√(σ² + ε)) · (ĝ − mean_j ĝ − x̂ ⊙ mean_j(ĝ ⊙ x̂)),   ĝ = g ⊙ γ
    gamma, beta: (D,). Works on any shape (…, D).
    """

    param_names = ("gamma", "beta")

    def __init__(self, dim: int, eps: float = 1e-5, dtype=np.float32):
        self.dim, self.eps, self.dtype = whole(dim, "dim"), float(eps), np.dtype(dtype)

    def array_shapes(self):
        return {"gamma": (self.dim,), "beta": (self.dim,)}

    def init_params(self, rng):
        self.gamma[...] = 1
        self.beta[...] = 0

    def forward(self, x):
        mu = x.mean(axis=-1, keepdims=True)
        xc = x - mu
        self.inv_std = 1 / np.sqrt((xc * xc).mean(axis=-1, keepdims=True) + self.eps)
        self.x_hat = xc * self.inv_std
        return self.x_hat * self.gamma + self.beta

    def backward(self, grad):
        self.dgamma[...] = _sum_leading(grad * self.x_hat)
        self.dbeta[...] = _sum_leading(grad)
        if not self.input_grad:
            return None
        g = grad * self.gamma
        return self.inv_std * (g - g.mean(axis=-1, keepdims=True)
                               - self.x_hat * (g * self.x_hat).mean(axis=-1, keepdims=True))

    def output_shape(self, input_shape):
        if input_shape[-1] != self.dim:
            raise ConfigError(f"LayerNorm({self.dim}) got samples of shape {tuple(input_shape)}")
        return input_shape

    def config(self):
        return {"type": "LayerNorm", "dim": self.dim, "eps": self.eps}


def _erf(x):
    try:
        from scipy.special import erf
    except ImportError:                       # exact but slow: one Python call per entry
        return np.vectorize(math.erf, otypes=[x.dtype])(x)
    return erf(x)


class GELU(Layer):
    """Gaussian error linear unit, as ``nn.GELU``:

    GELU(x) = x·Φ(x),  Φ(x) = (1 + erf(x/√2))/2        GELU'(x) = Φ(x) + x·φ(x),  φ(x) = e^(−x²/2)/√(2π)
    approximate="tanh": x·s(x) with s(x) = (1 + tanh(u))/2, u = √(2/π)·(x + 0.044715·x³)
                        derivative s(x) + x·(1 − tanh²u)/2·√(2/π)·(1 + 3·0.044715·x²)
    """

    def __init__(self, approximate: str = "none"):
        if approximate not in ("none", "tanh"):
            raise ConfigError(f"GELU approximate must be 'none' or 'tanh', got {approximate!r}")
        self.approximate = approximate

    def forward(self, x):
        self.x = x
        if self.approximate == "tanh":
            k = math.sqrt(2 / math.pi)
            self.t = np.tanh(k * (x + 0.044715 * x ** 3))
            self.cdf = 0.5 * (1 + self.t)
        else:
            self.cdf = 0.5 * (1 + _erf(x * (1 / math.sqrt(2))))
        return x * self.cdf

    def backward(self, grad):
        x = self.x
        if self.approximate == "tanh":
            k = math.sqrt(2 / math.pi)
            d = self.cdf + 0.5 * x * (1 - self.t * self.t) * k * (1 + 3 * 0.044715 * x * x)
        else:
            d = self.cdf + x * np.exp(-0.5 * x * x) * (1 / math.sqrt(2 * math.pi))
        return grad * d

    def config(self):
        return {"type": "GELU", "approximate": self.approximate}


class MultiHeadSelfAttention(Layer):
    """Multi-head self-attention, as ``nn.MultiheadAttention(D, h, batch_first=True)`` called as
    ``attn(x, x, x)``; parameters named and laid out as PyTorch's (``out_proj_weight`` is its
    ``out_proj.weight``). d = D/h features per head.

    [Q, K, V] = x·W_inᵀ + b_in              W_in: in_proj_weight (3D, D), rows Q, then K, then V
    per head:  S = Q·Kᵀ/√d (L×L)    P = softmax(S) over keys    O = P·V
    y = concat_heads(O)·W_outᵀ + b_out        W_out (D, D)

    backward (per head): dO from dy·W_out, then
        dV = Pᵀ·dO    dP = dO·Vᵀ    dS = P ⊙ (dP − Σ_keys dP ⊙ P)    dQ = dS·K/√d    dK = dSᵀ·Q/√d
    and dW_in, db_in, dx from d[Q, K, V] as for a Dense. ``self.P`` keeps the last attention maps
    (N, h, L, L): row i = how much token i attends to each token.
    """

    param_names = ("in_proj_weight", "in_proj_bias", "out_proj_weight", "out_proj_bias")

    def __init__(self, embed_dim: int, num_heads: int, dtype=np.float32):
        self.embed_dim, self.num_heads = whole(embed_dim, "embed_dim"), whole(num_heads, "num_heads")
        if self.embed_dim % self.num_heads:
            raise ConfigError(f"embed_dim {embed_dim} must be a multiple of num_heads {num_heads}")
        self.dtype = np.dtype(dtype)

    def array_shapes(self):
        D = self.embed_dim
        return {"in_proj_weight": (3 * D, D), "in_proj_bias": (3 * D,), "out_proj_weight": (D, D),
                "out_proj_bias": (D,)}

    def init_params(self, rng):
        """PyTorch's: Xavier uniform for W_in (as one (3D, D) matrix), zero biases; W_out Xavier too."""
        D = self.embed_dim
        self.in_proj_weight[...] = initializers.xavier((3 * D, D), D, 3 * D, rng)
        self.out_proj_weight[...] = initializers.xavier((D, D), D, D, rng)
        self.in_proj_bias[...] = 0
        self.out_proj_bias[...] = 0

    def _heads(self, a):
        """(N, L, D) → (N, h, L, d)."""
        N, L, _ = a.shape
        return a.reshape(N, L, self.num_heads, -1).transpose(0, 2, 1, 3)

    def forward(self, x):
        if x.ndim != 3 or x.shape[2] != self.embed_dim:
            raise ConfigError(f"MultiHeadSelfAttention expects (N, L, {self.embed_dim}), got {x.shape}")
        N, L, D = x.shape
        self.x = x
        qkv = x @ self.in_proj_weight.T
        qkv += self.in_proj_bias
        self.q, self.k, self.v = (self._heads(qkv[:, :, j * D:(j + 1) * D]) for j in range(3))
        self.scale = 1 / math.sqrt(D // self.num_heads)
        S = (self.q @ self.k.transpose(0, 1, 3, 2)) * self.scale           # (N, h, L, L)
        self.P = softmax(S)
        O = self.P @ self.v                                                 # (N, h, L, d)
        self.o = O.transpose(0, 2, 1, 3).reshape(N, L, D)                   # heads side by side
        y = self.o @ self.out_proj_weight.T
        y += self.out_proj_bias
        return y

    def backward(self, grad):
        N, L, D = self.x.shape
        g2 = grad.reshape(-1, D)
        np.matmul(g2.T, self.o.reshape(-1, D), out=self.dout_proj_weight)
        g2.sum(axis=0, out=self.dout_proj_bias)
        dO = self._heads(grad @ self.out_proj_weight)                       # (N, h, L, d)
        P = self.P
        dV = P.transpose(0, 1, 3, 2) @ dO
        dP = dO @ self.v.transpose(0, 1, 3, 2)
        dS = P * (dP - (dP * P).sum(axis=-1, keepdims=True))                # softmax's Jacobian
        dQ = (dS @ self.k) * self.scale
        dK = (dS.transpose(0, 1, 3, 2) @ self.q) * self.scale
        dqkv = np.concatenate([d.transpose(0, 2, 1, 3).reshape(N, L, D) for d in (dQ, dK, dV)], axis=-1)
        dqkv2 = dqkv.reshape(-1, 3 * D)
        np.matmul(dqkv2.T, self.x.reshape(-1, D), out=self.din_proj_weight)
        dqkv2.sum(axis=0, out=self.din_proj_bias)
        if not self.input_grad:
            return None
        return dqkv @ self.in_proj_weight

    def values_per_sample(self, input_shape, output_shape):
        """The queries, keys and values 3·L·D, or the scores h·L·L (one L×L map per head)."""
        (L, D), h = input_shape, self.num_heads
        return max(math.prod(output_shape), 3 * L * D, h * L * L)

    def output_shape(self, input_shape):
        if len(input_shape) != 2 or input_shape[1] != self.embed_dim:
            raise ConfigError(f"MultiHeadSelfAttention expects tokens (L, {self.embed_dim}), got {tuple(input_shape)}")
        return input_shape

    def config(self):
        return {"type": "MultiHeadSelfAttention", "embed_dim": self.embed_dim, "num_heads": self.num_heads}
