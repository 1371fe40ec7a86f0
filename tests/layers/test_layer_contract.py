"""The layer contract: one registry known in every process, parameters that train however a layer
writes its gradients, and the direction of imports between the package's floors."""
import ast
import json
import pathlib
import subprocess
import sys

import numpy as np
import pytest

import numnet
from numnet.architectures import PRESETS, build
from numnet.data.datasets import FILES
from numnet.data.idx import write_idx

from ..helpers import ENV

PACKAGE = pathlib.Path(numnet.__file__).parent


def test_every_layer_type_is_known_in_a_fresh_process():
    """numnet.load must know conv, pooling, BatchNorm and Dropout without anything imported first."""
    code = "import json, numnet.io.serialize as s; print(json.dumps(sorted(s.layers_mod.REGISTRY)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=ENV, timeout=60)
    names = set(json.loads(out.stdout))
    assert {"Dense", "Conv2D", "MaxPool2D", "AvgPool2D", "GlobalAvgPool2D", "BatchNorm", "Dropout", "Reshape",
            "Flatten", "Standardize", "ReLU", "Sigmoid", "Tanh", "Step", "Softmax"} <= names


SPECS = {name: p["spec"] for name, p in PRESETS.items() if p["spec"]}
SPECS["bn-dropout-avgpool"] = "conv(4,3,padding=1)-bn-relu-avgpool(2)-conv(6,3,s=2)-gap-dropout(0.3)-dense(16)-bn-sigmoid-dense(10)"
SPECS["mlp"] = None


@pytest.fixture(scope="module")
def small_data(tmp_path_factory, mnist):
    """200 training and 100 test digits of MNIST as an IDX folder, for --data-dir."""
    (x, y), (xt, yt) = mnist
    folder = tmp_path_factory.mktemp("small-mnist")
    for role, arr in {"train_images": x[:200], "train_labels": y[:200], "test_images": xt[:100],
                      "test_labels": yt[:100]}.items():
        write_idx(str(folder / FILES[role]), arr)
    return str(folder)


@pytest.mark.parametrize("name", sorted(SPECS))
def test_saved_models_work_with_every_command_in_a_fresh_process(name, mnist, small_data, tmp_path):
    (x, y), (xt, _) = mnist
    layers = numnet.mlp((16,)) if SPECS[name] is None else build(SPECS[name], input_shape=(28, 28))
    model = numnet.Sequential(layers, seed=0)
    model.fit(x[:128], y[:128], epochs=1, batch_size=64, workers=1)
    path = tmp_path / f"{name}.npz"
    model.save(path)
    from PIL import Image
    Image.fromarray(255 - xt[0]).save(tmp_path / "digit.png")         # dark ink on white paper
    script = f"""
import json, sys
from numnet.cli import main
model, data, out = {str(path)!r}, {small_data!r}, {str(tmp_path / 'report')!r}
codes = [main(["evaluate", model, "--data-dir", data, "--json"]),
         main(["predict", model, {str(tmp_path / 'digit.png')!r}, "--json"]),
         main(["explain", model, "--data-dir", data, "--index", "3", "--json"]),
         main(["report", model, "--data-dir", data, "--out", out, "--json"])]
sys.stderr.write("CODES " + json.dumps(codes))
"""
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=ENV, timeout=240)
    assert "CODES [0, 0, 0, 0]" in proc.stderr, proc.stderr[-2000:]
    lines = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    evaluated, predicted, explained = lines[0], lines[1], lines[2]
    reloaded = numnet.load(path)
    assert np.array_equal(reloaded.flat_params, model.flat_params)
    (_, _), (xt, yt) = mnist
    assert evaluated["accuracy"] == pytest.approx(float(np.mean(model.predict(xt[:100]) == yt[:100])))
    assert predicted["predictions"][0]["prediction"] in range(10) and not predicted["errors"]
    assert len(explained["forward"]) == len(model.layers)
    assert (tmp_path / "report" / "index.html").exists()


class TutorialDense(numnet.Dense):
    """Dense as Deep Learning from Scratch writes it: the gradients are *assigned*."""

    def backward(self, dout):
        self.dW = dout.T @ self.x
        self.db = np.sum(dout, axis=0)
        return dout @ self.W


def test_a_layer_that_assigns_its_gradients_trains_like_the_built_in_one(mnist):
    (x, y), _ = mnist
    runs = []
    for dense in (numnet.Dense, TutorialDense):
        layers = [numnet.Flatten(), dense(784, 32), numnet.ReLU(), dense(32, 10)]
        model = numnet.Sequential(layers, seed=0, dtype=np.float64)
        model.fit(x[:400], y[:400], epochs=1, batch_size=20, optimizer=numnet.Adam(1e-3), seed=0)   # 20 steps
        runs.append(model.flat_params.copy())
    start = numnet.Sequential([numnet.Flatten(), numnet.Dense(784, 32), numnet.ReLU(), numnet.Dense(32, 10)],
                              seed=0, dtype=np.float64).flat_params
    assert np.abs(runs[0] - start).max() > 1e-3                  # it trained
    np.testing.assert_allclose(runs[1], runs[0], rtol=0, atol=1e-6)


