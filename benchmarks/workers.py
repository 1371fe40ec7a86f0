"""Benchmark workers: one long-lived process per framework, driven by ``run.py`` (``harness.Worker``).

    python benchmarks/workers.py numnet|torch

reads one JSON request a line on stdin ({"task": ..., **params}) and answers one JSON line on
stdout. The thread count is fixed by the parent through OMP_NUM_THREADS / OPENBLAS_NUM_THREADS /
MKL_NUM_THREADS before NumPy (or torch) is imported, and set again here with threadpoolctl and
``torch.set_num_threads``. numnet and PyTorch never share a process, so neither one's idle
thread pool spins on the cores while the other is being timed.

The MLP tasks are below; the preset networks' (cnn, rnn, lstm, gru, vit) are in ``worker_nets.py``.
Same MLP workload on both sides:
* architecture: numnet's ``mlp(hidden, activation)`` and the torch ``nn.Sequential`` of the same
  Linear/activation layers;
* initial weights: the torch worker builds the numnet model with the same seed and copies every
  W (out, in) and b into the ``nn.Linear`` layers;
* preprocessing: numnet gets the uint8 images and does pixel/255 and its Standardize layer
  (x - mu)/sigma inside ``fit`` (mu, sigma are fitted there too, which numnet's time includes);
  PyTorch gets float32 tensors already divided by 255 and standardised with the same mu/sigma,
  preloaded once, outside its timer;
* batch order: ``numpy.random.default_rng(seed).permutation(60000)`` per epoch, drawn from one
  generator per run: exactly the order ``Sequential.fit(..., seed=seed)`` uses (no augmentation);
* float32; PyTorch's loop is the lean idiomatic one (index the preloaded tensor, forward,
  ``F.cross_entropy``, ``zero_grad(set_to_none=True)``, ``backward``, ``step``, no per-step
  ``.item()``), numnet's is ``Sequential.fit`` as a user calls it (which also tracks the running
  train loss and accuracy).
"""
from __future__ import annotations

import json
import os
import sys
import time

FRAMEWORK = sys.argv[1] if len(sys.argv) > 1 else "numnet"
THREADS = int(os.environ.get("OMP_NUM_THREADS", "0")) or os.cpu_count()

import numpy as np  # noqa: E402  (after the thread variables are in the environment)
import threadpoolctl  # noqa: E402

threadpoolctl.threadpool_limits(THREADS)

import worker_nets  # noqa: E402  (beside this file)

import numnet  # noqa: E402

if FRAMEWORK == "torch":
    import torch  # noqa: E402
    import torch.nn.functional as F  # noqa: E402

    torch.set_num_threads(THREADS)

(X_TRAIN, Y_TRAIN), (X_TEST, Y_TEST) = numnet.load_mnist()
N_TRAIN = len(X_TRAIN)


class StopTraining(Exception):
    """Raised from fit's progress callback once the target accuracy is reached."""


def make_numnet(hidden, activation="relu", init=None, seed=0):
    return numnet.Sequential(numnet.mlp(tuple(hidden), activation, init=init), seed=seed)


def numnet_optimizer(name, lr):
    return {"adam": numnet.Adam, "sgd": numnet.SGD}[name](lr)


# ---------------------------------------------------------------------------------------------
# torch side
_TORCH_DATA = {}


def torch_data():
    """(X_train, Y_train, X_test, Y_test) as preloaded tensors, standardised as numnet's layer does."""
    if not _TORCH_DATA:
        ref = make_numnet((1,))
        ref.adapt(X_TRAIN)
        std = next(layer for layer in ref.layers if isinstance(layer, numnet.Standardize))
        mean = std.mean.reshape(-1).astype(np.float32)
        inv_std = np.float32(1 / float(std.std))

        def prep(x):
            a = x.reshape(len(x), -1).astype(np.float32)
            a *= np.float32(1 / 255)
            a -= mean
            a *= inv_std
            return torch.from_numpy(a)

        _TORCH_DATA.update(x=prep(X_TRAIN), y=torch.from_numpy(Y_TRAIN.astype(np.int64)),
                           xt=prep(X_TEST), yt=torch.from_numpy(Y_TEST.astype(np.int64)))
    d = _TORCH_DATA
    return d["x"], d["y"], d["xt"], d["yt"]


def make_torch(hidden, activation="relu", init=None, seed=0):
    """The torch twin of ``make_numnet(...)``, with numnet's initial weights copied in."""
    act = {"relu": torch.nn.ReLU, "sigmoid": torch.nn.Sigmoid, "tanh": torch.nn.Tanh}[activation]
    ref = make_numnet(hidden, activation, init, seed)
    mods = []
    for layer in ref.layers:
        if isinstance(layer, numnet.Dense):
            lin = torch.nn.Linear(layer.in_features, layer.out_features)
            with torch.no_grad():
                lin.weight.copy_(torch.from_numpy(np.array(layer.W, dtype=np.float32)))
                lin.bias.copy_(torch.from_numpy(np.array(layer.b, dtype=np.float32)))
            mods += [lin, act()]
    return torch.nn.Sequential(*mods[:-1])   # no activation after the last Dense


