"""Issue 26 item 16: no option is ignored without a word. An option the chosen run would not use is
refused in one line naming the conflict (exit 2) before any work; values that cannot train are refused
by their option types; --binary works with every loss it recommends; a --model preset sizes its head
to the task."""
import json

import numpy as np
import pytest

import numnet
from numnet.train.recipe import Recipe, with_head
from tests.helpers import assert_one_line, make_folder, run_cli

FAST = ["--limit", "300", "--epochs", "1"]


@pytest.mark.parametrize("options, needles", [
    (["--model", "cnn", "--hidden", "64"], ["--hidden", "--model cnn"]),
    (["--model", "cnn", "--activation", "tanh"], ["--activation", "--model cnn"]),
    (["--arch", "flatten-dense(10)", "--hidden", "16"], ["--hidden", "--arch"]),
    (["--model", "perceptron", "--binary", "3", "--checkpoint", "ck.npz"], ["--checkpoint", "perceptron"]),
    (["--model", "perceptron", "--binary", "3", "--init-from", "m.npz"], ["--init-from", "perceptron"]),
    (["--model", "perceptron", "--binary", "3", "--activation", "relu"], ["--activation relu", "perceptron"]),
    (["--resume", "missing.npz", "--init-from", "m.npz"], ["--init-from", "--resume"]),
    (["--resume", "missing.npz", "--hidden", "64"], ["--hidden", "--resume"]),
    (["--new-head"], ["--new-head", "--init-from"]),
])
def test_an_option_the_run_would_ignore_is_refused(tmp_path, options, needles):
    code, out, err = run_cli("train", *FAST, *options, cwd=tmp_path)
    assert_one_line(code, err, *needles)
    assert out == "" and not (tmp_path / "ck.npz").exists()


@pytest.mark.parametrize("hidden", ["", "16,,16", ",16", "16,"])
def test_hidden_widths_have_no_empty_part(hidden):
    code, _, err = run_cli("train", *FAST, f"--hidden={hidden}")
    assert_one_line(code, err, "--hidden")


@pytest.mark.parametrize("option, value", [("--init", "normal:nan"), ("--init", "normal:inf"),
                                           ("--init", "normal:-1"), ("--weight-decay", "inf"),
                                           ("--weight-decay", "nan")])
def test_values_that_cannot_train_are_refused_up_front(option, value):
    code, out, err = run_cli("train", *FAST, option, value)
    assert_one_line(code, err, option)
    assert "diverged" not in err and out == ""


@pytest.mark.parametrize("loss", ["mse", "mae"])
def test_binary_trains_with_the_losses_its_error_recommends(loss):
    code, out, err = run_cli("train", "--limit", "2000", "--epochs", "2", "--hidden", "16", "--binary", "7",
                             "--loss", loss, "--json")
    assert code == 0, err
    result = json.loads(out)
    assert result["test_accuracy"] > 0.9                     # 'is it a 7?': far above the 0.90 of "never"


def test_one_output_regression_losses_read_as_is_it_class_1():
    out = np.array([[0.2], [0.7], [0.5]], dtype=np.float32)
    for loss in (numnet.losses.MSE(), numnet.losses.MAE()):
        np.testing.assert_array_equal(loss.predicted_labels(out), [0, 1, 0])
        np.testing.assert_allclose(loss.probabilities(out), [[0.8, 0.2], [0.3, 0.7], [0.5, 0.5]], rtol=1e-6)
    model = numnet.Sequential(numnet.mlp((4,), num_classes=1) + [numnet.Sigmoid()], loss="mse", seed=0)
    model.fit(np.random.default_rng(0).random((20, 784)), np.arange(20) % 2, epochs=1, batch_size=10)


@pytest.mark.parametrize("preset", ["lenet5", "cnn", "cnn-best", "record", "rnn", "lstm", "gru", "vit"])
@pytest.mark.parametrize("classes", [1, 5])
def test_a_preset_sizes_its_head_to_the_task(preset, classes):
    recipe = Recipe.from_preset(preset)
    model = numnet.Sequential(recipe.layers((28, 28), classes), seed=0)
    assert model.forward(np.zeros((2, 28, 28), dtype=np.float32)).shape == (2, classes)
    assert recipe.arch.endswith(f"dense({classes})")        # what the run records


def test_with_head_changes_the_last_dense_only():
    assert with_head("conv(32,5)-flatten-dense(10)-relu-dense(10)", 3) == "conv(32,5)-flatten-dense(10)-relu-dense(3)"


def test_preset_trains_on_a_five_class_folder_and_a_yes_no_task(tmp_path):
    make_folder(tmp_path / "five", n_train=40, n_test=10, classes=5)
    code, _, err = run_cli("train", "--model", "cnn", "--epochs", "1", "--data-dir", tmp_path / "five",
                           "--save", tmp_path / "five.npz")
    assert code == 0, err
    assert numnet.load(tmp_path / "five.npz").layers[-1].out_features == 5
    code, _, err = run_cli("train", "--model", "cnn", "--epochs", "1", "--data-dir", tmp_path / "five",
                           "--binary", "3")
    assert code == 0, err


def test_an_arch_user_still_gets_the_message(tmp_path):
    code, _, err = run_cli("train", *FAST, "--arch", "flatten-dense(10)", "--binary", "3")
    assert_one_line(code, err, "end with dense(1)")
