"""Training you can trust: binary and one-hot targets, a validation split, early stopping,
divergence, and checkpoints that resume bit for bit."""
import numpy as np
import pytest

import numnet
from numnet.architectures import build


def binary_model(seed=0):
    return numnet.Sequential([numnet.Flatten(), numnet.Standardize(), numnet.Dense(784, 16), numnet.ReLU(),
                              numnet.Dense(16, 1)], loss="bce", seed=seed)


def test_a_one_output_sigmoid_model_predicts_sigma_above_one_half(mnist):
    (x, y), (xt, yt) = mnist
    model = binary_model()
    model.fit(x[:3000], (y[:3000] == 7).astype(np.float32), epochs=2, batch_size=50)
    assert model.binary
    z = model.forward(model.prepare(xt[:500]))[:, 0]
    p = 1 / (1 + np.exp(-z.astype(np.float64)))
    proba = model.predict_proba(xt[:500])
    assert proba.shape == (500, 2)
    np.testing.assert_allclose(proba[:, 1], p, rtol=1e-5)
    np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=1e-6)
    np.testing.assert_array_equal(model.predict(xt[:500]), (p > 0.5).astype(int))
    truth = (yt[:500] == 7).astype(int)
    loss, accuracy = model.evaluate(xt[:500], truth)
    assert accuracy == pytest.approx(np.mean((p > 0.5) == truth))
    assert accuracy > 0.95 and model.history[-1]["train_accuracy"] > 0.95


def test_one_hot_targets_give_the_same_accuracy_as_labels(mnist):
    (x, y), (xt, yt) = mnist
    runs = []
    for targets in (y[:2000], np.eye(10, dtype=np.float32)[y[:2000]]):
        model = numnet.Sequential(numnet.mlp((16,)), seed=0, dtype=np.float64)
        history = model.fit(x[:2000], targets, epochs=1, batch_size=50)
        runs.append((history[-1]["train_accuracy"], model.evaluate(xt[:500], np.eye(10)[yt[:500]]),
                     model.evaluate(xt[:500], yt[:500]), model.flat_params.copy()))
    (acc_l, eval_onehot_l, eval_l, params_l), (acc_o, eval_onehot_o, _, params_o) = runs
    assert acc_l is not None and acc_l == pytest.approx(acc_o)
    np.testing.assert_allclose(params_o, params_l, rtol=1e-9, atol=1e-12)
    assert eval_onehot_l[1] == pytest.approx(eval_l[1]) and eval_l[1] > 0.5
    assert eval_onehot_l[0] == pytest.approx(eval_l[0])


def test_validation_split_is_held_out_and_seeded(mnist):
    (x, y), _ = mnist
    model = numnet.Sequential(numnet.mlp((8,)), seed=0)
    history = model.fit(x[:1000], y[:1000], epochs=2, batch_size=100, validation_split=0.2, seed=3)
    assert all(0 < e["val_accuracy"] <= 1 for e in history)
    (xa, ya), (xv, yv) = numnet.train.options.split_validation(x[:1000], y[:1000], 0.2, seed=3)
    assert len(xv) == 200 and len(xa) == 800
    assert model.evaluate(xv, yv)[1] == pytest.approx(history[-1]["val_accuracy"])
    (_, _), (xv2, _) = numnet.train.options.split_validation(x[:1000], y[:1000], 0.2, seed=3)
    np.testing.assert_array_equal(xv, xv2)
    with pytest.raises(numnet.ConfigError):
        model.fit(x[:10], y[:10], validation_split=1.5)


def test_early_stopping_restores_the_best_epoch(mnist):
    (x, y), _ = mnist
    model = numnet.Sequential(numnet.mlp((32,)), seed=0)
    stop = numnet.EarlyStopping(patience=1, monitor="val_loss", restore_best_weights=True)
    # a learning rate far too high makes the validation loss go up after the first epochs
    model.fit(x[:600], y[:600], epochs=30, batch_size=20, optimizer=numnet.SGD(0.9), validation_split=0.5,
              callbacks=[stop])
    assert stop.stopped_epoch is not None and model.history[-1]["epoch"] == stop.stopped_epoch < 30
    (_, _), (xv, yv) = numnet.train.options.split_validation(x[:600], y[:600], 0.5)
    assert model.evaluate(xv, yv)[0] == pytest.approx(stop.best, rel=1e-5)


