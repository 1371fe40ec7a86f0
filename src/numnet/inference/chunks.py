"""Inference in chunks: what ``predict``, ``predict_proba`` and ``evaluate`` run.

Two speed-ups around the plain forward pass, each giving the same values up to float rounding:
chunks sized so that no activation gets huge, and, for an MLP on uint8 pixels, the input scaling,
the standardisation and the first Dense folded into one GEMM (:func:`.frozen.folded_input_layer`).
A forward pass whose arithmetic overflows (finite but enormous weights: every z = ±inf, which a
ReLU turns into a confident-looking answer) is a :class:`~numnet.errors.NonFiniteError`, never a result.
"""
from __future__ import annotations

import copy
import math
import threading
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, nullcontext

import numpy as np

from ..errors import NonFiniteError
from ..layers.base import twin as twin_layer
from ..layers.sizes import SHAPE_ERRORS, walk
from .frozen import Frozen

#: inference chunks hold at most this many values of the largest activation (32 MiB in float32)
ACTIVATION_BUDGET = 1 << 23
#: from this many samples on, ``outputs`` runs its chunks on every BLAS thread at once
PARALLEL_ROWS = 512


def chunk_rows(model, sample_shape, batch_size):
    """Rows per inference chunk: ``batch_size``, or fewer where the most values a sample occupies in
    one layer (``values_per_sample`` in the walk of :mod:`numnet.layers.sizes`: an output, a
    convolution's windows, attention's scores) is big. A CNN's first feature maps for 10,000 images
    would take 0.7 GB, and the passes over them would cost more than the convolutions (evaluating
    MNIST's test set with the `cnn` preset: 3.5 s in one chunk, 1 s in chunks of a few hundred)."""
    largest = math.prod(sample_shape)
    try:
        for size in walk(model.layers, sample_shape):
            largest = max(largest, size.values)
    except SHAPE_ERRORS:
        return batch_size          # the forward pass will say what is wrong with the input
    return max(1, min(batch_size, ACTIVATION_BUDGET // max(largest, 1)))


@contextmanager
def finite_arithmetic():
    """NumPy's overflow and invalid operations (inf − inf, 0·inf) raised as NonFiniteError inside."""
    try:
        with np.errstate(over="raise", invalid="raise"):
            yield
    except FloatingPointError as e:
        raise NonFiniteError(f"the model's forward pass overflowed ({e}): its weights are too large for a "
                             "finite answer") from None


def outputs(model, x, batch_size=10000, workers=None):
    """(start, output) for each chunk of ``x``, in order, in evaluation mode. With ``workers`` > 1
    (None: one per BLAS thread, for ``PARALLEL_ROWS`` samples or more) the chunks go through
    ``workers`` threads at once (:func:`parallel_outputs`)."""
    model.eval()
    x = np.asarray(x)
    if len(x) > 256:                  # small inputs go in one piece (and skip the shape walk's ~30 µs)
        batch_size = chunk_rows(model, x.shape[1:], batch_size)
    # folding costs about a third of a millisecond, repaid from about 300 images on
    plan = None
    if x.dtype == np.uint8 and len(x) >= 1024:
        plan = Frozen(model, snapshot=False)
        plan = plan if plan.folded else None
    if plan is None:
        k = (blas_threads() if len(x) >= PARALLEL_ROWS else 1) if workers is None else int(workers)
        if k > 1 and len(x) > 1:
            yield from parallel_outputs(model, x, min(batch_size, -(-len(x) // k)), k)
            return
    for start in range(0, len(x), batch_size):
        xb = x[start:start + batch_size]
        with finite_arithmetic():
            out = model.forward(model.prepare(xb)) if plan is None else plan.forward(xb)
        yield start, out


def parallel_outputs(model, x, rows: int, workers: int):
    """(start, output) for each chunk of ``rows`` samples of ``x``, in order, the chunks computed on
    ``workers`` threads at once, each thread with its own twin of the model (the same parameter
    arrays, its own caches: ``layers.base.twin``) and BLAS on one thread meanwhile. NumPy's GEMMs use
    every core but the element-wise passes between them (im2col, pooling, a recurrent layer's gates,
    softmax) one: whole chunks side by side keep both busy, and no thread waits on another inside a
    chunk. Each chunk's values are those of ``model.forward`` on that chunk with one BLAS thread."""
    local = threading.local()

    def run(start):
        twin = getattr(local, "model", None)
        if twin is None:
            twin = local.model = copy.copy(model)
            twin.layers = [twin_layer(layer) for layer in model.layers]
        with finite_arithmetic():
            return twin.forward(twin.prepare(x[start:start + rows]))

    with one_blas_thread(), ThreadPoolExecutor(workers, thread_name_prefix="numnet-inference") as pool:
        futures = [(start, pool.submit(run, start)) for start in range(0, len(x), rows)]
        try:
            for start, future in futures:
                yield start, future.result()
        finally:
            for _, future in futures:
                future.cancel()


def blas_threads() -> int:
    """How many threads NumPy's BLAS may use now (1 if threadpoolctl cannot tell)."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return 1
    return max((int(i.get("num_threads") or 1) for i in threadpool_info() if i.get("user_api") == "blas"), default=1)


def one_blas_thread():
    """A context in which NumPy's BLAS runs on one thread (each worker thread is a core's worth)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return nullcontext()
    return threadpool_limits(limits=1, user_api="blas")
