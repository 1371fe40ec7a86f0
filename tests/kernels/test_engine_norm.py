"""The numba engine's normalisation kernels (numnet.kernels.jit_norm) against the layers' NumPy
rules: LayerNorm and BatchNorm forward outputs, input gradients and parameter gradients (both
engines, float64 ≤ 1e-12 relative, float32 ≤ 1e-5 of the scale), odd sizes, BatchNorm in training
and evaluation, on (N, C) and (N, C, H, W) inputs in both memory layouts, its running statistics,
and its ``batch_sum`` hook (data-parallel training) on the compiled path."""
import numpy as np
import pytest

from numnet.kernels import engine
from numnet.layers import BatchNorm, LayerNorm

from .test_engine_attention import TOL, _randomise, both_engines, counting

pytest.importorskip("numba", reason="the numba engine's kernels need numba (a default dependency)")

from numnet.kernels import jit_norm  # noqa: E402  (after the skip: it imports numba)

DTYPES = [np.float64, np.float32]


@pytest.fixture
def use_engine():
    """engine.use(name) for the test, then back to the default."""
    yield engine.use
    engine.use(None)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(3, 5, 8), (1, 1, 7), (4, 6), (2, 3, 4, 67), (5,)])
def test_layernorm(use_engine, monkeypatch, shape, dtype, rng):
    ln = LayerNorm(shape[-1], dtype=dtype)
    ln.init_params(rng)
    _randomise(ln, rng, dtype)
    calls = counting(monkeypatch, jit_norm, "layer_norm_backward")
    both_engines(use_engine, ln, (rng.standard_normal(shape) * 3 + 1).astype(dtype), rng)
    assert calls


@pytest.mark.parametrize("dtype", DTYPES)
def test_layernorm_backward_after_an_evaluation_forward(use_engine, dtype, rng):
    ln = LayerNorm(9, dtype=dtype)
    ln.init_params(rng)
    _randomise(ln, rng, dtype)
    ln.training = False
    both_engines(use_engine, ln, rng.standard_normal((2, 3, 9)).astype(dtype), rng)


def test_layernorm_first_layer_skips_the_input_gradient(use_engine, rng):
    ln = LayerNorm(6, dtype=np.float64)
    ln.input_grad = False
    use_engine("numba")
    ln.forward(rng.standard_normal((2, 3, 6)))
    assert ln.backward(rng.standard_normal((2, 3, 6))) is None
    assert np.abs(ln.dbeta).max() > 0


def spatial_major(a):
    """a's values in (H, W, N, C) memory behind the (N, C, H, W) shape, as convolutions hand them on."""
    return np.ascontiguousarray(a.transpose(2, 3, 0, 1)).transpose(2, 3, 0, 1)


def _batchnorm(C, dtype, rng, training=True):
    bn = BatchNorm(C, dtype=dtype)
    bn.init_params(rng)
    bn.init_buffers()
    _randomise(bn, rng, dtype)
    bn.running_mean[...] = rng.standard_normal(C)
    bn.running_var[...] = rng.uniform(0.5, 2, C)
    bn.training = training
    return bn


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("shape, layout", [((16, 7), None), ((2, 67), None), ((1, 3), None), ((4, 5, 6, 3), "nchw"),
                                           ((3, 8, 5, 7), "spatial"), ((1, 1, 2, 2), "spatial")])
def test_batchnorm(use_engine, monkeypatch, shape, layout, training, dtype, rng):
    """In evaluation backward forms x − running_mean from the input the one-pass forward kept."""
    bn = _batchnorm(shape[1], dtype, rng, training)
    x = (rng.standard_normal(shape) * 2 + 0.5).astype(dtype)
    if layout == "spatial":
        x = spatial_major(x)
    calls = counting(monkeypatch, jit_norm, "centre_and_square" if training else "centre_scale_shift")
    both_engines(use_engine, bn, x, rng)
    assert calls


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(16, 7), (3, 8, 5, 7)])
def test_batchnorm_evaluation(use_engine, monkeypatch, shape, dtype, rng):
    """Evaluation: y in one compiled pass, equal to the NumPy rule's, and nothing kept for backward."""
    bn = _batchnorm(shape[1], dtype, rng, training=False)
    x = spatial_major((rng.standard_normal(shape) * 2).astype(dtype)) if len(shape) == 4 else \
        rng.standard_normal(shape).astype(dtype)
    use_engine("numpy")
    ref = bn.forward(x)
    use_engine("numba")
    calls = counting(monkeypatch, jit_norm, "centre_scale_shift")
    np.testing.assert_allclose(bn.forward(x), ref, rtol=TOL[dtype], atol=TOL[dtype] * np.abs(ref).max())
    assert calls and bn.xc is None


@pytest.mark.parametrize("dtype", DTYPES)
def test_batchnorm_running_statistics(use_engine, dtype, rng):
    x = spatial_major((rng.standard_normal((6, 4, 5, 5)) * 3 + 1).astype(dtype))
    stats = []
    for name in ("numpy", "numba"):
        use_engine(name)
        bn = _batchnorm(4, dtype, np.random.default_rng(1))
        bn.forward(x)
        stats.append((bn.running_mean.copy(), bn.running_var.copy()))
    for ours, ref in zip(stats[1], stats[0]):
        np.testing.assert_allclose(ours, ref, rtol=TOL[dtype])


def test_batchnorm_batch_sum_hook(use_engine, rng):
    """The compiled path sums through ``batch_sum`` as the NumPy rule does: with a hook that adds a
    twin's equal part (two workers, the same half each), both engines agree, and the statistics are
    those of the batch twice over (the same μ and σ², dβ and dγ doubled in dx)."""
    x = rng.standard_normal((5, 3, 4, 4))
    g = rng.standard_normal(x.shape)
    results = []
    for name in ("numpy", "numba"):
        use_engine(name)
        bn = _batchnorm(3, np.float64, np.random.default_rng(2))
        bn.batch_sum = lambda *parts: tuple(2 * p for p in parts)
        results.append((bn.forward(x), bn.backward(g.copy()), bn.dgamma.copy(), bn.running_var.copy()))
    for ours, ref in zip(results[1], results[0]):
        np.testing.assert_allclose(ours, ref, rtol=1e-12, atol=1e-12)
