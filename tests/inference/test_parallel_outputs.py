"""Parallel inference (``inference.chunks.parallel_outputs``): chunks on several threads give the
outputs of one thread, in order, for every layer kind with per-pass caches; a worker's error reaches
the caller; BLAS gets its threads back."""
import numpy as np
import pytest

import numnet
from numnet import Sequential
from numnet.errors import NonFiniteError
from numnet.inference import chunks

SPECS = {"cnn": "conv(4,3)-bn-pool(2)-relu-flatten-dropout(0.3)-dense(10)",
         "lstm": "standardize-lstm(12)-dense(10)",
         "vit": "patch(7,16)-pos-block(2,32)-ln-cls-dense(10)"}


@pytest.fixture(scope="module", params=sorted(SPECS))
def model(request, mnist):
    (x, y), _ = mnist
    m = Sequential(numnet.architectures.build(SPECS[request.param], (28, 28), 10), seed=0)
    m.fit(x[:256], y[:256], epochs=1, batch_size=64)
    return m


def test_parallel_chunks_equal_one_thread_in_order(model, mnist):
    _, (xt, _) = mnist
    x = xt[:1100]
    one = list(chunks.outputs(model, x, workers=1))
    two = list(chunks.outputs(model, x, batch_size=300, workers=2))
    assert [s for s, _ in two] == [0, 300, 600, 900]
    np.testing.assert_allclose(np.concatenate([o for _, o in two]), np.concatenate([o for _, o in one]),
                               rtol=1e-5, atol=1e-5)
    assert model.predict(x).shape == (1100,)          # the default path (parallel from PARALLEL_ROWS on)


def test_a_workers_error_reaches_the_caller_and_blas_gets_its_threads_back(model, mnist):
    _, (xt, _) = mnist
    before = chunks.blas_threads()
    saved = model.flat_params.copy()
    model.flat_params[...] = np.float32(3e38)             # finite weights whose products overflow
    try:
        with pytest.raises(NonFiniteError):
            list(chunks.outputs(model, xt[:600], batch_size=200, workers=2))
    finally:
        model.flat_params[...] = saved
    assert chunks.blas_threads() == before
