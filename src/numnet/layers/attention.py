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
from ..kernels import engine, sum_rows
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
    equations = {"forward": "x̂ = ({x} − μ) / √(σ² + ε)   (μ, σ² over each row's features),   {y} = γ ⊙ x̂ + β",
                 "backward": "∂L/∂γ = Σ_tokens ∂L/∂{y} ⊙ x̂,   ∂L/∂β = Σ_tokens ∂L/∂{y},   "
                             "∂L/∂{x} = (ĝ − mean ĝ − x̂ ⊙ mean(ĝ ⊙ x̂)) / √(σ² + ε),  ĝ = ∂L/∂{y} ⊙ γ",
                 "shapes": "{x} → {x_hat},   {gamma}ᵀ ⊙ {x_hat} + {beta}ᵀ → {y}",
                 "backward_shapes": "{dy} ⊙ {x_hat} → {dgamma},   {dy} → {dbeta},   {dy} → {dx}"}

    def __init__(self, dim: int, eps: float = 1e-5, dtype=np.float32):
        self.dim, self.eps, self.dtype = whole(dim, "dim"), float(eps), np.dtype(dtype)

    def array_shapes(self):
        return {"gamma": (self.dim,), "beta": (self.dim,)}

    def init_params(self, rng):
        self.gamma[...] = 1
        self.beta[...] = 0

    def forward(self, x):
        kernels = engine.compiled("norm")
        if kernels is not None:
            self.x = x
            return self._forward_compiled(kernels, x, keep=self.training or self.explaining)
        mu = x.mean(axis=-1, keepdims=True)
        xc = x - mu
        self.inv_std = 1 / np.sqrt((xc * xc).mean(axis=-1, keepdims=True) + self.eps)
        self.x_hat = xc * self.inv_std
        return self.x_hat * self.gamma + self.beta

    def _forward_compiled(self, kernels, x, keep):
        """The same, one pass per token (numba); x̂ and 1/√(σ² + ε) kept with ``keep`` (when training or
        explaining; a backward pass after an evaluation forms them then)."""
        x2 = x.reshape(-1, self.dim)
        y = np.empty(x2.shape, dtype=x.dtype)
        x_hat = np.empty(x2.shape if keep else (1, self.dim), dtype=x.dtype)
        inv_std = np.empty((len(x2) if keep else 0, 1), dtype=x.dtype)
        kernels.layer_norm(x2, self.gamma, self.beta, x.dtype.type(self.eps), y, x_hat, inv_std[:, 0], keep)
        self.x_hat, self.inv_std = (x_hat.reshape(x.shape), inv_std.reshape(x.shape[:-1] + (1,))) if keep else (None,) * 2
        return y.reshape(x.shape)

    def explain_lines(self, phase):
        lines = super().explain_lines(phase)
        if self.x_hat.ndim == 2:                  # one vector (D,), a column: γ, β are columns too
            lines = [(eq, shapes.replace("}ᵀ", "}")) for eq, shapes in lines]
        return lines

    def explain_arrays(self):
        return {"x_hat": self.x_hat[0]} if self.__dict__.get("x_hat") is not None else {}

    def backward(self, grad):
        kernels = engine.compiled("norm")
        if kernels is not None:
            if self.x_hat is None:
                self._forward_compiled(kernels, self.x, keep=True)
            g2, D = grad.reshape(-1, self.dim), self.dim
            dx = np.empty(g2.shape, dtype=grad.dtype) if self.input_grad else g2[:0]
            kernels.layer_norm_backward(g2, self.x_hat.reshape(-1, D), self.inv_std.reshape(-1), self.gamma,
                                        self.dgamma, self.dbeta, dx, self.input_grad)
            return dx.reshape(grad.shape) if self.input_grad else None
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
    The numba engine computes float32 GELU with a rational erf (|error| < 5e-7, ``jit_attention``).
    """

    equations = {"forward": "{y} = GELU({x}) = {x}·Φ({x})", "backward": "∂L/∂{x} = ∂L/∂{y} ⊙ (Φ({x}) + {x}·φ({x}))"}

    def __init__(self, approximate: str = "none"):
        if approximate not in ("none", "tanh"):
            raise ConfigError(f"GELU approximate must be 'none' or 'tanh', got {approximate!r}")
        self.approximate = approximate

    def forward(self, x):
        self.x, self.slope = x, None
        kernels = engine.compiled("attention")
        if kernels is not None and self.approximate == "none":
            return self._forward_compiled(kernels, x, keep=self.training or self.explaining)
        if self.approximate == "tanh":
            k = math.sqrt(2 / math.pi)
            self.t = np.tanh(k * (x + 0.044715 * x ** 3))
            self.cdf = 0.5 * (1 + self.t)
        else:
            self.cdf = 0.5 * (1 + _erf(x * (1 / math.sqrt(2))))
        return x * self.cdf

    def _forward_compiled(self, kernels, x, keep):
        """The same in one pass (numba); with ``keep`` (training, explaining) it keeps Φ(x) for backward,
        float32 (with a rational erf, see ``jit_attention``) GELU'(x) itself, so that backward is one
        product (after an evaluation forward, backward forms them first)."""
        x1 = np.ascontiguousarray(x).reshape(-1)
        y = np.empty(x1.shape, dtype=x.dtype)
        self.slope = None
        if x.dtype == np.float32:
            slope = np.empty(x1.shape if keep else 0, dtype=x.dtype)
            kernels.gelu_float32(x1, y, slope, keep)
            self.slope, self.cdf = (slope.reshape(x.shape) if keep else None), None
        else:
            cdf = np.empty(x1.shape if keep else 0, dtype=x.dtype)
            kernels.gelu(x1, y, cdf, keep)
            self.cdf = cdf.reshape(x.shape) if keep else None
        return y.reshape(x.shape)

    def backward(self, grad):
        x = self.x
        if self.slope is None and self.cdf is None:   # an evaluation forward (compiled) kept nothing
            self._forward_compiled(engine.compiled("attention"), x, keep=True)
        if self.slope is not None:                    # formed by the compiled forward
            return grad * self.slope
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
        self.qkv = qkv = (x.reshape(-1, D) @ self.in_proj_weight.T).reshape(N, L, 3 * D)   # one GEMM, all tokens
        qkv += self.in_proj_bias
        self.q, self.k, self.v = (self._heads(qkv[:, :, j * D:(j + 1) * D]) for j in range(3))
        self.scale = 1 / math.sqrt(D // self.num_heads)
        self.o = np.empty((N, L, D), dtype=qkv.dtype)                      # heads side by side
        kernels = engine.compiled("attention")
        if kernels is not None:          # Sᵀ = K·Qᵀ, scaled and softmaxed per query in one pass: Pᵀ
            ST = self.k @ self.q.transpose(0, 1, 3, 2)
            kernels.softmax_columns(ST.reshape(-1), L, ST.dtype.type(self.scale))
            self.P = ST.transpose(0, 1, 3, 2)
        else:
            S = self.q @ self.k.transpose(0, 1, 3, 2)                      # (N, h, L, L)
            self.P = softmax(S * self.scale)
        np.matmul(self.P, self.v, out=self._heads(self.o))                  # O = P·V (N, h, L, d)
        y = self.o.reshape(-1, D) @ self.out_proj_weight.T
        y += self.out_proj_bias
        return y.reshape(N, L, D)

    # explain: Q, K, V, the scores, softmax and the output, per head, with the shapes of the last pass
    def explain_lines(self, phase):
        if phase == "forward":
            return [("X = {x}", "{x} → {X}"), *self.attention_lines(phase), ("{y} = Y", "{Y} → {y}")]
        return [("∂L/∂Y = ∂L/∂{y}", "{dy} → {dY}"), *self.attention_lines(phase), ("∂L/∂{x} = ∂L/∂X", "{dX} → {dx}")]

    def attention_lines(self, phase):
        """The lines from the tokens X to Y = MHSA(X) (or back), each row a token; the block that
        holds this layer shows them too."""
        h, d = self.num_heads, self.embed_dim // self.num_heads
        heads = range(1, h + 1)
        if phase == "forward":
            qkv = [(f"{m} = X·W_{m}ᵀ + b_{m}" + ("   (W_Q, W_K, W_V: the row blocks of in_proj_weight)" if m == "Q" else ""),
                    f"{{X}}·{{W_{m}}}ᵀ + {{b_{m}}}ᵀ → {{{m}}}") for m in "QKV"]
            per_head = [line for j in heads for line in (
                (f"S_{j} = Q_{j}·K_{j}ᵀ/√{d}   (the scores of head {j}: query i against key j)",
                 f"{{Q_{j}}}·{{K_{j}}}ᵀ → {{S_{j}}}"),
                (f"P_{j} = softmax(S_{j}) over each row (the attention map of head {j})", f"{{S_{j}}} → {{P_{j}}}"),
                (f"O_{j} = P_{j}·V_{j}", f"{{P_{j}}}·{{V_{j}}} → {{O_{j}}}"))]
            return [*qkv, (f"Q = [Q_1 … Q_{h}]: {h} heads of d = {d} features (the same for K, V)", "{Q} → {Q_1}"),
                    *per_head, ("Y = [O_1 … O_h]·W_outᵀ + b_out", "{O}·{out_proj_weight}ᵀ + {out_proj_bias}ᵀ → {Y}")]
        per_head = [line for j in heads for line in (
            (f"∂L/∂V_{j} = P_{j}ᵀ·∂L/∂O_{j}", f"{{P_{j}}}ᵀ·{{dO_{j}}} → {{dV_{j}}}"),
            (f"∂L/∂P_{j} = ∂L/∂O_{j}·V_{j}ᵀ", f"{{dO_{j}}}·{{V_{j}}}ᵀ → {{dP_{j}}}"),
            (f"∂L/∂S_{j} = P_{j} ⊙ (∂L/∂P_{j} − Σ_keys ∂L/∂P_{j} ⊙ P_{j})", f"{{P_{j}}} ⊙ {{dP_{j}}} → {{dS_{j}}}"),
            (f"∂L/∂Q_{j} = ∂L/∂S_{j}·K_{j}/√{d}", f"{{dS_{j}}}·{{K_{j}}} → {{dQ_{j}}}"),
            (f"∂L/∂K_{j} = ∂L/∂S_{j}ᵀ·Q_{j}/√{d}", f"{{dS_{j}}}ᵀ·{{Q_{j}}} → {{dK_{j}}}"))]
        return [("∂L/∂W_out = ∂L/∂Yᵀ·O", "{dY}ᵀ·{O} → {dout_proj_weight}"),
                ("∂L/∂b_out = Σ_tokens ∂L/∂Y", "{dY} → {dout_proj_bias}"),
                (f"∂L/∂O = ∂L/∂Y·W_out = [∂L/∂O_1 … ∂L/∂O_{h}]", "{dY}·{out_proj_weight} → {dO}"), *per_head,
                ("∂L/∂W_in = ∂L/∂[Q, K, V]ᵀ·X", "{dQKV}ᵀ·{X} → {din_proj_weight}"),
                ("∂L/∂b_in = Σ_tokens ∂L/∂[Q, K, V]", "{dQKV} → {din_proj_bias}"),
                ("∂L/∂X = ∂L/∂[Q, K, V]·W_in", "{dQKV}·{in_proj_weight} → {dX}")]

    def explain_arrays(self):
        """Sample 0's X, Q, K, V (L, D) and per head j = 1 … h: Q_j, K_j, V_j (L, d), S_j, P_j (L, L),
        O_j; after backward the gradients of each (dQ_j, ...)."""
        if "P" not in self.__dict__:
            return {}
        D = self.embed_dim
        L = self.x.shape[1]

        def merge(a):                                               # (h, L, d) → (L, D)
            return a.transpose(1, 0, 2).reshape(L, D)
        W, b = self.in_proj_weight, self.in_proj_bias
        out = {"X": self.x[0], "O": self.o[0], "Y": self.o[0] @ self.out_proj_weight.T + self.out_proj_bias}
        for j, m in enumerate("QKV"):
            out.update({f"W_{m}": W[j * D:(j + 1) * D], f"b_{m}": b[j * D:(j + 1) * D]})
        for m, a in zip("QKV", (self.q, self.k, self.v)):
            out[m] = merge(a[0])
            out.update({f"{m}_{j + 1}": a[0, j] for j in range(self.num_heads)})
        for j in range(self.num_heads):
            out[f"S_{j + 1}"] = out[f"Q_{j + 1}"] @ out[f"K_{j + 1}"].T * self.scale
            out[f"P_{j + 1}"] = self.P[0, j]
            out[f"O_{j + 1}"] = self.P[0, j] @ self.v[0, j]
        if "back" in self.__dict__:
            back = self.back
            out.update(dY=back["dY"][0], dO=merge(back["dO"][0]), dQKV=back["dqkv"][0],
                       dX=back["dqkv"][0] @ self.in_proj_weight)
            for m in ("O", "V", "P", "S", "Q", "K"):
                out.update({f"d{m}_{j + 1}": back["d" + m][0, j] for j in range(self.num_heads)})
        return out

    def backward(self, grad):
        N, L, D = self.x.shape
        g2 = grad.reshape(-1, D)
        np.matmul(g2.T, self.o.reshape(-1, D), out=self.dout_proj_weight)
        sum_rows(g2, out=self.dout_proj_bias)
        dO = self._heads((g2 @ self.out_proj_weight).reshape(N, L, D))     # (N, h, L, d)
        dqkv = np.empty((N, L, 3 * D), dtype=dO.dtype)
        dQ, dK, dV = (self._heads(dqkv[:, :, j * D:(j + 1) * D]) for j in range(3))   # views: no concatenation
        P = self.P
        np.matmul(P.transpose(0, 1, 3, 2), dO, out=dV)                     # dV = Pᵀ·dO
        kernels = engine.compiled("attention")
        if kernels is not None and not self.explaining:    # (dS·scale)ᵀ in one pass, from Pᵀ and dPᵀ = V·dOᵀ
            dST = self.v @ dO.transpose(0, 1, 3, 2)
            PT = P.transpose(0, 1, 3, 2)
            kernels.softmax_columns_backward(PT.reshape(-1), dST.reshape(-1), L, dST.dtype.type(self.scale))
            np.matmul(dST.transpose(0, 1, 3, 2), self.k, out=dQ)
            np.matmul(dST, self.q, out=dK)
        else:
            dP = dO @ self.v.transpose(0, 1, 3, 2)
            dS = P * (dP - (dP * P).sum(axis=-1, keepdims=True))            # softmax's Jacobian
            np.matmul(dS, self.k, out=dQ)
            dQ *= self.scale
            np.matmul(dS.transpose(0, 1, 3, 2), self.q, out=dK)
            dK *= self.scale
            if self.explaining:
                self.back = {"dY": grad, "dO": dO, "dV": dV, "dP": dP, "dS": dS, "dQ": dQ, "dK": dK, "dqkv": dqkv}
        dqkv2 = dqkv.reshape(-1, 3 * D)
        np.matmul(dqkv2.T, self.x.reshape(-1, D), out=self.din_proj_weight)
        sum_rows(dqkv2, out=self.din_proj_bias)
        if not self.input_grad:
            return None
        return (dqkv2 @ self.in_proj_weight).reshape(N, L, D)

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
