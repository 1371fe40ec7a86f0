"""The preset networks' tasks of the benchmark workers (``workers.py`` serves them): training steps
with each step's time, and evaluation throughput, on numnet's side or PyTorch's.

numnet runs a preset exactly as ``numnet train --model NAME`` builds it (``Recipe.from_preset``: the
layers, the optimizer with its clipping, the schedule, the default number of data-parallel workers)
and trains through ``model.fit`` on the uint8 images; PyTorch runs the twin network of
``torch_nets.py`` with the same optimizer, clipping and schedule on preloaded float tensors. Models
(and optimizers) are built once per worker and reused by every repeat, as one long training run.
"""
from __future__ import annotations

import time

import numpy as np

#: the nets the step and eval tasks know: numnet's preset name and the options on top of it
NETS = {"mlp": ("mlp", {"hidden": (256, 256), "batch_size": 128, "lr": 1e-3}),
        "cnn": ("cnn", {}), "rnn": ("rnn", {}), "lstm": ("lstm", {}), "gru": ("gru", {}), "vit": ("vit", {})}
WARMUP_STEPS = 5

_state = {}       # (task, net) -> what a task keeps between calls
FRAMEWORK, DATA = "numnet", None


def init(framework: str, data):
    """``data``: (x_train, y_train, x_test, y_test), uint8 images and integer labels."""
    global FRAMEWORK, DATA
    FRAMEWORK, DATA = framework, data


def recipe(net: str):
    from numnet.train.recipe import Recipe
    name, options = NETS[net]
    return Recipe.from_preset(name, **options, seed=0)


# ---------------------------------------------------------------------------------------------
# numnet
class StepClock:
    """A training callback that notes the time at the start of the epoch and after every step."""

    def __init__(self):
        from numnet.train.callbacks import Callback
        clock = self

        class _Clock(Callback):
            def on_epoch_begin(self, run):
                clock.marks.append(time.perf_counter())

            def on_batch_end(self, run):
                clock.marks.append(time.perf_counter())

        self.marks, self.callback = [], _Clock()

    def steps(self):
        return np.diff(self.marks).tolist()


def numnet_steps(net, steps):
    import numnet
    x, y = DATA[0], DATA[1]
    if ("steps", net) not in _state:
        run = recipe(net)
        model = run.network(x.shape[1:], 10, numnet.Sequential)
        options = {**run.fit_options(model), "epochs": 1, "epoch0": False}
        model.fit(x[:run.batch_size * WARMUP_STEPS], y[:run.batch_size * WARMUP_STEPS], **options)   # kernels loaded
        _state["steps", net] = (model, options, run.batch_size)
    model, options, batch = _state["steps", net]
    n = batch * steps
    start = (len(model.history) * n) % (len(x) - n)          # another slice of the data every repeat
    clock = StepClock()
    model.fit(x[start:start + n], y[start:start + n], **options, callbacks=[clock.callback])
    return {"seconds": model.history[-1]["seconds"], **step_summary(clock.steps()), "batch_size": batch,
            "workers": model.info.get("workers")}


def numnet_eval(net, reps, batch=1000):
    import numnet
    if ("eval", net) not in _state:
        model = recipe(net).network(DATA[0].shape[1:], 10, numnet.Sequential)
        model.adapt(DATA[0])                                   # Standardize fitted, as after training
        model.eval()
        model.predict(DATA[2], batch_size=batch)
        _state["eval", net] = model
    model = _state["eval", net]
    return timed(lambda: model.predict(DATA[2], batch_size=batch), reps)


# ---------------------------------------------------------------------------------------------
# PyTorch
def torch_steps(net, steps):
    import torch
    import torch_nets
    if ("steps", net) not in _state:
        torch.manual_seed(0)
        run = recipe(net)
        model = torch_nets.network(net)
        opt, sched = torch_nets.optimizer(run.training, model, total_steps=10 ** 7)
        xs, ys = torch_nets.inputs(net, DATA[0], DATA[0]), torch.from_numpy(DATA[1].astype(np.int64))
        _state["steps", net] = (model, opt, sched, xs, ys, run, np.random.default_rng(0))
        one_block(*_state["steps", net], WARMUP_STEPS)
    return one_block(*_state["steps", net], steps)


def one_block(model, opt, sched, xs, ys, run, rng, steps):
    import torch
    import torch_nets
    bs = run.batch_size
    order = torch.from_numpy(rng.permutation(len(xs))[:bs * steps])
    model.train()
    times = []
    start = time.perf_counter()
    for i in range(steps):
        t = time.perf_counter()
        idx = order[i * bs:(i + 1) * bs]
        torch_nets.train_step(model, opt, sched, xs[idx], ys[idx], run.clip_norm)
        times.append(time.perf_counter() - t)
    return {"seconds": time.perf_counter() - start, **step_summary(times), "batch_size": bs}


def torch_eval(net, reps, batch=1000):
    import torch
    import torch_nets
    if ("eval", net) not in _state:
        torch.manual_seed(0)
        model = torch_nets.network(net)
        xt = torch_nets.inputs(net, DATA[2], DATA[0])
        torch_nets.predict(model, xt, batch)
        _state["eval", net] = (model, xt)
    model, xt = _state["eval", net]
    return timed(lambda: torch_nets.predict(model, xt, batch), reps)


def step_summary(times):
    """A block's steps: how many, the median and the longest step (seconds)."""
    return {"steps": len(times), "step_median": float(np.median(times)), "step_max": max(times)}


def timed(call, reps):
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        call()
        times.append(time.perf_counter() - t)
    n = len(DATA[2])
    return {"seconds": times, "images_per_second": n / float(np.median(times))}


def tasks(framework: str, data) -> dict:
    """The worker tasks of this module for ``framework`` ('numnet' or 'torch')."""
    init(framework, data)
    if framework == "torch":
        return {"net_steps": torch_steps, "net_eval": torch_eval}
    return {"net_steps": numnet_steps, "net_eval": numnet_eval}
