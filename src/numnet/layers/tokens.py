"""Tokens in and out of a small vision Transformer: images cut into patch tokens, a learned
position vector added to each token, and the tokens pooled back into one vector per sample.

* ``PatchEmbedding``: an image cut into p×p patches, each a token (a Conv2d with kernel = stride
  = p), optionally with a learned class token in front.
* ``PositionalEmbedding``: a learned vector added to each token position.
* ``TokenPool``: (N, L, D) → (N, D): the class token (mode "cls") or the mean of the tokens ("mean").

The layers that work on the tokens in between are in ``numnet.layers.attention`` and ``numnet.layers.transformer``.
"""
from __future__ import annotations

import numpy as np

from .. import init as initializers
from ..errors import ConfigError
from ..functional import whole
from ..kernels import sum_rows
from .base import Layer


class PositionalEmbedding(Layer):
    """A learned vector per token position: y[n, l] = x[n, l] + pos[l].   pos (L, D) ~ N(0, 0.02²).
    backward: dpos = Σ_n g[n]     dx = g."""

    param_names = ("pos",)
    equations = {"forward": "{y} = {x} + pos", "backward": "∂L/∂pos = ∂L/∂{y},   ∂L/∂{x} = ∂L/∂{y}",
                 "shapes": "{x} + {pos} → {y}", "backward_shapes": "{dy} → {dpos},   {dy} → {dx}"}

    def __init__(self, num_tokens: int, dim: int, dtype=np.float32):
        self.num_tokens, self.dim = whole(num_tokens, "num_tokens"), whole(dim, "dim")
        self.dtype = np.dtype(dtype)

    def array_shapes(self):
        return {"pos": (self.num_tokens, self.dim)}

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

    param_names = ("weight", "bias", "cls")     # without the class token: ("weight", "bias")

    def __init__(self, image_shape, patch_size: int, dim: int, cls_token: bool = True, dtype=np.float32):
        self.image_shape, self.patch_size = self._geometry(image_shape, patch_size)
        (_, H, W), p = self.image_shape, self.patch_size
        self.dim, self.grid = whole(dim, "dim"), (H // p, W // p)
        self.cls_token = bool(cls_token)
        if not self.cls_token:
            self.param_names = ("weight", "bias")
        self.dtype = np.dtype(dtype)

    def array_shapes(self):
        (C, _, _), p = self.image_shape, self.patch_size
        return {"weight": (self.dim, C * p * p), "bias": (self.dim,), "cls": (self.dim,)}

    @staticmethod
    def _geometry(image_shape, patch_size):
        """((C, H, W), p): images (C, H, W) or (H, W) that p×p patches tile."""
        shape, p = tuple(whole(s, "image_shape") for s in image_shape), whole(patch_size, "patch_size")
        if len(shape) not in (2, 3):
            raise ConfigError(f"PatchEmbedding needs images (C, H, W) or (H, W), got {image_shape}")
        if shape[-2] % p or shape[-1] % p:
            raise ConfigError(f"patch size {patch_size} must divide the image size {shape[-2]}×{shape[-1]}")
        return (1,) * (3 - len(shape)) + shape, p

    def init_params(self, rng):
        fan_in = self.weight.shape[1]
        self.weight[...] = initializers.lecun(self.weight.shape, fan_in, self.dim, rng)
        self.bias[...] = 0
        cls = rng.standard_normal(self.dim) * 0.02      # drawn with or without the class token
        if self.cls_token:
            self.cls[...] = cls

    def _patches(self, x):
        """(N, C, H, W) → (N, L, C·p·p)."""
        N = len(x)
        C, (gh, gw), p = self.image_shape[0], self.grid, self.patch_size
        return x.reshape(N, C, gh, p, gw, p).transpose(0, 2, 4, 1, 3, 5).reshape(N, gh * gw, C * p * p)

    def forward(self, x):
        self.in_shape = x.shape
        self.xp = self._patches(x.reshape((len(x),) + self.image_shape))
        N, L, K = self.xp.shape
        tokens = (self.xp.reshape(-1, K) @ self.weight.T).reshape(N, L, self.dim)     # one GEMM, all patches
        tokens += self.bias
        if not self.cls_token:
            return tokens
        cls = np.broadcast_to(self.cls.astype(tokens.dtype), (len(x), 1, self.dim))
        return np.concatenate([cls, tokens], axis=1)

    def explain_lines(self, phase):
        if phase == "forward":
            p = self.patch_size
            return [(f"X_p = the {self.xp.shape[1]} patches of {{x}}, {p}×{p} each, one a row", "{x} → {X_p}"),
                    ("T = X_p·Wᵀ + b", "{X_p}·{weight}ᵀ + {bias}ᵀ → {T}"),
                    ("{y} = [clsᵀ; T]   (the class token in front)", "[{cls}ᵀ; {T}] → {y}") if self.cls_token
                    else ("{y} = T", "{T} → {y}")]
        return [*([("∂L/∂cls = ∂L/∂{y} of token 0", "{dcls}")] if self.cls_token else []),
                ("∂L/∂W = ∂L/∂Tᵀ·X_p", "{dT}ᵀ·{X_p} → {dweight}"), ("∂L/∂b = Σ_tokens ∂L/∂T", "{dT} → {dbias}"),
                ("∂L/∂{x} = the rows of ∂L/∂T·W put back as patches", "{dT}·{weight} → {dX_p} → {dx}")]

    def explain_arrays(self):
        """The sample's patches X_p (L, C·p·p) and tokens T (L, D); after backward ∂L/∂T, ∂L/∂X_p."""
        out = {"X_p": self.xp[0], "T": self.xp[0] @ self.weight.T + self.bias}
        if "dT" in self.__dict__:
            out.update(dT=self.dT[0], dX_p=self.dT[0] @ self.weight)
        return out

    def backward(self, grad):
        if self.cls_token:
            grad[:, 0].sum(axis=0, out=self.dcls)
            grad = grad[:, 1:]
        if self.explaining:
            self.dT = grad
        g2 = grad.reshape(-1, self.dim)
        np.matmul(g2.T, self.xp.reshape(-1, self.weight.shape[1]), out=self.dweight)
        sum_rows(g2, out=self.dbias)
        if not self.input_grad:
            return None
        N = len(grad)
        C, (gh, gw), p = self.image_shape[0], self.grid, self.patch_size
        dxp = (g2 @ self.weight).reshape(N, gh, gw, C, p, p)
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

    def explain_lines(self, phase):
        if self.mode == "cls":
            return [("{y} = row 0 of {x} (the class token)", "{x} → {y}")] if phase == "forward" else \
                [("∂L/∂{x} = ∂L/∂{y} in row 0, zeros elsewhere", "{dy} → {dx}")]
        return [("{y} = the mean of the rows of {x}", "{x} → {y}")] if phase == "forward" else \
            [("∂L/∂{x} = ∂L/∂{y} / L in every row", "{dy} → {dx}")]

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
