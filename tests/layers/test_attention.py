"""Attention layers and the Transformer block against central differences (float64); PyTorch as the
oracle is in ``test_attention_torch.py``."""
import numpy as np
import pytest

import numnet
from numnet.layers import (
    GELU,
    Dense,
    Flatten,
    LayerNorm,
    MultiHeadSelfAttention,
    PatchEmbedding,
    PositionalEmbedding,
    TokenPool,
    TransformerEncoderBlock,
)

from ..helpers import check_model

N, L, D = 3, 5, 8


def _randomise(model, rng):
    """Non-trivial values for every parameter (LayerNorm's γ = 1, β = 0 would hide terms)."""
    for _, p in model.named_parameters():
        p[...] += rng.uniform(-0.3, 0.3, p.shape)


def _check(layers, x, rng, out_features):
    model = numnet.Sequential(layers + [Flatten(), Dense(out_features, 3)], dtype=np.float64, seed=2)
    _randomise(model, rng)
    check_model(model, x, rng.integers(0, 3, len(x)), atol=1e-9)


@pytest.mark.parametrize("make, out", [
    (lambda: [LayerNorm(D)], L * D),
    (lambda: [GELU()], L * D),
    (lambda: [GELU("tanh")], L * D),
    (lambda: [Dense(D, 6)], L * 6),
    (lambda: [MultiHeadSelfAttention(D, 2)], L * D),
    (lambda: [PositionalEmbedding(L, D)], L * D),
    (lambda: [TransformerEncoderBlock(D, 2, 12)], L * D),
    (lambda: [LayerNorm(D), TokenPool("cls")], D),
    (lambda: [LayerNorm(D), TokenPool("mean")], D),
])
def test_central_differences_on_tokens(make, out, rng):
    _check(make(), rng.standard_normal((N, L, D)), rng, out)


@pytest.mark.parametrize("cls_token", [True, False])
def test_central_differences_patch_embedding(cls_token, rng):
    x = rng.standard_normal((2, 2, 6, 4))
    _check([PatchEmbedding((2, 6, 4), 2, 5, cls_token=cls_token)], x, rng, (6 + cls_token) * 5)


def test_gelu_without_scipy_uses_math_erf(monkeypatch, rng):
    import math
    import sys
    x = rng.standard_normal((3, 4)) * 3
    expected = x * 0.5 * (1 + np.array([[math.erf(v / math.sqrt(2)) for v in row] for row in x]))
    monkeypatch.setitem(sys.modules, "scipy.special", None)        # import fails: the fallback runs
    np.testing.assert_allclose(GELU().forward(x), expected, rtol=1e-15, atol=1e-16)


def test_block_parameters_bind_into_a_model(rng):
    """In a Sequential the block's parameters are views of the model's flat buffer, through its parts."""
    model = numnet.Sequential([TransformerEncoderBlock(8, 2, 16), TokenPool("mean"), Dense(8, 3)],
                              dtype=np.float64)
    block = model.layers[0]
    assert np.shares_memory(block.attn.in_proj_weight, model.flat_params)
    assert np.shares_memory(block.linear2.dW, model.flat_grads)
    model.fit(rng.standard_normal((16, 5, 8)), rng.integers(0, 3, 16), epochs=1, batch_size=8)
    assert np.abs(model.flat_grads).max() > 0
