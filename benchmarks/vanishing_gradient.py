"""Seed 003's vanishing gradient, measured: ‖∂L/∂h_t‖ against the time step t for a plain RNN and an
LSTM reading the same MNIST digits row by row (T = 28 steps, loss on the last step only).

    PYTHONPATH=src python benchmarks/vanishing_gradient.py      # writes docs/vanishing_gradient.png

Both networks (rnn(64)-dense(10) and lstm(64)-dense(10), behind a Standardize) are trained briefly
(1 epoch on the first 10,000 training digits, Adam, clipping at 1), then the gradient of the
loss on 500 test digits is propagated back through time; each layer records the norm of the total
dL/dh_t at every step (``record_dh``). The curves are divided by their value at t = T, so they show
how much of the gradient reaches step t. Numbers go to benchmarks/vanishing_gradient.json.
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
    from numnet.architectures import build
    from numnet.transfer import Restricted

    model = numnet.Sequential(build(spec), seed=seed)
    model.fit(x_train, y_train, epochs=1, batch_size=64, optimizer=Restricted(numnet.Adam(2e-3), model, 1.0),
              seed=seed)
    accuracy = model.evaluate(x_test, y_test)[1]
    layer = next(l for l in model.layers if hasattr(l, "record_dh"))
    layer.record_dh = True
    model.train()
    out = model.forward(model.prepare(x_test))
    model.loss.forward(out, y_test)
    model.backward(model.loss.backward())
    model.eval()
    return layer.dh_norms.copy(), accuracy


def main():
    import numnet
    (x_train, y_train), (x_test, y_test) = numnet.load_mnist()
    results = {}
    for name in ("rnn", "lstm"):
        norms, acc = measure(f"standardize-{name}(64)-dense(10)", x_train[:10000], y_train[:10000],
                             x_test[:500], y_test[:500])
        results[name] = {"dh_norms": norms.tolist(), "relative": (norms / norms[-1]).tolist(),
                         "test_accuracy_500": acc}
        print(f"{name}: ‖dL/dh_1‖/‖dL/dh_28‖ = {norms[0] / norms[-1]:.2e}   (accuracy on the 500 digits {acc:.3f})")
    with open(os.path.join(HERE, "vanishing_gradient.json"), "w") as f:
        json.dump(results, f, indent=1)
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6, 3.6))
    t = np.arange(1, 29)
    for name, style in (("rnn", "o-"), ("lstm", "s-")):
        ax.semilogy(t, results[name]["relative"], style, ms=3, label=f"{name.upper()} (64 units)")
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
