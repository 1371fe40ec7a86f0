"""NumnetClassifier against scikit-learn's MLPClassifier on scikit-learn's bundled digits (1,797 8x8 images):
python benchmarks/sklearn_digits.py

Both in the same Pipeline (StandardScaler + classifier), one hidden layer of 64 ReLU units, Adam,
batch 32, 5-fold cross-validation (the same folds). Records mean accuracy and the mean fit time per
fold, and the machine's load average. Writes benchmarks/sklearn_results.json.
"""
from __future__ import annotations

import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "src"))

import numpy as np  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.model_selection import StratifiedKFold, cross_validate  # noqa: E402
from sklearn.neural_network import MLPClassifier  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

from numnet.integrations.sklearn import NumnetClassifier  # noqa: E402

EPOCHS = 30


def main():
    import warnings

    warnings.simplefilter("ignore", ConvergenceWarning)      # MLPClassifier at a fixed epoch budget
    X, y = load_digits(return_X_y=True)
    folds = StratifiedKFold(5, shuffle=True, random_state=0)
    models = {
        "numnet.sklearn.NumnetClassifier": NumnetClassifier(hidden=(64,), epochs=EPOCHS, batch_size=32, lr=1e-3),
        "numnet.sklearn.NumnetClassifier (float64)": NumnetClassifier(hidden=(64,), epochs=EPOCHS, batch_size=32,
                                                                      lr=1e-3, dtype="float64"),
        "sklearn.neural_network.MLPClassifier": MLPClassifier((64,), batch_size=32, learning_rate_init=1e-3,
                                                              max_iter=EPOCHS, n_iter_no_change=EPOCHS + 1,
                                                              random_state=0),
    }
    rows = []
    for name, clf in models.items():
        load = os.getloadavg()[0]
        t0 = time.perf_counter()
        cv = cross_validate(make_pipeline(StandardScaler(), clf), X, y, cv=folds)
        rows.append({"model": name, "cv_accuracy_mean": round(float(np.mean(cv["test_score"])), 4),
                     "cv_accuracy_per_fold": [round(float(s), 4) for s in cv["test_score"]],
                     "fit_seconds_per_fold": round(float(np.mean(cv["fit_time"])), 3),
                     "total_seconds": round(time.perf_counter() - t0, 2), "load_average_before": round(load, 2)})
        print(json.dumps(rows[-1]), flush=True)
    out = os.path.join(HERE, "sklearn_results.json")
    with open(out + ".part", "w") as f:
        json.dump({"dataset": "sklearn load_digits (1797 x 64)", "epochs": EPOCHS, "folds": 5, "runs": rows,
                   "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}, f, indent=1)
    os.replace(out + ".part", out)


if __name__ == "__main__":
    main()