def test_divergence_stops_training_with_one_clear_error(mnist):
    (x, y), _ = mnist
    model = numnet.Sequential(numnet.mlp((8,)), seed=0)
    with pytest.raises(numnet.Diverged, match=r"diverged at epoch 1, step \d+: loss nan; try a lower --lr"):
        model.fit(x[:500], y[:500], epochs=1, batch_size=50, optimizer=numnet.SGD(1e30))


SPECS = {"mlp": None, "cnn-bn-dropout": "conv(4,3)-bn-relu-pool(2)-flatten-dropout(0.3)-dense(16)-bn-relu-dense(10)"}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", sorted(SPECS))
def test_resuming_a_checkpoint_is_bit_identical_to_the_uninterrupted_run(name, dtype, mnist, tmp_path):
    (x, y), _ = mnist
    x, y = x[:300], y[:300]

    def new_model():
        layers = numnet.mlp((16,)) if SPECS[name] is None else build(SPECS[name], input_shape=(28, 28))
        return numnet.Sequential(layers, seed=0, dtype=dtype)

    options = dict(batch_size=50, optimizer=numnet.AdamW(3e-3), seed=5, workers=1,
                   schedule=numnet.schedules.get("onecycle", 3e-3), augment=numnet.data.augment.get("shift"))
    whole = new_model()
    whole.fit(x, y, epochs=3, checkpoint=tmp_path / "whole.npz", **options)

    def interrupt(event, **info):
        if event == "epoch" and info["epoch"] == 1:
            raise KeyboardInterrupt

    first = new_model()
    options["optimizer"] = numnet.AdamW(3e-3)
    with pytest.raises(KeyboardInterrupt):
        first.fit(x, y, epochs=3, checkpoint=tmp_path / "ck.npz", callbacks=[interrupt], **options)
    resumed = numnet.load(tmp_path / "ck.npz")
    assert resumed.training_state["epoch"] == 1 and resumed.optimizer.t == 6
    del options["optimizer"]
    resumed.fit(x, y, epochs=3, resume=True, **options)
    np.testing.assert_array_equal(resumed.flat_params, whole.flat_params)
    for a, b in zip(resumed.layers, whole.layers):
        for n in a.buffer_names:
            np.testing.assert_array_equal(getattr(a, n), getattr(b, n))
    assert [e["epoch"] for e in resumed.history] == [0, 1, 2, 3]
    assert [e["train_loss"] for e in resumed.history] == [e["train_loss"] for e in whole.history]


def test_save_keeps_the_optimizer_so_training_continues(mnist, tmp_path):
    (x, y), _ = mnist
    a = numnet.Sequential(numnet.mlp((8,)), seed=0, dtype=np.float64)
    a.fit(x[:200], y[:200], epochs=1, batch_size=50, optimizer=numnet.Adam(1e-2))
    a.save(tmp_path / "a.npz")
    b = numnet.load(tmp_path / "a.npz")
    assert type(b.optimizer) is numnet.Adam and b.optimizer.t == 4 and b.optimizer.lr == 1e-2
    np.testing.assert_array_equal(b.optimizer.state[0]["m"], a.optimizer.state[0]["m"])
    a.fit(x[200:400], y[200:400], epochs=1, batch_size=50)          # continues with its Adam
    b.fit(x[200:400], y[200:400], epochs=1, batch_size=50)
    np.testing.assert_array_equal(a.flat_params, b.flat_params)
    assert a.optimizer.t == b.optimizer.t == 8


def test_a_model_with_non_finite_weights_is_refused(tmp_path):
    model = numnet.Sequential(numnet.mlp((8,)), seed=0)
    model.layers[2].W[0, 0] = np.nan
    model.save(tmp_path / "nan.npz")
    with pytest.raises(numnet.ModelFileError, match="NaN or infinite"):
        numnet.load(tmp_path / "nan.npz")


def test_labels_outside_the_outputs_are_refused_before_training(mnist):
    (x, y), _ = mnist
    model = numnet.Sequential(numnet.mlp((4,)), seed=0)
    start = model.flat_params.copy()
    for bad in (np.where(y[:100] == 9, -1, y[:100]), np.where(y[:100] == 9, 10, y[:100])):
        with pytest.raises(numnet.ConfigError, match=r"labels must lie in 0\.\.9"):
            model.fit(x[:100], bad.astype(np.int64))
    np.testing.assert_array_equal(model.flat_params, start)            # nothing trained
    with pytest.raises(numnet.ConfigError, match=r"0\.\.1"):
        binary_model().fit(x[:100], y[:100].astype(np.int64))         # a binary model takes 0/1
