import numpy as np
import pytest

import numnet
from numnet import MAE, MSE, BinaryCrossEntropy, LogSoftmaxNLL, NLLLoss, SoftmaxCrossEntropy, rmse
from numnet.losses import log_softmax, one_hot

from .helpers import check_backward


def check_loss(loss, out, target):
    """dL/d(output) against central differences."""
    check_backward(lambda: loss.forward(out, target), lambda: {"out": loss.backward()}, {"out": out})


@pytest.mark.parametrize("loss", [SoftmaxCrossEntropy, LogSoftmaxNLL, MSE, MAE])
@pytest.mark.parametrize("onehot", [False, True])
def test_loss_gradients(loss, onehot, rng):
    z = rng.standard_normal((6, 4)) * 2
    y = rng.integers(0, 4, 6)
    check_loss(loss(), z, one_hot(y, 4, np.float64) if onehot else y)


def test_nll_and_bce_gradients(rng):
    check_loss(NLLLoss(), log_softmax(rng.standard_normal((5, 3))), rng.integers(0, 3, 5))
    check_loss(BinaryCrossEntropy(), rng.standard_normal((5, 1)) * 3, rng.integers(0, 2, (5, 1)))


def test_cross_entropy_value_and_label_forms(rng):
    z = rng.standard_normal((5, 3))
    y = rng.integers(0, 3, 5)
    p = np.exp(z) / np.exp(z).sum(1, keepdims=True)
    expected = -np.mean(np.log(p[np.arange(5), y]))
    assert SoftmaxCrossEntropy().forward(z, y) == pytest.approx(expected, rel=1e-12)
    assert SoftmaxCrossEntropy().forward(z, one_hot(y, 3, np.float64)) == pytest.approx(expected, rel=1e-12)
    assert LogSoftmaxNLL().forward(z, y) == pytest.approx(expected, rel=1e-12)
    ce = SoftmaxCrossEntropy()
    ce.forward(z, y)
    np.testing.assert_allclose(ce.backward(), (p - one_hot(y, 3, np.float64)) / 5, rtol=1e-12)


def test_cross_entropy_is_stable_for_huge_logits():
    z = np.array([[1000.0, -1000.0], [-1000.0, 1000.0]])
    assert SoftmaxCrossEntropy().forward(z, [0, 1]) == pytest.approx(0.0, abs=1e-12)
    assert SoftmaxCrossEntropy().forward(z, [1, 0]) == pytest.approx(2000.0)


def test_seed_003_worked_example():
    # x = [2, 3], w = [0.5, -0.2], b = 0.1  ->  z = 0.5, a = σ(z) ≈ 0.622, L ≈ 0.474 for y = 1
    x, w, b = np.array([2.0, 3.0]), np.array([0.5, -0.2]), 0.1
    z = np.array([[x @ w + b]])
    assert z[0, 0] == pytest.approx(0.5)
    assert numnet.Sigmoid().forward(z)[0, 0] == pytest.approx(0.622, abs=5e-4)
    loss = BinaryCrossEntropy()
    assert loss.forward(z, [[1]]) == pytest.approx(0.474, abs=5e-4)
    assert loss.forward(z, [[1]]) == pytest.approx(-np.log(1 / (1 + np.exp(-0.5))), rel=1e-12)
    assert loss.backward()[0, 0] == pytest.approx(1 / (1 + np.exp(-0.5)) - 1)


def test_regression_losses_by_hand():
    y_hat, y = np.array([[1.0, 2.0], [3.0, 5.0]]), np.array([[1.0, 0.0], [2.0, 5.0]])
    assert MSE().forward(y_hat, y) == pytest.approx((0 + 4 + 1 + 0) / 4)
    assert MAE().forward(y_hat, y) == pytest.approx((0 + 2 + 1 + 0) / 4)
    assert rmse(y_hat, y) == pytest.approx(np.sqrt(5 / 4))


def test_bad_targets():
    with pytest.raises(numnet.ConfigError):
        one_hot([0, 5], 3)
    with pytest.raises(numnet.ConfigError):
        SoftmaxCrossEntropy().forward(np.zeros((2, 3)), np.zeros((2, 4)))
    with pytest.raises(numnet.ConfigError):
        numnet.losses.get("hinge")
