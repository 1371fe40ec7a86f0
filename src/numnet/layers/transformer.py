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

    #: evaluation runs the block on this many samples at a time, so that their working set (Q, K, V,
    #: the maps, the MLP's activations) stays in the CPU's cache: with one BLAS thread 64 to 256 samples
    #: evaluated 1.3x faster than 1,000 at once; with two threads on a busy machine larger calls did
    #: better (fewer thread hand-offs), 256 is the compromise
    eval_chunk = 256

    def forward(self, x):
        self.chunked = None
        if not (self.training or self.explaining) and len(x) > self.eval_chunk:
            y = np.empty_like(x)
            for start in range(0, len(x), self.eval_chunk):
                y[start:start + self.eval_chunk] = self._forward(x[start:start + self.eval_chunk])
            self.chunked = x              # the children hold the last chunk's values: backward reruns x whole
            return y
        return self._forward(x)

    def _forward(self, x):
        u = x + self.attn.forward(self.norm1.forward(x))
        if self.explaining:
            self.u = u
        rows = u if self.explaining else u.reshape(-1, self.dim)      # (N·L, D): each Dense one GEMM
        mlp = self.linear2.forward(self.act.forward(self.linear1.forward(self.norm2.forward(rows))))
        return u + mlp.reshape(u.shape)

    def backward(self, grad):
        if self.chunked is not None:
            self._forward(self.chunked)
            self.chunked = None
        rows = grad if self.explaining else grad.reshape(-1, self.dim)
        g = self.linear1.backward(self.act.backward(self.linear2.backward(rows)))
        du = grad + self.norm2.backward(g).reshape(grad.shape)
        if self.explaining:
            self.du = du
        dx_attn = self.norm1.backward(self.attn.backward(du))
        if not self.input_grad:
            return None
        return du + dx_attn

    def explain_lines(self, phase):
        """The two residual steps, each row a token; attention's own lines in between."""
        attn = [(eq, shapes.replace("{", "{attn.")) for eq, shapes in self.attn.attention_lines(phase)]
        if phase == "forward":
            return [("X = LN₁({x})", "{x} → {attn.X}"), *attn, ("u = {x} + Y", "{x} + {attn.Y} → {u}"),
                    ("a = LN₂(u)·W₁ᵀ + b₁", "{linear1.x}·{linear1.W}ᵀ + {linear1.b}ᵀ → {act.x}"),
                    ("{y} = u + GELU(a)·W₂ᵀ + b₂", "{u} + {linear2.x}·{linear2.W}ᵀ + {linear2.b}ᵀ → {y}")]
        return [("∂L/∂W₂ = ∂L/∂{y}ᵀ·GELU(a)", "{dy}ᵀ·{linear2.x} → {linear2.dW}"),
                ("∂L/∂b₂ = Σ_tokens ∂L/∂{y}", "{dy} → {linear2.db}"),
                ("∂L/∂a = ∂L/∂{y}·W₂ ⊙ GELU′(a)", "{dy}·{linear2.W} → {linear1.dz}"),
                ("∂L/∂W₁ = ∂L/∂aᵀ·LN₂(u)", "{linear1.dz}ᵀ·{linear1.x} → {linear1.dW}"),
                ("∂L/∂b₁ = Σ_tokens ∂L/∂a", "{linear1.dz} → {linear1.db}"),
                ("∂L/∂γ₂ = Σ_tokens ∂L/∂LN₂ ⊙ x̂₂", "{norm2.dgamma}"), ("∂L/∂β₂ = Σ_tokens ∂L/∂LN₂", "{norm2.dbeta}"),
                ("∂L/∂u = ∂L/∂{y} + LN₂ᵀ(∂L/∂a·W₁)", "{dy} + {linear1.dz}·{linear1.W} → {du}"),
                ("∂L/∂Y = ∂L/∂u", "{du} → {attn.dY}"), *attn,
                ("∂L/∂γ₁ = Σ_tokens ∂L/∂X ⊙ x̂₁", "{norm1.dgamma}"), ("∂L/∂β₁ = Σ_tokens ∂L/∂X", "{norm1.dbeta}"),
                ("∂L/∂{x} = ∂L/∂u + LN₁ᵀ(∂L/∂X)", "{du} + {attn.dX} → {dx}")]

    def explain_arrays(self):
        out = {f"attn.{k}": v for k, v in self.attn.explain_arrays().items()}
        out.update({f"{c}.x": getattr(self, c).x[0] for c in ("linear1", "act", "linear2")})
        out.update({n: getattr(self, n)[0] for n in ("u", "du") if n in self.__dict__})
        if "dz" in self.linear1.__dict__:
            out["linear1.dz"] = self.linear1.dz[0]
        return out

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
