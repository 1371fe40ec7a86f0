"""Data-parallel training on every core: ``fit(workers=k)``.

NumPy runs its GEMMs on all cores but every element-wise pass (im2col, pooling, ReLU, col2im) on
one. So each batch is split into k nearly equal parts that go forward and backward at once on k
threads, each through a *twin* of the model (the same parameter arrays, its own caches and its own
gradient buffer), with BLAS on one thread per worker meanwhile. Each part scales its dL/d(output)
by its share of the batch (part size / batch size), so the parts' gradients simply add up to the
whole batch's: the same step as one worker up to float rounding.

Layers and optimizers know nothing of threads; this module wraps them, as PyTorch's
DistributedDataParallel and SyncBatchNorm wrap plain modules:
- a layer that needs statistics of the whole batch (BatchNorm) gets, on every worker, a
  ``batch_sum`` that adds up the workers' partial sums through an :class:`AllSum` barrier;
- a large optimizer step is done in k slices at once (``Optimizer.apply`` on a slice of a parameter
  and the same slice of its state is the same computation).
"""
from __future__ import annotations

import contextlib
import copy
import threading

import numpy as np

from ..errors import ConfigError
from ..inference.chunks import blas_threads, one_blas_thread
from ..layers.base import twin as twin_layer
from ..optim import Optimizer
from .gradients import backprop

#: slices of fewer entries are not worth a thread in a sliced optimizer step
MIN_PART = 1 << 16


def splits(layer) -> bool:
    """Whether ``layer`` (and each of its children) can train on a worker's part of a batch: its
    output depends on each sample alone, or its batch statistics can be summed over the workers
    (``batch_sum``, as BatchNorm)."""
    return all(sub.per_sample or sub.batch_sum is not None for _, sub in layer.named_layers())


#: the layers whose networks train on every core by default: their steps are long enough to share,
#: or (recurrent layers) made of many small GEMMs that multi-threaded BLAS runs badly on a busy machine
SHARED_STEPS = ("Conv2D", "RNN", "LSTM", "GRU", "TransformerEncoderBlock", "MultiHeadSelfAttention")