def torch_optimizer(name, lr, net):
    return {"adam": torch.optim.Adam, "sgd": torch.optim.SGD}[name](net.parameters(), lr=lr)


def torch_accuracy(net, xt, yt):
    net.eval()
    with torch.inference_mode():
        acc = (net(xt).argmax(1) == yt).sum().item() / len(yt)
    net.train()
    return acc


# ---------------------------------------------------------------------------------------------
# tasks
def task_info():
    info = {"framework": FRAMEWORK, "threads": THREADS, "numpy": np.__version__,
            "threadpoolctl": threadpoolctl.threadpool_info(), "python": sys.version.split()[0]}
    if FRAMEWORK == "torch":
        info.update(torch=torch.__version__, torch_threads=torch.get_num_threads())
    else:
        from numnet.kernels import engine
        start = time.perf_counter()       # the numba engine's kernels loaded (or compiled) before any timing
        make_numnet((16,)).fit(X_TRAIN[:64], Y_TRAIN[:64], epochs=1, batch_size=32)
        info.update(engine=engine.current(), warmup_seconds=time.perf_counter() - start,
                    numnet_path=os.path.dirname(numnet.__file__))
        try:
            import numba
            info["numba"] = numba.__version__
        except ImportError:
            info["numba"] = None
    return info


