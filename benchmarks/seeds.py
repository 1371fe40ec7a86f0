"""The tutorials' own experiments, measured: tutorial 2's recipe (and which single change reaches 67%),
sigmoid + MSE against softmax + cross-entropy (tutorial 4's a(1 − a) factor), the perceptron on
"is it a 0?" (tutorial 4).

    python benchmarks/seeds.py [seed001|losses|perceptron ...] [--out benchmarks/seeds.json]

Writes the numbers to JSON (read by docs/make_figures.py, which draws them).
"""
from __future__ import annotations

import argparse
import json
import time

import numpy as np

import numnet
from numnet.functional import sigmoid, softmax
from numnet.train.recipe import Recipe

#: tutorial 2 as written: TwoLayerNet 784-50-10 ReLU, W ~ N(0, 0.01²), b = 0, x = pixel / 255,
#: plain SGD lr 0.001, batches of 100 drawn with np.random.choice (with replacement), 1000 iterations
SEED_001 = {"arch": "dense(50)-relu-dense(10)", "init": "normal:0.01", "optimizer": "sgd", "lr": 0.001,
            "iterations": 1000}
#: single changes to that recipe
CHANGES = {"as written": {}, "lr 0.01": {"lr": 0.01}, "lr 0.1": {"lr": 0.1}, "lr 0.5": {"lr": 0.5},
           "init he": {"init": "he"}, "adam (lr 0.001)": {"optimizer": "adam"}}


def seed001(x, y, xt, yt, seed=0, max_iterations=200):
    """Test accuracy after each iteration (1..100, then every 10) for the recipe and each change."""
    results = {}
    for name, change in CHANGES.items():
        r = {**SEED_001, **change}
        iterations = r["iterations"] if name == "as written" else max_iterations
        recipe = Recipe.from_arch(r["arch"], init=r["init"], optimizer=r["optimizer"], lr=r["lr"], seed=seed)
        model = recipe.network(x.shape[1:], 10, numnet.Sequential)
        curve, losses = [], []

        def watch(event, step=None, loss=None, **_):
            if event == "batch":
                losses.append(loss)
                if step <= 100 or step % 10 == 0:
                    curve.append((step, model.evaluate(xt, yt)[1]))

        start = time.perf_counter()
        model.fit(x, y, batch_size=100, optimizer=recipe.make_optimizer(model), iterations=iterations,
                  sample="with-replacement", log_every=1, progress=watch, seed=seed)
        first = next((s for s, a in curve if a >= 0.67), None)
        acc = dict(curve)
        results[name] = {"recipe": r, "iterations": iterations, "curve": curve, "loss": losses[::10],
                         "first_iteration_at_67": first, "at": {k: acc.get(k) for k in (10, 20, 30, 50, 100, 200, 1000)},
                         "initial_accuracy": model.history[0]["train_accuracy"],
                         "seconds": time.perf_counter() - start}
        print(f"{name:>16}: acc at 30/50/100: {acc.get(30)}/{acc.get(50)}/{acc.get(100)}  at 1000: {acc.get(1000)}  "
              f"first >= 67%: {first}")
    return results


def losses(x, y, xt, yt, seed=0, epochs=3):
    """784-64-10 ReLU, SGD lr 0.1, batch 100: sigmoid output + MSE against softmax + CE."""
    out = {}
    for name, loss in (("sigmoid + MSE", "mse"), ("softmax + cross-entropy", "cross_entropy")):
        model = Recipe(hidden=(64,), loss=loss, seed=seed).network(x.shape[1:], 10, numnet.Sequential)
        model.adapt(x)
        # dL/dz at the output layer at initialisation, first batch: MSE+sigmoid carries a(1 − a)
        xb, yb = model.prepare(x[:100]), y[:100]
        z = model.forward(xb)
        if loss == "mse":
            z_logits = xb
            for layer in model.layers[:-1]:                  # up to the last Dense: the logits
                z_logits = layer.forward(z_logits)
            a = sigmoid(z_logits)
            onehot = np.eye(10)[yb]
            dz = 2 * (a - onehot) * a * (1 - a) / a.size
            true_a = a[np.arange(100), yb]
            factor = float(np.mean(a * (1 - a)))
        else:
            p = softmax(z)
            dz = (p - np.eye(10)[yb]) / 100
            true_a, factor = p[np.arange(100), yb], 1.0
        curve = []

        def watch(event, step=None, loss=None, **_):
            if event == "batch":
                curve.append((step, loss))
        model.fit(x, y, epochs=epochs, batch_size=100, optimizer=numnet.SGD(0.1), validation_data=(xt, yt),
                  log_every=10, progress=watch, seed=seed)
        out[name] = {"loss": loss, "curve": curve, "history": model.history,
                     "init_mean_abs_dL_dz_true_class": float(np.mean(np.abs(dz[np.arange(100), yb]))),
                     "init_mean_output_true_class": float(np.mean(true_a)), "init_mean_a_1_minus_a": factor}
        print(f"{name}: test acc per epoch {[round(e['val_accuracy'], 4) for e in model.history]}, "
              f"|dL/dz| true class at init {out[name]['init_mean_abs_dL_dz_true_class']:.2e}, "
              f"mean a(1-a) {factor:.3f}")
    return out


def perceptron(x, y, xt, yt, seed=0, epochs=10):
    p = numnet.Perceptron(784)
    start = time.perf_counter()
    hist = p.fit(x, (y == 0).astype(int), epochs=epochs, seed=seed, pocket=True)
    r = {"digit": 0, "epochs": epochs, "history": hist, "test_accuracy": p.score(xt, (yt == 0).astype(int)),
         "all_no_baseline": float(np.mean(yt != 0)), "seconds": time.perf_counter() - start}
    print(f"perceptron 'is it a 0?': test accuracy {r['test_accuracy']:.4f} (always 'no': {r['all_no_baseline']:.4f})")
    return r


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("parts", nargs="*", default=["seed001", "losses", "perceptron"])
    ap.add_argument("--out", default="benchmarks/seeds.json")
    args = ap.parse_args()
    (x, y), (xt, yt) = numnet.load_mnist()
    try:
        with open(args.out) as f:
            results = json.load(f)
    except FileNotFoundError:
        results = {}
    for part in args.parts:
        results[part] = globals()[part](x, y, xt, yt)
        with open(args.out + ".tmp", "w") as f:
            json.dump(results, f)
        import os
        os.replace(args.out + ".tmp", args.out)


if __name__ == "__main__":
    main()
