"""Weight averaging (``fit(ema=β)``, ``numnet.EMA``, ``numnet train --ema``): the model ends with the
moving average of its weights, computed here independently in float64 from the weights after each
step; training steps move the trained weights, never the average; each epoch's figures are the
average's; running statistics are averaged too; a resumed run is refused."""
import numpy as np
import pytest

import numnet
from numnet.errors import ConfigError
from numnet.train.callbacks import Callback
from tests.helpers import assert_one_line, run_cli, trained_recipe


def data(n=60, features=12, classes=3, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, features)).astype(np.float32), np.arange(n) % classes


def model_with_batchnorm():
    return numnet.Sequential([numnet.Dense(12, 8), numnet.BatchNorm(8), numnet.ReLU(), numnet.Dense(8, 3)], seed=0)


class Trajectory(Callback):
    """The weights and running statistics after every step (θ_t, what the optimizer moves), and the
    weights each epoch begins from."""

    def __init__(self):
        self.thetas, self.starts = [], []

    def on_train_begin(self, run):
        self.thetas.append(self._state(run.model))

    def on_epoch_begin(self, run):
        self.starts.append(run.model.flat_params.copy())

    def on_batch_end(self, run):
        self.thetas.append(self._state(run.model))

    @staticmethod
    def _state(model):
        return np.concatenate([model.flat_params] + [b.ravel() for _, b in model.named_buffers()]).astype(np.float64)


def test_the_model_ends_with_the_moving_average_of_its_weights():
    x, y = data()
    model, spy = model_with_batchnorm(), Trajectory()
    model.fit(x, y, epochs=3, batch_size=20, ema=0.9, callbacks=[spy], epoch0=False)
    average = spy.thetas[0].copy()
    for t, theta in enumerate(spy.thetas[1:], start=1):
        beta = min(0.9, (1 + t) / (10 + t))
        average += (1 - beta) * (theta - average)
    got = Trajectory._state(model)
    assert np.abs(got - average).max() <= 1e-5 * np.abs(average).max()
    assert np.abs(got - spy.thetas[-1]).max() > 1e-3          # not simply the last weights


def test_training_resumes_from_the_trained_weights_and_each_epoch_reports_the_average():
    x, y = data()
    xv, yv = data(30, seed=1)
    model, spy = model_with_batchnorm(), Trajectory()
    history = model.fit(x, y, epochs=2, batch_size=20, ema=0.9, callbacks=[spy], validation_data=(xv, yv))
    n = len(model.flat_params)
    np.testing.assert_array_equal(spy.starts[1], spy.thetas[3][:n].astype(np.float32))   # θ after epoch 1's 3 steps
    assert history[-1]["val_loss"] == pytest.approx(model.evaluate(xv, yv)[0], rel=1e-12)


def test_without_ema_nothing_changes_and_bad_decays_are_refused():
    x, y = data()
    a, b = model_with_batchnorm(), model_with_batchnorm()
    a.fit(x, y, epochs=2, batch_size=20)
    b.fit(x, y, epochs=2, batch_size=20, ema=None)
    np.testing.assert_array_equal(a.flat_params, b.flat_params)
    for bad in (0, 1, 1.5, -0.1, True, "0.9"):
        with pytest.raises(ConfigError, match="decay"):
            numnet.EMA(bad)


def test_a_run_with_ema_is_not_resumed(tmp_path):
    x, y = data()
    path = tmp_path / "ck.npz"
    model_with_batchnorm().fit(x, y, epochs=1, batch_size=20, ema=0.99, checkpoint=str(path))
    with pytest.raises(ConfigError, match="cannot be resumed"):
        numnet.load(str(path)).fit(x, y, epochs=2, batch_size=20, ema=0.99, resume=True)


def test_cli_ema_option(tmp_path):
    assert trained_recipe(tmp_path, "--ema", "0.99")["ema"] == 0.99
    code, _, err = run_cli("train", "--ema", "1")
    assert_one_line(code, err, "--ema")
