"""Backprop against numerical differentiation: check_gradients, numnet gradcheck, fit(gradient='numerical')."""
import json
import subprocess
import sys

import numpy as np
import pytest

import numnet
from numnet import layers
from numnet.cli import main
from numnet.views.gradcheck import check_gradients, numerical_gradients


def mnist_model(hidden=(8, 6), activation="relu", loss="cross_entropy", dtype=np.float64, seed=0, x=None):
    model = numnet.Sequential(numnet.mlp(hidden, activation), loss=loss, dtype=dtype, seed=seed)
    if x is not None:
        model.adapt(x)
    return model


@pytest.mark.parametrize("activation", ["relu", "sigmoid", "tanh"])
@pytest.mark.parametrize("loss", ["cross_entropy", "nll", "mse", "mae"])
def test_check_passes_on_real_mnist(activation, loss, mnist):
    (x, y), _ = mnist
    model = mnist_model(activation=activation, loss=loss, x=x[:2000])
    report = check_gradients(model, x[:6], y[:6], entries=300)
    assert report.passed and report.tolerance == 1e-6
    assert [p.name for p in report.parameters] == ["2.W", "2.b", "4.W", "4.b", "6.W", "6.b"]
    for p in report.parameters:
        assert p.passed and p.max_rel_error <= 1e-6 and p.max_abs_error < 1e-8
        assert p.checked == min(300, int(np.prod(p.shape)))
    assert report.parameters[0].shape == (8, 784)


def test_check_leaves_the_model_as_it_was(mnist):
    (x, y), _ = mnist
    model = mnist_model(x=x[:2000]).eval()
    params, grads = model.flat_params.copy(), model.flat_grads.copy()
    check_gradients(model, x[:4], y[:4], entries=20)
    assert np.array_equal(model.flat_params, params) and np.array_equal(model.flat_grads, grads)
    assert not any(layer.training for layer in model.layers)
    assert all(layer.input_grad for layer in model.layers)


def broken_sigmoid_backward(self, grad):
    return grad * self.a          # forgot the (1 − σ) of dσ/dz = σ(1 − σ)


def test_a_wrong_derivative_fails_the_check(monkeypatch, mnist):
    (x, y), _ = mnist
    model = mnist_model(activation="sigmoid", x=x[:2000])
    assert check_gradients(model, x[:5], y[:5], entries=50).passed
    monkeypatch.setattr(layers.Sigmoid, "backward", broken_sigmoid_backward)
    report = check_gradients(model, x[:5], y[:5], entries=50)
    assert not report.passed
    status = {p.name: p.passed for p in report.parameters}
    # the last layer's gradients do not go through a sigmoid's backward; the others do
    assert status == {"2.W": False, "2.b": False, "4.W": False, "4.b": False, "6.W": True, "6.b": True}
    assert max(p.max_rel_error for p in report.parameters) > 1e-2


def test_cli_exits_1_on_a_wrong_derivative(monkeypatch, capsys):
    monkeypatch.setattr(layers.Sigmoid, "backward", broken_sigmoid_backward)
    code = main(["gradcheck", "--activation", "sigmoid", "--hidden", "6", "--entries", "40", "--batch", "4"])
    out, err = capsys.readouterr()
    assert code == 1
    assert "FAIL" in out and "2.W" in out


def test_cli_default_passes_with_json(capsys):
    code = main(["gradcheck", "--json"])     # the default: 784-25-25-10 ReLU, every entry
    out, err = capsys.readouterr()
    assert code == 0, err
    result = json.loads(out)
    assert set(result) == {"passed", "tolerance", "parameters", "method", "h"}      # DESIGN's keys + how
    assert result["method"] == "central" and result["h"] == 1e-5
    assert result["passed"] is True and result["tolerance"] == 1e-6
    assert [p["name"] for p in result["parameters"]] == ["2.W", "2.b", "4.W", "4.b", "6.W", "6.b"]
    assert result["parameters"][0]["shape"] == [25, 784]
    for p in result["parameters"]:
        assert set(p) == {"name", "shape", "max_abs_error", "max_rel_error", "passed"}
        assert p["passed"] is True and 0 <= p["max_rel_error"] <= 1e-6
    assert "PASS" in err and "max rel error" in err        # the table went to stderr


def test_cli_table_and_subset_note(capsys):
    code = main(["gradcheck", "--hidden", "5", "--loss", "mse", "--entries", "30", "--batch", "3"])
    out, _ = capsys.readouterr()
    assert code == 0
    assert "30 of 3920" in out and "random entries per parameter" in out and "PASS" in out


@pytest.mark.parametrize("args", [["gradcheck", "--batch", "0"], ["gradcheck", "--loss", "hinge"],
                                  ["gradcheck", "--hidden", "5,x"], ["gradcheck", "--entries", "-1"]])
