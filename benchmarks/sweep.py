"""numnet sweep, 1 worker process against 2: python benchmarks/sweep.py [--trials 20] [--limit 10000] [--epochs 2]

Runs the same sweep (a fresh journal file each) with --jobs 1 and --jobs 2, in the order 1, 2, 2, 1
(so that a change in the machine's load hits both alike), and records, for each run,
the command's wall time, the best validation accuracy, the test accuracy of the best trial's
`numnet train` command, and how many trials were pruned. The machine's load average is recorded
with the figures, since wall times on a shared machine depend on it. Writes benchmarks/sweep_results.json.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.join(os.path.dirname(HERE), "src")


def one(run, args):
    """One sweep; ``run`` is 'J' (J worker processes, cores/J BLAS threads each) or 'JxT' (T threads each)."""
    jobs, _, threads = run.partition("x")
    with tempfile.TemporaryDirectory() as d:
        cmd = [sys.executable, "-m", "numnet", "sweep", "--trials", str(args.trials), "--jobs", str(jobs),
               "--limit", str(args.limit), "--epochs", str(args.epochs), "--seed", str(args.seed),
               "--storage", os.path.join(d, "bench.journal"), "--study", "bench", "--json"]
        cmd += ["--blas-threads", threads] if threads else []
        env = {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", "")}
        load = os.getloadavg()[0]
        start = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=True)
        wall = time.perf_counter() - start
    r = json.loads(proc.stdout)
    return {"run": run, "jobs": int(jobs), "wall_seconds": round(wall, 1), "sweep_seconds": round(r["wall_seconds"], 1),
            "best_val_accuracy": r["best_value"], "test_accuracy": r["test_accuracy"], "complete": r["complete"],
            "pruned": r["pruned"], "blas_threads": r["blas_threads"], "command": r["command"],
            "load_average_before": round(load, 2), "load_average_after": round(os.getloadavg()[0], 2)}


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--trials", type=int, default=20)
    p.add_argument("--limit", type=int, default=10000)
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--order", default="1,2,2,1",
                   help="runs in order: J = --jobs J, JxT = --jobs J --blas-threads T (default 1,2,2,1)")
    p.add_argument("--out", default=os.path.join(HERE, "sweep_results.json"))
    args = p.parse_args()
    rows = []
    for run in args.order.split(","):
        rows.append(one(run.strip(), args))
        print(json.dumps(rows[-1]), flush=True)
    result = {"settings": vars(args) | {"cores": len(os.sched_getaffinity(0))}, "runs": rows,
              "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
    with open(args.out + ".part", "w") as f:
        json.dump(result, f, indent=1)
    os.replace(args.out + ".part", args.out)


if __name__ == "__main__":
    main()
