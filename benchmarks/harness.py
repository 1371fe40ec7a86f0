"""The side-by-side machinery of ``run.py``: one long-lived worker process per side and thread count,
the same task sent to every side in alternating order, busy-loop processes for the loaded runs, and
the machine's description.

Each side runs in its own process (``workers.py``), started with its thread count in
OMP/OPENBLAS/MKL_NUM_THREADS (set again there with threadpoolctl and ``torch.set_num_threads``), so
one side's idle thread pool never spins while the other is timed. numnet is whatever ``import numnet``
finds on this process's PYTHONPATH (the workers and the ``numnet`` commands inherit it).
"""
from __future__ import annotations

import contextlib
import json
import os
import platform
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
FRAMEWORKS = ("numnet", "torch")
#: numnet with the NumPy engine (``NUMNET_ENGINE=numpy``) as a third side, for the engine comparison
SIDES = FRAMEWORKS + ("numpy-engine",)
ENGINE_ENV = {"numnet": "numba", "numpy-engine": "numpy"}
#: the numnet command line: ``python -m numnet`` measures the numnet on PYTHONPATH (the console
#: script may point at another checkout)
NUMNET = [sys.executable, "-m", "numnet"]


def thread_env(threads: int) -> dict:
    env = dict(os.environ)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[var] = str(threads)
    return env


class Worker:
    """One side's worker process; ``call(task, **params)`` returns the task's result."""

    def __init__(self, side: str, threads: int, log):
        self.side = side
        env = thread_env(threads)
        if side in ENGINE_ENV:
            env["NUMNET_ENGINE"] = ENGINE_ENV[side]
        self.proc = subprocess.Popen([sys.executable, os.path.join(HERE, "workers.py"),
                                      "numnet" if side in ENGINE_ENV else side],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log,
                                     env=env, text=True, cwd=ROOT)
        self._read()

    def _read(self):
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"{self.side} worker died (see benchmarks/.workers.log)")
        return json.loads(line)

    def call(self, task: str, **params):
        self.proc.stdin.write(json.dumps({"task": task, **params}) + "\n")
        self.proc.stdin.flush()
        answer = self._read()
        if not answer.get("ok"):
            raise RuntimeError(f"{self.side} {task}: {answer.get('error')}")
        return answer["result"]

    def close(self):
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


class Bench:
    """What the workloads share: the options (``args``), the workers (started when first asked for),
    the raw figures (``raw``, written to results.json) and ``pair``, the alternating repeats."""

    def __init__(self, args):
        self.args = args
        self.quick = args.quick
        self.threads = args.threads
        self.log = open(os.path.join(HERE, ".workers.log"), "w")
        self._workers: dict = {}
        self.raw: dict = {}
        self.pause = 0.25   # let the idle process's thread pool go to sleep before the next timing

    def worker(self, side: str, threads: int | None = None) -> Worker:
        key = (side, threads or self.threads)
        if key not in self._workers:
            self._workers[key] = Worker(side, key[1], self.log)
        return self._workers[key]

    @property
    def workers(self) -> dict:
        """The workers at the run's thread count, by side (started on first use)."""
        return {side: self.worker(side) for side in SIDES}

    def say(self, *a):
        print(*a, file=sys.stderr, flush=True)

    def alternate(self, repeats: int, sides, run) -> dict:
        """{side: [run(side, r) for r in range(repeats)]}, every side once per repeat, the order of the
        sides reversed from one repeat to the next, with a pause before each."""
        out = {side: [] for side in sides}
        for r in range(repeats):
            for side in (sides if r % 2 == 0 else sides[::-1]):
                time.sleep(self.pause)
                out[side].append(run(side, r))
        return out

    def pair(self, task: str, repeats: int, sides=SIDES, threads=None, **params) -> dict:
        """Run the worker task ``task`` on every side ``repeats`` times, alternating; {side: [results]}."""
        return self.alternate(repeats, sides, lambda side, r: self.worker(side, threads).call(task, **params))

    def medians(self, res, key, sides=FRAMEWORKS):
        return {side: round(statistics.median(r[key] for r in res[side]), 3) for side in sides}

    def close(self):
        for w in self._workers.values():
            w.close()
        self._workers.clear()


@contextlib.contextmanager
def busy_loops(n: int = 2):
    """``n`` processes spinning ``while True: pass`` beside the timed work (a learner's browser)."""
    procs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(n)]
    try:
        time.sleep(0.5)
        yield
    finally:
        for p in procs:
            p.kill()
            p.wait()


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine() -> dict:
    """The CPU, its cores, the platform; the versions come from the workers' ``info`` task."""
    return {"cpu": cpu_model(), "cores": os.cpu_count(), "platform": platform.platform(),
            "affinity": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None}