def auto_workers(model, batch_size: int, gradient="backprop") -> int:
    """The default of ``fit(workers=None)``: as many workers as BLAS has threads (at most one per
    16 samples of a batch) for convolutional, recurrent and attention networks; 1 for MLPs (their
    steps take a millisecond or two, about what handing work to threads costs) and for numerical
    gradients. On 2 cores a step of the `cnn` preset (batch 64) takes 19 ms with one worker and
    12-14 ms with two; one of `cnn-best` (batch 128, BatchNorm) 57 and 42 ms; `vit` 50 and 31 ms.
    The recurrent presets are level on a quiet machine (`gru` 6.0-6.4 ms against 6.4-6.6, `rnn` 2.8
    against 3.1-3.9), but with other work on the cores one worker whose BLAS runs the 28 small
    GEMMs of every time step on two threads took 27-700 ms a step, two workers on one BLAS thread
    each 5-22 ms."""
    if (gradient != "backprop" or not any(type(layer).__name__ in SHARED_STEPS for layer in model.layers)
            or not all(map(splits, model.layers))):
        return 1
    return max(1, min(blas_threads(), batch_size // 16))


def check_workers(model, workers, batch_size: int, gradient="backprop") -> int:
    """``workers`` validated (None: ``auto_workers``)."""
    if workers is None:
        return auto_workers(model, batch_size, gradient)
    if isinstance(workers, bool) or not isinstance(workers, (int, np.integer)) or workers < 1:
        raise ConfigError(f"workers must be a positive integer, got {workers!r}")
    if workers > 1:
        if gradient != "backprop":
            raise ConfigError("numerical gradients run on one worker (workers=1)")
        whole = next((layer for layer in model.layers if not splits(layer)), None)
        if whole is not None:
            raise ConfigError(f"{type(whole).__name__} needs the whole batch: train it with one worker "
                              f"(workers=1)")
    return int(workers)


def twin(model):
    """A copy of ``model`` for another worker thread: the same parameter arrays and saved state,
    its own layer caches, scratch buffers and random generators (seeded from the originals'), and
    its own gradient buffer."""
    other = copy.copy(model)
    other.layers = [twin_layer(layer) for layer in model.layers]
    other.loss = copy.copy(model.loss)
    other.flat_grads = np.zeros_like(model.flat_grads)
    for layer, params, grads in zip(other.layers, other._views(other.flat_params), other._views(other.flat_grads)):
        layer.bind(params, grads)          # the same parameter memory, its own gradient buffer
    return other


class AllSum:
    """Partial sums of the k workers added up: each worker calls ``group(rank, *parts)`` with its
    parts and gets the totals, added in rank order, so every worker gets the same arrays. The parts
    travel packed in one float64 array (one barrier per call). (A worker can run at most one call
    ahead of the others, since it then waits for them, so two sets of slots used in turn keep a
    call's parts until everyone has read them.)"""

    def __init__(self, k: int):
        self.slots = [[None] * k, [None] * k]
        self.calls = [0] * k
        self.barrier = threading.Barrier(k)

    def __call__(self, rank: int, *parts):
        arrays = [np.asarray(p) for p in parts]
        packed = np.concatenate([a.astype(np.float64, copy=False).reshape(-1) for a in arrays])
        slots = self.slots[self.calls[rank] % 2]
        self.calls[rank] += 1
        slots[rank] = packed
        self.barrier.wait()
        total = slots[0].copy()
        for other in slots[1:]:
            total += other
        out, at = [], 0
        for a in arrays:
            out.append(total[at:at + a.size].reshape(a.shape).astype(a.dtype, copy=False))
            at += a.size
        return out

    def abort(self):
        self.barrier.abort()


class DataParallel:
    """k workers for ``fit``: this thread drives ``model`` and k − 1 threads drive its twins.

    ``forward_backward(x, y)`` does one step's passes over the batch's parts; ``step(optimizer)``
    the optimizer step in slices; ``close()`` (or the ``with`` block) ends it all and leaves the
    model as it was (no shared statistics, no threads)."""

    def __init__(self, model, workers: int):
        from concurrent.futures import ThreadPoolExecutor

        self.model, self.k = model, workers
        self.twins = [twin(model) for _ in range(workers - 1)]
        self.groups, self.synced = [], []
        trees = [m.named_layers() for m in (model, *self.twins)]
        for i, (_, layer) in enumerate(trees[0]):
            if not layer.per_sample:                 # BatchNorm: statistics summed over the workers
                group = AllSum(workers)
                for rank, tree in enumerate(trees):
                    tree[i][1].batch_sum = _RankedSum(group, rank)
                    self.synced.append(tree[i][1])
                self.groups.append(group)
        self.pool = ThreadPoolExecutor(workers - 1, thread_name_prefix="numnet-worker")
        self.blas = contextlib.ExitStack()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def one_blas_thread(self):
        """For the training steps: BLAS on one thread (each worker thread is one core's worth)."""
        self.blas.enter_context(one_blas_thread())

    def all_blas_threads(self):
        self.blas.close()

    def close(self):
        self.blas.close()
        for group in self.groups:            # e.g. after Ctrl-C: no worker may stay at a barrier
            group.abort()
        self.pool.shutdown(cancel_futures=True)
        for layer in self.synced:
            layer.__dict__.pop("batch_sum", None)

    def _guarded(self, model, x, y, weight):
        """backprop on a worker; if it fails, the other workers waiting in an ``AllSum`` are released
        (BrokenBarrierError) instead of waiting for ever."""
        try:
            with np.errstate(over="ignore", invalid="ignore"):     # as fit's own thread: divergence is checked
                return backprop(model, x, y, weight)
        except BaseException:
            for group in self.groups:
                group.abort()
            raise

    def forward_backward(self, x, y):
        """(output, loss) of the whole batch, its gradient in ``model.flat_grads``: k nearly equal
        parts, this thread taking the first and the twins the others."""
        model, twins, m, k = self.model, self.twins, len(x), self.k
        if m < k:                  # fewer samples than workers: this thread alone, on its own statistics
            saved = {l: l.__dict__.pop("batch_sum") for _, l in model.named_layers() if "batch_sum" in l.__dict__}
            try:
                return backprop(model, x, y)
            finally:
                for l, batch_sum in saved.items():
                    l.batch_sum = batch_sum
        edges = [m * i // k for i in range(k + 1)]
        weights = [(b - a) / m for a, b in zip(edges, edges[1:])]
        futures = [self.pool.submit(self._guarded, t, x[a:b], y[a:b], w)
                   for t, a, b, w in zip(twins, edges[1:], edges[2:], weights[1:])]
        try:
            results = [self._guarded(model, x[:edges[1]], y[:edges[1]], weights[0])] + [f.result() for f in futures]
        except threading.BrokenBarrierError:
            # a worker failed and released the others: report its error, not the broken barrier
            errors = [f.exception() for f in futures]
            raise next((e for e in errors if e is not None and not isinstance(e, threading.BrokenBarrierError)),
                       None) or threading.BrokenBarrierError() from None
        for t in twins:
            model.flat_grads += t.flat_grads
        loss = sum(w * part_loss for w, (_, part_loss) in zip(weights, results))
        return np.concatenate([out for out, _ in results]), loss

    def step(self, opt, params, grads):
        """The optimizer step, large parameters in k slices on the worker threads (``sliced_step``)."""
        sliced_step(opt, params, grads, self.pool, self.k)


def sliced_step(opt, params, grads, pool, parts: int):
    """``opt.step(params, grads)`` with each large parameter updated in ``parts`` slices at once on
    ``pool``'s threads, this thread taking the first: the update is element-wise, so the values are
    the same bit for bit. An optimizer with a ``step`` of its own steps as it is."""
    if not isinstance(opt, Optimizer) or type(opt).step is not Optimizer.step:
        return opt.step(params, grads)
    opt.t += 1
    for i, (p, g) in enumerate(zip(params, grads)):
        s = opt.state_for(i, p)
        if p.size < MIN_PART * parts or not (p.flags.c_contiguous and g.flags.c_contiguous):
            opt.apply(p, g, s)
            continue
        edges = [p.size * j // parts for j in range(parts + 1)]
        jobs = [(p.reshape(-1)[a:b], g.reshape(-1)[a:b], {n: v.reshape(-1)[a:b] for n, v in s.items()})
                for a, b in zip(edges, edges[1:])]
        futures = [pool.submit(_quiet, opt.apply, *job) for job in jobs[1:]]
        opt.apply(*jobs[0])
        for f in futures:
            f.result()


def _quiet(fn, *args):
    with np.errstate(over="ignore", invalid="ignore"):
        return fn(*args)


class _RankedSum:
    """A worker's ``batch_sum``: its partial sums added to the other workers' through the group."""

    def __init__(self, group, rank):
        self.group, self.rank = group, rank

    def __call__(self, *parts):
        return self.group(self.rank, *parts)
