"""The numba engine's attention and GELU kernels (numnet.kernels.jit_attention) against the layers'
NumPy rules (LayerNorm's kernels: test_engine_norm.py): forward outputs, input gradients and parameter gradients, float64
(≤ 1e-12 relative) and float32 (≤ 1e-5 of the scale), odd sizes (N = 1, L = 1, one head, D not a
multiple of 8), and evaluation mode, where the compiled path keeps no training caches.
float32 GELU uses a rational erf (|error| < 5e-7): within the float32 tolerance too."""
import numpy as np
import pytest

import numnet
from numnet.kernels import engine
from numnet.layers import GELU, MultiHeadSelfAttention, TransformerEncoderBlock

pytest.importorskip("numba", reason="the numba engine's kernels need numba (a default dependency)")

from numnet.kernels import jit_attention  # noqa: E402  (after the skip: it imports numba)

DTYPES = [np.float64, np.float32]
TOL = {np.float64: 1e-12, np.float32: 1e-5}


@pytest.fixture
def use_engine():
    """engine.use(name) for the test, then back to the default."""
    yield engine.use
    engine.use(None)


def _randomise(layer, rng, dtype):
    for _, p in layer.named_parameters():
        p[...] = (p + rng.uniform(-0.3, 0.3, p.shape)).astype(dtype)


def _run(layer, x, g):
    """Forward, backward: (y, dx, the parameter gradients)."""
    y = layer.forward(x.copy())
    dx = layer.backward(g.copy())
    return y, dx, {name: d.copy() for name, d in layer.grads.items()}


def _assert_close(ours, ref, dtype, what):
    scale = max(float(np.abs(ref).max()), 1e-30)
    np.testing.assert_allclose(ours, ref, rtol=TOL[dtype], atol=TOL[dtype] * scale, err_msg=what)


def both_engines(use_engine, layer, x, rng):
    """The layer's forward and backward with the NumPy rule, then with the kernels, compared."""
    g = rng.standard_normal(layer.forward(x).shape).astype(x.dtype)
    use_engine("numpy")
    ref = _run(layer, x, g)
    use_engine("numba")
    ours = _run(layer, x, g)
    for what, a, b in (("y", ours[0], ref[0]), ("dx", ours[1], ref[1])):
        assert a.dtype == x.dtype, what
        _assert_close(a, b, x.dtype.type, what)
    for name in ref[2]:
        _assert_close(ours[2][name], ref[2][name], x.dtype.type, name)


def counting(monkeypatch, module, name):
    calls = []
    kernel = getattr(module, name)
    monkeypatch.setattr(module, name, lambda *a: calls.append(1) or kernel(*a))
    return calls


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n, l, d, heads", [(3, 5, 8, 2), (1, 17, 64, 4), (4, 1, 6, 1), (2, 9, 12, 3), (2, 7, 5, 1)])
def test_attention(use_engine, monkeypatch, n, l, d, heads, dtype, rng):
    attn = MultiHeadSelfAttention(d, heads, dtype=dtype)
    attn.init_params(rng)
    _randomise(attn, rng, dtype)
    forward, backward = (counting(monkeypatch, jit_attention, k) for k in ("softmax_columns", "softmax_columns_backward"))
    both_engines(use_engine, attn, rng.standard_normal((n, l, d)).astype(dtype), rng)
    assert forward and backward


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("approximate", ["none", "tanh"])
@pytest.mark.parametrize("shape", [(3, 5, 8), (1, 1, 7), (2, 13)])
def test_gelu(use_engine, approximate, shape, dtype, rng):
    x = (rng.standard_normal(shape) * 3).astype(dtype)
    both_engines(use_engine, GELU(approximate), x, rng)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("training", [True, False])
def test_transformer_block(use_engine, training, dtype, rng):
    """Also in evaluation mode (caches formed by backward, as ``check_layer`` and explain need)."""
    block = TransformerEncoderBlock(12, 3, 20, dtype=dtype)
    for child in (block.norm1, block.attn, block.norm2, block.linear1, block.linear2):
        child.init_params(rng)
    _randomise(block, rng, dtype)
    block.training = training
    both_engines(use_engine, block, rng.standard_normal((3, 6, 12)).astype(dtype), rng)


def test_exp_neg32(rng):
    """The float32 e^x of the softmax and GELU kernels: within 2 ulp of e^x for x ≤ 0, 0 far below."""
    x = np.concatenate([-np.abs(rng.standard_normal(10000)) * 30, [0, -1e-8, -87.3, -103.9, -200, -np.inf]])
    x = x.astype(np.float32)
    ours = np.array([jit_attention.exp_neg32(v) for v in x], dtype=np.float32)
    ref = np.exp(x.astype(np.float64))
    normal = ref > np.finfo(np.float32).tiny
    np.testing.assert_allclose(ours[normal], ref[normal], rtol=2.4e-7)
    assert np.all(np.abs(ours[~normal] - ref[~normal]) <= 2e-44) and ours[-1] == 0 and ours[-2] == 0
    assert np.isnan(jit_attention.exp_neg32(np.float32(np.nan)))


def test_evaluation_keeps_no_caches_and_predicts_the_same(use_engine, rng):
    """In evaluation mode the compiled path stores no x̂, 1/σ or Φ(x) for backward; a model's
    outputs are those of the NumPy engine."""
    model = numnet.Sequential([TransformerEncoderBlock(8, 2, 16), numnet.layers.TokenPool("cls"),
                               numnet.layers.Dense(8, 3)], dtype=np.float64, seed=1)
    x = rng.standard_normal((5, 4, 8))
    use_engine("numpy")
    ref = model.predict_proba(x)
    use_engine("numba")
    np.testing.assert_allclose(model.predict_proba(x), ref, rtol=1e-12)
    block = model.layers[0]
    assert block.norm1.x_hat is None and block.norm2.inv_std is None and block.act.cdf is None
    assert block.act.slope is None


def test_evaluation_in_chunks(use_engine, monkeypatch, rng):
    """Evaluation runs the block a few samples at a time; backward after it sees the whole batch."""
    block = TransformerEncoderBlock(8, 2, 16, dtype=np.float64)
    for child in (block.norm1, block.attn, block.norm2, block.linear1, block.linear2):
        child.init_params(rng)
    x, g = rng.standard_normal((7, 3, 8)), rng.standard_normal((7, 3, 8))
    y, dx = block.forward(x), block.backward(g)
    block.training = False
    monkeypatch.setattr(block, "eval_chunk", 3)
    np.testing.assert_allclose(block.forward(x), y, rtol=1e-13)
    np.testing.assert_allclose(block.backward(g), dx, rtol=1e-12)


def test_explain_keeps_what_it_shows(use_engine, rng):
    """Explaining in evaluation mode: backward keeps the per-head gradients explain prints (the NumPy rule)."""
    use_engine("numba")
    attn = MultiHeadSelfAttention(8, 2, dtype=np.float64)
    attn.init_params(rng)
    attn.training, attn.explaining = False, True
    attn.forward(rng.standard_normal((1, 4, 8)))
    attn.backward(rng.standard_normal((1, 4, 8)))
    arrays = attn.explain_arrays()
    assert arrays["P_1"].shape == (4, 4) and arrays["dS_2"].shape == (4, 4)
