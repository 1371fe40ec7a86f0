"""The tutorials as written: the perceptron (tutorials 4/5), every loss from the CLI, epoch 0 (tutorial 3),
tutorial 2's recipe options (iterations, batches drawn with replacement, per-step log)."""
import json

import numpy as np
import pytest

import numnet
from numnet.architectures import build, mlp
from numnet.perceptron import Perceptron, toy_separable, xor
from numnet.views.gradcheck import check_gradients

from .helpers import run_cli


@pytest.fixture
def cli(capsys):
    """The CLI in-process (faster than a subprocess): cli(*args) -> (exit status, stdout, stderr)."""
    from numnet.cli import main

    def call(*args):
        code = main(list(args))
        out, err = capsys.readouterr()
        return code, out, err
    return call


# perceptron -------------------------------------------------------------------------------------
def test_seed_003_example_z_is_1_3_and_the_neuron_fires():
    """Tutorial 4: x = (3, 1), w = (0.5, 0.8), b = −1 → z = 0.5·3 + 0.8·1 − 1 = 1.3 → step(1.3) = 1."""
    p = Perceptron(2)
    p.w[:], p.b = [0.5, 0.8], -1.0
    x = np.array([[3.0, 1.0]])
    assert p.net_input(x)[0] == pytest.approx(1.3)
    assert p.predict(x)[0] == 1
    dense = numnet.Dense(2, 1, dtype=np.float64)        # the same neuron as layers: Dense + Step
    dense.W[...], dense.b[...] = [[0.5, 0.8]], [-1.0]
    z = dense.forward(x)
    assert z[0, 0] == pytest.approx(1.3) and numnet.Step().forward(z)[0, 0] == 1
    assert numnet.Sign().forward(-z)[0, 0] == -1


def test_perceptron_rule_converges_on_a_separable_set_with_zero_mistakes():
    x, y = toy_separable(100, seed=0)
    p = Perceptron(2)
    history = p.fit(x, y, epochs=100)
    assert p.converged and history[-1]["mistakes"] == 0 and p.score(x, y) == 1.0
    sign = Perceptron(2, activation="sign")
    sign.fit(x, 2 * y - 1, epochs=100)
    assert sign.converged and sign.score(x, 2 * y - 1) == 1.0


def test_perceptron_never_converges_on_xor():
    x, y = xor()
    p = Perceptron(2)
    history = p.fit(x, y, epochs=200)
    assert not p.converged and len(history) == 200
    assert all(e["mistakes"] > 0 for e in history) and p.score(x, y) <= 0.75     # no line gets all four


def test_perceptron_update_is_the_classic_rule():
    p = Perceptron(3, lr=0.5)
    x, y = np.array([[1.0, 2.0, -1.0]]), np.array([0])
    p.fit(x, y, epochs=1, shuffle=False)       # w = 0, b = 0: z = 0 → ŷ = 1, wrong: w ← 0.5·(0 − 1)·x
    np.testing.assert_allclose(p.w, [-0.5, -1.0, 0.5])
    assert p.b == -0.5
    with pytest.raises(numnet.ConfigError):
        p.fit(x, np.array([2]))


def test_step_and_sign_pass_no_gradient_and_are_accepted_by_arch():
    z = np.array([[-1.0, 0.0, 2.0]])
    assert numnet.Step().forward(z).tolist() == [[0, 1, 1]] and numnet.Sign().forward(z).tolist() == [[-1, 1, 1]]
    assert not numnet.Sign().backward(np.ones_like(z)).any()
    layers = build("dense(8)-sign-dense(10)")
    assert type(layers[2]).__name__ == "Sign"
    assert type(mlp((4,), "step")[3]).__name__ == "Step"


def test_cli_perceptron_is_it_a_zero_on_a_subset(cli):
    code, out, err = cli("train", "--model", "perceptron", "--binary", "0", "--limit", "3000", "--epochs", "3",
                             "--json")
    assert code == 0, err
    r = json.loads(out)
    assert r["history"][0]["epoch"] == 0 and r["test_accuracy"] > 0.97     # all-"no" would be 0.902
    code, _, err = cli("train", "--model", "perceptron")
    assert code == 2 and "--binary" in err


# losses ---------------------------------------------------------------------------------------
LOSS_OUTPUTS = {"cross_entropy": [], "nll": [], "mse": [numnet.Sigmoid], "mae": [numnet.Sigmoid], "bce": []}


@pytest.mark.parametrize("loss", sorted(LOSS_OUTPUTS))
def test_each_loss_passes_gradcheck(loss):
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(6, 5)), rng.integers(0, 3, 6)
    layers = [numnet.Dense(5, 4, init="xavier"), numnet.Tanh(), numnet.Dense(4, 3, init="xavier")]
    model = numnet.Sequential(layers + [c() for c in LOSS_OUTPUTS[loss]], loss=loss, dtype=np.float64, seed=1)
    report = check_gradients(model, x, y)
    assert report.passed, report.to_dict()


def test_bce_with_one_output_and_binary_labels_passes_gradcheck():
    rng = np.random.default_rng(0)
    model = numnet.Sequential([numnet.Dense(5, 1)], loss="bce", dtype=np.float64, seed=1)
    assert check_gradients(model, rng.normal(size=(8, 5)), rng.integers(0, 2, 8)).passed


