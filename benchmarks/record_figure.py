"""Issue 27's figure: test accuracy against training time for the record runs, one line per seed.

    python benchmarks/record_figure.py RUN.json ...       # `numnet train --model record --seed S --json` outputs

Reads each run's ``--json`` history (test accuracy after every epoch, the epoch's training and
evaluation seconds), writes benchmarks/record.json (the runs, their means) and the figure
docs/guides/record-accuracy-time.png.
"""
from __future__ import annotations

import json
import os
import statistics
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
FIGURE = os.path.join(HERE, "..", "docs", "guides", "record-accuracy-time.png")


def curve(run: dict) -> tuple[list, list]:
    """(cumulative seconds, test accuracy) after each epoch, training and evaluation counted."""
    seconds, t = [], 0.0
    accuracy = []
    for entry in run["history"]:
        t += entry.get("train_seconds", entry.get("seconds", 0.0)) + entry.get("eval_seconds", 0.0)
        if entry["epoch"]:
            seconds.append(t)
            accuracy.append(entry.get("test_accuracy", entry.get("val_accuracy")))
    return seconds, accuracy


def main(paths) -> int:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    runs = [json.load(open(p)) for p in paths]
    fig, ax = plt.subplots(figsize=(7, 4))
    for path, run in zip(paths, runs):
        s, a = curve(run)
        ax.plot([x / 60 for x in s], [100 * v for v in a], marker="o", ms=3, label=os.path.basename(path))
    ax.axhline(99.70, color="black", lw=0.8, ls="--", label="issue 27's goal, 99.70%")
    ax.set_ylim(99.0, 99.85)
    ax.set_xlabel("minutes (training and each epoch's test evaluation)")
    ax.set_ylabel("MNIST test accuracy (%)")
    ax.set_title("numnet train --model record, 2 cores")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(FIGURE, dpi=100)
    finals = [r["test_accuracy"] for r in runs]
    summary = {"runs": [{"file": os.path.basename(p), "test_accuracy": r["test_accuracy"],
                         "train_seconds": r["train_seconds"]} for p, r in zip(paths, runs)],
               "mean_test_accuracy": statistics.mean(finals)}
    with open(os.path.join(HERE, "record.json"), "w") as f:
        json.dump(summary, f, indent=1)
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
