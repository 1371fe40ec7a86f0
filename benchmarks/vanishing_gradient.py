"""Tutorial 4's vanishing gradient, measured: ‖∂L/∂h_t‖ against the time step t for a plain RNN and an
LSTM reading the same MNIST digits row by row (T = 28 steps, loss on the last step only).

    PYTHONPATH=src python benchmarks/vanishing_gradient.py      # writes docs/vanishing_gradient.png

Both networks (rnn(64)-dense(10) and lstm(64)-dense(10), behind a Standardize) are measured at
their initialisation (PyTorch's U(−1/√H, 1/√H)) and after brief training (2 epochs on the first
20,000 training digits, Adam 2e-3, clipping at 1): the gradient of the loss on 500 test digits is
propagated back through time, and each layer records the norm of the total dL/dh_t at every step
(``record_dh``). The curves are divided by their value at t = T, so they show how much of the
gradient reaches step t. Numbers go to benchmarks/vanishing_gradient.json.
"""
from __future__ import annotations

import json
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "src"))


def measure(spec, x_train, y_train, x_test, y_test, seed=0):
    import numnet
    from numnet.train.recipe import Recipe

    recipe = Recipe.from_arch(spec, lr=2e-3, clip_norm=1.0, epochs=2, batch_size=64, seed=seed)
    model = recipe.network(x_train.shape[1:], 10, numnet.Sequential)
    model.adapt(x_train)

    def dh_norms():
        layer = next(l for l in model.layers if hasattr(l, "record_dh"))
        layer.record_dh = True
        model.train()
        out = model.forward(model.prepare(x_test))
        model.loss.forward(out, y_test)
        model.backward(model.loss.backward())
        model.eval()
        return layer.dh_norms.copy()
    at_init = dh_norms()
    model.fit(x_train, y_train, **recipe.fit_options(model))
    return at_init, dh_norms(), model.evaluate(x_test, y_test)[1]


def main():
    import numnet
    (x_train, y_train), (x_test, y_test) = numnet.load_mnist()
    results = {}
    for name in ("rnn", "lstm"):
        init, norms, acc = measure(f"standardize-{name}(64)-dense(10)", x_train[:20000], y_train[:20000],
                                   x_test[:500], y_test[:500])
        results[name] = {"dh_norms": norms.tolist(), "relative": (norms / norms[-1]).tolist(),
                         "relative_at_init": (init / init[-1]).tolist(), "test_accuracy_500": acc}
        print(f"{name}: ‖dL/dh_1‖/‖dL/dh_28‖ = {init[0] / init[-1]:.2e} at initialisation, "
              f"{norms[0] / norms[-1]:.2e} trained (accuracy on the 500 digits {acc:.3f})")
    with open(os.path.join(HERE, "vanishing_gradient.json"), "w") as f:
        json.dump(results, f, indent=1)
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6, 3.6))
    t = np.arange(1, 29)
    for name, color in (("rnn", "C0"), ("lstm", "C1")):
        ax.semilogy(t, results[name]["relative_at_init"], "--", color=color, label=f"{name.upper()}, initialised")
        ax.semilogy(t, results[name]["relative"], "o-", ms=3, color=color, label=f"{name.upper()}, trained")
    ax.set_xlabel("time step t (image row)")
    ax.set_ylabel("‖∂L/∂h_t‖ / ‖∂L/∂h_28‖")
    ax.set_title("Gradient reaching step t, loss at t = 28 (500 MNIST test digits)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    path = os.path.join(HERE, "..", "docs", "vanishing_gradient.png")
    fig.savefig(path, dpi=110)
    print("wrote", os.path.normpath(path))


if __name__ == "__main__":
    main()
