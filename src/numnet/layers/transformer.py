"""The pre-norm Transformer encoder block, as
``nn.TransformerEncoderLayer(D, h, mlp_dim, dropout=0, activation='gelu', batch_first=True, norm_first=True)``:

    u = x + MHSA(LN₁(x))                         (attention, with a residual connection)
    y = u + W₂·GELU(W₁·LN₂(u) + b₁) + b₂          (the token-wise MLP, with a residual connection)

backward, the same two steps in reverse, each residual adding its identity path:
    du = dy + LN₂ᵀ(W₁ᵀ(GELU'ᵀ(W₂ᵀ dy)))         dx = du + LN₁ᵀ(MHSAᵀ(du))

The block is made of the layers of ``numnet.layers.attention`` (norm1, attn, norm2, linear1, act, linear2);
its parameters are theirs, named "<part>_<name>" (e.g. ``attn_in_proj_weight``, ``linear1_W``,
``norm2_gamma``), and its gradients "d<part>_<name>": reading or setting either reaches the part's
own array, so ``Sequential`` can bind them into its flat buffers like any layer's.
"""
from __future__ import annotations

import numpy as np

from ..errors import ConfigError
from ..functional import whole
from .attention import GELU, LayerNorm, MultiHeadSelfAttention, TokenDense
from .base import Layer


class TransformerEncoderBlock(Layer):
    """Pre-norm encoder block on tokens (N, L, D); see the module docstring for the formulas.
    dim D, num_heads h (D divisible by h), mlp_dim: width of the hidden MLP layer."""

    PARTS = ("norm1", "attn", "norm2", "linear1", "act", "linear2")

    def __init__(self, dim: int, num_heads: int, mlp_dim: int, dtype=np.float32):
        self.dim, self.num_heads = whole(dim, "dim"), whole(num_heads, "num_heads")
        self.mlp_dim = whole(mlp_dim, "mlp_dim")
        self._setup(LayerNorm(self.dim, dtype=dtype), MultiHeadSelfAttention(self.dim, self.num_heads, dtype=dtype),
                    LayerNorm(self.dim, dtype=dtype), TokenDense(self.dim, self.mlp_dim, dtype=dtype), GELU(),
                    TokenDense(self.mlp_dim, self.dim, dtype=dtype))

    @classmethod
    def declared_size(cls, config):
        """The parts' sizes: 2 LayerNorm(D), MHSA(D, h), TokenDense(D, M), TokenDense(M, D)."""
        D, h, M = (whole(config[n], n) for n in ("dim", "num_heads", "mlp_dim"))
        return (2 * LayerNorm.declared_size({"dim": D})
                + MultiHeadSelfAttention.declared_size({"embed_dim": D, "num_heads": h})
                + TokenDense.declared_size({"in_features": D, "out_features": M})
                + TokenDense.declared_size({"in_features": M, "out_features": D}))

    def _setup(self, *parts):
        object.__setattr__(self, "parts", dict(zip(self.PARTS, parts)))
        names, route = [], {}
        for prefix, layer in self.parts.items():
            for n in layer.param_names:
                names.append(f"{prefix}_{n}")
                route[f"{prefix}_{n}"] = (layer, n)
                route[f"d{prefix}_{n}"] = (layer, "d" + n)
        object.__setattr__(self, "_route", route)
        self.param_names = tuple(names)

    # parameters live in the parts -------------------------------------------------------------
    def __getattr__(self, name):
        route = self.__dict__.get("_route", {})
        if name in route:
            layer, attr = route[name]
            return getattr(layer, attr)
        parts = self.__dict__.get("parts", {})
        if name in parts:
            return parts[name]
        raise AttributeError(name)

    def __setattr__(self, name, value):
        route = self.__dict__.get("_route", {})
        if name in route:
            layer, attr = route[name]
            setattr(layer, attr, value)
        else:
            object.__setattr__(self, name, value)
            if name in ("training", "input_grad"):
                for layer in self.__dict__.get("parts", {}).values():
                    setattr(layer, name, True if name == "input_grad" else value)

    def init_params(self, rng):
        for layer in self.parts.values():
            layer.init_params(rng)

    def bind(self, params, grads):
        """Each part binds its own parameters to the caller's storage (names 'part_param')."""
        for prefix, layer in self.parts.items():
            layer.bind({n: params[f"{prefix}_{n}"] for n in layer.param_names},
                       {n: grads[f"{prefix}_{n}"] for n in layer.param_names})

    def compose_twin(self, twin_part):
        """A copy made of ``twin_part(part)`` for each part (``numnet.parallel`` gives its workers
        twins this way: the same parameters, each part's own caches)."""
        twin = object.__new__(type(self))
        twin.__dict__.update({k: v for k, v in self.__dict__.items() if k not in ("parts", "_route")})
        twin._setup(*(twin_part(layer) for layer in self.parts.values()))
        return twin

    # the math ---------------------------------------------------------------------------------
    def forward(self, x):
        p = self.parts
        u = x + p["attn"].forward(p["norm1"].forward(x))
        m = p["linear2"].forward(p["act"].forward(p["linear1"].forward(p["norm2"].forward(u))))
        return u + m

    def backward(self, grad):
        p = self.parts
        g = p["linear1"].backward(p["act"].backward(p["linear2"].backward(grad)))
        du = grad + p["norm2"].backward(g)
        dx_attn = p["norm1"].backward(p["attn"].backward(du))
        if not self.input_grad:
            return None
        return du + dx_attn

    def output_shape(self, input_shape):
        if len(input_shape) != 2 or input_shape[1] != self.dim:
            raise ConfigError(f"TransformerEncoderBlock({self.dim}) expects tokens (L, {self.dim}), "
                              f"got {tuple(input_shape)}")
        return input_shape

    def config(self):
        return {"type": "TransformerEncoderBlock", "dim": self.dim, "num_heads": self.num_heads,
                "mlp_dim": self.mlp_dim}
