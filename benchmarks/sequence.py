"""The recurrent and Transformer presets on MNIST: accuracy, training time, and the same network's
epoch time in PyTorch side by side.

    PYTHONPATH=src python benchmarks/sequence.py                  # rnn lstm gru vit, full recipes
    PYTHONPATH=src python benchmarks/sequence.py --presets lstm --torch-steps 100

For each preset: ``numnet train --model P --json`` in a subprocess (its recipe: epochs, optimizer,
schedule, clipping), then PyTorch training steps of the same network (same batch size, Adam/AdamW,
the same clipping) on the same data, timed over ``--torch-steps`` steps after 5 warm-up steps and
scaled to a full epoch; numnet's epoch time is the mean of its epochs' training time (the test-set
evaluation after each epoch is not counted). Writes benchmarks/sequence.json.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))


def run_numnet(preset, seed, threads):
    env = dict(os.environ, PYTHONPATH=os.path.join(HERE, "..", "src"))
    env.update({k: str(threads) for k in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")})
    path = os.path.join(HERE, f".sequence-{preset}.npz")
    cmd = [sys.executable, "-m", "numnet", "train", "--model", preset, "--seed", str(seed), "--json", "--save", path]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if proc.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(cmd)} failed:\n{proc.stderr}")
    from numnet.train.transfer import load
    result = json.loads(proc.stdout)
    result["epoch_seconds"] = float(np.mean([e["seconds"] for e in load(path).history]))   # training only
    os.unlink(path)
    return result, " ".join(cmd[2:-2])


def torch_network(preset, torch):
    nn = torch.nn
    H = 128

    class Recurrent(nn.Module):
        def __init__(self, cell):
            super().__init__()
            self.rnn, self.head = cell(28, H, batch_first=True), nn.Linear(H, 10)

        def forward(self, x):
            return self.head(self.rnn(x)[0][:, -1])

    class ViT(nn.Module):
        def __init__(self, d=64, heads=4, mlp=128, depth=3):
            super().__init__()
            self.patch = nn.Conv2d(1, d, 7, stride=7)
            self.cls = nn.Parameter(torch.zeros(1, 1, d))
            self.pos = nn.Parameter(torch.zeros(1, 17, d))
            self.blocks = nn.Sequential(*[nn.TransformerEncoderLayer(d, heads, mlp, dropout=0.0, activation="gelu",
                                                                     batch_first=True, norm_first=True)
                                          for _ in range(depth)])
            self.norm, self.head = nn.LayerNorm(d), nn.Linear(d, 10)

        def forward(self, x):
            t = self.patch(x[:, None]).flatten(2).transpose(1, 2)
            t = torch.cat([self.cls.expand(len(x), -1, -1), t], 1) + self.pos
            return self.head(self.norm(self.blocks(t))[:, 0])

    if preset == "vit":
        return ViT()
    return Recurrent({"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}[preset])


def time_torch(preset, recipe, steps, x, y, threads):
    import torch
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    net = torch_network(preset, torch)
    opt_cls = torch.optim.AdamW if recipe["optimizer"] == "adamw" else torch.optim.Adam
    opt = opt_cls(net.parameters(), lr=recipe["lr"], **({"weight_decay": recipe["weight_decay"]}
                                                         if recipe.get("weight_decay") else {}))
    bs = recipe["batch_size"]
    mean, std = x.mean(0), x.std()
    xs = torch.tensor((x - mean) / std if preset != "vit" else x)
    ys = torch.tensor(y.astype(np.int64))
    loss_fn = torch.nn.CrossEntropyLoss()
    order = np.random.default_rng(0).permutation(len(x))

    def step(i):
        idx = torch.from_numpy(order[(i * bs) % (len(x) - bs):][:bs])
        opt.zero_grad()
        loss = loss_fn(net(xs[idx]), ys[idx])
        loss.backward()
        if recipe.get("clip_norm"):
            torch.nn.utils.clip_grad_norm_(net.parameters(), recipe["clip_norm"])
        opt.step()
    for i in range(5):
        step(i)
    start = time.perf_counter()
    for i in range(steps):
        step(i)
    per_step = (time.perf_counter() - start) / steps
    return per_step * -(-len(x) // bs)


def time_numnet(preset, recipe, steps, x, y):
    """Seconds of an epoch of numnet training steps (``fit`` on steps·batch images, no evaluation)."""
    import numnet
    from numnet.train.recipe import Recipe
    run = Recipe.from_preset(preset, seed=0)
    model = run.network(x.shape[1:], 10, numnet.Sequential)
    opt, bs = run.make_optimizer(model), run.batch_size                  # with the preset's gradient clipping
    n = bs * steps
    model.fit(x[:bs * 5], y[:bs * 5], epochs=1, batch_size=bs, optimizer=opt, workers=1)      # warm-up
    start = time.perf_counter()
    model.fit(x[:n], y[:n], epochs=1, batch_size=bs, optimizer=opt, workers=1)
    return (time.perf_counter() - start) / steps * -(-len(x) // bs)


def side_by_side(args, x, y):
    """numnet and PyTorch epoch times measured back to back, alternating, ``--repeats`` times: both
    sides see the same load on a shared machine. Medians go to the results' ``side_by_side``."""
    import numnet
    from numnet.architectures import preset as get_preset
    results = json.load(open(args.out)) if os.path.exists(args.out) else {}
    for name in args.presets:
        spec, recipe = get_preset(name)
        recipe["spec"] = spec
        ours, theirs = [], []
        for _ in range(args.repeats):
            ours.append(time_numnet(name, recipe, args.torch_steps, x, y))
            theirs.append(time_torch(name, recipe, args.torch_steps, x, y, args.threads))
        entry = {"numnet_epoch_seconds": float(np.median(ours)), "torch_epoch_seconds": float(np.median(theirs)),
                 "steps_timed": args.torch_steps, "repeats": args.repeats, "threads": args.threads,
                 "load_average": os.getloadavg()}
        entry["ratio_numnet_over_torch"] = entry["numnet_epoch_seconds"] / entry["torch_epoch_seconds"]
        results.setdefault(name, {})["side_by_side"] = entry
        print(f"{name:5s} epoch numnet {entry['numnet_epoch_seconds']:.1f} s  torch {entry['torch_epoch_seconds']:.1f} s"
              f"  ratio {entry['ratio_numnet_over_torch']:.2f}", flush=True)
        with open(args.out + ".part", "w") as f:
            json.dump(results, f, indent=1)
        os.replace(args.out + ".part", args.out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--presets", nargs="+", default=["rnn", "lstm", "gru", "vit"])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--torch-steps", type=int, default=200)
    ap.add_argument("--threads", type=int, default=2, help="BLAS threads of numnet (set before NumPy starts) "
                                                          "and torch threads (default 2)")
    ap.add_argument("--out", default=os.path.join(HERE, "sequence.json"))
    ap.add_argument("--side-by-side", action="store_true",
                    help="only the epoch times, numnet and PyTorch back to back (no full training)")
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    from threadpoolctl import threadpool_limits
    threadpool_limits(args.threads)            # numnet in this process (the training runs get the env variables)
    sys.path.insert(0, os.path.join(HERE, "..", "src"))
    import numnet
    from numnet.architectures import preset as get_preset

    (x_train, y_train), _ = numnet.load_mnist()
    x = (x_train / 255).astype(np.float32)
    if args.side_by_side:
        return side_by_side(args, x, y_train)
    results = json.load(open(args.out)) if os.path.exists(args.out) else {}
    for name in args.presets:
        spec, recipe = get_preset(name)
        result, command = run_numnet(name, args.seed, args.threads)
        torch_epoch = time_torch(name, recipe, args.torch_steps, x, y_train, args.threads)
        results[name] = {"spec": spec, "recipe": recipe, "command": command,
                         "test_accuracy": result["test_accuracy"], "train_seconds": result["train_seconds"],
                         "epochs": result["epochs"], "numnet_epoch_seconds": result["epoch_seconds"],
                         "torch_epoch_seconds": torch_epoch, "torch_steps_timed": args.torch_steps,
                         "threads": args.threads, "load_average": os.getloadavg()}
        r = results[name]
        r["ratio_numnet_over_torch"] = r["numnet_epoch_seconds"] / torch_epoch
        print(f"{name:5s} {r['test_accuracy']:.4f}  {r['train_seconds']:.0f} s total  epoch numnet "
              f"{r['numnet_epoch_seconds']:.1f} s  torch {torch_epoch:.1f} s  ratio {r['ratio_numnet_over_torch']:.2f}",
              flush=True)
        tmp = args.out + ".part"
        with open(tmp, "w") as f:
            json.dump(results, f, indent=1)
        os.replace(tmp, args.out)


if __name__ == "__main__":
    main()
