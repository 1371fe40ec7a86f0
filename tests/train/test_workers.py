"""Data-parallel training: fit(workers=k) splits each batch over k threads and averages the gradients."""
import numpy as np
import pytest
from threadpoolctl import threadpool_info, threadpool_limits

import numnet
from numnet import ConfigError, Sequential
from numnet.architectures import build
from numnet.train.parallel import DataParallel, auto_workers, check_workers, twin

SMALL_CNN = "conv(4,3)-pool(2)-relu-conv(6,3)-relu-flatten-dense(16)-relu-dropout(0.2)-dense(10)"


def cnn(seed=0):
    return Sequential(build(SMALL_CNN, input_shape=(28, 28)), seed=seed)


def train(model, data, workers, batch_size=50, n=600, optimizer="sgd", **kw):
    (x, y), _ = data
    model.fit(x[:n], y[:n], epochs=1, batch_size=batch_size, optimizer=numnet.optim.get(optimizer, 0.05),
              seed=1, workers=workers, **kw)
    return model


def blas_threads():
    return [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]


@pytest.mark.parametrize("spec", ["conv(4,3)-pool(2)-relu-flatten-dense(10)",
                                  "conv(4,3)-bn-pool(2)-relu-flatten-dense(8)-bn-relu-dense(10)"])
@pytest.mark.parametrize("workers, batch_size", [(2, 50), (3, 50), (2, 37), (4, 9)])
def test_parallel_step_is_the_serial_step_up_to_rounding(mnist, spec, workers, batch_size):
    """The same first step: the gradient of the whole batch is the size-weighted mean of the parts';
    BatchNorm's statistics are those of the whole batch (the workers add up their partial sums)."""
    (x, y), _ = mnist
    xb = (x[:batch_size] / 255).astype(np.float64)
    model = Sequential(build(spec, input_shape=(28, 28)), seed=0, dtype=np.float64)
    model.train()
    out, loss = model.forward(xb), None
    loss = model.loss.forward(out, y[:batch_size])
    model.backward(model.loss.backward())
    serial = model.flat_grads.copy()
    with DataParallel(model, workers) as engine:
        out_p, loss_p = engine.forward_backward(xb, y[:batch_size])
    np.testing.assert_allclose(out_p, out, rtol=1e-10, atol=1e-10)
    assert loss_p == pytest.approx(loss, rel=1e-10)
    np.testing.assert_allclose(model.flat_grads, serial, rtol=1e-8, atol=1e-10 * np.abs(serial).max())
    assert np.abs(serial).max() > 0


def test_batchnorm_running_statistics_are_the_whole_batch_ones(mnist):
    (x, y), _ = mnist
    spec = "conv(4,3)-bn-relu-flatten-dense(10)"
    one = train(Sequential(build(spec, input_shape=(28, 28)), seed=0), mnist, workers=1, n=300)
    two = train(Sequential(build(spec, input_shape=(28, 28)), seed=0), mnist, workers=2, n=300)
    np.testing.assert_allclose(two.layers[2].running_mean, one.layers[2].running_mean, rtol=1e-3, atol=1e-5)
    np.testing.assert_allclose(two.layers[2].running_var, one.layers[2].running_var, rtol=1e-3, atol=1e-5)
    assert "batch_sum" not in vars(two.layers[2])           # fit leaves the group


def test_last_batch_smaller_than_the_workers_and_a_failing_worker(mnist):
    (x, y), _ = mnist
    model = Sequential(build("conv(4,3)-bn-relu-flatten-dense(10)", input_shape=(28, 28)), seed=0)
    model.fit(x[:41], y[:41], epochs=1, batch_size=20, workers=3)     # batches of 20, 20 and 1
    assert model.info["workers"] == 3

    class Sentinel(numnet.layers.Layer):
        """The identity, except that it fails on a sample holding the value −7."""

        def forward(self, x):
            if (x == -7).any():
                raise ValueError("sentinel sample")
            return x

        def backward(self, grad):
            return grad

    model = Sequential([Sentinel(), *build("conv(4,3)-bn-relu-flatten-dense(10)", input_shape=(28, 28))], seed=0)
    bad_x = (x[:40] / 255).astype(np.float32)
    bad_x[35, 3, 3] = -7                  # in the second worker's part of the batch
    with pytest.raises(ValueError, match="sentinel"):    # the worker's own error, raised here instead of hanging
        model.fit(bad_x, y[:40], epochs=1, batch_size=40, workers=2, epoch0=False)


def test_training_with_two_workers_follows_one_worker(mnist):
    # without dropout the two runs differ by float rounding only
    spec = "conv(4,3)-pool(2)-relu-flatten-dense(10)"
    one = train(Sequential(build(spec, input_shape=(28, 28)), seed=0), mnist, workers=1)
    two = train(Sequential(build(spec, input_shape=(28, 28)), seed=0), mnist, workers=2)
    moved = np.abs(one.flat_params - Sequential(build(spec, input_shape=(28, 28)), seed=0).flat_params).max()
    assert np.abs(one.flat_params - two.flat_params).max() < 1e-3 * moved
    assert one.info["workers"] == 1 and two.info["workers"] == 2


