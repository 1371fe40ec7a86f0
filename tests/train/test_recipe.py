"""One recipe (numnet.train.recipe.Recipe) behind numnet train, numnet sweep and NumnetClassifier;
network options a preset does not take are refused; the size budget covers every layer."""
import json
import subprocess
import sys

import numpy as np
import pytest

import numnet
from numnet.api import Sequential
from numnet.architectures import PRESETS, build, walk
from numnet.cli import main
from numnet.errors import ConfigError
from numnet.train.recipe import Recipe
from numnet.views.summary import summary_rows

from ..helpers import ENV


class Captured(Exception):
    """Raised by the patched fit: what the run was about to train, instead of training it."""


@pytest.fixture
def capture_fit(monkeypatch):
    """Sequential.fit replaced by a probe recording the model's initial weights and fit's options."""
    seen = []

    def fit(self, x, y, **options):
        optimizer = options["optimizer"]
        inner = getattr(optimizer, "inner", optimizer)           # transfer.Restricted wraps the optimizer
        schedule = options.get("schedule")
        seen.append({"layers": [type(layer).__name__ for layer in self.layers], "input": x.shape[1:],
                     "weights": self.flat_params.copy(), "dtype": self.dtype,
                     "optimizer": (type(inner).__name__, inner.lr, inner.weight_decay),
                     "clip_norm": getattr(optimizer, "clip_norm", None),
                     "schedule": None if schedule is None else (type(schedule).__name__, sorted(vars(schedule).items())),
                     "epochs": options["epochs"], "batch_size": options["batch_size"], "seed": options["seed"]})
        raise Captured

    monkeypatch.setattr(Sequential, "fit", fit)
    return seen


def _same(a, b):
    assert a["layers"] == b["layers"] and a["dtype"] == b["dtype"]
    np.testing.assert_array_equal(a["weights"], b["weights"])
    for key in ("optimizer", "clip_norm", "schedule", "epochs", "batch_size"):
        assert a[key] == b[key], key


def test_cli_sweep_and_sklearn_build_the_same_run_from_a_preset(capture_fit):
    """--model cnn in the CLI, its recipe in the sweep, arch='cnn' in scikit-learn: one model, one optimizer."""
    pytest.importorskip("sklearn")
    from numnet.integrations import sweep
    from numnet.integrations.sklearn import NumnetClassifier

    (x, y), _ = numnet.load_mnist()
    with pytest.raises(Captured):
        main(["train", "--model", "cnn", "--seed", "3", "--limit", "200"])
    recipe = Recipe.from_preset("cnn", seed=3)
    with pytest.raises(Captured):
        sweep.train({"arch": recipe.arch, "seed": 3, **recipe.training}, x[:200], y[:200], 10)
    clf = NumnetClassifier(arch="cnn", optimizer=recipe.optimizer, lr=recipe.lr, schedule=recipe.schedule,
                           epochs=recipe.epochs, batch_size=recipe.batch_size, seed=3)
    with pytest.raises(Captured):
        clf.fit(x[:200], y[:200])
    cli, swept, sk = capture_fit
    assert cli["optimizer"] == ("Adam", 2e-3, 0.0) and cli["schedule"][0] == "OneCycle"
    assert (cli["epochs"], cli["batch_size"], cli["seed"]) == (2, 64, 3)
    _same(cli, swept)
    _same(cli, sk)
    model = recipe.network((28, 28), 10, Sequential)                # and the Recipe itself
    np.testing.assert_array_equal(model.flat_params, cli["weights"])


def test_cli_and_recipe_agree_on_a_clipped_preset_and_an_override(capture_fit):
    with pytest.raises(Captured):
        main(["train", "--model", "lstm", "--optimizer", "sgd", "--limit", "100"])
    recipe = Recipe.from_preset("lstm", optimizer="sgd")
    assert recipe.lr is None and recipe.base_lr == numnet.optim.DEFAULT_LR["sgd"]       # sgd's own rate
    (run,) = capture_fit
    assert run["optimizer"] == ("SGD", 0.1, 0.0) and run["clip_norm"] == recipe.clip_norm == 1.0
    np.testing.assert_array_equal(run["weights"], recipe.network((28, 28), 10, Sequential).flat_params)


