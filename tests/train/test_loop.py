"""One loop (issue 23): ``numnet.train.fit`` takes at most 8 parameters; what were its options are
callbacks and model wrappers, each doing one job; ``Sequential.fit``'s keyword options give the same
run as the loop with the equivalent pieces."""
import inspect

import numpy as np
import pytest

import numnet
from numnet import schedules
from numnet.data import augment
from numnet.train import (
    Augment,
    Callback,
    Checkpoint,
    DivergenceGuard,
    EvaluateFirst,
    Iterations,
    Parallel,
    Schedule,
    TrainStep,
    Validation,
    fit,
)
from numnet.train.options import split_validation
from numnet.train.transfer import Restricted


def data(n=300, seed=0):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (n, 28, 28), dtype=np.uint8), rng.integers(0, 10, n)


def model(seed=0, dtype=np.float32):
    return numnet.Sequential(numnet.mlp((16,)), seed=seed, dtype=dtype)


class Spy(Callback):
    """Records the step and learning rate each batch ends with, and each epoch entry."""

    def __init__(self):
        self.steps, self.lrs, self.epochs = [], [], []

    def on_batch_end(self, run):
        self.steps.append(run.step)
        self.lrs.append(run.optimizer.lr)

    def on_epoch_end(self, run, entry):
        self.epochs.append(entry["epoch"])


def test_fit_takes_at_most_eight_parameters_and_no_catch_alls():
    params = inspect.signature(fit).parameters.values()
    assert len(params) <= 8
    assert all(p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL) for p in params)


def test_a_schedule_callback_sets_the_learning_rate_of_every_step():
    x, y = data()
    schedule = schedules.get("onecycle", 1e-2)
    spy = Spy()
    fit(model(), (x, y), numnet.Adam(1e-2), epochs=2, batch_size=50, callbacks=[Schedule(schedule), spy])
    assert spy.steps == list(range(1, 13))
    assert spy.lrs == [schedule(k, 12) for k in range(12)]


def test_iterations_set_the_run_length_and_the_schedule_spans_them():
    x, y = data()
    spy = Spy()
    history = fit(model(), (x, y), "sgd", batch_size=100, order="with-replacement",
                  callbacks=[Iterations(7), Schedule(lambda step, total: 0.1 * (1 - step / total)), spy])
    assert spy.steps == list(range(1, 8)) and [e["epoch"] for e in history] == [1, 2, 3]
    assert spy.lrs[-1] == pytest.approx(0.1 / 7)


def test_the_checkpoint_callback_writes_a_loadable_file_every_epoch(tmp_path):
    x, y = data()
    path = tmp_path / "ck.npz"
    seen = []

    class LoadIt(Callback):
        def on_epoch_end(self, run, entry):
            if entry["epoch"] == 0:                  # epoch 0 is reported, not saved
                assert not path.exists()
                return
            saved = numnet.load(path)
            seen.append(saved.training_state["epoch"])
            np.testing.assert_array_equal(saved.flat_params, run.model.flat_params)

    net = model()
    fit(net, (x, y), "adam", epochs=3, batch_size=100, callbacks=[EvaluateFirst(), Checkpoint(path), LoadIt()])
    assert seen == [1, 2, 3]
    assert [e["epoch"] for e in net.history] == [0, 1, 2, 3]


def test_the_divergence_guard_raises_on_a_nan_loss_and_on_a_non_finite_parameter():
    x, y = data()

    def nan_loss(net, xb, yb):
        out, _ = numnet.train.backprop(net, xb, yb)
        return out, float("nan")

    with pytest.raises(numnet.Diverged, match=r"diverged at epoch 1, step 1: loss nan"):
        fit(TrainStep(model(), nan_loss), (x, y), callbacks=[DivergenceGuard()])
    fit(TrainStep(model(), nan_loss), (x, y))                    # no guard, no check: the loop itself is plain

    class Poison(Callback):
        def on_batch_end(self, run):
            if run.seen == run.samples:              # after the epoch's last step: the loss was finite
                run.model.flat_params[0] = np.inf

    net = model()
    with pytest.raises(numnet.Diverged, match="diverged at epoch 1, step 10: a parameter is not finite"):
        fit(net, (x, y), callbacks=[Poison(), DivergenceGuard()])
    assert net.history == [] and net.training_state is None          # the bad epoch is not recorded


