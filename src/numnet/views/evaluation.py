"""A classifier's evaluation on a labelled set: loss, accuracy, per-class precision/recall/F1 with
macro averages, and the confusion matrix, as one JSON-ready dict (the keys of ``numnet evaluate
--json``). The formulas live in :mod:`numnet.views.metrics`."""
from __future__ import annotations

import numpy as np

from ..data.datasets import check_labels
from . import metrics


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
    """Run ``model`` on (x, y): :func:`classification_report` plus the mean ``loss``, and the
    arrays behind it under ``"_arrays"`` (probabilities, predictions) for reports."""
    y = np.asarray(y)
    proba = model.predict_proba(x)
    pred = proba.argmax(axis=1)
    loss, _ = model.evaluate(x, y)
    report = classification_report(y, pred, num_classes=proba.shape[1])
    report["loss"] = float(loss)
    report["_arrays"] = {"proba": proba, "pred": pred}
    return report
