"""numnet example: the tutorials' worked examples, against the tutorials' printed numbers and against
the formulas computed independently here (math module, not numnet)."""
import json
import math

import pytest

from numnet.views.examples import EXAMPLES, run

from ..helpers import run_cli


def values(name):
    return {row.quantity: row.value for row in run(name).rows}


@pytest.mark.parametrize("name", list(EXAMPLES))
def test_every_example_agrees_with_its_tutorial(name):
    example = run(name)
    assert example.agrees, [(r.quantity, r.value, r.tutorial) for r in example.rows if r.agrees is False]
    assert example.rows and example.note and example.tutorial in range(1, 6)


def test_sigmoid_bce_json_gives_the_tutorials_numbers_to_four_decimals():
    code, out, err = run_cli("example", "sigmoid-bce", "--json")
    assert code == 0, err
    rows = {r["quantity"]: r for r in json.loads(out)["rows"]}
    assert round(rows["a"]["value"], 4) == 0.6225 and rows["a"]["tutorial"] == "0.622" and rows["a"]["agrees"]
    assert round(rows["L"]["value"], 4) == 0.4741 and rows["L"]["agrees"]
    assert round(rows["∂L/∂z"]["value"], 4) == -0.3775
    a = 1 / (1 + math.exp(-0.5))                                  # independent of numnet
    assert rows["∂L/∂w2"]["value"] == pytest.approx((a - 1) * 3, rel=1e-12)


def test_perceptron_gives_1_3_and_fires():
    v = values("perceptron")
    assert v["z"] == pytest.approx(1.3) and v["ŷ"] == 1


def test_losses_and_softmax_match_their_formulas():
    v = values("losses")
    y, y_hat = [3, -0.5, 2, 7], [2.5, 0, 2, 8]
    mse = sum((a - b) ** 2 for a, b in zip(y, y_hat)) / 4
    assert v["MSE"] == pytest.approx(mse) and v["RMSE"] == pytest.approx(math.sqrt(mse))
    assert v["MAE"] == pytest.approx(sum(abs(a - b) for a, b in zip(y, y_hat)) / 4)
    assert v["MSE, last ŷ = 17"] / v["MSE"] > v["MAE, last ŷ = 17"] / v["MAE"]      # the outlier hurts MSE most
    s = values("softmax")
    e = [math.exp(z) for z in (2, 1, 0.1)]
    assert s["p1"] == pytest.approx(e[0] / sum(e)) and s["p1 of z + 1000"] == pytest.approx(s["p1"])
    assert s["p1 of z + 1000, naive"] == "nan"


def test_numerical_gradient_and_the_tutorials_loop_that_never_runs():
    v = values("numerical-gradient")
    assert abs(v["∂f/∂x0"] - 6) < 1e-6 and abs(v["∂f/∂x1"] - 8) < 1e-6
    assert 1e-5 < v["forward difference ∂f/∂x0"] - 6 < 1e-3                         # first order: error ≈ h
    assert v["∂f/∂x0, code as printed"] == 0 and v["∂f/∂x1, code as printed"] == 0


def test_adam_step_moves_by_eta():
    v = values("adam-step")
    assert v["m̂"] == pytest.approx(0.5) and v["v̂"] == pytest.approx(0.25)
    assert v["θ"] == pytest.approx(1 - 0.001 * 0.5 / (0.5 + 1e-8), rel=1e-12)


def test_activations_name_the_slip():
    v = values("activations")
    assert v["σ(1)"] != pytest.approx(v["tanh(1)"], abs=1e-3) and v["2σ(2)−1"] == pytest.approx(math.tanh(1))
    assert "slip" in run("activations").note


def test_listing_and_unknown_name():
    code, out, _ = run_cli("example", "--json")
    assert code == 0 and [e["name"] for e in json.loads(out)["examples"]] == list(EXAMPLES)
    code, out, err = run_cli("example", "nope")
    assert code == 2 and "unknown example 'nope'" in err and "Traceback" not in err
