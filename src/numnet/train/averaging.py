"""Weight averaging: a run that ends with the average of the weights its last steps visited.

:class:`EMA` keeps an exponential moving average of every parameter (Polyak averaging), updated
after every optimizer step; the running statistics of BatchNorm layers are averaged alike:

    θ̄ ← θ̄ + (1 − β_t)·(θ − θ̄),      β_t = min(β, (1 + t)/(10 + t)),  t = steps so far

The warm-up (β_t small for the first steps, as TensorFlow's ``ExponentialMovingAverage`` with
``num_updates`` and timm's ``ModelEmaV2``) keeps the random initial weights from lingering in θ̄.
With β = 0.999 the average spans about the last 1/(1 − β) = 1,000 steps: the noise of the
single steps averages out, which is worth a few hundredths of a percent of test accuracy at the
end of a schedule.

Training steps always move θ. After an epoch's last step the model holds θ̄, so that the epoch's
figures (validation, test, a checkpoint) are those of the averaged weights; when the next epoch
begins θ is put back; at the end of the run the model keeps θ̄.
"""
from __future__ import annotations

import numpy as np

from ..errors import ConfigError
from .callbacks import Callback


class EMA(Callback):
    """The exponential moving average θ̄ of the parameters and buffers (see the module's docstring);
    ``decay`` β in (0, 1). ``steps``: how many updates θ̄ has had."""

    def __init__(self, decay: float = 0.999):
        if isinstance(decay, bool) or not isinstance(decay, (int, float)) or not 0 < decay < 1:
            raise ConfigError(f"the EMA decay must be a number between 0 and 1 (e.g. 0.999), got {decay!r}")
        self.decay = float(decay)
        self.model, self.average, self.steps, self.swapped = None, [], 0, False

    def on_train_begin(self, run):
        if run.done:
            raise ConfigError("a run with weight averaging (EMA) cannot be resumed bit for bit: its checkpoints "
                              "hold the averaged weights, not the trained ones; train it again, or fine-tune from "
                              "the checkpoint (--init-from)")
        self.model, self.average, self.steps, self.swapped = run.model, [], 0, False

    def on_batch_end(self, run):
        self.steps += 1
        beta = min(self.decay, (1 + self.steps) / (10 + self.steps))
        for avg, theta in zip(self.average, self.arrays()):
            avg += (theta - avg) * avg.dtype.type(1 - beta)            # θ̄ ← θ̄ + (1 − β)(θ − θ̄)

    def on_epoch_end(self, run, entry):
        if entry["epoch"] and not self.swapped:                        # epoch 0 (untrained): θ̄ = θ
            self._swap()

    def on_epoch_begin(self, run):
        if not self.average:                                           # θ̄_0 = θ_0, once the inputs' scaling is fitted
            self.average = [a.copy() for a in self.arrays()]
        elif self.swapped:
            self._swap()

    def on_train_end(self, run):
        if not self.swapped and self.steps:                            # stopped inside an epoch: θ̄ all the same
            self._swap()

    def arrays(self) -> list:
        """θ: the model's parameters (its flat buffer) and its float buffers (running statistics),
        looked up each time (a BatchNorm layer replaces its running statistics as it updates them)."""
        buffers = [b for _, b in self.model.named_buffers() if np.issubdtype(b.dtype, np.floating)]
        return [self.model.flat_params, *buffers]

    def _swap(self):
        """θ ↔ θ̄, in place (the model's arrays are views that other objects hold)."""
        for avg, theta in zip(self.average, self.arrays()):
            held = theta.copy()
            theta[...] = avg
            avg[...] = held
        self.swapped = not self.swapped

    def config(self) -> dict:
        return {"decay": self.decay}
