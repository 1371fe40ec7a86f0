"""The guided tour (docs/tour/tour.en.py, docs/tour/tour.zh-CN.py, jupytext notebooks kept as text)
runs from top to bottom, and the numbers it prints are the expected ones.

Each notebook collects the numbers it shows in a dict ``measured``; the test executes the notebook
with nbclient, reads ``measured`` back and compares it with EXPECTED within tolerances. Both
languages run the same code (checked cell by cell), so both are checked against the same numbers.
"""
import json
import os
import re
import time

import pytest

from ..helpers import SRC

jupytext = pytest.importorskip("jupytext")
nbclient = pytest.importorskip("nbclient")
nbformat = pytest.importorskip("nbformat")

TOUR = os.path.join(os.path.dirname(SRC), "docs", "tour")
NOTEBOOKS = ("tour.en.py", "tour.zh-CN.py")

#: name -> (expected, absolute tolerance); True/False and ints exactly. The training runs are small
#: (--limit, one or two epochs), seeded, so the tolerances cover other BLAS builds and engines only.
EXPECTED = {
    "pixel_mean": (0.1307, 1e-4),
    "t1_epoch0_accuracy": (0.09, 0.03),          # untrained: chance
    "t1_accuracy": (0.87, 0.03),
    "t1_evaluate_accuracy": (0.87, 0.03),
    "backprop_shapes_agree": True,
    "adam_step_agrees": True,
    "softmax_agrees": True,
    "numerical_gradient_agrees": True,
    "forward_over_central": (3.6e4, 1.5e4),       # forward differences: about 10⁴ times the error of central
    "t2_lr0.001_accuracy": (0.13, 0.05),         # the recipe as written barely learns
    "t2_lr0.5_accuracy": (0.83, 0.05),           # lr 0.5: past the tutorial's 67% in 50 iterations
    "standardized_std": (1.0, 0.05),
    "t3_epoch0_accuracy": (0.09, 0.03),
    "t3_accuracy": (0.85, 0.05),
    "dropout_off_fraction": (0.5, 0.02),
    "batchnorm_std": ([1.0, 1.0, 1.0], 1e-3),
    "perceptron_z": (1.3, 1e-9),
    "perceptron_accuracy": (0.98, 0.015),
    "bce_a": (0.6225, 5e-5),
    "bce_L": (0.4741, 5e-5),
    "bce_dz": (-0.3775, 5e-5),
    "activations_agree": True,
    "sign_perceptron_accuracy": (0.98, 0.015),
    "losses_agree": True,
}


def notebook(name):
    return jupytext.read(os.path.join(TOUR, name))


def code_cells(nb):
    return [cell.source for cell in nb.cells if cell.cell_type == "code"]


def test_both_languages_run_the_same_code():
    english, chinese = (code_cells(notebook(name)) for name in NOTEBOOKS)
    assert len(english) > 30 and english == chinese


def test_the_map_names_every_section():
    """docs/tour/index.md maps each tutorial heading to a notebook section that exists, in both languages."""
    with open(os.path.join(TOUR, "index.md"), encoding="utf-8") as f:
        text = f.read()
    rows = [row.split("|") for row in text.splitlines() if re.match(r"\| tutorial \d ", row)]
    assert {row[1].strip() for row in rows} == {f"tutorial {k}" for k in range(1, 6)} and len(rows) >= 40
    for name, column in zip(NOTEBOOKS, (3, 4)):
        headings = {line.lstrip("#").strip() for cell in notebook(name).cells if cell.cell_type == "markdown"
                    for line in cell.source.splitlines() if line.startswith("#")}
        missing = [row[column].strip() for row in rows if row[column].strip() not in headings | {"—"}]
        assert not missing, f"{name}: {missing}"


def execute(name, tmp_path):
    nb = notebook(name)
    nb.cells.append(nbformat.v4.new_code_cell("import json; print(json.dumps(measured))"))
    start = time.perf_counter()
    nbclient.NotebookClient(nb, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}}).execute()
    seconds = time.perf_counter() - start
    outputs = [o for o in nb.cells[-1].outputs if o.output_type == "stream"]
    return json.loads(outputs[-1].text), seconds, nb


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_tour_runs_and_its_numbers_are_right(name, tmp_path, monkeypatch):
    monkeypatch.setenv("PYTHONPATH", SRC + os.pathsep + os.environ.get("PYTHONPATH", ""))
    measured, seconds, nb = execute(name, tmp_path)
    print(f"{name}: executed in {seconds:.0f} s")
    for key, expected in EXPECTED.items():
        value = measured[key]
        if isinstance(expected, bool):
            assert value is expected, key
        else:
            want, tolerance = expected
            assert value == pytest.approx(want, abs=tolerance), key
    # the like-for-like loss comparisons: cross-entropy learns faster with the same output activation
    assert measured["sigmoid_bce_accuracy"] > measured["sigmoid_mse_accuracy"] + 0.01
    assert measured["softmax_cross_entropy_accuracy"] > measured["softmax_mse_accuracy"] + 0.01
    # backprop through steps: next to nothing learns; the sign perceptron makes the step perceptron's mistakes
    assert measured["step_network_accuracy"] < 0.35
    assert measured["sign_perceptron_accuracy"] == measured["perceptron_accuracy"]
    # the regression: MSE's fit is pulled by the outliers, MAE's is not; RMSE = √MSE
    mse_fit, mae_fit = measured["regression_mse"], measured["regression_mae"]
    assert mae_fit["MAE"] < 0.5 * mse_fit["MAE"] and mae_fit["MSE"] < 0.5 * mse_fit["MSE"]
    for fit in (mse_fit, mae_fit):
        assert fit["RMSE"] == pytest.approx(fit["MSE"] ** 0.5)
    # dead ReLUs: fractions of units, one per hidden layer
    assert len(measured["dead_relus_tour.npz"]) == 2 and len(measured["dead_relus_tutorial3.npz"]) == 3
    assert all(0 <= f < 0.5 for f in measured["dead_relus_tour.npz"] + measured["dead_relus_tutorial3.npz"])
    # the network types: every preset builds
    assert all(measured[f"parameters_{p}"] > 0 for p in ("mlp", "cnn", "rnn", "lstm", "gru", "vit"))
    assert max(measured["dead_relus_hot.npz"]) > 0.1                # lr 0.05: a fifth of a layer dies
    # transfer from digits to clothes (when Fashion-MNIST is installed): the notebook says it hurts here
    if "fashion_scratch" in measured:
        scratch, transfer, last_layer = (measured[f"fashion_{k}"] for k in ("scratch", "transfer", "last_layer"))
        assert scratch == pytest.approx(0.73, abs=0.05) and scratch > transfer > last_layer > 0.3
    # figures were drawn
    images = sum("image/png" in o.get("data", {}) for cell in nb.cells for o in cell.get("outputs", []))
    assert images >= 6