@pytest.mark.parametrize("loss", sorted(LOSS_OUTPUTS))
def test_cli_each_loss_trains_above_chance(loss, cli):
    code, out, err = cli("train", "--loss", loss, "--hidden", "32", "--limit", "2000", "--epochs", "2",
                             "--lr", "0.01", "--json")
    assert code == 0, err
    r = json.loads(out)
    assert r["loss"] == loss and r["test_accuracy"] > 0.5                   # chance: 0.1
    assert ("test_rmse" in r) == (loss in ("mse", "mae"))
    if loss == "mse":
        assert r["test_rmse"] == pytest.approx(np.sqrt(r["test_loss"]), rel=1e-4)   # same outputs, same targets


def test_cli_binary_bce_and_loss_mismatch(cli):
    code, out, err = cli("train", "--binary", "0", "--hidden", "16", "--limit", "2000", "--epochs", "1", "--json")
    assert code == 0, err
    assert json.loads(out)["loss"] == "bce"
    code, _, err = cli("train", "--binary", "0", "--loss", "nll", "--limit", "100")
    assert code == 2 and "--binary" in err


# epoch 0 and tutorial 2's recipe ------------------------------------------------------------
def test_fit_records_epoch_0_before_training(mnist):
    (x, y), (xt, yt) = mnist
    model = numnet.Sequential(mlp((16,)), seed=0)
    before = model.evaluate(xt[:500], yt[:500])
    model.adapt(x[:1000])
    before = model.evaluate(xt[:500], yt[:500])
    history = model.fit(x[:1000], y[:1000], epochs=1, validation_data=(xt[:500], yt[:500]))
    assert [e["epoch"] for e in history] == [0, 1]
    assert (history[0]["val_loss"], history[0]["val_accuracy"]) == pytest.approx(before)
    assert 0.02 < history[0]["train_accuracy"] < 0.25 and history[1]["val_accuracy"] > history[0]["val_accuracy"]
    model.fit(x[:1000], y[:1000], epochs=1)                 # a second fit continues the numbering
    assert [e["epoch"] for e in model.history] == [0, 1, 2]


def test_iterations_and_batches_drawn_with_replacement(mnist):
    (x, y), _ = mnist
    seen = []

    def spy(model, xb, yb):
        seen.append(len(xb))
        return numnet.train.gradients.backprop(model, xb, yb)

    steps = []
    model = numnet.Sequential(mlp((8,)), seed=0)
    history = model.fit(x[:250], y[:250], batch_size=100, iterations=7, sample="with-replacement",
                        gradient=spy, log_every=1, progress=lambda e, **i: steps.append(i.get("step")))
    assert seen == [100] * 7                                    # 7 steps, full batches (drawn, not sliced)
    assert [e["epoch"] for e in history] == [0, 1, 2, 3]        # 3 steps an epoch: 3 + 3 + 1
    assert [s for s in steps if s is not None] == list(range(1, 8))
    again = numnet.Sequential(mlp((8,)), seed=0)
    again.fit(x[:250], y[:250], batch_size=100, iterations=7, sample="with-replacement")
    np.testing.assert_array_equal(model.flat_params, again.flat_params)      # seeded: same draws
    with pytest.raises(numnet.ConfigError):
        model.fit(x[:10], y[:10], sample="bootstrap")


def test_cli_seed_001_recipe_options():
    code, out, err = run_cli("train", "--arch", "dense(50)-relu-dense(10)", "--init", "normal:0.01", "--optimizer",
                             "sgd", "--lr", "0.001", "--batch-size", "100", "--iterations", "5", "--sample",
                             "with-replacement", "--log-every", "1", "--limit", "1000")
    assert code == 0, err
    assert [line.split(":")[0] for line in out.splitlines() if line.startswith("iteration")] == \
        [f"iteration {i:>5}" for i in range(1, 6)]
    assert "epoch   0:" in out and "5 iterations" in out


# forward differences, seed figures --------------------------------------------------------------
def test_forward_differences_are_first_order_and_central_second_order():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(6, 5)), rng.integers(0, 3, 6)
    model = numnet.Sequential([numnet.Dense(5, 4), numnet.Tanh(), numnet.Dense(4, 3)], dtype=np.float64, seed=1)
    err = {(m, h): max(p.max_abs_error for p in check_gradients(model, x, y, h=h, method=m).parameters)
           for m in ("forward", "central") for h in (1e-3, 1e-4)}
    assert 5 < err["forward", 1e-3] / err["forward", 1e-4] < 20          # O(h): 10× smaller h, ~10× smaller error
    assert 50 < err["central", 1e-3] / err["central", 1e-4] < 200        # O(h²): ~100×
    assert err["central", 1e-4] < err["forward", 1e-4] / 100
    with pytest.raises(numnet.ConfigError):
        check_gradients(model, x, y, method="backward")


def test_cli_gradcheck_forward_method_reports_first_order_errors(capsys):
    from numnet.cli import main

    code = main(["gradcheck", "--hidden", "5", "--batch", "4", "--method", "forward", "--h", "1e-5", "--json"])
    r = json.loads(capsys.readouterr().out)
    assert code == 1 and r["method"] == "forward" and not r["passed"]       # O(h) misses the 1e-6 tolerance
    assert all(1e-8 < p["max_abs_error"] < 1e-4 for p in r["parameters"])


def test_activation_table_derivatives_match_numerical_slopes():
    from numnet.views.figures import activation_table

    z = np.array([-2.0, -0.5, 0.7, 3.0])
    h = 1e-6
    _, table = activation_table(z)
    _, plus = activation_table(z + h)
    _, minus = activation_table(z - h)
    for name, (f, df) in table.items():
        np.testing.assert_allclose(df, (plus[name][0] - minus[name][0]) / (2 * h), atol=1e-6, err_msg=name)
