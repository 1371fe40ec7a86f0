"""The numba engine's compiled kernels against the NumPy formulas they fuse (float64 ≤ 1e-12
relative, float32 ≤ 1e-6 of the values' scale), and the engine switch itself."""
import os
import subprocess
import sys

import numpy as np
import pytest

from numnet import losses, optim
from numnet.errors import ConfigError
from numnet.kernels import engine, relu_backward

from ..helpers import SRC

pytest.importorskip("numba", reason="the numba engine's kernels need numba (a default dependency)")

TOL = {np.float64: 1e-12, np.float32: 1e-6}
DTYPES = [np.float64, np.float32]


@pytest.fixture
def restore_engine():
    yield
    engine.use(None)


def close(a, b, dtype):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    scale = max(np.abs(b).max(), 1e-30)
    assert np.abs(a - b).max() <= TOL[dtype] * scale, (np.abs(a - b).max(), scale)


def run_steps(name, dtype, which, weight_decay, steps=5):
    """The parameters after ``steps`` steps of optimizer ``name`` with the ``which`` engine."""
    rng = np.random.default_rng(1)
    p = [rng.standard_normal(1000).astype(dtype), rng.standard_normal((7, 9)).astype(dtype)]
    kwargs = {"weight_decay": weight_decay} if weight_decay else {}
    opt = optim.get(name, 0.01 if name != "sgd" else 0.1, **kwargs)
    engine.use(which)
    for _ in range(steps):
        g = [rng.standard_normal(a.shape).astype(dtype) for a in p]
        opt.step(p, g)
    return p, opt


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", ["sgd", "momentum", "adam", "adamw"])
@pytest.mark.parametrize("weight_decay", [0.0, 0.05])
def test_fused_optimizer_matches_update(name, dtype, weight_decay, restore_engine):
    ref, _ = run_steps(name, dtype, "numpy", weight_decay)
    got, opt = run_steps(name, dtype, "numba", weight_decay)
    assert opt._fusable()
    for a, b in zip(got, ref):
        assert a.dtype == dtype
        close(a, b, dtype)


def test_subclass_with_its_own_rule_steps_as_written(restore_engine):
    class Halved(optim.Adam):
        def update(self, p, g, s):
            super().update(p, g * 0.5, s)

    assert not Halved(1e-3)._fusable() and optim.AdamW(1e-3)._fusable()
    engine.use("numba")
    p, g = np.ones(10), np.ones(10)
    Halved(0.1).step([p], [g])
    np.testing.assert_allclose(p, 0.9)    # Adam's first step is lr·sign(g), whatever g's scale


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n", [1, 15, 300])
def test_softmax_cross_entropy_kernel(dtype, n, restore_engine):
    rng = np.random.default_rng(n)
    z = (rng.standard_normal((n, 10)) * 4).astype(dtype)
    y = rng.integers(0, 10, n).astype(np.uint8)
    out = {}
    for which in ("numpy", "numba"):
        engine.use(which)
        loss = losses.SoftmaxCrossEntropy()
        out[which] = loss.forward(z, y), loss.backward()
    (l_ref, d_ref), (l_nb, d_nb) = out["numpy"], out["numba"]
    assert d_nb.dtype == dtype and d_nb.shape == z.shape
    close(l_nb, l_ref, dtype)
    close(d_nb, d_ref, dtype)


def test_softmax_cross_entropy_rejects_bad_labels(restore_engine):
    engine.use("numba")
    with pytest.raises(IndexError):
        losses.SoftmaxCrossEntropy().forward(np.zeros((2, 3)), np.array([0, 3]))


@pytest.mark.parametrize("dtype", DTYPES)
def test_relu_backward_kernel(dtype, restore_engine):
    rng = np.random.default_rng(0)
    a = np.maximum(rng.standard_normal((4, 6, 5, 3)), 0).astype(dtype).transpose(2, 3, 0, 1)  # spatial-major
    g = np.empty_like(a)
    g[...] = rng.standard_normal(a.shape)
    engine.use("numba")
    got = relu_backward(g, a)
    assert got.strides == a.strides
    np.testing.assert_array_equal(got, g * (a > 0))
    np.testing.assert_array_equal(relu_backward(g[:, :, ::2], a[:, :, ::2]), g[:, :, ::2] * (a[:, :, ::2] > 0))


def test_engine_choice(restore_engine, monkeypatch):
    assert engine.use("numpy") == "numpy" and engine.jit() is None
    assert engine.use("numba") == "numba" and engine.jit() is not None
    with pytest.raises(ConfigError):
        engine.use("cuda")
    monkeypatch.setenv("NUMNET_ENGINE", "numpy")
    assert engine.use(None) == "numpy"
    monkeypatch.setenv("NUMNET_ENGINE", "fortran")
    with pytest.raises(ConfigError):
        engine.use(None)