def test_batch_hooks_are_called_only_on_callbacks_that_override_them():
    x, y = data(50)
    spy, validation, plain = Spy(), Validation(x, y), Callback()
    calls = []

    def listener(event, **info):
        calls.append(event)

    run_hooks = {}

    class Peek(Callback):
        def on_train_begin(self, run):
            run_hooks.update({k: len(v) for k, v in run.hooks.items()})

    fit(model(), (x, y), epochs=1, batch_size=10, callbacks=[spy, validation, plain, listener, Peek()])
    assert run_hooks["on_batch_begin"] == 0 and run_hooks["on_batch_end"] == 2      # spy and the listener
    assert run_hooks["on_epoch_end"] == 3 and calls.count("epoch") == 1 and calls[-1] == "end"


def test_sequential_fit_options_give_the_same_run_as_the_loop_with_the_equivalent_pieces(mnist):
    (x, y), _ = mnist
    x, y = x[:600], y[:600]
    shift = augment.get("shift")
    old = model(seed=1)
    old.fit(x, y, epochs=2, batch_size=50, optimizer=numnet.AdamW(3e-3), validation_split=0.2, seed=7,
            augment=shift, schedule=schedules.get("cosine", 3e-3))
    new = model(seed=1)
    (xa, ya), (xv, yv) = split_validation(x, y, 0.2, seed=7)
    fit(new, (xa, ya), numnet.AdamW(3e-3), epochs=2, batch_size=50, seed=7,
        callbacks=[EvaluateFirst(), DivergenceGuard(), Validation(xv, yv), Augment(shift),
                   Schedule(schedules.get("cosine", 3e-3))])
    np.testing.assert_array_equal(new.flat_params, old.flat_params)
    timings = ("seconds", "eval_seconds")
    strip = [{k: v for k, v in e.items() if k not in timings} for e in old.history]
    assert [{k: v for k, v in e.items() if k not in timings} for e in new.history] == strip
    assert new.training_state["rng"] == old.training_state["rng"]


def test_orders_and_a_restricted_optimizer_on_two_workers():
    x, y = data()
    a, b = model(dtype=np.float64), model(dtype=np.float64)
    fit(a, (x, y), Restricted(numnet.SGD(0.1), a, clip_norm=0.5), batch_size=50, order="in-order")
    fit(Parallel(b, 2), (x, y), Restricted(numnet.SGD(0.1), b, clip_norm=0.5), batch_size=50, order="in-order")
    np.testing.assert_allclose(b.flat_params, a.flat_params, rtol=1e-9, atol=1e-12)
    assert b.info["workers"] == 2 and a.info["workers"] == 1
    with pytest.raises(numnet.ConfigError, match="order must be"):
        fit(model(), (x, y), order="bootstrap")


def test_each_epoch_says_its_training_and_its_evaluation_seconds_apart():
    """issue 25: where time goes, visible. ``seconds`` are the training steps alone; the evaluations
    (epoch 0's train figures, the held-out set after every epoch) go to ``eval_seconds``."""
    x, y = data()
    m = model()
    m.fit(x[:200], y[:200], epochs=2, batch_size=50, validation_data=(x[200:], y[200:]))
    assert [e["epoch"] for e in m.history] == [0, 1, 2]
    assert m.history[0]["seconds"] == 0 and m.history[0]["eval_seconds"] > 0
    assert all(e["seconds"] > 0 and e["eval_seconds"] > 0 for e in m.history[1:])
