"""``model.freeze()``: an inference snapshot that predicts what the model predicts (both engines,
any batch size, pixels or floats) and does not follow later training."""
import numpy as np
import pytest

import numnet
from numnet import Sequential
from numnet.inference.frozen import FEW_ROWS
from numnet.kernels import engine


@pytest.fixture(params=["numpy", "numba"])
def which(request):
    if request.param == "numba":
        pytest.importorskip("numba")
    engine.use(request.param)
    yield request.param
    engine.use(None)


@pytest.fixture(scope="module")
def trained(mnist):
    (x, y), _ = mnist
    model = Sequential(numnet.mlp((32, 24)), seed=0)
    model.fit(x[:1500], y[:1500], epochs=1, batch_size=50)
    return model


@pytest.mark.parametrize("n", [1, 3, FEW_ROWS, FEW_ROWS + 1, 1500])
def test_frozen_mlp_predicts_what_the_model_predicts(trained, mnist, which, n):
    _, (xt, _) = mnist
    frozen = trained.freeze()
    assert [step[0] for step in frozen.steps] == ["dense"] * 3 and frozen.folded   # first Dense folded, ReLUs fused
    x = xt[:n]
    want = trained.forward(trained.prepare(x))
    got = frozen.forward(x)
    assert got.dtype == want.dtype and got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4 * np.abs(want).max())
    np.testing.assert_allclose(frozen.predict_proba(x), trained.predict_proba(x), atol=1e-5)
    np.testing.assert_array_equal(frozen.predict(x[:, None]), trained.predict(x))          # any sample shape of 784
    np.testing.assert_allclose(frozen.forward(x / 255), want, rtol=1e-5, atol=1e-5)        # floats: layer by layer


def test_frozen_is_a_snapshot(mnist):
    (x, y), (xt, _) = mnist
    model = Sequential(numnet.mlp((16,)), seed=1)
    model.fit(x[:500], y[:500], epochs=1, batch_size=50)
    frozen = model.freeze()
    before = frozen.forward(xt[:7]).copy()
    model.fit(x[:500], y[:500], epochs=1, batch_size=50)
    model.layers[2].W[...] = 0
    np.testing.assert_array_equal(frozen.forward(xt[:7]), before)
    assert model.layers[2].training is False and all(not layer.training for layer in frozen.layers)


@pytest.mark.parametrize("spec", ["conv(4,3)-relu-maxpool(2)-flatten-dense(10)",
                                  "flatten-dense(12)-batchnorm-relu-dropout(0.3)-dense(10)",
                                  "flatten-dense(12)-sigmoid-dense(10)"])
def test_frozen_other_networks_run_their_copied_layers(mnist, which, spec):
    (x, y), (xt, _) = mnist
    model = Sequential(numnet.architectures.build(spec, input_shape=(28, 28)), seed=0)
    model.fit(x[:300], y[:300], epochs=1, batch_size=50)
    frozen = model.freeze()
    for n in (1, 40):
        np.testing.assert_allclose(frozen.predict_proba(xt[:n]), model.predict_proba(xt[:n]), atol=1e-5)
        np.testing.assert_array_equal(frozen.predict(xt[:n]), model.predict(xt[:n]))


def test_frozen_binary_model_answers_like_the_model(mnist, which):
    (x, y), (xt, _) = mnist
    model = Sequential(numnet.mlp((8,), num_classes=1), loss="bce", seed=0)
    model.fit(x[:400], (y[:400] == 3).astype(np.float32), epochs=1, batch_size=40)
    frozen = model.freeze()
    assert frozen.binary
    np.testing.assert_array_equal(frozen.predict(xt[:30]), model.predict(xt[:30]))
    assert frozen.predict_proba(xt[:30]).shape == (30, 2)


def test_frozen_refuses_rows_of_the_wrong_width(trained, which):
    frozen = trained.freeze()
    with pytest.raises(ValueError):
        frozen.forward(np.zeros((2, 783), np.uint8))


def test_frozen_serves_several_threads_at_once(mnist, which):
    """Copied layers cache what backward would need (a conv's im2col buffer): a frozen model still
    answers each thread's batch correctly when threads call it at the same time."""
    from concurrent.futures import ThreadPoolExecutor

    (x, y), (xt, _) = mnist
    model = Sequential(numnet.architectures.build("conv(4,3)-relu-conv(4,3)-relu-maxpool(2)-flatten-dense(10)",
                                                  input_shape=(28, 28)), seed=0)
    model.fit(x[:200], y[:200], epochs=1, batch_size=50)
    frozen = model.freeze()
    batches = [xt[i * 8:(i + 1) * 8] for i in range(40)]
    want = [frozen.predict_proba(b) for b in batches]
    with ThreadPoolExecutor(4) as pool:
        got = list(pool.map(frozen.predict_proba, batches))
    for g, w in zip(got, want):
        np.testing.assert_array_equal(g, w)


def test_frozen_empty_batch(trained, which):
    assert trained.freeze().forward(np.zeros((0, 28, 28), np.uint8)).shape == (0, 10)


def test_a_forward_pass_that_overflows_is_an_error_not_an_answer():
    """Finite but enormous weights: the first z is ±inf everywhere, ReLU makes it 0, and the output is
    the last bias, a finite answer from nothing. predict_proba refuses it (issue 26, item 5)."""
    import numnet
    from numnet.errors import NonFiniteError

    model = numnet.Sequential(numnet.mlp((8,)), seed=0)
    x = np.random.default_rng(0).integers(0, 256, (3, 28, 28), dtype=np.uint8)
    model.adapt(x)
    model.layers[2].W[...] = 1e38
    with pytest.raises(NonFiniteError, match="overflowed"):
        model.predict_proba(x)
