"""Seconds per training step: numerical gradients (tutorial 2) vs backpropagation.

Tutorial 2's TwoLayerNet: 784-50-10, ReLU hidden layer (the seed's `_relu`), softmax cross-entropy, weights N(0, 0.01²),
float64, batch 100, SGD lr 0.1, on MNIST (pixels / 255). A step is forward + gradient + SGD update;
the gradient is either one backward pass or central differences (L(θ+h) − L(θ−h)) / 2h for each
of the 39,760 parameters (two forward passes per entry, tutorial 2's ``numerical_gradient``).

    OMP_NUM_THREADS=1 python benchmarks/numerical_vs_backprop.py [--numerical-steps 3] [--backprop-steps 300] [--json]

Prints the median seconds per step of each and their ratio. Each step is timed twice: wall clock
and CPU time of this process (``time.process_time``); the ratio is taken from CPU time, which a
busy machine disturbs less (with one BLAS thread, CPU time ≈ wall time on an idle machine).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time

import numpy as np

import numnet
from numnet.views.gradcheck import numerical_gradients


def two_layer_net(seed=0):
    layers = [numnet.Dense(784, 50, init="normal:0.01"), numnet.ReLU(), numnet.Dense(50, 10, init="normal:0.01")]
    return numnet.Sequential(layers, loss="cross_entropy", dtype=np.float64, seed=seed)


def step_times(gradient, steps, x, y, batch=100, seed=0):
    model, opt = two_layer_net(seed), numnet.SGD(0.1)
    rng = np.random.default_rng(seed)
    model.train()
    wall, cpu = [], []
    for _ in range(steps):
        idx = rng.choice(len(x), size=batch, replace=False)
        start, start_cpu = time.perf_counter(), time.process_time()
        xb, yb = model.prepare(x[idx].reshape(batch, -1)), y[idx]
        loss = model.loss.forward(model.forward(xb), yb)
        if gradient == "numerical":
            numerical_gradients(model, xb, yb)
        else:
            model.backward(model.loss.backward())
        opt.step([model.flat_params], [model.flat_grads])
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return wall, cpu


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--numerical-steps", type=int, default=3)
    ap.add_argument("--backprop-steps", type=int, default=300)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    (x, y), _ = numnet.load_mnist()
    backprop_wall, backprop_cpu = step_times("backprop", args.backprop_steps, x, y)
    numerical_wall, numerical_cpu = step_times("numerical", args.numerical_steps, x, y)
    med = statistics.median
    b, n = med(backprop_cpu), med(numerical_cpu)
    result = {"network": "784-50-10 ReLU, float64, batch 100, SGD", "parameters": two_layer_net().num_parameters,
              "backprop_cpu_seconds_per_step": b, "numerical_cpu_seconds_per_step": n, "ratio": n / b,
              "backprop_wall_seconds_per_step": med(backprop_wall),
              "numerical_wall_seconds_per_step": med(numerical_wall),
              "wall_ratio": med(numerical_wall) / med(backprop_wall),
              "backprop_steps": len(backprop_cpu), "numerical_steps": len(numerical_cpu),
              "numpy": np.__version__, "machine": platform.machine(), "cpus": os.cpu_count(),
              "omp_num_threads": os.environ.get("OMP_NUM_THREADS")}
    if args.json:
        print(json.dumps(result))
    else:
        print(f"TwoLayerNet 784-50-10 ({result['parameters']} parameters), float64, batch 100, "
              f"OMP_NUM_THREADS={result['omp_num_threads']}")
        print(f"            CPU s/step    wall s/step   (medians)")
        print(f"backprop : {b:12.6f} {med(backprop_wall):14.6f}   ({len(backprop_cpu)} steps)")
        print(f"numerical: {n:12.3f} {med(numerical_wall):14.3f}   ({len(numerical_cpu)} steps)")
        print(f"ratio    : {n / b:12.0f} {result['wall_ratio']:14.0f}   numerical / backprop")


if __name__ == "__main__":
    main()
