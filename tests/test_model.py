import json
import zipfile

import numpy as np
import pytest

import numnet
from numnet import Dense, ModelFileError, OutputError, Sequential, inference

from .helpers import check_model


def small_model(dtype=np.float64, seed=0, activation="relu", loss="cross_entropy"):
    return Sequential(numnet.mlp((6, 5), activation, in_features=8, num_classes=3), loss=loss, dtype=dtype, seed=seed)


@pytest.mark.parametrize("activation", ["relu", "sigmoid", "tanh"])
@pytest.mark.parametrize("loss", ["cross_entropy", "nll", "mse", "mae"])
def test_model_backprop_matches_numerical_gradients(activation, loss, rng):
    model = small_model(activation=activation, loss=loss)
    x, y = rng.standard_normal((4, 8)), rng.integers(0, 3, 4)
    check_model(model, x, y)


def test_parameters_are_views_into_one_buffer():
    model = small_model()
    assert model.num_parameters == 8 * 6 + 6 + 6 * 5 + 5 + 5 * 3 + 3
    dense = model.layers[2]
    assert np.shares_memory(dense.W, model.flat_params) and np.shares_memory(dense.dW, model.flat_grads)
    model.flat_params[:] = 0
    assert not dense.W.any()


def test_same_seed_same_result(mnist):
    (x, y), (xt, yt) = mnist
    runs = []
    for _ in range(2):
        m = Sequential(numnet.mlp((16,)), seed=7)
        h = m.fit(x[:2000], y[:2000], epochs=2, batch_size=50, seed=3)
        runs.append((m.flat_params.copy(), h[-1]["train_loss"]))
    np.testing.assert_array_equal(runs[0][0], runs[1][0])
    assert runs[0][1] == runs[1][1]
    other = Sequential(numnet.mlp((16,)), seed=8)
    assert not np.array_equal(other.flat_params, runs[0][0])


def test_epochs_visit_every_sample_once(rng):
    seen = []

    class Spy(numnet.Layer):
        def forward(self, x):
            seen.append(x[:, 0].copy())
            return x

        def backward(self, g):
            return g

    x = np.arange(23, dtype=np.float64)[:, None] * np.ones((1, 3))
    model = Sequential([Spy(), Dense(3, 2, dtype=np.float64)], dtype=np.float64)
    model.fit(x, np.zeros(23, int), epochs=2, batch_size=5, optimizer=numnet.SGD(0.01))
    assert list(seen[0]) == list(range(23))   # epoch 0: the untrained model evaluated on the whole set
    first, second = np.concatenate(seen[1:6]), np.concatenate(seen[6:11])
    assert sorted(first) == list(range(23)) and sorted(second) == list(range(23))
    assert not np.array_equal(first, second)  # reshuffled each epoch


def test_short_training_reaches_sane_accuracy(mnist):
    (x, y), (xt, yt) = mnist
    model = Sequential(numnet.mlp((32,)), seed=0)
    history = model.fit(x[:5000], y[:5000], epochs=3, batch_size=50, validation_data=(xt[:2000], yt[:2000]))
    assert history[-1]["train_loss"] < history[0]["train_loss"]
    loss, acc = model.evaluate(xt[:2000], yt[:2000])
    assert acc > 0.85 and acc == history[-1]["val_accuracy"]
    proba = model.predict_proba(xt[:10])
    np.testing.assert_allclose(proba.sum(1), 1, rtol=1e-5)
    np.testing.assert_array_equal(model.predict(xt[:10]), proba.argmax(1))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_inference_on_pixels_folds_standardize_into_the_first_dense(mnist, dtype):
    (x, y), (xt, yt) = mnist
    model = Sequential(numnet.mlp((16, 12)), dtype=dtype, seed=0)
    model.fit(x[:600], y[:600], epochs=1, batch_size=50)
    assert inference.folded_input_layer(model)[0] == 2                  # Flatten, Standardize, Dense: folded
    layer_by_layer = model.forward(model.prepare(xt[:300]))
    z = np.concatenate([out for _, out in inference.outputs(model, xt[:1200], batch_size=512)])[:300]
    np.testing.assert_allclose(z, layer_by_layer, rtol=1e-4 if dtype == np.float32 else 1e-10,
                               atol=1e-4 if dtype == np.float32 else 1e-10)
    np.testing.assert_array_equal(model.predict(xt[:1200].astype(dtype) / 255), model.predict(xt[:1200]))
    images = Sequential([numnet.Standardize(), Dense(784, 10)], seed=0)     # no Flatten: rows only
    images.adapt(x[:1024].reshape(1024, -1))
    assert images.predict(x[:1024].reshape(1024, -1)).shape == (1024,)
    with pytest.raises(ValueError):                  # (N, 28, 28) images fail alike folded or not
        images.predict(x[:1024])
    no_std = Sequential([numnet.Flatten(), Dense(784, 10)], seed=0)
    assert inference.folded_input_layer(no_std) is None                 # nothing to fold: the plain forward
    assert no_std.predict(xt[:5]).shape == (5,)


