"""The preset networks' workloads of ``run.py`` (issue 25): training epoch time at the run's thread
count and at 1 thread, evaluation throughput, the same steps with busy loops beside them, and
``numnet train --model cnn`` against the same recipe as a PyTorch script, as whole processes.
Each function takes the ``harness.Bench`` and puts its raw figures in ``bench.raw``;
``report_nets.py`` turns them into rows.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time

from harness import FRAMEWORKS, HERE, NUMNET, ROOT, busy_loops, thread_env

NETS = ("rnn", "lstm", "gru", "vit", "cnn")
#: training steps per timed block (and with --quick), about 1-3 s a block on 2 quiet cores
STEPS = {"mlp": 200, "cnn": 120, "rnn": 150, "lstm": 120, "gru": 120, "vit": 60}
QUICK_STEPS = {"mlp": 40, "cnn": 20, "rnn": 30, "lstm": 20, "gru": 20, "vit": 10}
#: the nets timed with two busy-loop processes beside them
LOADED = ("mlp", "cnn", "rnn")
#: the process workload: ``numnet train --model cnn`` (2 epochs, Adam 2e-3 one-cycle, batch 64; its
#: test accuracy after each epoch gives the time to 99.0%) and torch_train.py with the same recipe
PROCESS_MODEL, TARGET = "cnn", 0.99


def nets(bench, default=NETS):
    return [n for n in default if not bench.args.nets or n in bench.args.nets]


def steps_of(bench, net):
    return (QUICK_STEPS if bench.quick else STEPS)[net]


def repeats(bench, quick=2):
    return quick if bench.quick else bench.args.repeats


def time_epochs(bench, threads):
    """Training steps of each preset, numnet and PyTorch alternating, ``repeats`` blocks each."""
    out = {"threads": threads, "repeats": repeats(bench)}
    for net in nets(bench):
        out[net] = bench.pair("net_steps", repeats(bench), sides=FRAMEWORKS, threads=threads, net=net,
                              steps=steps_of(bench, net))
        bench.say(f"{net}, {threads} thread(s), seconds per block of {steps_of(bench, net)} steps:",
                  bench.medians(out[net], "seconds"))
    return out


def w_epochs(bench):
    bench.raw["epochs"] = time_epochs(bench, bench.threads)


def w_epochs_1thread(bench):
    bench.raw["epochs-1thread"] = time_epochs(bench, 1)


def w_eval(bench):
    """numnet ``model.predict`` of a fresh preset model against PyTorch ``eval()`` + ``no_grad`` on
    the 10,000 test images, batch 1,000; each call timed ``calls`` times per repeat."""
    calls = 1 if bench.quick else 2
    out = {"calls": calls, "repeats": repeats(bench), "batch": 1000}
    for net in nets(bench):
        out[net] = bench.pair("net_eval", repeats(bench), sides=FRAMEWORKS, net=net, reps=calls)
        bench.say(f"{net} eval, images/s:", bench.medians(out[net], "images_per_second"))
    bench.raw["eval"] = out


def w_loaded(bench):
    """The steps of mlp, cnn and rnn quiet, then with two busy-loop processes on the cores, in one
    workload (same workers, same repeats)."""
    reps = repeats(bench, quick=1)
    out = {"busy_loops": 2, "repeats": reps}
    for net in nets(bench, LOADED):
        out[net] = {"quiet": bench.pair("net_steps", reps, sides=FRAMEWORKS, net=net, steps=steps_of(bench, net))}
        with busy_loops(2):
            out[net]["load"] = os.getloadavg()[0]
            out[net]["loaded"] = bench.pair("net_steps", reps, sides=FRAMEWORKS, net=net, steps=steps_of(bench, net))
        bench.say(f"{net}, seconds per block quiet / loaded:", bench.medians(out[net]["quiet"], "seconds"),
                  bench.medians(out[net]["loaded"], "seconds"))
    bench.raw["loaded"] = out


def run_process(cmd, env):
    """Wall time of a fresh process and its JSON output."""
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT)
    seconds = time.perf_counter() - start
    if proc.returncode not in (0, 1):
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{proc.stderr[-2000:]}")
    return {"seconds": seconds, **json.loads(proc.stdout)}


def shown(cmd):
    """A command line as the report shows it: 'python benchmarks/torch_train.py --model cnn'."""
    return " ".join(["python"] + [os.path.relpath(a, ROOT) if os.path.isabs(a) else a for a in cmd[1:]])


def time_to(run, target):
    """Seconds from the process's start to the end of the first epoch evaluated at ≥ ``target``:
    the process's wall time less the epochs after it (training and evaluation); None if never."""
    epochs = [e for e in run["history"] if e["epoch"] >= 1]
    hit = next((i for i, e in enumerate(epochs) if e["test_accuracy"] >= target), None)
    if hit is None:
        return None
    return run["seconds"] - sum(e["train_seconds"] + e["eval_seconds"] for e in epochs[hit + 1:])


def w_cnn_process(bench):
    """``python -m numnet train --model cnn --json`` and ``python benchmarks/torch_train.py --model cnn
    --json`` as fresh processes, alternating; wall time, test accuracy, time to 99.0%."""
    extra = ["--limit", "3000"] if bench.quick else []
    commands = {"numnet": NUMNET + ["train", "--model", PROCESS_MODEL, "--json", *extra],
                "torch": [sys.executable, os.path.join(HERE, "torch_train.py"), "--model", PROCESS_MODEL,
                          "--json", *extra]}
    env = thread_env(bench.threads)
    out = {"model": PROCESS_MODEL, "target": TARGET, "commands": {side: shown(c) for side, c in commands.items()}}

    def run(side, _):
        result = run_process(commands[side], env)
        return {**result, "time_to_target": time_to(result, TARGET)}
    out.update(bench.alternate(1 if bench.quick else min(3, bench.args.repeats), FRAMEWORKS, run))
    bench.say("cnn process:", {s: [(round(r["seconds"], 1), r["test_accuracy"]) for r in out[s]] for s in FRAMEWORKS})
    bench.raw["cnn-process"] = out
