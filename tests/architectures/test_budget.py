"""Item 6 of issue 26: one allocation budget, computed from the layers' declared sizes before anything
is allocated. Parameters (recurrent and attention layers included) and one sample's values are checked
when a network is built; a training batch's pass (batch size × values per sample, attention scores
included) against ``MAX_BATCH_BYTES`` before the first step; inference chunks are sized from the same
walk (attention scores, not just outputs)."""
import resource
import tracemalloc

import pytest

import numnet
from numnet.architectures import build, check_batch
from numnet.errors import ConfigError
from numnet.inference.chunks import ACTIVATION_BUDGET, chunk_rows
from numnet.train.loop import fit

from ..helpers import assert_one_line, run_cli

#: 785 tokens of 64 features, 4 heads: attention scores 4·785² = 2.46M values a sample (within the
#: per-sample limit), about 40 MB a sample for a training pass in float32
ATTENTION = "patch(1,64)-pos-block(4,128)-cls-dense(10)"


def limit_memory(gigabytes=3):
    """A child's address space capped, so that a run the budget misses fails fast, not the machine."""
    def cap():
        resource.setrlimit(resource.RLIMIT_AS, (gigabytes << 30, gigabytes << 30))
    return cap


@pytest.mark.parametrize("spec", ["lstm(100000)-dense(10)", "gru(100000)-dense(10)", "rnn(100000)-dense(10)",
                                  "lstm(6000)-dense(10)", "patch(7,100000000)-cls-dense(10)",
                                  "patch(7,64)-block(1,100000000)-cls-dense(10)",
                                  "patch(1,256)-pos-block(8,256)-block(8,256)-cls-dense(10)"])
def test_big_sequence_layers_are_refused_before_allocating(spec):
    tracemalloc.start()
    try:
        with pytest.raises(ConfigError, match="more than the limit"):
            build(spec)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 1 << 20


def test_a_batch_over_the_budget_is_refused_in_one_line():
    # 200 samples × 40 MB: 7.4 GiB of activations; before the budget: a MemoryError traceback (or 8 GB)
    code, _, err = run_cli("train", "--arch", ATTENTION, "--batch-size", 200, "--limit", 200, "--epochs", 1,
                           timeout=120, preexec_fn=limit_memory())
    assert_one_line(code, err, "batch of 200", "GiB", "batch size of at most 26")


def test_fit_checks_the_batch_before_the_first_step(mnist):
    (x, y), _ = mnist
    model = numnet.Sequential(build(ATTENTION), seed=0)
    tracemalloc.start()
    try:
        with pytest.raises(ConfigError, match="batch size of at most 26"):
            fit(model, (x[:100], y[:100]), epochs=1, batch_size=100)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 16 << 20
    check_batch(model.layers, (28, 28), 26, 4)                # the largest batch that fits
    with pytest.raises(ConfigError):
        check_batch(model.layers, (28, 28), 27, 4)
    with pytest.raises(ConfigError, match="at most 13"):       # float64 takes twice the bytes
        check_batch(model.layers, (28, 28), 27, 8)


def test_inference_chunks_count_attention_scores():
    model = numnet.Sequential(build(ATTENTION), seed=0)
    rows = chunk_rows(model, (28, 28), 10_000)
    assert 1 <= rows and rows * 4 * 785 * 785 <= ACTIVATION_BUDGET     # before: 166 rows, 1.5 GiB of scores
