"""``numnet train --model NAME`` as a plain PyTorch script: the same network (``torch_nets.py``), the
same recipe (the preset's optimizer, learning rate, one-cycle schedule, clipping, epochs and batch
size, read from numnet's preset table), the same MNIST files, the test set evaluated after every epoch.

    python benchmarks/torch_train.py --model cnn --json        # one JSON object on stdout

``run.py`` times it as a whole process beside ``python -m numnet train --model NAME --json``; the JSON
has numnet's shape: ``test_accuracy`` and a ``history`` of epochs with their test accuracy and
``train_seconds`` / ``eval_seconds``. Threads: OMP_NUM_THREADS (default: all cores).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np
import torch
import torch_nets

from numnet import load_mnist
from numnet.architectures import preset


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="cnn", choices=["mlp", "cnn", "rnn", "lstm", "gru", "vit"])
    p.add_argument("--epochs", type=int, help="override the recipe's epochs")
    p.add_argument("--limit", type=int, help="train on the first N training images only")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    args = p.parse_args(argv)
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "0")) or os.cpu_count())
    torch.manual_seed(args.seed)
    _, training = preset(args.model)
    if args.model == "mlp":
        training.update(batch_size=128, lr=1e-3)            # torch_nets' mlp: 784-256-256-10
    epochs, bs = args.epochs or training["epochs"], training["batch_size"]

    (x, y), (xt, yt) = load_mnist()
    x, y = x[:args.limit or len(x)], y[:args.limit or len(y)]
    xs, ys = torch_nets.inputs(args.model, x, x), torch.from_numpy(y.astype(np.int64))
    xts, yts = torch_nets.inputs(args.model, xt, x), torch.from_numpy(yt.astype(np.int64))
    net = torch_nets.network(args.model)
    opt, sched = torch_nets.optimizer(training, net, total_steps=-(-len(x) // bs) * epochs)
    rng = np.random.default_rng(args.seed)
    history = []
    for epoch in range(1, epochs + 1):
        start = time.perf_counter()
        net.train()
        order = torch.from_numpy(rng.permutation(len(x)))
        for s in range(0, len(x), bs):
            idx = order[s:s + bs]
            loss = torch_nets.train_step(net, opt, sched, xs[idx], ys[idx], training.get("clip_norm"))
        trained = time.perf_counter()
        accuracy = (torch_nets.predict(net, xts) == yts).double().mean().item()
        history.append({"epoch": epoch, "train_loss": float(loss), "test_accuracy": accuracy,
                        "train_seconds": trained - start, "eval_seconds": time.perf_counter() - trained})
        print(f"epoch {epoch}: test accuracy {accuracy:.4f} ({trained - start:.1f} s)", file=sys.stderr, flush=True)
    if args.json:
        print(json.dumps({"test_accuracy": history[-1]["test_accuracy"], "epochs": epochs, "recipe": training,
                          "threads": torch.get_num_threads(), "history": history}))


if __name__ == "__main__":
    main()
