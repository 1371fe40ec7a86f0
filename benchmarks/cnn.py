"""Convolutional networks: test accuracy of the presets over seeds.

    python benchmarks/cnn.py train --preset cnn                       # numnet train --model cnn, seed 0
    python benchmarks/cnn.py train --preset cnn-best --seeds 0,1,2    # mean of 3 seeds
    python benchmarks/cnn.py train --preset mlp-reg                   # MLP with dropout + augmentation
    python benchmarks/cnn.py train --preset cnn-best --data-dir /usr/share/datasets/fashion-mnist

``train`` uses the library exactly as ``numnet train --model PRESET`` does (the preset's layers and
recipe; --epochs overrides the recipe's) and prints one JSON line per seed and one for the mean. The
cnn preset's epoch time, evaluation throughput and whole process against PyTorch, side by side:
``benchmarks/run.py --all``.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time

#: an MLP with the same regularisation as cnn-best, for the "MLP >= 98.8%" target
EXTRA_PRESETS = {
    "mlp-reg": {"spec": "flatten-standardize-dense(800)-relu-dropout(0.3)-dense(800)-relu-dropout(0.3)-dense(10)",
                "recipe": {"optimizer": "adamw", "lr": 1e-3, "weight_decay": 0.01, "epochs": 20, "batch_size": 128,
                           "schedule": "onecycle", "augment": "affine"}},
}


def set_threads(threads):
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(threads)


def train(args):

    import numnet
    from numnet.train.recipe import Recipe

    extra = EXTRA_PRESETS.get(args.preset)
    options = {k: v for k, v in (("epochs", args.epochs), ("augment", args.augment)) if v}     # those given
    (x, y), (xt, yt) = numnet.load_mnist(args.data_dir)
    results = []
    for seed in [int(s) for s in args.seeds.split(",")]:
        recipe = (Recipe.from_arch(extra["spec"], **{**extra["recipe"], **options}, seed=seed) if extra
                  else Recipe.from_preset(args.preset, **options, seed=seed))
        model = recipe.network(x.shape[1:], 10, numnet.Sequential)

        def progress(event, **e):
            if event == "epoch":
                test = f" test acc {e['val_accuracy']:.4f}" if "val_accuracy" in e else ""
                print(f"  seed {seed} epoch {e['epoch']}: train loss {e['train_loss']:.4f} train acc "
                      f"{e['train_accuracy']:.4f}{test} ({e['seconds']:.1f} s)", file=sys.stderr, flush=True)

        start = time.perf_counter()
        model.fit(x, y, **recipe.fit_options(model), progress=progress,
                  validation_data=(xt, yt) if args.per_epoch else None)
        seconds = time.perf_counter() - start
        loss, acc = model.evaluate(xt, yt)
        results.append({"seed": seed, "test_accuracy": acc, "test_loss": loss, "train_seconds": seconds,
                        "epoch_seconds": [e["seconds"] for e in model.history]})
        print(json.dumps({"preset": args.preset, **results[-1]}), flush=True)
    accs = [r["test_accuracy"] for r in results]
    print(json.dumps({"preset": args.preset, "data_dir": args.data_dir, "recipe": recipe.training, "seeds": len(results),
                      "mean_test_accuracy": statistics.mean(accs), "min_test_accuracy": min(accs),
                      "mean_train_seconds": statistics.mean(r["train_seconds"] for r in results),
                      "load_average": os.getloadavg()}), flush=True)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("train")
    t.add_argument("--preset", default="cnn", choices=["mlp", "lenet5", "cnn", "cnn-best", "record", "record-fashion", "mlp-reg"])
    t.add_argument("--epochs", type=int, help="override the recipe's epochs")
    t.add_argument("--augment", choices=["none", "shift", "affine", "shift-flip"],
                   help="override the recipe's augmentation")
    t.add_argument("--seeds", default="0")
    t.add_argument("--data-dir")
    t.add_argument("--per-epoch", action="store_true", help="evaluate on the test set after every epoch")
    t.add_argument("--threads", type=int, default=2)
    args = p.parse_args()
    set_threads(args.threads)
    train(args)


if __name__ == "__main__":
    main()
