"""Numerical gradients by central differences (tutorial 2), and checks of backprop against them.

Backpropagation gives every ∂L/∂θ in one backward pass; the definition of the derivative gives
each one separately, from two forward passes:

    ∂L/∂θ_i ≈ (L(θ + h·e_i) − L(θ − h·e_i)) / (2h)        (error O(h²) + rounding ≈ ulp(L)/h)

:func:`check_gradients` compares the two for every parameter of a model. The numerical gradient
itself lives with the other gradient sources in ``numnet.train.gradients`` (``fit(gradient="numerical")``
learns with it, tutorial 2's way).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from ..errors import ConfigError
from ..train.gradients import (
    DIFFERENCES,
    KeepState,
    central_differences,
    forward_differences,
    loss_functions,
    numerical_gradient,
    numerical_gradients,
    rng_states,
    set_rng_states,
)

__all__ = ["check_gradients", "central_differences", "forward_differences", "numerical_gradient", "numerical_gradients", "relative_error"]

#: the check's defaults (float64). h = 1e-5 is near the optimum ε^(1/3) of central differences:
#: truncation h²·L'''/6 and rounding ulp(L)/h balance there, leaving absolute errors ≈ 1e-11..1e-10.
CHECK_H = 1e-5
CHECK_TOLERANCE = 1e-6
#: floor of the relative error's denominator: an entry smaller than this (e.g. the weight of a pixel
#: that is dark in the whole batch, ∂L/∂W ≈ 1e-8) cannot be resolved to 1e-6 *relative* by finite
#: differences in float64, so it is held to |a − n| ≤ tolerance·CHECK_TINY = 1e-9 instead.
CHECK_TINY = 1e-3


def relative_error(a, n, tiny: float = 1e-12):
    """|a − n| / max(|a|, |n|, tiny), element-wise."""
    a, n = np.asarray(a, np.float64), np.asarray(n, np.float64)
    return np.abs(a - n) / np.maximum(np.maximum(np.abs(a), np.abs(n)), tiny)


@dataclass
class ParameterCheck:
    name: str             # 'k.W': parameter W of model.layers[k]
    shape: tuple
    checked: int          # entries compared (all, or a random subset)
    max_abs_error: float  # max |a − n|
    max_rel_error: float  # max |a − n| / max(|a|, |n|, tiny)
    passed: bool


@dataclass
class GradcheckReport:
    passed: bool
    tolerance: float
    h: float
    tiny: float
    parameters: list
    method: str = "central"

    def to_dict(self) -> dict:
        return {"passed": self.passed, "tolerance": self.tolerance, "h": self.h, "tiny": self.tiny,
                "method": self.method,
                "parameters": [{**asdict(p), "shape": list(p.shape)} for p in self.parameters]}


def check_gradients(model, x, y, h: float = CHECK_H, tolerance: float = CHECK_TOLERANCE,
                    tiny: float = CHECK_TINY, entries: int | None = None, seed: int = 0,
                    method: str = "central") -> GradcheckReport:
    """Compare backprop's gradient a with the numerical gradient n for every parameter of ``model``.

    x, y: a batch (x as given to ``fit``: uint8 pixels or floats). The model must be float64.
    For each parameter: max |a − n| and max |a − n| / max(|a|, |n|, tiny); it passes when the
    latter is ≤ ``tolerance``. ``entries``: check at most this many entries per parameter, drawn
    at random (``default_rng(seed)``); None checks them all. Nothing in the model changes.
    method: 'central' (error O(h²)) or 'forward' ((L(θ + h) − L(θ)) / h, tutorial 2's other
    formula, error O(h): at h = 1e-5 about 1e-5 relative, so it fails the default tolerance).
    """
    if method not in DIFFERENCES:
        raise ConfigError(f"method must be 'central' or 'forward', not {method!r}")
    if model.dtype != np.float64:
        raise ConfigError(f"gradient checks need a float64 model, not {model.dtype.name} "
                          "(rounding in float32 swamps the finite differences)")
    if entries is not None and entries < 1:
        raise ConfigError("entries must be positive")
    rng = np.random.default_rng(seed)
    x = model.prepare(x)
    if not isinstance(y, np.ndarray):
        y = np.asarray(y)
    with KeepState(model, training=True):
        states = rng_states(model)    # restored on the way out: the check draws no randomness
        saved_grads = model.flat_grads.copy()
        saved_input_grad = [layer.input_grad for layer in model.layers]
        try:
            for layer in model.layers:
                layer.input_grad = True
            set_rng_states(model, states)
            model.loss.forward(model.forward(x), y)
            model.backward(model.loss.backward())
            analytic = {name: g.reshape(-1).copy() for name, g in model.named_gradients()}
        finally:
            model.flat_grads[...] = saved_grads
            for layer, flag in zip(model.layers, saved_input_grad):
                layer.input_grad = flag
        results = []
        for k, f in loss_functions(model, x, y, states):
            for name, p in model.layers[k].named_parameters(str(k)):
                a = analytic[name]
                idx = np.arange(p.size)
                if entries is not None and entries < p.size:
                    idx = np.sort(rng.choice(p.size, size=entries, replace=False))
                n = DIFFERENCES[method](f, p, idx, h)
                abs_err = np.abs(a[idx] - n)
                rel_err = relative_error(a[idx], n, tiny)
                max_rel = float(rel_err.max()) if len(idx) else 0.0
                results.append(ParameterCheck(name, tuple(p.shape), len(idx),
                                              float(abs_err.max()) if len(idx) else 0.0, max_rel,
                                              bool(max_rel <= tolerance)))
        set_rng_states(model, states)
    return GradcheckReport(all(r.passed for r in results), tolerance, h, tiny, results, method)
