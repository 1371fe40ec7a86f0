"""Draw the tutorials' figures into docs/ (used by docs/tutorials.md and docs/tour*.md).

    python benchmarks/seeds.py            # measures tutorial 2's recipe, MSE vs CE, the perceptron
    python docs/make_figures.py           # draws them, plus activations, vanishing gradients,
                                          # finite differences and the perceptron's boundaries

The measured numbers come from benchmarks/seeds.json; the other figures measure as they draw.
"""
from __future__ import annotations

import json
import os
import sys

import numpy as np

import numnet
from numnet.views import figures as seedplots
from numnet.views.report import pyplot_or_explain

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def seed001_figure(plt, results):
    fig, ax = plt.subplots(figsize=(8, 4.5), dpi=seedplots.DPI, layout="constrained")
    for name, r in results.items():
        steps, acc = zip(*r["curve"])
        ax.plot(steps, acc, label=name, lw=2.5 if name == "as written" else 1.2)
    ax.axhline(0.67, color="gray", ls=":", label="67% (tutorial 2's claim)")
    ax.set(xscale="log", xlabel="iteration (batch of 100 drawn with replacement)", ylabel="test accuracy",
           title="tutorial 2's TwoLayerNet 784-50-10 ReLU, N(0, 0.01²), SGD lr 0.001 — and single changes")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    return seedplots._save(fig, plt, HERE, "seed001")


def losses_figure(plt, results):
    fig, (ax_l, ax_a) = plt.subplots(1, 2, figsize=(12, 4.5), dpi=seedplots.DPI, layout="constrained")
    for name, r in results.items():
        steps, loss = zip(*r["curve"])
        ax_l.plot(steps, np.array(loss) / loss[0], label=f"{name} (÷ its first value {loss[0]:.3f})")
        h = r["history"]
        ax_a.plot([e["epoch"] for e in h], [e["val_accuracy"] for e in h], "o-", label=name)
    ax_l.set(yscale="log", xlabel="iteration", ylabel="batch loss / first batch loss",
             title="784-64-10 ReLU, SGD lr 0.1, batch 100: loss curves")
    ax_a.set(xlabel="epoch (0: before training)", ylabel="test accuracy", title="test accuracy")
    for ax in (ax_l, ax_a):
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize=8)
    return seedplots._save(fig, plt, HERE, "mse_vs_cross_entropy")


def main():
    plt = pyplot_or_explain()
    with open(os.path.join(ROOT, "benchmarks", "seeds.json")) as f:
        bench = json.load(f)
    print(seed001_figure(plt, bench["seed001"]))
    print(losses_figure(plt, bench["losses"]))
    print(seedplots.draw_activations(plt, HERE))
    print(seedplots.draw_perceptron(plt, seedplots.measure_perceptron(), HERE))
    (x, y), _ = numnet.load_mnist()
    if "--quick" not in sys.argv:
        print(seedplots.draw_differences(plt, seedplots.measure_differences(x[:10], y[:10]), HERE))
        print(seedplots.draw_vanishing(plt, seedplots.measure_vanishing(x, y), HERE))


if __name__ == "__main__":
    main()
