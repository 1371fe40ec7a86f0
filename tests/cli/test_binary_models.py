"""One-output "is it a D?" models (``numnet train --binary 7``) through every command that scores a
model on labelled data: the digit D is recorded in the model file (``info["binary"]``) and every
command reads the test labels through ``views.evaluation.labels_for`` (label 7 → class 1, any other
digit → class 0). A binary model file that does not record its digit is refused in one line."""
import json
import math

import numpy as np
import pytest

import numnet

from ..helpers import assert_one_line, run_cli


@pytest.fixture(scope="module")
def bin7(tmp_path_factory):
    """(path, train's --json) of an "is it a 7?" model."""
    path = tmp_path_factory.mktemp("binary") / "bin7.npz"
    code, out, err = run_cli("train", "--limit", 2000, "--epochs", 1, "--hidden", 16, "--binary", 7,
                             "--save", path, "--json")
    assert code == 0, err
    return path, json.loads(out)


def test_the_model_file_records_its_digit(bin7):
    from numnet.views.evaluation import labels_for

    model = numnet.load(bin7[0])
    assert model.binary and model.info["binary"] == 7
    np.testing.assert_array_equal(labels_for(model, [7, 2, 7, 0, 1]), [1, 0, 1, 0, 0])


def test_evaluate_scores_the_two_classes(bin7, mnist):
    path, trained = bin7
    code, out, err = run_cli("evaluate", path, "--json")
    assert code == 0, err
    r = json.loads(out)
    assert r["accuracy"] == pytest.approx(trained["test_accuracy"]) and r["loss"] == pytest.approx(trained["test_loss"])
    assert r["positive_digit"] == 7
    assert [(row["class"], row["name"]) for row in r["per_class"]] == [(0, "not 7"), (1, "7")]
    sevens = int(np.sum(mnist[1][1] == 7))
    assert [row["support"] for row in r["per_class"]] == [10000 - sevens, sevens]
    cm = np.array(r["confusion_matrix"])
    assert cm.shape == (2, 2) and cm.sum(axis=1).tolist() == [10000 - sevens, sevens]
    assert np.trace(cm) / cm.sum() == pytest.approx(r["accuracy"])
    code, out, err = run_cli("evaluate", path)
    assert code == 0 and "1 (7)" in out and "0 (not 7)" in out, err


def test_report_scores_the_two_classes(bin7, tmp_path):
    pytest.importorskip("matplotlib")
    path, trained = bin7
    code, out, err = run_cli("report", path, "--out", tmp_path / "report", "--json")
    assert code == 0, err
    assert json.loads(out)["accuracy"] == pytest.approx(trained["test_accuracy"])


@pytest.mark.parametrize("index, label, target", [(0, 7, 1), (1, 2, 0)])
def test_explain_takes_the_model_target(bin7, index, label, target):
    path, _ = bin7
    code, out, err = run_cli("explain", path, "--index", index, "--json")
    assert code == 0, err
    o = json.loads(out)["output"]
    assert (o["label"], o["target"], o["positive_digit"], o["link"]) == (label, target, 7, "sigmoid")
    p = o["probabilities"]
    assert len(p) == 2 and sum(p) == pytest.approx(1)
    assert o["loss"] > 0 and o["loss"] == pytest.approx(-math.log(p[target]), rel=1e-5)   # BCE = −log p(target)
    code, out, err = run_cli("explain", path, "--index", index)
    assert code == 0, err
    assert f"label {label} → target {target} ({'is' if target else 'not'} a 7)" in out
    assert "σ(z2)" in out and "softmax" not in out


def test_a_binary_model_without_its_digit_is_refused_in_one_line(bin7, tmp_path):
    model = numnet.load(bin7[0])
    for value, needle in ((None, "which digit"), ("seven", "info['binary']")):
        if value is None:
            del model.info["binary"]
        else:
            model.info["binary"] = value
        old = tmp_path / "old.npz"
        model.save(old)
        for command in ("evaluate", "explain"):
            code, _, err = run_cli(command, old)
            assert_one_line(code, err, needle)


def test_predict_names_the_answer(bin7, mnist, tmp_path):
    from PIL import Image

    path, _ = bin7
    image = tmp_path / "seven.png"
    Image.fromarray(mnist[1][0][0]).save(image)            # test digit 0, a 7
    code, out, err = run_cli("predict", path, image)
    assert code == 0, err
    assert "→ 7 " in out and "not 7" in out, out
