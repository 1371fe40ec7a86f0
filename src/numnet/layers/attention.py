"""Attention and the pieces of a small vision Transformer, on token batches (N, L, D):
N samples, L tokens, D features per token.

* ``LayerNorm``: normalises each token over its D features (``nn.LayerNorm(D)``).
* ``GELU``: x·Φ(x) (``nn.GELU()``; ``approximate="tanh"`` as ``nn.GELU(approximate='tanh')``).
* ``TokenDense``: the same Dense applied to every token (``nn.Linear`` on (N, L, D)).
* ``MultiHeadSelfAttention``: softmax(Q·Kᵀ/√d)·V per head (``nn.MultiheadAttention``, batch_first,
  the same parameter names and layout).
* ``PatchEmbedding``: an image cut into p×p patches, each a token (a Conv2d with kernel = stride
  = p), optionally with a learned class token in front.
* ``PositionalEmbedding``: a learned vector added to each token position.
* ``TokenPool``: (N, L, D) → (N, D): the class token (mode "cls") or the mean of the tokens ("mean").

The pre-norm Transformer encoder block that combines them is in ``numnet.layers.transformer``.
"""
from __future__ import annotations

import math

import numpy as np

from .. import init as initializers
from ..errors import ConfigError
from ..functional import softmax
from .base import Layer


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
        self.dim, self.eps = int(dim), float(eps)
        self.gamma = np.ones(self.dim, dtype=dtype)
        self.beta = np.zeros(self.dim, dtype=dtype)
        self.dgamma, self.dbeta = np.zeros_like(self.gamma), np.zeros_like(self.beta)

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


class TokenDense(Layer):
    """A Dense applied to each token, as ``nn.Linear`` on (N, L, D_in):

    y = x·Wᵀ + b     W (out, in), b (out,)     dW = Σ_tokens gᵀ·x    db = Σ_tokens g    dx = g·W
    """

    param_names = ("W", "b")

    def __init__(self, in_features: int, out_features: int, init="xavier", dtype=np.float32):
        self.in_features, self.out_features, self.init = int(in_features), int(out_features), init
        self.W = np.empty((self.out_features, self.in_features), dtype=dtype)
        self.b = np.zeros(self.out_features, dtype=dtype)
        self.dW, self.db = np.zeros_like(self.W), np.zeros_like(self.b)
        self.init_params(np.random.default_rng(0))

    def init_params(self, rng):
        self.W[...] = initializers.get(self.init)(self.W.shape, self.in_features, self.out_features, rng)
        self.b[...] = 0

    def forward(self, x):
        self.x = x
        y = x @ self.W.T
        y += self.b
        return y

    def backward(self, grad):
        g2 = grad.reshape(-1, self.out_features)
        np.matmul(g2.T, self.x.reshape(-1, self.in_features), out=self.dW)
        g2.sum(axis=0, out=self.db)
        if not self.input_grad:
            return None
        return grad @ self.W

    def output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.out_features,)

    def config(self):
        return {"type": "TokenDense", "in_features": self.in_features, "out_features": self.out_features,
                "init": self.init if isinstance(self.init, str) else "xavier"}


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
        self.embed_dim, self.num_heads = int(embed_dim), int(num_heads)
        if self.num_heads < 1 or self.embed_dim % self.num_heads:
            raise ConfigError(f"embed_dim {embed_dim} must be a multiple of num_heads {num_heads}")
        D = self.embed_dim
        self.in_proj_weight = np.empty((3 * D, D), dtype=dtype)
        self.in_proj_bias = np.zeros(3 * D, dtype=dtype)
        self.out_proj_weight = np.empty((D, D), dtype=dtype)
        self.out_proj_bias = np.zeros(D, dtype=dtype)
        for n in self.param_names:
            setattr(self, "d" + n, np.zeros_like(getattr(self, n)))
        self.init_params(np.random.default_rng(0))

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

    def output_shape(self, input_shape):
        if len(input_shape) != 2 or input_shape[1] != self.embed_dim:
            raise ConfigError(f"MultiHeadSelfAttention expects tokens (L, {self.embed_dim}), got {tuple(input_shape)}")
        return input_shape

    def config(self):
        return {"type": "MultiHeadSelfAttention", "embed_dim": self.embed_dim, "num_heads": self.num_heads}


class PositionalEmbedding(Layer):
    """A learned vector per token position: y[n, l] = x[n, l] + pos[l].   pos (L, D) ~ N(0, 0.02²).
    backward: dpos = Σ_n g[n]     dx = g."""

    param_names = ("pos",)

    def __init__(self, num_tokens: int, dim: int, dtype=np.float32):
        self.num_tokens, self.dim = int(num_tokens), int(dim)
        self.pos = np.zeros((self.num_tokens, self.dim), dtype=dtype)
        self.dpos = np.zeros_like(self.pos)
        self.init_params(np.random.default_rng(0))

    def init_params(self, rng):
        self.pos[...] = rng.standard_normal(self.pos.shape) * 0.02

    def forward(self, x):
        return x + self.pos

    def backward(self, grad):
        grad.sum(axis=0, out=self.dpos)
        return grad

    def output_shape(self, input_shape):
        if tuple(input_shape) != (self.num_tokens, self.dim):
            raise ConfigError(f"PositionalEmbedding({self.num_tokens}, {self.dim}) got {tuple(input_shape)}")
        return input_shape

    def config(self):
        return {"type": "PositionalEmbedding", "num_tokens": self.num_tokens, "dim": self.dim}


