"""Convolutional networks: accuracy of the presets, and epoch time against PyTorch on the same net.

    python benchmarks/cnn.py train --preset cnn                       # numnet train --model cnn, seed 0
    python benchmarks/cnn.py train --preset cnn-best --seeds 0,1,2    # mean of 3 seeds
    python benchmarks/cnn.py train --preset mlp-reg                   # MLP with dropout + augmentation
    python benchmarks/cnn.py train --preset cnn-best --data-dir /usr/share/datasets/fashion-mnist
    python benchmarks/cnn.py speed --threads 2                        # s/epoch, numnet vs PyTorch

``train`` uses the library exactly as ``numnet train --model PRESET`` does (the preset's layers and
recipe; --epochs overrides the recipe's). ``speed`` times training steps (batch gathering, forward,
backward, Adam) of conv5x32-pool-conv5x64-pool-fc128-fc10 at batch 64 in both frameworks, in the
same process with the same thread count (numnet: one data-parallel worker thread per BLAS thread, its
default for conv nets), alternating blocks of batches between the two so that a busy machine slows both
alike; it reports the median block time scaled to an epoch (938 batches),
and with --full-epoch also one real epoch of each. Everything prints one JSON line per result.
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


def speed(args):
    set_threads(args.threads)
    import numpy as np
    import torch

    import numnet
    from numnet.architectures import PRESETS, build

    torch.set_num_threads(args.threads)
    try:
        import threadpoolctl
        threadpoolctl.threadpool_limits(args.threads)
    except ImportError:
        pass
    (x, y), _ = numnet.load_mnist()
    B, n = 64, args.batches * 64
    model = numnet.Sequential(build(PRESETS["cnn"]["spec"]), seed=0)
    opt = numnet.Adam(1e-3)
    net = torch.nn.Sequential(
        torch.nn.Conv2d(1, 32, 5), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(32, 64, 5), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Flatten(), torch.nn.Linear(1024, 128), torch.nn.ReLU(), torch.nn.Linear(128, 10))
    topt = torch.optim.Adam(net.parameters(), lr=1e-3)
    xt_all, yt_all = torch.from_numpy(np.array(x)), torch.from_numpy(y.astype(np.int64))
    gen = torch.Generator().manual_seed(0)

    def numnet_block(start):
        model.fit(x[start:start + n], y[start:start + n], epochs=1, batch_size=B, optimizer=opt, seed=start, epoch0=False)

    def torch_block(start, count=n):
        net.train()
        order = torch.randperm(count, generator=gen) + start
        for i in range(0, count, B):
            idx = order[i:i + B]
            xb = xt_all[idx].unsqueeze(1).float().div_(255)
            topt.zero_grad()
            loss = torch.nn.functional.cross_entropy(net(xb), yt_all[idx])
            loss.backward()
            topt.step()

    numnet_block(0), torch_block(0)           # warm-up
    times = {"numnet": [], "torch": []}
    for r in range(args.repeats):
        start = (r * n) % (len(x) - n)
        pair = [("numnet", numnet_block), ("torch", torch_block)]
        for name, block in pair if r % 2 == 0 else pair[::-1]:
            t0 = time.perf_counter()
            block(start)
            times[name].append((time.perf_counter() - t0) / args.batches * 938)
    result = {"benchmark": "cnn-epoch-seconds", "net": "conv5x32-pool-conv5x64-pool-fc128-fc10, batch 64, Adam",
              "threads": args.threads, "numnet_workers": model.info.get("workers"),
              "batches_per_block": args.batches, "repeats": args.repeats,
              "numnet_s_per_epoch_median": statistics.median(times["numnet"]),
              "torch_s_per_epoch_median": statistics.median(times["torch"]),
              "numnet_s_per_epoch_min": min(times["numnet"]), "torch_s_per_epoch_min": min(times["torch"]),
              "ratio_median": statistics.median(times["numnet"]) / statistics.median(times["torch"]),
              "load_average": os.getloadavg(), "torch": torch.__version__, "numpy": np.__version__}
    if args.full_epoch:
        for name, block in (("numnet", lambda: model.fit(x, y, epochs=1, batch_size=B, optimizer=opt, epoch0=False)),
                            ("torch", lambda: torch_block(0, len(x)))):      # all 938 batches each
            t0 = time.perf_counter()
            block()
            result[f"{name}_full_epoch_s"] = time.perf_counter() - t0
    print(json.dumps(result), flush=True)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("train")
    t.add_argument("--preset", default="cnn", choices=["mlp", "lenet5", "cnn", "cnn-best", "mlp-reg"])
    t.add_argument("--epochs", type=int, help="override the recipe's epochs")
    t.add_argument("--augment", choices=["none", "shift", "affine", "shift-flip"],
                   help="override the recipe's augmentation")
    t.add_argument("--seeds", default="0")
    t.add_argument("--data-dir")
    t.add_argument("--per-epoch", action="store_true", help="evaluate on the test set after every epoch")
    t.add_argument("--threads", type=int, default=2)
    s = sub.add_parser("speed")
    s.add_argument("--threads", type=int, default=2)
    s.add_argument("--batches", type=int, default=200,
                   help="batches per timed block (default 200: about 2.5 s, a fifth of an epoch)")
    s.add_argument("--repeats", type=int, default=6)
    s.add_argument("--full-epoch", action="store_true")
    args = p.parse_args()
    set_threads(args.threads)
    (train if args.cmd == "train" else speed)(args)


if __name__ == "__main__":
    main()