def test_default_falls_back_to_numpy_without_numba(tmp_path):
    """With numba unimportable the default engine is NumPy, with one EngineWarning; training works."""
    (tmp_path / "numba.py").write_text("raise ImportError('no numba here')\n")
    code = ("import warnings, numpy as np\n"
            "from numnet.kernels import engine\n"
            "from numnet import optim\n"
            "with warnings.catch_warnings(record=True) as w:\n"
            "    warnings.simplefilter('always')\n"
            "    p = np.ones(3); optim.Adam(0.1).step([p], [np.ones(3)])\n"
            "print(engine.current(), len(w), engine.note is not None, round(float(p[0]), 6))\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), SRC])}
    env.pop("NUMNET_ENGINE", None)
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["numpy", "1", "True", "0.9"]


def _sum_bound(x, Wt, b, dtype):
    """The standard bound on a K-term dot product in floating point: K·ε·Σ|x_i·W_ij| (+ |b|·ε)."""
    x64, W64 = np.abs(np.asarray(x, np.float64)), np.abs(np.asarray(Wt, np.float64))
    eps = np.finfo(dtype).eps
    return Wt.shape[0] * eps * (x64 @ W64) + eps * np.abs(np.asarray(b, np.float64))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("pixels", [True, False])
def test_affine_skipping_zeros_kernel(dtype, pixels, restore_engine):
    """out = x·Wt + b (then ReLU), adding only the rows of Wt whose input is non-zero."""
    engine.use("numba")
    jit = engine.jit()
    rng = np.random.default_rng(3)
    K, O, N = 97, 13, 5
    if pixels:
        x = (rng.integers(0, 256, (N, K)) * (rng.random((N, K)) < 0.2)).astype(np.uint8)
    else:
        x = np.maximum(rng.standard_normal((N, K)), 0).astype(dtype)
    Wt, b = rng.standard_normal((K, O)).astype(dtype), rng.standard_normal(O).astype(dtype)
    exact = np.asarray(x, np.float64) @ np.asarray(Wt, np.float64) + np.asarray(b, np.float64)
    for relu in (False, True):
        out = np.empty((N, O), dtype)
        jit.affine_skipping_zeros(x, Wt, b, relu, out)
        want = np.maximum(exact, 0) if relu else exact
        assert (np.abs(out - want) <= _sum_bound(x, Wt, b, dtype)).all()
        if relu:
            assert (out >= 0).all() and (out[exact < 0] == 0).all()
    chain = jit.dense_chain_skipping_zeros(
        x, np.concatenate([Wt.reshape(-1), Wt[:O].reshape(-1)]), np.concatenate([b, b[:O]]),
        np.array([K, O, O], np.int64), np.array([True, False]))
    h = np.maximum(exact, 0)                        # two steps: ReLU(x·Wt + b), then ·Wt[:O] + b[:O]
    want = h @ np.asarray(Wt[:O], np.float64) + np.asarray(b[:O], np.float64)
    carried = _sum_bound(x, Wt, b, dtype) @ np.abs(np.asarray(Wt[:O], np.float64))   # step 1's error through step 2
    assert (np.abs(chain - want) <= _sum_bound(h, Wt[:O], b[:O], dtype) + carried).all()


@pytest.mark.parametrize("dtype", DTYPES)
def test_bias_relu_kernel(dtype, restore_engine):
    engine.use("numba")
    rng = np.random.default_rng(4)
    z, b = rng.standard_normal((7, 9)).astype(dtype), rng.standard_normal(9).astype(dtype)
    want = np.maximum(z + b, 0)
    engine.jit().bias_relu(z, b)
    np.testing.assert_array_equal(z, want)          # one rounding (z + b), as NumPy's


@pytest.mark.parametrize("dtype", DTYPES)
def test_standardize_from_pixels_kernel(dtype, mnist, restore_engine):
    """Pixels straight into Standardize: (p/255 − μ)/σ in one pass, bit for bit the two NumPy steps."""
    import numnet

    (x, _), _ = mnist
    model = numnet.Sequential(numnet.mlp((8,)), dtype=dtype, seed=0)
    model.adapt(x[:2000])
    std = model.layers[1]
    assert std.dtype == dtype
    want = std.forward(model.prepare(x[:64]).reshape(64, -1))
    for which in ("numpy", "numba"):
        engine.use(which)
        got = std.forward(x[:64].reshape(64, -1))
        assert got.dtype == dtype
        np.testing.assert_array_equal(got, want)


def test_training_on_pixels_matches_training_on_floats(mnist, restore_engine):
    """fit hands uint8 batches to a Standardize in front (one fused pass); floats x = p/255 given
    by the user go the plain way: same parameters after an epoch (float64)."""
    import numnet

    (x, y), _ = mnist
    runs = []
    for data in (x[:600], x[:600] / 255):
        model = numnet.Sequential(numnet.mlp((16,)), dtype=np.float64, seed=0)
        model.adapt(x[:600])                         # the same μ, σ for both
        model.fit(data, y[:600], epochs=1, batch_size=32)
        runs.append(model.flat_params)
    np.testing.assert_allclose(runs[0], runs[1], rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("dtype", DTYPES)
def test_relu_forward_kernel(dtype, restore_engine):
    """max(z, 0) in one compiled pass: NumPy's values (NaN stays NaN), in z's memory layout."""
    from numnet.kernels import relu

    z = np.random.default_rng(6).standard_normal((4, 6, 5, 3)).astype(dtype)
    z[0, 0, 0, 0], z[1, 2, 3, 1] = np.nan, -np.inf
    z = np.ascontiguousarray(z.transpose(2, 3, 0, 1)).transpose(2, 3, 0, 1)        # spatial-major
    engine.use("numba")
    got = relu(z)
    assert got.strides == z.strides and got.dtype == dtype
    np.testing.assert_array_equal(got, np.maximum(z, 0))
    np.testing.assert_array_equal(relu(z[:, :, ::2]), np.maximum(z[:, :, ::2], 0))   # a strided view: NumPy's path
