"""Label smoothing (``fit(label_smoothing=ε)``, ``numnet train --label-smoothing``): the targets
(1 − ε)·one_hot(y) + ε/K; the cross-entropy on them is (1 − ε)·CE + ε·mean_k(−log p_k), computed here
independently; a smoothed run is the run on pre-smoothed soft targets, step for step; accuracy still
counts the true labels; what it cannot apply to is refused in one line. (PyTorch's
``label_smoothing``: ``tests/test_torch_oracle.py``.)"""
import numpy as np
import pytest

import numnet
from numnet.errors import ConfigError
from numnet.functional import smooth_labels
from tests.helpers import assert_one_line, run_cli, trained_recipe


def data(n=60, features=12, classes=4, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, features)).astype(np.float32), np.arange(n) % classes


def model(loss="cross_entropy", outputs=4):
    return numnet.Sequential([numnet.Dense(12, 8), numnet.ReLU(), numnet.Dense(8, outputs)], loss=loss, seed=0)


def test_smoothed_rows_and_their_cross_entropy():
    y = np.array([0, 3, 1])
    soft = smooth_labels(y, 4, 0.2, np.float64)
    np.testing.assert_allclose(soft.sum(axis=1), 1.0)
    np.testing.assert_allclose(soft[np.arange(3), y], 0.8 + 0.05)
    assert np.count_nonzero(np.isclose(soft, 0.05)) == 9
    z = np.random.default_rng(1).standard_normal((3, 4))
    log_p = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    expected = np.mean(0.8 * -log_p[np.arange(3), y] + 0.2 * -log_p.mean(axis=1))
    assert numnet.SoftmaxCrossEntropy().forward(z, soft) == pytest.approx(expected, rel=1e-12)


def test_a_smoothed_run_is_the_run_on_smoothed_targets_and_counts_true_labels():
    x, y = data()
    a, b, plain = model(), model(), model()
    history = a.fit(x, y, epochs=2, batch_size=20, label_smoothing=0.1)
    b.fit(x, smooth_labels(y, 4, 0.1), epochs=2, batch_size=20)
    plain.fit(x, y, epochs=2, batch_size=20)
    np.testing.assert_allclose(a.flat_params, b.flat_params, rtol=1e-6, atol=1e-7)
    assert np.abs(a.flat_params - plain.flat_params).max() > 1e-4          # the targets did change the steps
    assert history[-1]["train_accuracy"] is not None
    assert history[-1]["train_accuracy"] == pytest.approx(float(np.mean(a.predict(x) == y)), abs=0.2)


def test_what_label_smoothing_cannot_apply_to_is_refused():
    x, y = data()
    for bad, why in ((model("mse"), "cross-entropy"), (model("bce", outputs=1), "cross-entropy")):
        with pytest.raises(ConfigError, match=why):
            bad.fit(x, (y == 1).astype(int) if bad.binary else y, epochs=1, label_smoothing=0.1)
    with pytest.raises(ConfigError, match="integer class labels"):
        model().fit(x, smooth_labels(y, 4, 0.0), epochs=1, label_smoothing=0.1)
    for eps in (1, 1.5, -0.1):
        with pytest.raises(ConfigError, match="strictly between 0 and 1"):
            model().fit(x, y, epochs=1, label_smoothing=eps)


def test_cli_label_smoothing_option(tmp_path):
    assert trained_recipe(tmp_path, "--label-smoothing", "0.1")["label_smoothing"] == 0.1
    code, _, err = run_cli("train", "--label-smoothing", "1")
    assert_one_line(code, err, "--label-smoothing")
    code, _, err = run_cli("train", "--limit", "300", "--binary", "3", "--label-smoothing", "0.1")
    assert_one_line(code, err, "label smoothing")
