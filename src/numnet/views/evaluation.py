"""A classifier's evaluation on a labelled set: loss, accuracy, per-class precision/recall/F1 with
macro averages, and the confusion matrix, as one JSON-ready dict (the keys of ``numnet evaluate
--json``). The formulas live in :mod:`numnet.views.metrics`.

A data set's labels are the model's classes only for a model of the data set's own classes: a
model trained on "is it the digit D?" (``numnet train --binary D``) has the classes 0 (not D) and
1 (D). :func:`labels_for` says which labels a model is scored against; every command that scores a
model on a labelled set (evaluate, report, explain) reads them through it.
"""
from __future__ import annotations

import numpy as np

from ..data.datasets import binary_labels, check_labels
from ..errors import ModelFileError
from ..layers.activations import Sign, Step
from . import metrics


def decides_only(model) -> bool:
    """A model whose output is a step or sign (the perceptron saved as layers): it answers with a class and
    no probability, so its "probabilities" are 0 and 1 and say no confidence."""
    return bool(model.layers) and isinstance(model.layers[-1], (Step, Sign))


def positive_digit(model) -> int | None:
    """The digit D of a model trained on "is it a D?" (``numnet train --binary D`` records it in the
    model file as ``info["binary"]``), or None for a model of the data set's own classes. A one-output
    sigmoid model that does not record its digit (saved by an older numnet) is a :class:`ModelFileError`."""
    digit = (getattr(model, "info", None) or {}).get("binary")
    if digit is None:
        if model.binary:
            raise ModelFileError("the model answers a yes/no question (one output) but its file does not say "
                                 "which digit D it was trained on (info['binary'], recorded by numnet train "
                                 "--binary D): train it again, or set model.info['binary'] = D and save it")
        return None
    if isinstance(digit, bool) or not isinstance(digit, (int, np.integer)) or digit < 0:
        raise ModelFileError(f"the model file's info['binary'] must be the digit the model answers for, got {digit!r}")
    return int(digit)


def labels_for(model, y) -> np.ndarray:
    """The data set's labels ``y`` (e.g. MNIST digits) as the model's classes: for a model trained on
    "is it a D?", 1 where the label is D and 0 elsewhere; for any other model, ``y`` itself."""
    digit = positive_digit(model)
    return np.asarray(y) if digit is None else binary_labels(y, digit)


def class_names(model, num_classes: int) -> list[str]:
    """The model's classes as words: "0" … "K−1"; for an "is it a D?" model "not D" and "D" (or "no"
    and "yes" where its file does not record D: naming needs no digit, scoring does)."""
    try:
        digit = positive_digit(model)
    except ModelFileError:
        return ["no", "yes"]
    return [str(k) for k in range(num_classes)] if digit is None else [f"not {digit}", str(digit)]


def classification_report(y_true, y_pred, num_classes: int | None = None) -> dict:
    """From labels and predictions: accuracy, per_class, macro and confusion_matrix.

    per_class: list of {class, precision, recall, f1, support}; macro: unweighted means over the
    classes; confusion_matrix: rows = true class, columns = predicted class.
    """
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if num_classes is not None:                 # a label −1 or K would land in another class's cell
        check_labels(y_true, num_classes, "true labels")
    cm = metrics.confusion_matrix(y_true, y_pred, num_classes)
    precision, recall, f1, support = metrics.precision_recall_f1(cm)
    return {
        "accuracy": metrics.accuracy(y_pred, y_true),
        "per_class": [{"class": k, "precision": float(precision[k]), "recall": float(recall[k]),
                       "f1": float(f1[k]), "support": int(support[k])} for k in range(len(cm))],
        "macro": {"precision": float(precision.mean()), "recall": float(recall.mean()), "f1": float(f1.mean())},
        "confusion_matrix": cm.tolist(),
    }


def evaluate_classifier(model, x, y) -> dict:
    """Run ``model`` on (x, y), ``y`` in the model's classes (:func:`labels_for`):
    :func:`classification_report` plus the mean ``loss`` and the arrays behind it under ``"_arrays"``
    (probabilities, predictions) for reports. For an "is it a D?" model, also ``positive_digit`` D
    and each per_class row's ``name``: class 0 is "not D", class 1 is "D"."""
    y = np.asarray(y)
    proba = model.predict_proba(x)
    pred = proba.argmax(axis=1)
    loss, _ = model.evaluate(x, y)
    report = classification_report(y, pred, num_classes=proba.shape[1])
    digit = positive_digit(model)
    if digit is not None:
        report["positive_digit"] = digit
        for row, name in zip(report["per_class"], class_names(model, 2)):
            row["name"] = name
    report["loss"] = float(loss)
    report["_arrays"] = {"proba": proba, "pred": pred}
    return report
