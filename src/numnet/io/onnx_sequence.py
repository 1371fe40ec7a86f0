"""ONNX forms of the recurrent and attention layers (used by ``numnet.io.onnx_export``).

Each converter takes (graph, layer, x, sample shape, prefix) and returns (output name, output
sample shape), as those of ``onnx_export``; the batch dimension N stays dynamic.

Recurrent layers (numnet: batch-first (N, T, F), PyTorch's gate order) use ONNX's own operators,
which are time-major (T, N, F) and stack the gates in another order:

    RNN   h_t = tanh(x_t·W_ihᵀ + b_ih + h_{t−1}·W_hhᵀ + b_hh)     RNN (gates: one block)
    LSTM  PyTorch i, f, g, o  → ONNX i, o, f, c                    LSTM (blocks 0, 3, 1, 2)
    GRU   PyTorch r, z, n     → ONNX z, r, h                       GRU (blocks 1, 0, 2), linear_before_reset=1:
          n = tanh(x·W_inᵀ + b_in + r ⊙ (h·W_hnᵀ + b_hn)), PyTorch's form
    W = W_ih (1, G·H, F), R = W_hh (1, G·H, H), B = [b_ih, b_hh] (1, 2·G·H); h_0 = c_0 = 0.
    x: Transpose(1, 0, 2) in; out Y_h (1, N, H) → Squeeze → (N, H), or with ``return_sequences``
    Y (T, 1, N, H) → Squeeze → Transpose(1, 0, 2) → (N, T, H).

Attention layers, on tokens (N, L, D):

    LayerNorm        y = γ ⊙ (x − μ)/√(σ² + ε) + β (last axis)   LayerNormalization (opset ≥ 17, float32),
                                                   else ReduceMean, Sub, Mul, Sqrt, Reciprocal
    GELU             x·(1 + erf(x/√2))/2                         Mul, Erf, Add
                     approximate="tanh": x·(1 + tanh(√(2/π)(x + 0.044715x³)))/2      Tanh
    Dense on tokens  y = x·Wᵀ + b on the last axis               MatMul, Add   (``dense_on_tokens``)
    MultiHeadSelfAttention  Q, K, V = x·W_{q,k,v}ᵀ + b; per head softmax(Q·Kᵀ/√d)·V; heads
                     side by side, ·W_outᵀ + b_out               MatMul, Add, Reshape, Transpose, Softmax
    PositionalEmbedding  y = x + pos                             Add
    PatchEmbedding   (N, [C,] H, W) → patches (N, L, C·p·p) in (c, u, v) order, ·Wᵀ + b, the class
                     token in front                              Reshape, Transpose, MatMul, Add,
                                                                 Shape, Gather, Concat, Expand
    TokenPool        "cls": token 0; "mean": mean over tokens    Gather, ReduceMean
    TransformerEncoderBlock  u = x + MHSA(LN₁(x)); y = u + W₂·GELU(W₁·LN₂(u) + b₁) + b₂  (the parts above)
"""
from __future__ import annotations

import math

import numpy as np

from ..errors import ExportError

#: ONNX gate blocks taken from PyTorch's stacking: LSTM i,f,g,o → i,o,f,c; GRU r,z,n → z,r,h
GATE_ORDER = {"RNN": (0,), "LSTM": (0, 3, 1, 2), "GRU": (1, 0, 2)}


def _ints(g, base, values):
    return g.const(base, list(values), dtype=np.int64)


def _reduce_mean(g, x, axes, p, keepdims):
    """ReduceMean over ``axes``: an attribute up to opset 17, an input from opset 18."""
    if g.opset >= 18:
        return g.node("ReduceMean", [x, _ints(g, f"{p}.axes", axes)], p, keepdims=keepdims)
    return g.node("ReduceMean", [x], p, axes=list(axes), keepdims=keepdims)


def _linear(g, x, W, b, p):
    """x·Wᵀ + b on the last axis of any (…, in) tensor: MatMul with the constant Wᵀ, then Add."""
    y = g.node("MatMul", [x, g.const(f"{p}.WT", np.asarray(W).T)], f"{p}.xW")
    return g.node("Add", [y, g.const(f"{p}.b", b)], f"{p}.out")


