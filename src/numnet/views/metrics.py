"""Classification metrics from predicted and true labels."""
from __future__ import annotations

import numpy as np

from ..errors import DatasetError


def accuracy(y_pred, y_true) -> float:
    """Fraction of predictions equal to the labels."""
    y_pred, y_true = np.asarray(y_pred), np.asarray(y_true)
    return float(np.mean(y_pred == y_true)) if len(y_true) else 0.0


def confusion_matrix(y_true, y_pred, num_classes: int | None = None) -> np.ndarray:
    """C[i, j] = number of samples of true class i predicted as j (rows = true class)."""
    y_true, y_pred = np.asarray(y_true, dtype=np.int64), np.asarray(y_pred, dtype=np.int64)
    k = num_classes or int(max(y_true.max(initial=-1), y_pred.max(initial=-1)) + 1)
    if min(y_true.min(initial=0), y_pred.min(initial=0)) < 0 or max(y_true.max(initial=0), y_pred.max(initial=0)) >= k:
        raise DatasetError(f"labels must lie in 0..{k - 1} for a {k}×{k} confusion matrix")
    return np.bincount(y_true * k + y_pred, minlength=k * k).reshape(k, k)


def precision_recall_f1(cm: np.ndarray):
    """Per-class precision = TP/(TP+FP), recall = TP/(TP+FN), F1 = 2PR/(P+R) (0 where undefined)."""
    cm = np.asarray(cm, dtype=np.float64)
    tp = np.diag(cm)
    predicted, actual = cm.sum(axis=0), cm.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.where(predicted > 0, tp / predicted, 0.0)
        recall = np.where(actual > 0, tp / actual, 0.0)
        f1 = np.where(precision + recall > 0, 2 * precision * recall / (precision + recall), 0.0)
    return precision, recall, f1, actual.astype(np.int64)
