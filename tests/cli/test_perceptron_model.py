"""The perceptron saved as a model file (issue 24): ``numnet train --model perceptron --binary D --save``
writes the one model format — Flatten, Dense(784, 1) holding w and b, Step — that ``numnet.load`` reads and
every command uses; it answers exactly as the trained neuron does."""
import json

import numpy as np
import pytest

import numnet
from numnet.perceptron import Perceptron

from ..helpers import run_cli


def test_layers_compute_the_neuron():
    """Tutorial 4's neuron (w = (0.5, 0.8), b = −1) as layers: x = (3, 1) → z = 1.3 → 1; x = (0, 1) → 0."""
    p = Perceptron(2)
    p.w[:], p.b = [0.5, 0.8], -1.0
    model = numnet.Sequential(p.layers(), loss="mse", dtype=np.float64, seed=None)
    x = np.array([[3.0, 1.0], [0.0, 1.0]])
    np.testing.assert_array_equal(model.predict(x), p.predict(x))
    np.testing.assert_array_equal(model.predict(x), [1, 0])


@pytest.mark.parametrize("activation", ["step", "sign"])
def test_saved_perceptron_predicts_as_trained(tmp_path, mnist, activation):
    path = tmp_path / "p.npz"
    code, out, err = run_cli("train", "--model", "perceptron", "--binary", 7, "--activation", activation,
                             "--limit", 500, "--epochs", 2, "--save", path, "--json")
    assert code == 0, err
    trained = json.loads(out)
    assert trained["model_path"] == str(path)
    model = numnet.load(path)
    assert model.binary and model.info["binary"] == 7 and model.info["model"] == "perceptron"
    x, y = mnist[1]
    assert np.mean(model.predict(x) == (y == 7)) == pytest.approx(trained["test_accuracy"])
    code, out, err = run_cli("evaluate", path, "--json")
    assert code == 0, err
    assert json.loads(out)["accuracy"] == pytest.approx(trained["test_accuracy"])


def test_explain_shows_the_neuron(tmp_path):
    """z = W1·x + b1 (one output), step(z), and the MSE's gradient with the output's shape (1), not the (2)
    of the two class probabilities."""
    path = tmp_path / "p.npz"
    assert run_cli("train", "--model", "perceptron", "--binary", 7, "--limit", 300, "--epochs", 1,
                   "--save", path)[0] == 0
    code, out, err = run_cli("explain", path, "--json")
    assert code == 0, err
    r = json.loads(out)
    assert [s["layer"] for s in r["forward"]] == ["Flatten", "Dense", "Step"]
    assert "step(" in r["forward"][-1]["equation"] and r["output"]["prediction"] in (0, 1)
    assert r["backward"][0]["shapes"] == "(1×1) − (1×1) → (1×1)"
    assert r["adam"] is None            # the step passes no gradient back: no Adam step to show


def test_predict_shows_the_class_without_a_probability(tmp_path, mnist):
    Image = pytest.importorskip("PIL.Image", reason="writing PNGs needs Pillow")
    path, png = tmp_path / "p.npz", tmp_path / "seven.png"
    Image.fromarray(mnist[1][0][0]).save(png)
    assert run_cli("train", "--model", "perceptron", "--binary", 7, "--limit", 300, "--epochs", 1,
                   "--save", path)[0] == 0
    code, out, err = run_cli("predict", path, png)
    assert code == 0, err
    assert "no probability" in out and "%" not in out


@pytest.mark.parametrize("lang", [[], ["--lang", "zh-CN"]])
def test_language_is_no_option_of_the_run(lang):
    """--lang is numnet's (every command speaks it): not refused as an option the perceptron run ignores."""
    code, _, err = run_cli("train", "--model", "perceptron", "--binary", 7, "--limit", 100, "--epochs", 1, *lang)
    assert code == 0, err
