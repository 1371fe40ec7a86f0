"""The recurrent and Transformer presets on MNIST: test accuracy and time of the whole
``numnet train --model P`` process, against issue 25's goals (rnn ≥ 97%, lstm and gru ≥ 98.5% in
≤ 3 minutes each, vit ≥ 98% in ≤ 8 minutes, on 2 cores).

    PYTHONPATH=src python benchmarks/sequence.py                  # rnn lstm gru vit, full recipes
    PYTHONPATH=src python benchmarks/sequence.py --presets lstm --threads 2

Each preset runs ``python -m numnet train --model P --seed S --json`` in a fresh process (its recipe:
epochs, optimizer, schedule, clipping); the numnet measured is the one on PYTHONPATH. Results go to
benchmarks/sequence.json. The epoch times against PyTorch, side by side: ``benchmarks/run.py --all``.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
#: issue 25: (least test accuracy, most seconds for the whole process)
GOALS = {"rnn": (0.97, None), "lstm": (0.985, 180), "gru": (0.985, 180), "vit": (0.98, 480)}


def run_command(args, threads):
    """``python -m numnet ARGS --json`` in a fresh process with ``threads`` BLAS threads:
    (the command as a user types it, its JSON, the whole process's seconds)."""
    env = dict(os.environ)
    env.update({k: str(threads) for k in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")})
    cmd = [sys.executable, "-m", "numnet", *map(str, args), "--json"]
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    seconds = time.perf_counter() - start
    if proc.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(cmd)} failed:\n{proc.stderr}")
    return " ".join(["numnet"] + cmd[3:]), json.loads(proc.stdout), seconds


def run_numnet(preset, seed, threads, *extra):
    """One whole ``numnet train --model PRESET --seed SEED`` process: accuracy, seconds, epochs."""
    command, result, seconds = run_command(["train", "--model", preset, "--seed", seed, *extra], threads)
    epochs = [e for e in result["history"] if e["epoch"] >= 1]
    return {"command": command, "test_accuracy": result["test_accuracy"],
            "process_seconds": seconds, "epochs": len(epochs),
            "epoch_train_seconds": sum(e["train_seconds"] for e in epochs) / len(epochs),
            "eval_seconds": sum(e["eval_seconds"] for e in result["history"]), "history": result["history"]}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--presets", nargs="+", default=list(GOALS), choices=list(GOALS))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2, help="BLAS threads (default 2)")
    ap.add_argument("--out", default=os.path.join(HERE, "sequence.json"))
    args = ap.parse_args()
    results = json.load(open(args.out)) if os.path.exists(args.out) else {}
    for name in args.presets:
        r = {**run_numnet(name, args.seed, args.threads), "threads": args.threads, "load_average": os.getloadavg()}
        del r["history"]
        least, most = GOALS[name]
        r["goal_met"] = r["test_accuracy"] >= least and (most is None or r["process_seconds"] <= most)
        results[name] = r
        print(f"{name:5s} {r['test_accuracy']:.4f} in {r['process_seconds']:.0f} s ({r['epochs']} epochs, "
              f"{r['epoch_train_seconds']:.1f} s training each, {r['eval_seconds']:.1f} s evaluating in all); "
              f"goal ≥ {least:.1%}{f' in ≤ {most} s' if most else ''}: {'met' if r['goal_met'] else 'NOT met'}",
              flush=True)
        with open(args.out + ".part", "w") as f:
            json.dump(results, f, indent=1)
        os.replace(args.out + ".part", args.out)


if __name__ == "__main__":
    main()
