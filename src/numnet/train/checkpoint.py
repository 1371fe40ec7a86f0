"""Checkpoints: save the run after every epoch, and resume it bit for bit.

After every epoch ``fit`` records where the run stands in ``model.training_state`` (epoch, step,
seed, batch size, sample count, the state of the run's generator and of every layer's generator);
:class:`Checkpoint` saves the model with it, :class:`Resume` puts it back.
"""
from __future__ import annotations

from ..errors import ConfigError
from ..io.serialize import save
from .callbacks import Callback
from .gradients import rng_states, set_rng_states


class Checkpoint(Callback):
    """After every epoch (not epoch 0), save the model to ``path`` (atomically): its parameters, the
    optimizer's state and ``training_state``. Put it after the callbacks that complete the history entry
    (validation) and before those that may stop the run."""

    def __init__(self, path):
        self.path = path

    def on_epoch_end(self, run, entry):
        if entry["epoch"]:
            save(run.model, self.path)


class Resume(Callback):
    """Continue the run recorded in ``model.training_state`` (a model loaded from a checkpoint): the
    epochs done, the step, the run's generator and the layers' generators as they were, so the result is
    bit for bit that of the uninterrupted run (with one worker). ``epochs`` is then the run's total."""

    def on_train_begin(self, run):
        state = getattr(run.model, "training_state", None)
        if not state:
            raise ConfigError("nothing to resume: the model carries no training state (train with a checkpoint)")
        if state["batch_size"] != run.batch_size or state["samples"] != run.samples:
            raise ConfigError(f"resume with the run's batch size {state['batch_size']} and {state['samples']} samples")
        run.done, run.step = state["epoch"], state["step"]
        try:                                   # numpy checks a generator's state as it takes it
            run.rng.bit_generator.state = state["rng"]
            layer_rngs = {int(i): s for i, s in state["layer_rngs"].items()}
            if set(layer_rngs) != set(rng_states(run.model)):
                raise ValueError("they name other layers than the model's random ones")
            set_rng_states(run.model, layer_rngs)
        except (TypeError, ValueError, KeyError, OverflowError) as e:
            raise ConfigError(f"the checkpoint's random generator states are invalid ({e}); it cannot resume "
                              "bit for bit") from None
        if run.done >= run.epochs:
            raise ConfigError(f"the checkpoint has {run.done} epochs already; ask for more (--epochs > {run.done})")