def test_cli_bad_input_exits_2(args, capsys):
    with pytest.raises(SystemExit) as e:
        code = main(args)
        raise SystemExit(code)
    assert e.value.code == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


def test_float32_models_are_refused(mnist):
    (x, y), _ = mnist
    with pytest.raises(numnet.ConfigError, match="float64"):
        check_gradients(mnist_model(dtype=np.float32), x[:2], y[:2])


def test_numerical_gradients_fill_the_models_gradients(mnist):
    (x, y), _ = mnist
    model = mnist_model(hidden=(4,), x=x[:2000])
    xb, yb = model.prepare(x[:5]), y[:5]
    model.train()
    model.loss.forward(model.forward(xb), yb)
    model.backward(model.loss.backward())
    backprop = model.flat_grads.copy()
    model.flat_grads[...] = 0
    loss = numerical_gradients(model, xb, yb)
    assert loss == pytest.approx(model.loss.forward(model.forward(xb), yb), rel=1e-15)
    # h = 1e-4 (tutorial 2's): truncation error O(h²) leaves ~1e-9 absolute
    np.testing.assert_allclose(model.flat_grads, backprop, rtol=1e-5, atol=1e-8)
    assert np.abs(backprop).max() > 1e-2


def test_fit_with_numerical_gradients_follows_backprop(mnist):
    (x, y), _ = mnist
    # tanh: smooth, so no step of the 2 × 3 can straddle a kink as ReLU's max(0, z) can near z = 0
    runs = {}
    for gradient in ("backprop", "numerical"):
        model = mnist_model(hidden=(3,), activation="tanh", seed=1)
        model.fit(x[:60], y[:60], epochs=2, batch_size=20, optimizer=numnet.SGD(0.1), seed=2, gradient=gradient)
        runs[gradient] = model.flat_params.copy()
    start = mnist_model(hidden=(3,), activation="tanh", seed=1).flat_params
    np.testing.assert_allclose(runs["numerical"], runs["backprop"], rtol=1e-6, atol=1e-8)
    assert np.abs(runs["backprop"] - start).max() > 1e-3           # it did learn something
    with pytest.raises(numnet.ConfigError, match="gradient"):
        mnist_model().fit(x[:10], y[:10], gradient="symbolic")


def test_train_numerical_cli_warns_and_trains_like_backprop(capsys):
    """Two steps in float64 with tanh (no kinks): central differences and backprop take the same steps."""
    results = {}
    for gradient in ("numerical", "backprop"):
        code = main(["train", "--gradient", gradient, "--hidden", "3", "--limit", "100", "--batch-size", "50",
                     "--epochs", "1", "--activation", "tanh", "--dtype", "float64", "--json"])
        out, err = capsys.readouterr()
        assert code == 0, err
        assert ("warning: --gradient numerical" in err and "forward passes per batch" in err) == (gradient == "numerical")
        results[gradient] = json.loads(out)
    before, after = results["numerical"]["history"]                   # epoch 0 (untrained), epoch 1
    assert after["train_loss"] < before["train_loss"]                 # it learned
    assert after["test_loss"] == pytest.approx(results["backprop"]["test_loss"], rel=1e-7)
    assert after["train_loss"] == pytest.approx(results["backprop"]["history"][1]["train_loss"], rel=1e-7)


def test_numnet_never_imports_torch():
    code = ("import sys, numnet, numnet.views.gradcheck\n"
            "from numnet.cli import build_parser, command_names\n"
            "import importlib\n"
            "[importlib.import_module('numnet.cli.' + n) for n in command_names()]\n"
            "build_parser()\n"
            "assert 'torch' not in sys.modules, 'numnet imported torch'\n")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_check_with_dropout_and_batchnorm_uses_one_mask_and_keeps_the_statistics(mnist):
    """Random layers draw the same mask in every perturbed pass; BatchNorm's running statistics and
    the generators are as before the check."""
    (x, y), _ = mnist
    layers_ = [numnet.Flatten(), numnet.Dense(784, 12), numnet.BatchNorm(12), numnet.Tanh(), numnet.Dropout(0.4),
               numnet.Dense(12, 10)]
    model = numnet.Sequential(layers_, dtype=np.float64, seed=5)
    bn, dropout = model.layers[2], model.layers[4]
    running = bn.running_mean.copy(), bn.running_var.copy()
    state = dropout.rng.bit_generator.state
    report = check_gradients(model, x[:8] / 255.0, y[:8], entries=60)
    assert report.passed, report
    assert [p.name for p in report.parameters] == ["1.W", "1.b", "2.gamma", "2.beta", "5.W", "5.b"]
    assert np.array_equal(bn.running_mean, running[0]) and np.array_equal(bn.running_var, running[1])
    assert dropout.rng.bit_generator.state == state
