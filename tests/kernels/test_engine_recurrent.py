"""The numba engine's recurrent kernels (numnet.kernels.jit_recurrent) against the NumPy rules of
RNN, LSTM and GRU (numnet.layers.recurrent): forward output, input gradient and the four parameter
gradients, float64 and float32, last state or every state, odd sizes; evaluation mode (only the
last step's state kept, in chunks) equal to a training-mode pass; ‖dL/dh_t‖ the same."""
import numpy as np
import pytest

from numnet.kernels import engine
from numnet.layers import GRU, LSTM, RNN

pytest.importorskip("numba", reason="the numba engine's kernels need numba (a default dependency)")

CELLS = {"RNN": RNN, "LSTM": LSTM, "GRU": GRU}
DTYPES = [np.float64, np.float32]
#: float64: the same formulas in the same order; float32: the kernels' tanh is a rational approximation
#: within a few ulp of NumPy's, and the differences go through T steps
TOL = {np.float64: 1e-12, np.float32: 1e-5}
SIZES = [(4, 6, 3, 5), (1, 1, 2, 5), (1, 7, 4, 3), (5, 1, 3, 9), (3, 28, 28, 16)]   # N, T, F, H


@pytest.fixture
def use_engine():
    """engine.use(name) for the test, then back to the default."""
    yield engine.use
    engine.use(None)


def _layer(cls, F, H, seq, dtype, seed=0):
    layer = cls(F, H, return_sequences=seq, dtype=dtype)
    layer.allocate()
    rng = np.random.default_rng(seed)
    for name, p in layer.params.items():       # non-zero biases, so that every term counts
        p[...] = rng.uniform(-0.6, 0.6, p.shape)
    layer.input_grad = True
    return layer


def _pass(cls, x, H, seq, dtype, grad):
    """Output, dL/dx and the parameters' gradients of one forward and backward pass."""
    layer = _layer(cls, x.shape[2], H, seq, dtype)
    y = layer.forward(x)
    dx = layer.backward(grad.astype(dtype))
    return {"y": y.copy(), "dx": dx.copy(), **{"d" + n: g.copy() for n, g in layer.grads.items()}}


@pytest.mark.parametrize("name", CELLS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("seq", [False, True])
@pytest.mark.parametrize("size", SIZES)
def test_kernels_equal_the_numpy_rules(use_engine, name, dtype, seq, size, rng):
    N, T, F, H = size
    x = rng.standard_normal((N, T, F)).astype(dtype)
    grad = rng.standard_normal((N, T, H) if seq else (N, H))
    use_engine("numpy")
    want = _pass(CELLS[name], x, H, seq, dtype, grad)
    use_engine("numba")
    got = _pass(CELLS[name], x, H, seq, dtype, grad)
    assert set(got) == {"y", "dx", "dweight_ih", "dweight_hh", "dbias_ih", "dbias_hh"}
    for key, w in want.items():
        assert got[key].dtype == w.dtype == dtype
        scale = max(np.abs(w).max(), 1e-30)
        assert np.abs(got[key] - w).max() <= TOL[dtype] * scale, key


@pytest.mark.parametrize("name", CELLS)
@pytest.mark.parametrize("seq", [False, True])
@pytest.mark.parametrize("engine_name", engine.ENGINES)
def test_evaluation_in_chunks_equals_a_training_pass(use_engine, name, seq, engine_name, rng):
    use_engine(engine_name)
    layer = _layer(CELLS[name], 5, 7, seq, np.float64)
    x = rng.standard_normal((11, 4, 5))
    whole = layer.forward(x).copy()
    layer.training, layer.eval_chunk = False, 3
    chunked = layer.forward(x)
    assert chunked.shape == whole.shape
    np.testing.assert_allclose(chunked, whole, rtol=1e-13, atol=1e-15)
    if engine_name == "numba":                  # evaluation keeps the last step's state only
        assert len(layer.h) == (5 if seq else 1 + (name == "GRU"))
        with pytest.raises(Exception, match="training mode"):
            layer.backward(np.ones_like(chunked))


@pytest.mark.parametrize("name", CELLS)
def test_dh_norms_agree(use_engine, name, rng):
    x = rng.standard_normal((3, 6, 4))
    grad = rng.standard_normal((3, 6, 5))
    norms = {}
    for e in engine.ENGINES:
        use_engine(e)
        layer = _layer(CELLS[name], 4, 5, True, np.float64)
        layer.record_dh = True
        layer.forward(x)
        layer.backward(grad)
        norms[e] = layer.dh_norms
    np.testing.assert_allclose(norms["numba"], norms["numpy"], rtol=1e-12)
