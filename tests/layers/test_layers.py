"""Every layer's backward against central differences (float64, relative error < 1e-6)."""
import numpy as np
import pytest

import numnet
from numnet import Dense, Flatten, ReLU, Sigmoid, Softmax, Step, Tanh

from ..helpers import check_layer


def away_from_kinks(x):
    """Move entries away from 0, where ReLU and Step are not differentiable."""
    return np.where(np.abs(x) < 0.05, 0.1 * np.sign(x) + 0.1 * (x == 0), x)


@pytest.mark.parametrize("make", [
    lambda: Dense(7, 5, dtype=np.float64, seed=3),
    lambda: Dense(7, 5, init="xavier", dtype=np.float64),
    ReLU, Sigmoid, Tanh, Softmax, Step, Flatten,
])
def test_layer_gradients(make, rng):
    layer = make()
    x = away_from_kinks(rng.standard_normal((4, 7)))
    check_layer(layer, x, rng)


def test_flatten_shapes(rng):
    x = rng.standard_normal((3, 2, 4, 5))
    f = Flatten()
    assert f.forward(x).shape == (3, 40)
    assert f.backward(np.ones((3, 40))).shape == x.shape


def test_dense_is_xWT_plus_b():
    d = Dense(3, 2, dtype=np.float64)
    d.W[...] = [[1, 2, 3], [4, 5, 6]]
    d.b[...] = [0.5, -1]
    x = np.array([[1.0, 0, -1], [2, 1, 0]])
    np.testing.assert_allclose(d.forward(x), [[-1.5, -3], [4.5, 12]])
    assert d.W.shape == (2, 3) and d.b.shape == (2,)


def test_activation_values():
    z = np.array([[-2.0, 0.0, 3.0]])
    np.testing.assert_allclose(ReLU().forward(z), [[0, 0, 3]])
    np.testing.assert_allclose(Sigmoid().forward(z), 1 / (1 + np.exp(-z)))
    np.testing.assert_allclose(Tanh().forward(z), np.tanh(z))
    np.testing.assert_array_equal(Step().forward(z), [[0, 1, 1]])
    s = Softmax().forward(z)
    np.testing.assert_allclose(s, np.exp(z) / np.exp(z).sum())


def test_softmax_and_sigmoid_do_not_overflow():
    z = np.array([[1000.0, 0.0, -1000.0]])
    assert np.isfinite(Softmax().forward(z)).all()
    assert np.isfinite(Sigmoid().forward(z)).all()
    np.testing.assert_allclose(Sigmoid().forward(z), [[1, 0.5, 0]], atol=1e-12)


def test_initialisers_have_the_right_scale():
    rng = np.random.default_rng(0)
    he = numnet.init.he((400, 1000), 1000, 400, rng)
    assert abs(he.std() - np.sqrt(2 / 1000)) < 0.002
    xa = numnet.init.xavier((400, 1000), 1000, 400, rng)
    a = np.sqrt(6 / 1400)
    assert xa.max() <= a and xa.min() >= -a and abs(xa.std() - a / np.sqrt(3)) < 0.002
    n = numnet.init.normal(0.01)((400, 1000), 1000, 400, rng)
    assert abs(n.std() - 0.01) < 0.0002
    with pytest.raises(numnet.ConfigError):
        numnet.init.get("nope")


def test_standardize_adapt_and_gradient(rng):
    x = rng.standard_normal((50, 7)) * 3 + np.arange(7)
    s = numnet.Standardize()
    s.adapt([x[:20], x[20:]])
    np.testing.assert_allclose(s.mean, x.mean(0))
    np.testing.assert_allclose(s.std, np.sqrt(x.var(0).mean()))
    out = s.forward(x)
    np.testing.assert_allclose(out.mean(0), 0, atol=1e-12)
    check_layer(s, x[:4], rng)


def test_standardize_adapts_on_integer_batches_without_overflow():
    x = np.full((80000, 3), 255, np.int32)
    x[::2] = 0                                        # Σx² = 2.6e9 > int32's 2.1e9
    s = numnet.Standardize()
    s.adapt([x[:30000], x[30000:]])
    np.testing.assert_allclose(s.mean, 127.5)
    np.testing.assert_allclose(s.std, 127.5)


def test_fit_adapts_standardize_once(mnist):
    (x, y), _ = mnist
    model = numnet.Sequential(numnet.mlp((8,)), seed=0)
    model.fit(x[:300], y[:300], epochs=1, batch_size=100)
    std = model.layers[1]
    np.testing.assert_allclose(std.mean, x[:300].reshape(300, -1).mean(0) / 255, rtol=1e-6)
    mean_before = std.mean.copy()
    model.fit(x[300:600], y[300:600], epochs=1, batch_size=100)   # continued training keeps μ, σ
    np.testing.assert_array_equal(std.mean, mean_before)