# recurrent -----------------------------------------------------------------------------------------
def _recurrent(g, layer, x, shape, p):
    kind = type(layer).__name__
    out_shape = tuple(layer.output_shape(shape))            # checks shape == (T, input_size)
    order = GATE_ORDER[kind]

    def onnx_order(a):
        blocks = np.split(np.asarray(a), len(order), axis=0)
        return np.concatenate([blocks[k] for k in order], axis=0)

    W = g.const(f"{p}.W", onnx_order(layer.weight_ih)[None])
    R = g.const(f"{p}.R", onnx_order(layer.weight_hh)[None])
    B = g.const(f"{p}.B", np.concatenate([onnx_order(layer.bias_ih), onnx_order(layer.bias_hh)])[None])
    xt = g.node("Transpose", [x], f"{p}.time_major", perm=[1, 0, 2])      # (T, N, F)
    attrs = {"hidden_size": int(layer.hidden_size)}
    if kind == "GRU":
        attrs["linear_before_reset"] = 1
    if layer.return_sequences:
        y = g.name(f"{p}.Y")                                                # (T, 1, N, H)
        g.nodes.append(g.helper.make_node(kind, [xt, W, R, B], [y], name=f"{p}/{kind}", **attrs))
        y = g.node("Squeeze", [y, _ints(g, f"{p}.dir_axis", [1])], f"{p}.Y_tnh")
        return g.node("Transpose", [y], f"{p}.out", perm=[1, 0, 2]), out_shape
    h = g.name(f"{p}.Y_h")                                                  # (1, N, H)
    g.nodes.append(g.helper.make_node(kind, [xt, W, R, B], ["", h], name=f"{p}/{kind}", **attrs))
    return g.node("Squeeze", [h, _ints(g, f"{p}.dir_axis", [0])], f"{p}.out"), out_shape


# attention -----------------------------------------------------------------------------------------
def _layernorm(g, layer, x, shape, p):
    if shape[-1] != layer.dim:
        raise ExportError(f"layer {p} (LayerNorm({layer.dim})): gets samples of shape {shape}")
    gamma, beta = g.const(f"{p}.gamma", layer.gamma), g.const(f"{p}.beta", layer.beta)
    if g.opset >= 17 and g.dtype == np.float32:    # its ε is a float32 attribute: written out for float64
        return g.node("LayerNormalization", [x, gamma, beta], f"{p}.out", axis=-1, epsilon=float(layer.eps)), shape
    mu = _reduce_mean(g, x, [-1], f"{p}.mean", 1)
    xc = g.node("Sub", [x, mu], f"{p}.centred")
    var = _reduce_mean(g, g.node("Mul", [xc, xc], f"{p}.sq"), [-1], f"{p}.var", 1)
    std = g.node("Sqrt", [g.node("Add", [var, g.const(f"{p}.eps", layer.eps)], f"{p}.var_eps")], f"{p}.std")
    x_hat = g.node("Mul", [xc, g.node("Reciprocal", [std], f"{p}.inv_std")], f"{p}.x_hat")
    return g.node("Add", [g.node("Mul", [x_hat, gamma], f"{p}.scaled"), beta], f"{p}.out"), shape


def _gelu(g, layer, x, shape, p):
    if layer.approximate == "tanh":
        x3 = g.node("Mul", [g.node("Mul", [x, x], f"{p}.x2"), x], f"{p}.x3")
        inner = g.node("Add", [x, g.node("Mul", [x3, g.const(f"{p}.c", 0.044715)], f"{p}.cx3")], f"{p}.inner")
        s = g.node("Tanh", [g.node("Mul", [inner, g.const(f"{p}.k", math.sqrt(2 / math.pi))], f"{p}.u")], f"{p}.t")
    else:
        s = g.node("Erf", [g.node("Mul", [x, g.const(f"{p}.inv_sqrt2", 1 / math.sqrt(2))], f"{p}.u")], f"{p}.erf")
    one_plus = g.node("Add", [s, g.const(f"{p}.one", 1)], f"{p}.one_plus")
    cdf = g.node("Mul", [one_plus, g.const(f"{p}.half", 0.5)], f"{p}.cdf")     # Φ(x) = (1 + erf(x/√2))/2
    return g.node("Mul", [x, cdf], f"{p}.out"), shape


def dense_on_tokens(g, layer, x, shape, p):
    """A Dense on (…, in) samples of any rank (``onnx_export`` converts one on rows (in,) to Gemm)."""
    if shape[-1] != layer.in_features:
        raise ExportError(f"layer {p} (Dense): expects (…, {layer.in_features}) inputs, gets {shape}")
    return _linear(g, x, layer.W, layer.b, p), tuple(shape[:-1]) + (layer.out_features,)


