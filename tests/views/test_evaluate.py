import json

import numpy as np
import pytest

import numnet
from numnet.cli import main
from numnet.views.evaluation import classification_report, evaluate_classifier

from ..tinymodel import saved_tiny_model, tiny_model


def test_metrics_against_hand_computed_confusion_matrix():
    y_true = [0, 0, 1, 1, 1, 2]
    y_pred = [0, 1, 1, 1, 2, 2]
    r = classification_report(y_true, y_pred)
    # rows = true class:   predicted 0  1  2
    assert r["confusion_matrix"] == [[1, 1, 0],
                                     [0, 2, 1],
                                     [0, 0, 1]]
    assert r["accuracy"] == pytest.approx(4 / 6)
    # precision = TP / column sum, recall = TP / row sum, F1 = 2PR / (P + R)
    p = [1 / 1, 2 / 3, 1 / 2]
    rc = [1 / 2, 2 / 3, 1 / 1]
    f1 = [2 * a * b / (a + b) for a, b in zip(p, rc)]
    for k, row in enumerate(r["per_class"]):
        assert row["class"] == k
        assert row["precision"] == pytest.approx(p[k])
        assert row["recall"] == pytest.approx(rc[k])
        assert row["f1"] == pytest.approx(f1[k])
    assert [row["support"] for row in r["per_class"]] == [2, 3, 1]
    assert r["macro"]["precision"] == pytest.approx(sum(p) / 3)
    assert r["macro"]["recall"] == pytest.approx(sum(rc) / 3)
    assert r["macro"]["f1"] == pytest.approx(sum(f1) / 3)


def test_class_never_predicted_has_zero_precision_not_nan():
    r = classification_report([0, 1, 2, 2], [0, 1, 1, 1], num_classes=4)
    assert r["per_class"][2] == {"class": 2, "precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 2}
    assert r["per_class"][3]["support"] == 0
    assert all(np.isfinite(v) for v in r["macro"].values())


def test_evaluate_classifier_matches_model_evaluate(mnist):
    model = tiny_model()
    (_, _), (xt, yt) = mnist
    r = evaluate_classifier(model, xt[:2000], yt[:2000])
    loss, acc = model.evaluate(xt[:2000], yt[:2000])
    assert r["accuracy"] == pytest.approx(acc) and r["loss"] == pytest.approx(loss)
    cm = np.array(r["confusion_matrix"])
    assert cm.shape == (10, 10) and cm.sum() == 2000
    assert np.trace(cm) / 2000 == pytest.approx(acc)
    assert [row["support"] for row in r["per_class"]] == list(cm.sum(axis=1))


def test_cli_evaluate_json_and_tables(tmp_path_factory, capsys):
    path = saved_tiny_model(tmp_path_factory)
    assert main(["evaluate", path, "--json"]) == 0
    out, err = capsys.readouterr()
    result = json.loads(out)
    assert set(result) == {"accuracy", "loss", "per_class", "macro", "confusion_matrix"}
    assert set(result["per_class"][0]) == {"class", "precision", "recall", "f1", "support"}
    assert set(result["macro"]) == {"precision", "recall", "f1"}
    assert sum(map(sum, result["confusion_matrix"])) == 10000
    _, acc = numnet.load(path).evaluate(*numnet.load_mnist()[1])
    assert result["accuracy"] == pytest.approx(acc)
    assert "confusion matrix" in err and "macro" in err      # the tables went to stderr
    assert main(["evaluate", path]) == 0
    out, _ = capsys.readouterr()
    assert "test accuracy" in out and "precision" in out and "confusion matrix" in out


def test_cli_evaluate_without_model_says_how_to_make_one(tmp_path, capsys):
    assert main(["evaluate", str(tmp_path / "none.npz")]) == 2
    err = capsys.readouterr().err
    assert "numnet train --save" in err and len(err.strip().splitlines()) == 1