class PatchEmbedding(Layer):
    """Images (N, C, H, W) (or (N, H, W) for C = 1) cut into non-overlapping p×p patches, row by
    row, each flattened in (c, u, v) order and projected to D features, as
    ``nn.Conv2d(C, D, p, stride=p)`` followed by flatten(2).transpose(1, 2):

    x_patch: (N, L, C·p·p), L = (H/p)·(W/p)      tokens = x_patch·Wᵀ + b      W (D, C·p·p), b (D,)
    With ``cls_token``, a learned vector (D,) is put in front: output (N, 1 + L, D).
    backward: dW = Σ gᵀ·x_patch   db = Σ g   dcls = Σ_n g[n, 0]   dx = patches of g·W put back.
    A 28×28 MNIST digit with p = 7 gives 16 tokens (17 with the class token).
    """

    def __init__(self, image_shape, patch_size: int, dim: int, cls_token: bool = True, dtype=np.float32):
        shape = tuple(int(s) for s in image_shape)
        if len(shape) == 2:
            shape = (1,) + shape
        if len(shape) != 3:
            raise ConfigError(f"PatchEmbedding needs images (C, H, W) or (H, W), got {image_shape}")
        self.image_shape, self.patch_size, self.dim = shape, int(patch_size), int(dim)
        C, H, W = shape
        p = self.patch_size
        if p < 1 or H % p or W % p:
            raise ConfigError(f"patch size {patch_size} must divide the image size {H}×{W}")
        self.grid = (H // p, W // p)
        self.cls_token = bool(cls_token)
        self.param_names = ("weight", "bias", "cls") if self.cls_token else ("weight", "bias")
        self.weight = np.empty((self.dim, C * p * p), dtype=dtype)
        self.bias = np.zeros(self.dim, dtype=dtype)
        self.cls = np.zeros(self.dim, dtype=dtype)
        for n in ("weight", "bias", "cls"):
            setattr(self, "d" + n, np.zeros_like(getattr(self, n)))
        self.init_params(np.random.default_rng(0))

    def init_params(self, rng):
        fan_in = self.weight.shape[1]
        self.weight[...] = initializers.lecun(self.weight.shape, fan_in, self.dim, rng)
        self.bias[...] = 0
        self.cls[...] = rng.standard_normal(self.dim) * 0.02

    def _patches(self, x):
        """(N, C, H, W) → (N, L, C·p·p)."""
        N = len(x)
        C, (gh, gw), p = self.image_shape[0], self.grid, self.patch_size
        return x.reshape(N, C, gh, p, gw, p).transpose(0, 2, 4, 1, 3, 5).reshape(N, gh * gw, C * p * p)

    def forward(self, x):
        self.in_shape = x.shape
        self.xp = self._patches(x.reshape((len(x),) + self.image_shape))
        tokens = self.xp @ self.weight.T
        tokens += self.bias
        if not self.cls_token:
            return tokens
        cls = np.broadcast_to(self.cls.astype(tokens.dtype), (len(x), 1, self.dim))
        return np.concatenate([cls, tokens], axis=1)

    def backward(self, grad):
        if self.cls_token:
            grad[:, 0].sum(axis=0, out=self.dcls)
            grad = grad[:, 1:]
        g2 = grad.reshape(-1, self.dim)
        np.matmul(g2.T, self.xp.reshape(-1, self.weight.shape[1]), out=self.dweight)
        g2.sum(axis=0, out=self.dbias)
        if not self.input_grad:
            return None
        N = len(grad)
        C, (gh, gw), p = self.image_shape[0], self.grid, self.patch_size
        dxp = (grad @ self.weight).reshape(N, gh, gw, C, p, p)
        return dxp.transpose(0, 3, 1, 4, 2, 5).reshape(self.in_shape)

    def output_shape(self, input_shape):
        if tuple(input_shape) not in (self.image_shape, self.image_shape[1:] if self.image_shape[0] == 1 else None):
            raise ConfigError(f"PatchEmbedding for images {self.image_shape} got {tuple(input_shape)}")
        return (self.grid[0] * self.grid[1] + self.cls_token, self.dim)

    def config(self):
        return {"type": "PatchEmbedding", "image_shape": list(self.image_shape), "patch_size": self.patch_size,
                "dim": self.dim, "cls_token": self.cls_token}


class TokenPool(Layer):
    """(N, L, D) → (N, D): mode "cls" takes token 0 (the class token), "mean" averages the L tokens.
    backward: the gradient goes to token 0 only, or 1/L of it to every token."""

    def __init__(self, mode: str = "cls"):
        if mode not in ("cls", "mean"):
            raise ConfigError(f"TokenPool mode must be 'cls' or 'mean', got {mode!r}")
        self.mode = mode

    def forward(self, x):
        self.in_shape = x.shape
        return x[:, 0] if self.mode == "cls" else x.mean(axis=1)

    def backward(self, grad):
        if self.mode == "mean":
            return np.broadcast_to(grad[:, None] / self.in_shape[1], self.in_shape).copy()
        dx = np.zeros(self.in_shape, dtype=grad.dtype)
        dx[:, 0] = grad
        return dx

    def output_shape(self, input_shape):
        if len(input_shape) != 2:
            raise ConfigError(f"TokenPool expects tokens (L, D), got {tuple(input_shape)}")
        return (input_shape[1],)

    def config(self):
        return {"type": "TokenPool", "mode": self.mode}