def _attention(g, layer, x, shape, p):
    out_shape = tuple(layer.output_shape(shape))             # checks (L, D)
    D, h = layer.embed_dim, layer.num_heads
    d = D // h
    W, b = np.asarray(layer.in_proj_weight), np.asarray(layer.in_proj_bias)
    split = _ints(g, f"{p}.heads_shape", [0, 0, h, d])       # (N, L, D) → (N, L, h, d)
    q, k, v = (g.node("Reshape", [_linear(g, x, W[j * D:(j + 1) * D], b[j * D:(j + 1) * D], f"{p}.{name}"), split],
                      f"{p}.{name}_split") for j, name in enumerate("qkv"))
    q = g.node("Transpose", [q], f"{p}.q_heads", perm=[0, 2, 1, 3])          # (N, h, L, d)
    kT = g.node("Transpose", [k], f"{p}.kT_heads", perm=[0, 2, 3, 1])        # (N, h, d, L)
    v = g.node("Transpose", [v], f"{p}.v_heads", perm=[0, 2, 1, 3])
    S = g.node("MatMul", [q, kT], f"{p}.QKT")
    S = g.node("Mul", [S, g.const(f"{p}.scale", 1 / math.sqrt(d))], f"{p}.S")   # S = Q·Kᵀ/√d
    P = g.node("Softmax", [S], f"{p}.P", axis=-1)
    O = g.node("Transpose", [g.node("MatMul", [P, v], f"{p}.PV")], f"{p}.O", perm=[0, 2, 1, 3])
    O = g.node("Reshape", [O, _ints(g, f"{p}.merged_shape", [0, 0, D])], f"{p}.heads_merged")
    return _linear(g, O, layer.out_proj_weight, layer.out_proj_bias, f"{p}.out_proj"), out_shape


def _positional(g, layer, x, shape, p):
    out_shape = tuple(layer.output_shape(shape))
    return g.node("Add", [x, g.const(f"{p}.pos", layer.pos)], f"{p}.out"), out_shape


def _patches(g, layer, x, shape, p):
    out_shape = tuple(layer.output_shape(shape))
    C, (gh, gw), ps, D = layer.image_shape[0], layer.grid, layer.patch_size, layer.dim
    grid = g.node("Reshape", [x, _ints(g, f"{p}.grid_shape", [0, C, gh, ps, gw, ps])], f"{p}.grid")
    grid = g.node("Transpose", [grid], f"{p}.grid_t", perm=[0, 2, 4, 1, 3, 5])
    xp = g.node("Reshape", [grid, _ints(g, f"{p}.patch_shape", [0, gh * gw, C * ps * ps])], f"{p}.xp")
    tokens = _linear(g, xp, layer.weight, layer.bias, f"{p}.tokens" if layer.cls_token else p)
    if not layer.cls_token:
        return tokens, out_shape
    n = g.node("Gather", [g.node("Shape", [x], f"{p}.in_shape"), _ints(g, f"{p}.zero", [0])], f"{p}.n", axis=0)
    cls_shape = g.node("Concat", [n, _ints(g, f"{p}.one_d", [1, D])], f"{p}.cls_shape", axis=0)   # [N, 1, D]
    cls = g.node("Expand", [g.const(f"{p}.cls", np.asarray(layer.cls).reshape(1, 1, D)), cls_shape], f"{p}.cls_n")
    return g.node("Concat", [cls, tokens], f"{p}.out", axis=1), out_shape


def _token_pool(g, layer, x, shape, p):
    out_shape = tuple(layer.output_shape(shape))
    if layer.mode == "cls":
        return g.node("Gather", [x, g.const(f"{p}.index", 0, dtype=np.int64)], f"{p}.out", axis=1), out_shape
    return _reduce_mean(g, x, [1], f"{p}.out", 0), out_shape


def _block(g, layer, x, shape, p):
    shape = tuple(layer.output_shape(shape))
    a, _ = _layernorm(g, layer.norm1, x, shape, f"{p}.norm1")
    a, _ = _attention(g, layer.attn, a, shape, f"{p}.attn")
    u = g.node("Add", [x, a], f"{p}.u")                                      # u = x + MHSA(LN₁(x))
    m, _ = _layernorm(g, layer.norm2, u, shape, f"{p}.norm2")
    m, hidden = dense_on_tokens(g, layer.linear1, m, shape, f"{p}.linear1")
    m, _ = _gelu(g, layer.act, m, hidden, f"{p}.act")
    m, _ = dense_on_tokens(g, layer.linear2, m, hidden, f"{p}.linear2")
    return g.node("Add", [u, m], f"{p}.out"), shape                           # y = u + MLP(LN₂(u))


CONVERTERS = {
    "RNN": _recurrent,
    "LSTM": _recurrent,
    "GRU": _recurrent,
    "LayerNorm": _layernorm,
    "GELU": _gelu,
    "MultiHeadSelfAttention": _attention,
    "PositionalEmbedding": _positional,
    "PatchEmbedding": _patches,
    "TokenPool": _token_pool,
    "TransformerEncoderBlock": _block,
}