def test_assigning_a_gradient_of_the_wrong_shape_names_the_layer():
    class Broken(numnet.Dense):
        def backward(self, dout):
            self.dW = dout.T                                     # forgot the x
            return None

    model = numnet.Sequential([numnet.Flatten(), Broken(4, 3)], seed=0)
    model.train()
    out = model.forward(np.ones((2, 4), dtype=np.float32))
    with pytest.raises(numnet.ConfigError, match=r"Broken\.dW: assigned an array of shape \(3, 2\)"):
        model.backward(np.ones_like(out))


def test_parameters_are_the_layers_own_arrays():
    model = numnet.Sequential(numnet.mlp((8,)), seed=0)
    params = model.parameters()
    assert [p.qualname for p in params] == ["2.W", "2.b", "4.W", "4.b"]
    for p in params:
        assert p.value is getattr(p.layer, p.name) and p.grad is getattr(p.layer, "d" + p.name)
        assert np.shares_memory(p.value, model.flat_params) and np.shares_memory(p.grad, model.flat_grads)
    assert sum(p.value.size for p in params) == model.num_parameters


def test_a_callback_can_stop_training(mnist):
    (x, y), _ = mnist
    model = numnet.Sequential(numnet.mlp((8,)), seed=0)

    def stop_after_two(event, **info):
        if event == "epoch" and info["epoch"] == 2:
            raise numnet.StopTraining

    history = model.fit(x[:300], y[:300], epochs=5, batch_size=100, callbacks=[stop_after_two])
    assert [e["epoch"] for e in history] == [0, 1, 2]          # epoch 0: before training
    assert not model.layers[0].training                          # left in evaluation mode


CORE = {"functional", "layers", "kernels", "model", "training", "gradients", "optim", "losses", "init",
        "schedules", "parallel"}
VIEWS = {"gradcheck", "explain", "report", "cli", "evaluation"}


def _numnet_imports(path):
    tree = ast.parse(path.read_text())
    package = path.relative_to(PACKAGE.parent).with_suffix("").parts[:-1]     # e.g. ('numnet', 'layers')
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = list(package[:len(package) - node.level + 1])
                module = ".".join(base + ([node.module] if node.module else []))
                names = [module] + [f"{module}.{a.name}" for a in node.names]
            else:
                names = [node.module or ""] + [f"{node.module}.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        else:
            continue
        found |= {n.split(".")[1] for n in names if n.startswith("numnet.") and n.count(".") >= 1}
    return found


def test_the_core_never_imports_the_views():
    for path in PACKAGE.rglob("*.py"):
        top = path.relative_to(PACKAGE).parts[0].removesuffix(".py")
        if top in CORE:
            assert not (_numnet_imports(path) & VIEWS), f"{path.relative_to(PACKAGE)} imports {_numnet_imports(path) & VIEWS}"


def test_the_math_floor_imports_no_machinery():
    """functional and the layers import no training loop, parallelism, persistence or views."""
    for path in [PACKAGE / "functional.py", *(PACKAGE / "layers").glob("*.py")]:
        assert not (_numnet_imports(path) & ({"training", "parallel", "serialize", "model"} | VIEWS)), path


def test_the_readme_recipe_for_a_new_layer_works(mnist, tmp_path):
    """The docs' "Adding a layer" example (docs/guides/adding-a-layer.md), run as written: it trains,
    saves, reloads and passes the gradient check."""
    import re

    page = (PACKAGE.parent.parent / "docs" / "guides" / "adding-a-layer.md").read_text()
    code = re.search(r"```python\n(.*?)```", page, re.S).group(1)
    scope = {}
    exec(compile(code, "adding-a-layer.md", "exec"), scope)
    Scale = scope["Scale"]
    (x, y), _ = mnist
    model = numnet.Sequential([numnet.Flatten(), Scale(784), numnet.Dense(784, 10)], dtype=np.float64, seed=0)
    assert numnet.check_gradients(model, x[:8], y[:8]).passed
    model.fit(x[:200], y[:200], epochs=1, batch_size=50)
    assert not np.allclose(model.layers[1].s, 1)                  # the scales trained
    model.save(tmp_path / "scale.npz")
    np.testing.assert_array_equal(numnet.load(tmp_path / "scale.npz").layers[1].s, model.layers[1].s)
