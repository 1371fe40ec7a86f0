"""Learning-rate schedules for ``Sequential.fit(schedule=...)``.

A schedule is a callable ``schedule(step, total_steps) -> lr``; ``fit`` calls it before every
optimizer step (step = 0, 1, …, total_steps − 1 over the whole fit), so the schedules here are
written in terms of the fraction of training done, t = step / total_steps, and need no epoch count.
"""
from __future__ import annotations

import math

from .errors import ConfigError


def _check_lr(lr):
    if not lr > 0:
        raise ConfigError(f"learning rate must be positive, got {lr}")
    return float(lr)


class Constant:
    """η(t) = η₀."""

    def __init__(self, lr: float):
        self.lr = _check_lr(lr)

    def __call__(self, step, total_steps):
        return self.lr

    def config(self):
        return {"type": "constant", "lr": self.lr}


class StepDecay:
    """Step decay (``torch.optim.lr_scheduler.MultiStepLR``): η = η₀·γ^k after the k-th milestone.

    ``milestones`` are fractions of training (default: ×0.1 at 50% and again at 75%).
    """

    def __init__(self, lr: float, gamma: float = 0.1, milestones=(0.5, 0.75)):
        self.lr, self.gamma = _check_lr(lr), float(gamma)
        self.milestones = tuple(sorted(float(m) for m in milestones))

    def __call__(self, step, total_steps):
        done = step / max(total_steps, 1)
        return self.lr * self.gamma ** sum(done >= m for m in self.milestones)

    def config(self):
        return {"type": "step", "lr": self.lr, "gamma": self.gamma, "milestones": list(self.milestones)}


class Cosine:
    """Cosine annealing (``CosineAnnealingLR`` with T_max = total_steps), optional linear warm-up:

    η(step) = η_min + (η₀ − η_min)·(1 + cos(π·step / total_steps)) / 2
    """

    def __init__(self, lr: float, min_lr: float = 0.0, warmup: float = 0.0):
        self.lr, self.min_lr, self.warmup = _check_lr(lr), float(min_lr), float(warmup)

    def __call__(self, step, total_steps):
        warm = int(self.warmup * total_steps)
        if step < warm:
            return self.lr * (step + 1) / warm
        t = (step - warm) / max(total_steps - warm, 1)
        return self.min_lr + (self.lr - self.min_lr) * (1 + math.cos(math.pi * t)) / 2

    def config(self):
        return {"type": "cosine", "lr": self.lr, "min_lr": self.min_lr, "warmup": self.warmup}


class OneCycle:
    """One-cycle policy (``torch.optim.lr_scheduler.OneCycleLR``, cosine annealing, learning rate only):

    warm-up from η_max/div_factor to η_max over the first pct_start of training, then down to
    η_max/(div_factor·final_div_factor), both halves cosine-shaped:
        cos_anneal(a, b, τ) = b + (a − b)·(1 + cos(π·τ)) / 2,   τ ∈ [0, 1] within a phase
    """

    def __init__(self, max_lr: float, pct_start: float = 0.3, div_factor: float = 25.0,
                 final_div_factor: float = 1e4):
        self.max_lr = _check_lr(max_lr)
        self.pct_start, self.div_factor, self.final_div_factor = float(pct_start), float(div_factor), float(final_div_factor)

    @staticmethod
    def _anneal(a, b, tau):
        return b + (a - b) * (1 + math.cos(math.pi * tau)) / 2

    def __call__(self, step, total_steps):
        initial = self.max_lr / self.div_factor
        final = initial / self.final_div_factor
        peak = float(self.pct_start * total_steps) - 1        # the step at which η = η_max
        end = total_steps - 1
        if step <= peak:
            return self._anneal(initial, self.max_lr, step / peak if peak > 0 else 1.0)
        return self._anneal(self.max_lr, final, (step - peak) / (end - peak) if end > peak else 1.0)

    def config(self):
        return {"type": "onecycle", "max_lr": self.max_lr, "pct_start": self.pct_start,
                "div_factor": self.div_factor, "final_div_factor": self.final_div_factor}


SCHEDULES = {"constant": Constant, "step": StepDecay, "cosine": Cosine, "onecycle": OneCycle}


def get(name, lr: float):
    """A schedule by name ('constant', 'step', 'cosine', 'onecycle') peaking at ``lr``; None for 'none'."""
    if name in (None, "none"):
        return None
    if callable(name):
        return name
    cls = SCHEDULES.get(name)
    if cls is None:
        raise ConfigError(f"unknown schedule {name!r} (choose from none, {', '.join(SCHEDULES)})")
    return cls(lr)