def task_sgemm(n=2048, reps=7):
    """GFLOP/s of one float32 n x n x n matrix product (2 n^3 FLOPs), median over reps."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((n, n), dtype=np.float32)
    b = rng.standard_normal((n, n), dtype=np.float32)
    if FRAMEWORK == "torch":
        a, b = torch.from_numpy(a), torch.from_numpy(b)
        c = torch.empty(n, n)
        mm = lambda: torch.matmul(a, b, out=c)  # noqa: E731
    else:
        c = np.empty((n, n), np.float32)
        mm = lambda: np.matmul(a, b, out=c)  # noqa: E731
    mm()
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        mm()
        times.append(time.perf_counter() - t)
    return {"gflops": 2 * n ** 3 / float(np.median(times)) / 1e9, "times": times}


def task_train(hidden, batch, epochs, seed=0, activation="relu", init=None, opt="adam", lr=1e-3,
               evaluate=False, target=None, schedule=None, limit=None, return_params=False):
    """Wall time of training (``evaluate``: with a test-set evaluation after each epoch, included
    in the time; ``target``: stop after the first epoch whose test accuracy reaches it;
    ``schedule="linear"``: learning rate lr·(1 − step/total_steps), total over all ``epochs``;
    ``limit``: train on the first ``limit`` samples (Standardize still fitted on all 60,000);
    ``return_params``: also return the trained parameters, flattened, for the parity check)."""
    marks, accs = [], []
    n = limit or N_TRAIN
    total_steps = -(-n // batch) * epochs
    lr_at = (lambda step, total: lr * (1 - step / total)) if schedule == "linear" else None
    if FRAMEWORK == "numnet":
        model = make_numnet(hidden, activation, init, seed)
        optimizer = numnet_optimizer(opt, lr)

        def progress(event, **entry):
            if event == "epoch":
                marks.append(time.perf_counter())
                if evaluate:
                    accs.append(entry["val_accuracy"])
                    if target is not None and entry["val_accuracy"] >= target:
                        raise StopTraining

        if limit:
            model.adapt(X_TRAIN)
        start = time.perf_counter()
        try:
            model.fit(X_TRAIN[:n], Y_TRAIN[:n], epochs=epochs, batch_size=batch, optimizer=optimizer,
                      validation_data=(X_TEST, Y_TEST) if evaluate else None, seed=seed, progress=progress,
                      schedule=lr_at, epoch0=False)          # time the training alone, as on PyTorch's side
        except StopTraining:
            pass
        seconds = time.perf_counter() - start
        final = accs[-1] if accs else model.evaluate(X_TEST, Y_TEST)[1]
        params = model.flat_params
    else:
        x, y, xt, yt = torch_data()
        net = make_torch(hidden, activation, init, seed)
        optimizer = torch_optimizer(opt, lr, net)
        rng = np.random.default_rng(seed)
        net.train()
        step = 0
        start = time.perf_counter()
        for _ in range(epochs):
            order = torch.from_numpy(rng.permutation(n))
            for s in range(0, n, batch):
                idx = order[s:s + batch]
                if lr_at is not None:
                    for group in optimizer.param_groups:
                        group["lr"] = lr_at(step, total_steps)
                    step += 1
                loss = F.cross_entropy(net(x[idx]), y[idx])
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
            marks.append(time.perf_counter())
            if evaluate:
                accs.append(torch_accuracy(net, xt, yt))
                if target is not None and accs[-1] >= target:
                    break
        seconds = time.perf_counter() - start
        final = accs[-1] if accs else torch_accuracy(net, xt, yt)
        params = torch.cat([q.detach().reshape(-1) for q in net.parameters()]).numpy()
    extra = {"params": params.astype(float).tolist()} if return_params else {}
    return {**extra, "seconds": seconds, "epochs_run": len(marks), "accuracies": accs, "final_accuracy": final,
            "epoch_marks": [m - start for m in marks]}


def task_infer(hidden, batch=10000, reps=15, latency_calls=3000):
    """Throughput at ``batch`` (median over reps) and batch-1 latency (median over calls)."""
    out = {}
    if FRAMEWORK == "numnet":
        model = make_numnet(hidden)
        model.adapt(X_TRAIN)
        model.eval()
        xb = X_TEST[:batch]
        frozen = model.freeze()
        ways = {"forward(prepare(x))": lambda v: model.forward(model.prepare(v)), "predict": model.predict,
                "freeze().predict": frozen.predict}
        one = [X_TEST[i:i + 1] for i in range(latency_calls)]
    else:
        _, _, xt, _ = torch_data()
        net = make_torch(hidden).eval()
        xb = xt[:batch]
        one = [xt[i:i + 1] for i in range(latency_calls)]

        def fwd(v):
            with torch.inference_mode():
                return net(v)

        def pred(v):
            with torch.inference_mode():
                return net(v).argmax(1)

        ways = {"inference_mode forward": fwd, "inference_mode argmax": pred}
    for name, f in ways.items():
        f(xb)
        times = []
        for _ in range(reps):
            t = time.perf_counter()
            f(xb)
            times.append(time.perf_counter() - t)
        for v in one[:200]:
            f(v)
        lat = []
        for v in one:
            t = time.perf_counter()
            f(v)
            lat.append(time.perf_counter() - t)
        out[name] = {"throughput": batch / float(np.median(times)), "batch_seconds": float(np.median(times)),
                     "latency_us": float(np.median(lat)) * 1e6}
    return out


def task_profile(hidden, batch, epochs=1, seed=0, top=12):
    """cProfile of numnet's ``fit`` (one epoch): the functions with the most own time."""
    import cProfile
    import pstats

    model = make_numnet(hidden, seed=seed)
    optimizer = numnet_optimizer("adam", 1e-3)
    prof = cProfile.Profile()
    prof.enable()
    model.fit(X_TRAIN, Y_TRAIN, epochs=epochs, batch_size=batch, optimizer=optimizer, seed=seed, epoch0=False)
    prof.disable()
    stats = pstats.Stats(prof).stats
    total = sum(v[2] for v in stats.values())
    rows = sorted(((v[2], v[3], v[1], k) for k, v in stats.items()), reverse=True)[:top]
    root = os.path.dirname(os.path.dirname(numnet.__file__))

    def where(k):
        path, line, name = k
        if path.startswith(root):
            with open(path) as f:       # name the method's class: the last "class X" above it
                above = f.readlines()[:line]
            cls = next((ln.split()[1].split("(")[0].rstrip(":") for ln in reversed(above)
                        if ln.startswith("class ")), None)
            name = f"{cls}.{name}" if cls and above[-1].startswith("    ") else name
            return f"{os.path.relpath(path, root)}:{line} {name}"
        return name if path == "~" else f"{os.path.basename(path)}:{line} {name}"
    return {"total": total, "rows": [{"function": where(k), "own_s": own, "cum_s": cum, "calls": calls}
                                     for own, cum, calls, k in rows]}


def task_init_params(hidden, seed=0):
    return make_numnet(hidden, seed=seed).flat_params.astype(float).tolist()


TASKS = {"info": task_info, "init_params": task_init_params, "profile": task_profile, "sgemm": task_sgemm,
         "train": task_train, "infer": task_infer,
         **worker_nets.tasks(FRAMEWORK, (X_TRAIN, Y_TRAIN, X_TEST, Y_TEST))}   # the presets: net_steps, net_eval


def main():
    reply = os.fdopen(os.dup(1), "w")
    sys.stdout = sys.stderr          # anything a library prints must not corrupt the protocol
    reply.write(json.dumps({"ready": FRAMEWORK}) + "\n")
    reply.flush()
    for line in sys.stdin:
        request = json.loads(line)
        task = request.pop("task")
        try:
            result = {"ok": True, "result": TASKS[task](**request)}
        except Exception as e:       # report, keep serving
            result = {"ok": False, "error": f"{type(e).__name__}: {e}"}
        reply.write(json.dumps(result) + "\n")
        reply.flush()


if __name__ == "__main__":
    main()