def test_recipe_from_preset_defaults_and_refusals():
    assert Recipe.from_preset("mlp").training == PRESETS["mlp"]["recipe"]
    assert Recipe.from_preset("vit", epochs=1).training == {**PRESETS["vit"]["recipe"], "epochs": 1}
    assert Recipe.from_preset("mlp", hidden="64,32").hidden == (64, 32)
    assert Recipe.from_arch("dense(10)", init="he").init == "he"
    for name, option in (("lstm", "hidden"), ("cnn", "activation"), ("vit", "hidden")):
        with pytest.raises(ConfigError, match=f"--{option} does not apply to --model {name}"):
            Recipe.from_preset(name, **{option: "64"})
    with pytest.raises(ConfigError, match="--hidden does not apply to --arch"):
        Recipe.from_arch("dense(10)", hidden="64")
    with pytest.raises(ConfigError, match="not both"):
        Recipe.from_preset("cnn", arch="dense(10)")
    assert all(set(p["options"]) <= {"hidden", "activation", "init"} for p in PRESETS.values())


def _numnet(*args):
    """Run ``numnet`` in a fresh process under a parent that reports the child's peak memory:
    (exit status, stderr, peak resident KiB)."""
    probe = ("import resource, subprocess, sys; r = subprocess.run(sys.argv[1:], capture_output=True, text=True); "
             "print(__import__('json').dumps([r.returncode, r.stderr, "
             "resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss]))")
    out = subprocess.run([sys.executable, "-c", probe, sys.executable, "-m", "numnet", *args],
                         capture_output=True, text=True, env=ENV, timeout=120)
    return json.loads(out.stdout)


@pytest.mark.parametrize("spec", ["lstm(100000)-dense(10)", "dense(100000)-dense(100000)",
                                  "patch(1,256)-pos-block(8,100000000)-cls-dense(10)",
                                  "patch(7,100000000)-pos-cls-dense(10)",
                                  "patch(1,256)-pos-attn(8)-cls-dense(10)"])        # 8·785² attention scores
def test_an_over_budget_network_is_one_line_exit_2_small_and_fast(spec):
    import time

    start = time.perf_counter()
    code, err, peak_kib = _numnet("train", "--arch", spec)
    seconds = time.perf_counter() - start
    assert code == 2, err
    assert len(err.splitlines()) == 1 and "more than the limit" in err, err
    assert peak_kib < 500 * 1024, peak_kib
    assert seconds < 10, seconds               # about 0.3 s on an idle machine; slack for a loaded one


def test_a_network_option_a_preset_does_not_take_is_refused():
    code, err, _ = _numnet("train", "--model", "lstm", "--hidden", "64")
    assert code == 2 and len(err.splitlines()) == 1
    assert "--hidden does not apply to --model lstm" in err
    code, err, _ = _numnet("train", "--model", "perceptron", "--binary", "0", "--init", "he")
    assert code == 2 and "--init does not apply to --model perceptron" in err


def test_the_walk_counts_recurrent_and_attention_layers_and_summary_reads_it():
    layers = build("patch(7,64)-pos-block(4,128)-ln-cls-dense(10)")
    sizes = list(walk(layers, (28, 28)))
    model = Sequential(layers)
    assert [s.parameters for s in sizes] == [sum(p.value.size for p in layer.parameters()) for layer in layers]
    assert sum(s.parameters for s in sizes) == model.num_parameters
    block = sizes[2]
    assert block.output_shape == (17, 64) and block.values == max(3 * 17 * 64, 4 * 17 * 17, 17 * 128)
    rows = summary_rows(model, (28, 28))
    assert [r["output_shape"] for r in rows] == [list(s.output_shape) for s in sizes]
    assert [r["parameters"] for r in rows] == [s.parameters for s in sizes]
    (lstm,) = [s for s in walk(build("lstm(32)-dense(10)"), (28, 28)) if type(s.layer).__name__ == "LSTM"]
    assert lstm.values == 28 * 4 * 32 and lstm.parameters == 4 * 32 * (28 + 32 + 2)
