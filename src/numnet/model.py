"""Sequential: a stack of layers trained by backpropagation, saved as one .npz file.

Storage: every parameter of every layer is a view into one contiguous buffer
(``flat_params``) and every gradient a view into another (``flat_grads``), so an optimizer
step is a few vectorised operations on two arrays, whatever the number of layers.
"""
from __future__ import annotations

import contextlib
import copy
import functools
import json
import math
import os
import threading
import time
import zipfile

import numpy as np

from . import layers as layers_mod
from . import losses, optim
from .errors import ConfigError, ModelFileError

FORMAT = "numnet-model"
FORMAT_VERSION = 1
PIXEL_SCALE = 1 / 255  # uint8 inputs are pixels: x = pixel / 255


class Sequential:
    """Layers applied in order; the loss sits on top of the last layer's output.

    ``dtype``: float32 (default) or float64 for every parameter and activation.
    ``seed``: initialises all parameters from ``numpy.random.default_rng(seed)``;
    ``seed=None`` keeps the layers' current values (used when loading a file).
    """

    _groups = ()   # during fit(workers=k): the AllSums through which BatchNorm layers share statistics

    def __init__(self, layers, loss="cross_entropy", dtype=np.float32, seed: int | None = 0):
        self.layers = list(layers)
        self.loss = losses.get(loss)
        self.dtype = np.dtype(dtype)
        if self.dtype not in (np.float32, np.float64):
            raise ConfigError(f"dtype must be float32 or float64, not {self.dtype}")
        self.history: list[dict] = []
        self.info: dict = {}   # training configuration and anything else worth saving
        self.input_shape = None
        self._build(seed)

    def _build(self, seed):
        rng = np.random.default_rng(seed) if seed is not None else None
        total = sum(int(np.prod(s)) for layer in self.layers for s in layer.param_shapes().values())
        self.flat_params = np.zeros(total, dtype=self.dtype)
        self.flat_grads = np.zeros(total, dtype=self.dtype)
        for layer, params, grads in zip(self.layers, self._views(self.flat_params), self._views(self.flat_grads)):
            layer.bind(params, grads)
            if rng is not None:
                layer.init_params(rng)

    def _views(self, flat):
        """For each layer, {name: view of ``flat``} shaped like its parameters, in order."""
        offset = 0
        for layer in self.layers:
            views = {}
            for name, shape in layer.param_shapes().items():
                size = int(np.prod(shape))
                views[name] = flat[offset:offset + size].reshape(shape)
                offset += size
            yield views

    # the network ----------------------------------------------------------------------------
    def forward(self, x):
        """Output of the last layer (logits for a classifier), batch first."""
        for layer in self.layers:
            x = layer.forward(x)
        return x

    def backward(self, grad):
        """Backpropagate dL/d(output) through every layer; returns dL/d(input).

        Stops early (returning None) at a layer whose ``input_grad`` is False: ``fit`` sets it on
        the first layer with parameters, since nobody needs dL/dx of the images.
        """
        for layer in reversed(self.layers):
            grad = layer.backward(grad)
            if grad is None:
                break
        return grad

    def named_parameters(self):
        """[(name, array)] for every parameter, e.g. ('1.W', W of layer 1)."""
        return [(f"{i}.{n}", p) for i, layer in enumerate(self.layers) for n, p in layer.params.items()]

    def named_gradients(self):
        return [(f"{i}.{n}", g) for i, layer in enumerate(self.layers) for n, g in layer.grads.items()]

    @property
    def num_parameters(self) -> int:
        return self.flat_params.size

    def train(self, mode: bool = True):
        """Training mode (dropout active, batch statistics) or evaluation mode (``mode=False``)."""
        for layer in self.layers:
            layer.training = mode
        return self

    def eval(self):
        return self.train(False)

    def prepare(self, x):
        """Model input from user data: uint8 pixels become x = pixel / 255, floats the model's dtype."""
        x = np.asarray(x)
        if x.dtype == np.uint8:
            return np.multiply(x, PIXEL_SCALE, dtype=self.dtype)
        return x.astype(self.dtype, copy=False)

    # training -----------------------------------------------------------------------------------
    def adapt(self, x, chunk: int = 4096):
        """Fit data-dependent layers (``Standardize``) in front of the first trainable layer."""
        for i, layer in enumerate(self.layers):
            if layer.param_names:
                break
            if hasattr(layer, "adapt") and not layer.adapted:
                def batches(before=self.layers[:i]):
                    for start in range(0, len(x), chunk):
                        h = self.prepare(x[start:start + chunk])
                        for prev in before:
                            h = prev.forward(h)
                        yield h
                layer.adapt(batches())

    def fit(self, x, y, epochs: int = 1, batch_size: int = 32, optimizer="adam", validation_data=None,
            shuffle: bool = True, seed: int = 0, progress=None, augment=None, schedule=None,
            gradient: str = "backprop", workers: int | None = None):
        """Train with mini-batches: each epoch visits every sample once, in a new order.

        x: (N, ...) uint8 pixels or floats; y: (N,) integer labels (or targets for the loss).
        optimizer: an Optimizer or a name ('sgd', 'momentum', 'adam').
        seed: batch order comes from ``numpy.random.default_rng(seed)``.
        progress: optional callable ``progress(event, **info)``, with event 'batch' (epoch, seen,
        total, loss) or 'epoch' (the history entry). The library itself never prints.
        augment: optional callable ``augment(x_batch, rng) -> x_batch`` applied to each training
        batch (floats, in the input's sample shape), with the fit's seeded rng.
        schedule: optional callable ``schedule(step, total_steps) -> lr`` setting the optimizer's
        learning rate before each step (step counts from 0 over the whole fit).
        gradient: 'backprop' (default) or 'numerical': central differences of the loss, two forward
        passes per parameter entry (seed 001's way; see ``gradcheck.numerical_gradients``). Slow.
        workers: threads that share each step (data parallelism): the batch is split into ``workers``
        nearly equal parts, each goes forward and backward on its own thread through a twin of the
        model (the same parameters, its own caches and gradients), and the step's gradient is the
        parts' gradients averaged with weights (part size / batch size): the same step as one worker
        up to float rounding. BLAS runs one thread per worker meanwhile, so the element-wise work
        (im2col, pooling, ReLU) runs on every core too. None: ``auto_workers``.
        Returns the history: one dict per epoch with train_loss, train_accuracy and, with
        validation_data, val_loss and val_accuracy.
        """
        x, y = np.asarray(x), np.asarray(y)
        if len(x) != len(y):
            raise ConfigError(f"{len(x)} samples but {len(y)} targets")
        if epochs < 1 or batch_size < 1:
            raise ConfigError("epochs and batch_size must be positive")
        if gradient not in ("backprop", "numerical"):
            raise ConfigError(f"gradient must be 'backprop' or 'numerical', not {gradient!r}")
        opt = optim.get(optimizer)
        workers = self.check_workers(workers, batch_size, gradient)
        rng = np.random.default_rng(seed)
        n = len(x)
        self.input_shape = tuple(x.shape[1:])
        x_rows = x.reshape(n, -1)
        batch_raw = np.empty((min(batch_size, n), x_rows.shape[1]), dtype=x.dtype)
        batch_x = np.empty(batch_raw.shape, dtype=self.dtype)
        first = next((l for l in self.layers if l.param_names), None)
        params, grads = [self.flat_params], [self.flat_grads]
        classify = isinstance(self.loss, (losses.SoftmaxCrossEntropy, losses.LogSoftmaxNLL)) and y.ndim == 1
        report_every = max(1, (n // batch_size) // 200)
        steps_per_epoch = -(-n // batch_size)
        step = 0
        self.adapt(x)
        pool, blas = None, contextlib.ExitStack()
        try:
            self.train()
            if first is not None:
                first.input_grad = False
            twins = [self._twin() for _ in range(workers - 1)]
            self._groups = self._share_batch_statistics(twins)    # (removed again in the finally below)
            if twins:
                from concurrent.futures import ThreadPoolExecutor
                pool = ThreadPoolExecutor(len(twins), thread_name_prefix="numnet-worker")
            for epoch in range(len(self.history) + 1, len(self.history) + epochs + 1):
                start_time = time.perf_counter()
                order = rng.permutation(n) if shuffle else np.arange(n)
                loss_sum, correct = 0.0, 0
                if twins:
                    blas.enter_context(_one_blas_thread())      # for the training steps only
                for b, start in enumerate(range(0, n, batch_size)):
                    idx = order[start:start + batch_size]
                    m = len(idx)
                    raw, xb = batch_raw[:m], batch_x[:m]
                    np.take(x_rows, idx, axis=0, out=raw)
                    if x.dtype == np.uint8:
                        np.multiply(raw, PIXEL_SCALE, out=xb)
                    else:
                        xb[...] = raw
                    yb = y[idx]
                    xb = xb.reshape((m,) + self.input_shape)
                    if augment is not None:
                        xb = augment(xb, rng)
                    if schedule is not None:
                        opt.lr = schedule(step, steps_per_epoch * epochs)
                    step += 1
                    if gradient == "numerical":
                        from .gradcheck import numerical_gradients
                        out = self.forward(xb)
                        loss = self.loss.forward(out, yb)
                        numerical_gradients(self, xb, yb)
                    elif twins:
                        out, loss = self._parallel_step(pool, twins, xb, yb)
                    else:
                        out, loss = _forward_backward(self, xb, yb)
                    if pool is None:
                        opt.step(params, grads)
                    else:
                        opt.step(params, grads, pool, workers)
                    loss_sum += loss * m
                    if classify:
                        correct += int(np.count_nonzero(out.argmax(axis=1) == yb))
                    if progress is not None and (b % report_every == 0 or start + m >= n):
                        progress("batch", epoch=epoch, seen=start + m, total=n, loss=loss)
                        self.train()           # in case the callback evaluated the model (eval mode)
                blas.close()
                entry = {"epoch": epoch, "train_loss": loss_sum / n,
                         "train_accuracy": correct / n if classify else None,
                         "seconds": time.perf_counter() - start_time}
                if validation_data is not None:
                    entry["val_loss"], entry["val_accuracy"] = self.evaluate(*validation_data)
                    self.train()
                self.history.append(entry)
                if progress is not None:
                    progress("epoch", **entry)
                    self.train()
        finally:
            blas.close()
            for group in self._groups:      # e.g. after Ctrl-C: no worker may stay at a barrier
                group.abort()
            if pool is not None:
                pool.shutdown(cancel_futures=True)
            for layer in self.layers:
                if hasattr(layer, "join"):
                    layer.join(None)
            self._groups = ()
            if first is not None:
                first.input_grad = True
            self.eval()
        self.info["optimizer"] = opt.config()
        self.info["batch_size"] = batch_size
        self.info["workers"] = workers
        return self.history

    # data-parallel training ---------------------------------------------------------------------
    def auto_workers(self, batch_size: int, gradient: str = "backprop") -> int:
        """The default of ``fit(workers=None)``: as many workers as BLAS has threads (at most one per
        16 samples of a batch) for convolutional networks, whose steps are long enough to share; 1 for
        MLPs (their steps take a millisecond or two, about what handing work to threads costs) and
        for numerical gradients. On 2 cores a step of the `cnn` preset (batch 64) takes 19 ms with one
        worker and 12-14 ms with two; one of `cnn-best` (batch 128, BatchNorm) 57 and 42 ms."""
        from .conv import Conv2D
        if (gradient != "backprop" or not any(isinstance(layer, Conv2D) for layer in self.layers)
                or not all(map(_splits, self.layers))):
            return 1
        return max(1, min(_blas_threads(), batch_size // 16))

    def check_workers(self, workers, batch_size: int, gradient: str = "backprop") -> int:
        """``workers`` validated (None: ``auto_workers``)."""
        if workers is None:
            return self.auto_workers(batch_size, gradient)
        if isinstance(workers, bool) or not isinstance(workers, (int, np.integer)) or workers < 1:
            raise ConfigError(f"workers must be a positive integer, got {workers!r}")
        if workers > 1:
            if gradient != "backprop":
                raise ConfigError("numerical gradients run on one worker (workers=1)")
            whole = next((layer for layer in self.layers if not _splits(layer)), None)
            if whole is not None:
                raise ConfigError(f"{type(whole).__name__} needs the whole batch: train it with one worker "
                                  f"(workers=1)")
        return int(workers)

    def _twin(self):
        """A copy of this model for another worker thread: the same parameter arrays and saved state,
        its own layer caches and its own gradient buffer (see ``Layer.replica``)."""
        twin = copy.copy(self)
        twin.layers = [layer.replica() for layer in self.layers]
        twin.loss = copy.copy(self.loss)
        twin.flat_grads = np.zeros_like(self.flat_grads)
        for layer, grads in zip(twin.layers, twin._views(twin.flat_grads)):
            for name, g in grads.items():
                setattr(layer, "d" + name, g)
        return twin

    def _share_batch_statistics(self, twins):
        """Layers that need statistics of the whole batch (BatchNorm) ``join`` an ``AllSum`` with their
        twins, through which the workers add up their partial sums."""
        groups = []
        for i, layer in enumerate(self.layers):
            if twins and hasattr(layer, "join"):
                group = AllSum(len(twins) + 1)
                for rank, model in enumerate([self, *twins]):
                    model.layers[i].join(group, rank)
                groups.append(group)
        return groups

    def _parallel_step(self, pool, twins, x, y):
        """``_forward_backward`` on k nearly equal parts of the batch, this thread taking the first and
        the twins the others. The loss is a mean over samples, so the batch's loss and gradient are the
        parts' ones weighted by (part size / batch size): each part scales its dL/d(output) by its
        weight, and the parts' parameter gradients add up in ``self.flat_grads``."""
        m, k = len(x), len(twins) + 1
        if m < k:                      # fewer samples than workers: this thread alone, on its own statistics
            joined = [(layer, layer.group, layer.rank) for layer in self.layers if hasattr(layer, "join")]
            for layer, _, _ in joined:
                layer.join(None)
            try:
                return _forward_backward(self, x, y)
            finally:
                for layer, group, rank in joined:
                    layer.join(group, rank)
        edges = [m * i // k for i in range(k + 1)]
        weights = [(b - a) / m for a, b in zip(edges, edges[1:])]
        guarded = functools.partial(_guarded, self._groups, _forward_backward)
        futures = [pool.submit(guarded, twin, x[a:b], y[a:b], w)
                   for twin, a, b, w in zip(twins, edges[1:], edges[2:], weights[1:])]
        try:
            results = [guarded(self, x[:edges[1]], y[:edges[1]], weights[0])] + [f.result() for f in futures]
        except threading.BrokenBarrierError:
            # a worker failed and released the others: report its error, not the broken barrier
            errors = [f.exception() for f in futures]
            raise next((e for e in errors if e is not None and not isinstance(e, threading.BrokenBarrierError)),
                       None) or \
                threading.BrokenBarrierError() from None

        for twin in twins:
            self.flat_grads += twin.flat_grads
        loss = sum(w * part_loss for w, (_, part_loss) in zip(weights, results))
        return np.concatenate([out for out, _ in results]), loss

    # inference --------------------------------------------------------------------------------
    #: inference chunks hold at most this many values of the largest activation (32 MiB in float32)
    activation_budget = 1 << 23

    def _chunk_rows(self, sample_shape, batch_size):
        """Rows per inference chunk: ``batch_size``, or fewer where a sample's largest activation is
        big. A CNN's first feature maps for 10,000 images would take 0.7 GB, and the passes over them
        would cost more than the convolutions (evaluating MNIST's test set with the `cnn` preset:
        3.5 s in one chunk, 1 s in chunks of 455 images)."""
        shape, largest = tuple(sample_shape), math.prod(sample_shape)
        try:
            for layer in self.layers:
                shape = tuple(layer.output_shape(shape))
                largest = max(largest, math.prod(shape))
        except (ConfigError, ValueError, TypeError, IndexError):
            return batch_size          # the forward pass will say what is wrong with the input
        return max(1, min(batch_size, self.activation_budget // max(largest, 1)))

    def _outputs(self, x, batch_size=10000):
        self.eval()
        x = np.asarray(x)
        if len(x) > 256:                  # small inputs go in one piece (and skip the shape walk's ~30 µs)
            batch_size = self._chunk_rows(x.shape[1:], batch_size)
        # folding costs about a third of a millisecond, repaid from about 300 images on
        folded = self._folded_input_layer() if x.dtype == np.uint8 and len(x) >= 1024 else None
        for start in range(0, len(x), batch_size):
            xb = x[start:start + batch_size]
            yield start, self.forward(self.prepare(xb)) if folded is None else self._forward_folded(xb, *folded)

    def _folded_input_layer(self):
        """For inference on uint8 pixels: (i, W', b') where layers[i] is a Dense behind a Standardize
        (only Flatten before it), else None. The three affine maps x = pixel/255, x̂ = (x − μ)/σ and
        z = W·x̂ + b fold into one, z = W'·pixel + b' with W' = W/(255σ), b' = b − W·(μ/σ): a batch
        then needs one conversion to float and one GEMM instead of four passes over its pixels
        (predicting 10,000 images with 784-256-256-10 gets 25-40% faster). Same values as the
        layer-by-layer forward up to float rounding (tests/test_model.py)."""
        for i, layer in enumerate(self.layers):
            if not isinstance(layer, layers_mod.Flatten):
                break
        else:
            return None
        std = self.layers[i]
        dense = self.layers[i + 1] if i + 1 < len(self.layers) else None
        if not (isinstance(std, layers_mod.Standardize) and std.adapted and isinstance(dense, layers_mod.Dense)
                and std.mean.shape == (dense.in_features,)):
            return None
        inv_std = 1 / float(std.std)
        W = dense.W.astype(np.float64)
        W_folded = (W * (PIXEL_SCALE * inv_std)).astype(self.dtype)
        b_folded = (dense.b - W @ (std.mean.reshape(-1) * inv_std)).astype(self.dtype)
        return i + 1, W_folded, b_folded

    def _forward_folded(self, x, i, W_folded, b_folded):
        h = x
        for layer in self.layers[:i - 1]:          # the Flattens
            h = layer.forward(h)
        if h.ndim != 2 or h.shape[1] != W_folded.shape[1]:
            return self.forward(self.prepare(x))     # not the rows the Dense expects: the plain path decides
        z = h.astype(self.dtype) @ W_folded.T
        z += b_folded
        for layer in self.layers[i + 1:]:
            z = layer.forward(z)
        return z

    def evaluate(self, x, y, batch_size: int = 10000):
        """(mean loss, accuracy) over the whole set, in evaluation mode."""
        y = np.asarray(y)
        loss_sum, correct = 0.0, 0
        for start, out in self._outputs(x, batch_size):
            yb = y[start:start + len(out)]
            loss_sum += self.loss.forward(out, yb) * len(out)
            if yb.ndim == 1:
                correct += int(np.count_nonzero(out.argmax(axis=1) == yb))
        return loss_sum / len(x), correct / len(x)

    def predict_proba(self, x, batch_size: int = 10000):
        """Class probabilities (N, K): softmax of the logits."""
        return np.concatenate([layers_mod.softmax(out) for _, out in self._outputs(x, batch_size)])

    def predict(self, x, batch_size: int = 10000):
        """Predicted class ids (N,): argmax of the logits."""
        return np.concatenate([out.argmax(axis=1) for _, out in self._outputs(x, batch_size)])

    # persistence ------------------------------------------------------------------------------
    def config(self) -> dict:
        return {"format": FORMAT, "version": FORMAT_VERSION, "dtype": self.dtype.name,
                "layers": [layer.config() for layer in self.layers], "loss": self.loss.config(),
                "input_shape": list(self.input_shape) if self.input_shape is not None else None,
                "history": self.history, "info": self.info}

    def _arrays(self) -> dict:
        arrays = {}
        for i, layer in enumerate(self.layers):
            for name in layer.param_names + getattr(layer, "buffer_names", ()):
                arrays[f"{i}.{name}"] = getattr(layer, name)
        return arrays

    def save(self, path) -> str:
        """Write the model to ``path`` (.npz: arrays + a JSON entry ``__config__``), atomically."""
        path = os.fspath(path)
        arrays = self._arrays()
        arrays["__config__"] = np.array(json.dumps(self.config()))
        directory = os.path.dirname(os.path.abspath(path))
        tmp = os.path.join(directory, f".{os.path.basename(path)}.{os.getpid()}.part")
        try:
            with open(tmp, "wb") as f:
                np.savez(f, **arrays)
            os.replace(tmp, path)
        except OSError as e:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise ModelFileError(f"{path}: cannot write model ({e.strerror or e})") from None
        return path

    def __repr__(self):
        inner = ",\n  ".join(repr(layer) for layer in self.layers)
        return f"Sequential([\n  {inner}\n], loss={type(self.loss).__name__}, dtype={self.dtype.name})"


def _forward_backward(model, x, y, weight=None):
    """One training step's forward and backward pass: (output, loss); the gradients land in the
    model's ``flat_grads``, those of ``weight``·loss if a weight is given."""
    out = model.forward(x)
    loss = model.loss.forward(out, y)
    grad = model.loss.backward()
    model.backward(grad if weight is None else grad * weight)
    return out, loss


def _splits(layer) -> bool:
    """Whether ``layer`` can train on a worker's part of a batch: its output depends on each sample
    alone, or it shares batch statistics with the other workers (``join``, as BatchNorm)."""
    return layer.per_sample or hasattr(layer, "join")


def _guarded(groups, fn, *args):
    """fn(*args) on a worker thread; if it fails, the other workers waiting in an ``AllSum`` are
    released (BrokenBarrierError) instead of waiting for ever."""
    try:
        return fn(*args)
    except BaseException:
        for group in groups:
            group.abort()
        raise


class AllSum:
    """Partial sums of the k workers of ``fit(workers=k)`` added up: each worker calls
    ``group(rank, a)`` with its part and gets the total, added in rank order, so every worker gets
    the same array. (A worker can run at most one call ahead of the others, since it then waits for
    them, so two sets of slots used in turn keep a call's parts until everyone has read them.)"""

    def __init__(self, k: int):
        self.slots = [[None] * k, [None] * k]
        self.calls = [0] * k
        self.barrier = threading.Barrier(k)

    def __call__(self, rank: int, part):
        slots = self.slots[self.calls[rank] % 2]
        self.calls[rank] += 1
        slots[rank] = part
        self.barrier.wait()
        total = slots[0].copy()
        for other in slots[1:]:
            total += other
        return total

    def abort(self):
        self.barrier.abort()


def _blas_threads() -> int:
    """How many threads NumPy's BLAS may use now (1 if threadpoolctl cannot tell)."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return 1
    return max((int(i.get("num_threads") or 1) for i in threadpool_info() if i.get("user_api") == "blas"), default=1)


def _one_blas_thread():
    """A context in which BLAS runs single-threaded (each worker thread is one core's worth)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


MAX_CONFIG_BYTES = 1 << 24


def load(path) -> Sequential:
    """Load a model saved by :meth:`Sequential.save`. No pickle: ``allow_pickle=False``.

    Raises :class:`ModelFileError` for a missing, corrupt or foreign file, or arrays whose
    shapes disagree with the saved architecture (checked before they are read).
    """
    path = os.fspath(path)

    def fail(problem):
        return ModelFileError(f"{path}: {problem}")

    if not os.path.isfile(path):
        raise fail("no such model file (make one with: numnet train --save model.npz)")
    try:
        with zipfile.ZipFile(path) as zf:
            sizes = {i.filename[:-4]: i.file_size for i in zf.infolist() if i.filename.endswith(".npy")}
        if "__config__" not in sizes:
            raise fail("not a numnet model (no __config__ entry)")
        if sizes["__config__"] > MAX_CONFIG_BYTES:
            raise fail("config entry too large")
        with np.load(path, allow_pickle=False) as npz:
            cfg = json.loads(str(npz["__config__"]))
            if not isinstance(cfg, dict) or cfg.get("format") != FORMAT:
                raise fail("not a numnet model (wrong format tag)")
            if cfg.get("version") != FORMAT_VERSION:
                raise fail(f"unsupported model format version {cfg.get('version')!r}")
            try:
                model = Sequential([layers_mod.from_config(c) for c in cfg["layers"]],
                                   loss=cfg["loss"]["type"], dtype=cfg["dtype"], seed=None)
            except (ConfigError, TypeError, ValueError, KeyError) as e:
                raise fail(f"invalid architecture ({e})") from None
            expected = model._arrays()
            if set(expected) != set(sizes) - {"__config__"}:
                missing = sorted(set(expected) - set(sizes))
                extra = sorted(set(sizes) - set(expected) - {"__config__"})
                raise fail(f"arrays disagree with the architecture (missing {missing}, unexpected {extra})")
            for key, target in expected.items():
                if sizes[key] > target.nbytes + 4096:
                    raise fail(f"array {key} is larger than its layer allows")
                arr = npz[key]
                if arr.shape != target.shape:
                    raise fail(f"array {key} has shape {arr.shape}, the architecture needs {target.shape}")
                if arr.dtype != target.dtype:
                    raise fail(f"array {key} has dtype {arr.dtype}, expected {target.dtype}")
                target[...] = arr
    except ModelFileError:
        raise
    except (zipfile.BadZipFile, OSError, ValueError, KeyError, TypeError, EOFError) as e:
        raise fail(f"corrupt or unreadable model file ({e.__class__.__name__}: {e})") from None
    model.input_shape = tuple(cfg["input_shape"]) if cfg.get("input_shape") else None
    model.history = list(cfg.get("history") or [])
    model.info = dict(cfg.get("info") or {})
    return model
