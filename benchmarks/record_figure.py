"""Issue 27's figure: test accuracy against minutes of each record run, from benchmarks/records.json
(written by ``benchmarks/records.py``): MNIST on the left, Fashion-MNIST on the right, one line per
trained network (a run of several members: one after the other; their ensemble, or the network
averaged with its mirror image, a star).

    python benchmarks/record_figure.py        # -> docs/guides/record-accuracy-time.png
"""
from __future__ import annotations

import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))
FIGURE = os.path.join(HERE, "..", "docs", "guides", "record-accuracy-time.png")
TITLES = {"mnist": "MNIST: numnet train --model record",
          "fashion": "Fashion-MNIST: --model record-fashion; star: with its mirror image"}


def curve(history: list, start: float = 0.0) -> tuple[list, list]:
    """(minutes, test accuracy in %) after each epoch of a ``--json`` history, training and each
    epoch's evaluation counted, from ``start`` seconds."""
    minutes, accuracy, t = [], [], start
    for entry in history:
        t += entry.get("train_seconds", 0.0) + entry.get("eval_seconds", 0.0)
        if entry["epoch"]:
            minutes.append(t / 60)
            accuracy.append(100 * entry["test_accuracy"])
    return minutes, accuracy


def main() -> int:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    records = json.load(open(os.path.join(HERE, "records.json")))
    names = [n for n in TITLES if n in records]
    fig, axes = plt.subplots(1, len(names), figsize=(6.5 * len(names), 4), squeeze=False)
    for ax, name in zip(axes[0], names):
        record = records[name]
        for run in record["runs"]:
            start, line = 0.0, None
            for member in run["members"]:
                m, a = curve(member["history"], start)
                line, = ax.plot(m, a, marker="o", ms=2, color=line.get_color() if line else None,
                                label=f"seed {run['seed']}" if start == 0 else None)
                start += member["process_seconds"]
            if "ensemble_seconds" in run:
                ax.plot([run["process_seconds"] / 60], [100 * run["test_accuracy"]], marker="*", ms=12,
                        color=line.get_color())
        goal = 100 * record["goal"]["test_accuracy"]
        ax.axhline(goal, color="black", lw=0.8, ls="--", label=f"issue 27's goal, {goal:.2f}%")
        ax.axvline(record["goal"]["seconds"] / 60, color="grey", lw=0.8, ls=":")
        finals = [100 * acc for r in record["runs"] for acc in (r["test_accuracy"], r["members"][-1]["test_accuracy"])]
        ax.set_ylim(min(finals) - 0.6, max(finals) + 0.15)
        ax.set_xlabel("minutes of training and evaluation (members one after another)")
        ax.set_ylabel("test accuracy (%)")
        ax.set_title(TITLES[name], fontsize=10)
        ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    fig.savefig(FIGURE, dpi=100)
    print(f"wrote {os.path.relpath(FIGURE)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