def test_inference_chunks_keep_activations_small_and_results_equal(mnist, monkeypatch):
    (x, y), (xt, yt) = mnist
    model = Sequential(numnet.mlp((16,)), seed=0)
    model.fit(x[:500], y[:500], epochs=1, batch_size=50)
    assert inference.chunk_rows(model, (28, 28), 10000) == 10000             # 784 values a sample: one chunk
    whole = model.predict_proba(xt[:700])
    monkeypatch.setattr(inference.chunks, "ACTIVATION_BUDGET", 784 * 64)
    assert inference.chunk_rows(model, (28, 28), 10000) == 64
    chunked = model.predict_proba(xt[:700])
    np.testing.assert_allclose(chunked, whole, rtol=1e-5, atol=1e-7)        # only BLAS rounding differs
    assert model.evaluate(xt[:700], yt[:700])[1] == np.mean(chunked.argmax(1) == yt[:700])
    from numnet.architectures import build
    cnn = Sequential(build("conv(32,5)-pool(2)-relu-flatten-dense(10)"), seed=0)
    monkeypatch.setattr(inference.chunks, "ACTIVATION_BUDGET", 1 << 23)
    assert inference.chunk_rows(cnn, (28, 28), 10000) == (1 << 23) // (32 * 24 * 24)


def test_seed_001_network_trains_with_sgd(mnist):
    (x, y), (xt, yt) = mnist
    model = Sequential(numnet.mlp((50,), "relu", init="normal:0.01"), seed=0)   # TwoLayerNet 784-50-10
    model.fit(x[:6000], y[:6000], epochs=4, batch_size=100, optimizer=numnet.SGD(0.2))
    assert model.evaluate(xt[:1000], yt[:1000])[1] > 0.8


def test_save_load_round_trip_is_bit_exact(tmp_path, mnist):
    (x, y), (xt, yt) = mnist
    for dtype in (np.float32, np.float64):
        model = Sequential(numnet.mlp((12, 7), "tanh"), dtype=dtype, seed=1)
        model.fit(x[:500], y[:500], epochs=1, batch_size=50, validation_data=(xt[:100], yt[:100]))
        path = model.save(tmp_path / "m.npz")
        back = numnet.load(path)
        assert back.dtype == dtype and [type(l) for l in back.layers] == [type(l) for l in model.layers]
        np.testing.assert_array_equal(back.flat_params, model.flat_params)
        np.testing.assert_array_equal(back.predict_proba(xt[:50]), model.predict_proba(xt[:50]))
        assert back.history == model.history and back.input_shape == (28, 28)


def test_loading_garbage_fails_cleanly(tmp_path):
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"this is not a zip file")
    with pytest.raises(ModelFileError, match="corrupt"):
        numnet.load(bad)
    with pytest.raises(ModelFileError, match="no such model file"):
        numnet.load(tmp_path / "none.npz")
    np.savez(tmp_path / "foreign.npz", a=np.zeros(3))
    with pytest.raises(ModelFileError, match="not a numnet model"):
        numnet.load(tmp_path / "foreign.npz")


def _rewrite(path, out, change):
    with np.load(path) as npz:
        arrays = {k: npz[k] for k in npz.files}
    change(arrays)
    np.savez(out, **arrays)


def test_shapes_that_disagree_with_the_architecture(tmp_path):
    path = small_model().save(tmp_path / "m.npz")

    def shrink(a):
        a["2.W"] = a["2.W"][:, :4]
    _rewrite(path, tmp_path / "shape.npz", shrink)
    with pytest.raises(ModelFileError, match="shape"):
        numnet.load(tmp_path / "shape.npz")

    def drop(a):
        del a["4.b"]
    _rewrite(path, tmp_path / "missing.npz", drop)
    with pytest.raises(ModelFileError, match="missing"):
        numnet.load(tmp_path / "missing.npz")

    def bad_layer(a):
        cfg = json.loads(str(a["__config__"]))
        cfg["layers"][1]["type"] = "Evil"
        a["__config__"] = np.array(json.dumps(cfg))
    _rewrite(path, tmp_path / "arch.npz", bad_layer)
    with pytest.raises(ModelFileError, match="architecture"):
        numnet.load(tmp_path / "arch.npz")

    # an object array inside the archive is refused (allow_pickle=False)
    with zipfile.ZipFile(path) as zf, zipfile.ZipFile(tmp_path / "obj.npz", "w") as out:
        for item in zf.infolist():
            data = zf.read(item)
            if item.filename == "2.b.npy":
                import io
                buf = io.BytesIO()
                np.lib.format.write_array(buf, np.array([1, "x"], dtype=object), allow_pickle=True)
                data = buf.getvalue()
            out.writestr(item, data)
    with pytest.raises(ModelFileError):
        numnet.load(tmp_path / "obj.npz")


def test_save_to_unwritable_place_leaves_no_file(tmp_path):
    model = small_model()
    with pytest.raises(OutputError, match="does not exist"):          # the output-file policy (numnet.files)
        model.save(tmp_path / "no" / "such" / "dir.npz")
    assert list(tmp_path.iterdir()) == []


def test_float64_models_compute_in_float64(mnist):
    (x, y), _ = mnist
    model = Sequential(numnet.mlp((8,)), dtype=np.float64)
    assert model.flat_params.dtype == np.float64
    assert model.forward(model.prepare(x[:3])).dtype == np.float64
    with pytest.raises(numnet.ConfigError):
        Sequential(numnet.mlp((8,)), dtype=np.int32)
