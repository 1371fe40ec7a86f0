"""Transfer learning, measured: convolutional features learned on MNIST, reused for Fashion-MNIST
with only 1,000 labelled images, against the same network trained from scratch on those 1,000.

    apt-get install dataset-fashion-mnist           # Debian's package: /usr/share/datasets/fashion-mnist
    PYTHONPATH=src python benchmarks/transfer.py     # writes benchmarks/transfer.json

Network: conv(16,5)-pool(2)-relu-conv(32,5)-pool(2)-relu-flatten-dense(64)-relu-dense(10).
1. The source: trained on all 60,000 MNIST digits (2 epochs, Adam 2e-3, one-cycle, seed 0).
2. On the first 1,000 Fashion-MNIST training images (seeds 0, 1, 2; 30 epochs, batch 50, Adam 1e-3),
   tested on all 10,000 Fashion-MNIST test images:
   * scratch: every layer from a fresh initialisation;
   * frozen convs: MNIST's two conv layers frozen (``freeze(model, 2)``), its dense(64) fine-tuned,
     and a new head (dense(10) freshly initialised: ``copy_weights(head=False)``);
   * linear probe: everything frozen but the new head (``freeze(model, 3)``).
"""
from __future__ import annotations

import json
import os
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "src"))
SPEC = "conv(16,5)-pool(2)-relu-conv(32,5)-pool(2)-relu-flatten-dense(64)-relu-dense(10)"
FASHION = "/usr/share/datasets/fashion-mnist"


def main():
    import numnet
    from numnet import transfer
    from numnet.architectures import build
    from numnet.train.recipe import Recipe

    quick = "--quick" in sys.argv                     # a smoke test of the script: tiny data, 1 epoch
    (mx, my), (mxt, myt) = numnet.load_mnist()
    (fx, fy), (fxt, fyt) = numnet.load_mnist(FASHION)
    fx, fy = fx[:1000], fy[:1000]
    if quick:
        mx, my, mxt, myt, fxt, fyt = mx[:300], my[:300], mxt[:100], myt[:100], fxt[:100], fyt[:100]

    start = time.perf_counter()
    recipe = Recipe.from_arch(SPEC, lr=2e-3, schedule="onecycle", epochs=1 if quick else 2, batch_size=64, seed=0)
    source = recipe.network(mx.shape[1:], 10, numnet.Sequential)
    source.fit(mx, my, **recipe.fit_options(source))
    results = {"spec": SPEC, "source_mnist_accuracy": source.evaluate(mxt, myt)[1],
               "source_seconds": time.perf_counter() - start, "runs": []}
    print(f"source on MNIST: {results['source_mnist_accuracy']:.4f} ({results['source_seconds']:.0f} s)", flush=True)

    for seed in (0, 1, 2):
        for method, k in (("scratch", None), ("frozen convs + new head", 2), ("linear probe", 3)):
            model = numnet.Sequential(build(SPEC), seed=100 + seed)
            if k is not None:
                transfer.copy_weights(source, model, head=False)
                transfer.freeze(model, k)
            opt = transfer.Restricted(numnet.Adam(1e-3), model)
            t0 = time.perf_counter()
            model.fit(fx, fy, epochs=1 if quick else 30, batch_size=50, optimizer=opt, seed=seed)
            acc = model.evaluate(fxt, fyt)[1]
            results["runs"].append({"method": method, "seed": seed, "fashion_test_accuracy": acc,
                                    "seconds": time.perf_counter() - t0})
            print(f"seed {seed} {method:24s} {acc:.4f}", flush=True)
    results["mean"] = {m: float(np.mean([r["fashion_test_accuracy"] for r in results["runs"] if r["method"] == m]))
                       for m in ("scratch", "frozen convs + new head", "linear probe")}
    results["std"] = {m: float(np.std([r["fashion_test_accuracy"] for r in results["runs"] if r["method"] == m]))
                      for m in results["mean"]}
    print(json.dumps(results["mean"]))
    with open(os.path.join(HERE, "transfer-quick.json" if quick else "transfer.json"), "w") as f:
        json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