def test_same_seed_same_workers_same_result(mnist):
    a = train(cnn(), mnist, workers=2)
    b = train(cnn(), mnist, workers=2)
    np.testing.assert_array_equal(a.flat_params, b.flat_params)
    assert a.history[-1]["train_loss"] == b.history[-1]["train_loss"]


def test_workers_keep_their_own_caches_and_share_the_parameters():
    model = cnn()
    other = twin(model)
    for a, b in zip(model.layers, other.layers):
        assert a is not b
        for name in a.param_names:
            assert np.shares_memory(getattr(a, name), getattr(b, name))     # the same parameters
            assert not np.shares_memory(getattr(a, "d" + name), getattr(b, "d" + name))
    assert model.layers[1]._scratch is not other.layers[1]._scratch         # own im2col buffers
    drop_a, drop_b = model.layers[-2], other.layers[-2]
    assert drop_a.rng is not drop_b.rng
    assert not np.array_equal(drop_a.rng.random(8), drop_b.rng.random(8))  # other masks


def test_blas_runs_one_thread_per_worker_while_training_and_is_restored_after(mnist):
    (x, y), (xt, yt) = mnist
    during = []
    with threadpool_limits(2, user_api="blas"):
        before = blas_threads()
        cnn().fit(x[:200], y[:200], epochs=2, batch_size=50, workers=2, validation_data=(xt[:50], yt[:50]),
                  progress=lambda event, **e: during.extend(blas_threads()) if event == "batch" else None)
        assert blas_threads() == before and set(before) == {2}
    assert set(during) == {1}


def test_auto_workers():
    conv = cnn()
    with threadpool_limits(2, user_api="blas"):
        assert auto_workers(conv, 64) == 2
        assert auto_workers(conv, 16) == 1                       # too small a batch to share
        assert auto_workers(conv, 64, gradient="numerical") == 1
        assert auto_workers(Sequential(numnet.mlp((16,))), 64) == 1          # MLP steps are too short
        with_bn = Sequential(build("conv(4,3)-bn-relu-flatten-dense(10)", input_shape=(28, 28)))
        assert auto_workers(with_bn, 64) == 2                    # BatchNorm shares its statistics
    with threadpool_limits(1, user_api="blas"):
        assert auto_workers(conv, 64) == 1


def test_bad_workers_are_refused(mnist):
    with pytest.raises(ConfigError, match="positive integer"):
        check_workers(cnn(), 0, 64)
    with pytest.raises(ConfigError, match="positive integer"):
        check_workers(cnn(), 1.5, 64)
    with pytest.raises(ConfigError, match="numerical"):
        check_workers(cnn(), 2, 64, gradient="numerical")

    class WholeBatch(numnet.layers.Layer):
        per_sample = False                # needs the whole batch and cannot share statistics

        def forward(self, x):
            return x - x.mean(axis=0)

        def backward(self, grad):
            return grad - grad.mean(axis=0)

    with pytest.raises(ConfigError, match="WholeBatch needs the whole batch"):
        train(Sequential([*build("flatten-dense(10)", input_shape=(28, 28)), WholeBatch()]), mnist, workers=2)


def test_cli_workers_option(tmp_path, capsys):
    import json

    from numnet.cli import main
    code = main(["train", "--arch", "conv(4,3)-pool(2)-relu-flatten-dense(10)", "--epochs", "2", "--limit", "1000",
                 "--batch-size", "50", "--workers", "2", "--json"])
    assert code == 0
    result = json.loads(capsys.readouterr().out)
    assert result["workers"] == 2 and result["test_accuracy"] > 0.5
    with pytest.raises(SystemExit) as exit_:
        main(["train", "--model", "cnn", "--workers", "0", "--limit", "100", "--json"])
    assert exit_.value.code == 2 and "--workers" in capsys.readouterr().err


def test_a_callback_that_evaluates_the_model_does_not_stop_training_mode(mnist):
    """progress callbacks may call predict (eval mode): every step still trains, on every worker."""
    import faulthandler

    (x, y), _ = mnist
    model = Sequential(build("conv(4,3)-bn-relu-flatten-dropout(0.2)-dense(10)", input_shape=(28, 28)), seed=0)
    modes = []

    def callback(event, **info):
        model.predict(x[:10])
        modes.append(model.layers[2].training)

    faulthandler.dump_traceback_later(120, exit=True)        # a hang fails the test run instead of blocking it
    try:
        model.fit(x[:200], y[:200], epochs=2, batch_size=50, workers=2, progress=callback)
    finally:
        faulthandler.cancel_dump_traceback_later()
    assert modes and not any(modes)                          # the callback did see eval mode ...
    assert [e["epoch"] for e in model.history] == [0, 1, 2]  # ... and training went on (0: before training)


def test_fit_calls_a_custom_optimizer_step_with_two_arguments(mnist):
    (x, y), _ = mnist
    calls = []

    class Plain(numnet.SGD):
        def step(self, params, grads):                       # the pre-workers signature
            calls.append(len(params))
            super().step(params, grads)

    Sequential(numnet.mlp((8,))).fit(x[:100], y[:100], batch_size=50, optimizer=Plain(0.1))
    assert calls == [1, 1]
