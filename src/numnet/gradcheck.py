"""Numerical gradients by central differences (seed 001), and checks of backprop against them.

Backpropagation gives every ∂L/∂θ in one backward pass; the definition of the derivative gives
each one separately, from two forward passes:

    ∂L/∂θ_i ≈ (L(θ + h·e_i) − L(θ − h·e_i)) / (2h)        (error O(h²) + rounding ≈ ulp(L)/h)

:func:`check_gradients` compares the two for every parameter of a model;
:func:`numerical_gradients` fills a model's gradients the slow way (``fit(gradient="numerical")``,
seed 001's way of learning: about one forward pass per parameter entry ×2 instead of one backward).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from .errors import ConfigError

#: the check's defaults (float64). h = 1e-5 is near the optimum ε^(1/3) of central differences:
#: truncation h²·L'''/6 and rounding ulp(L)/h balance there, leaving absolute errors ≈ 1e-11..1e-10.
CHECK_H = 1e-5
CHECK_TOLERANCE = 1e-6
#: floor of the relative error's denominator: an entry smaller than this (e.g. the weight of a pixel
#: that is dark in the whole batch, ∂L/∂W ≈ 1e-8) cannot be resolved to 1e-6 *relative* by finite
#: differences in float64, so it is held to |a − n| ≤ tolerance·CHECK_TINY = 1e-9 instead.
CHECK_TINY = 1e-3


def numerical_gradient(f, x, h: float = 1e-4):
    """∂f/∂x by central differences, one entry at a time (seed 001's ``numerical_gradient``):

    ∂f/∂x_i ≈ (f(x + h·e_i) − f(x − h·e_i)) / (2h)

    ``f`` takes no argument and reads ``x``, which is perturbed in place and restored exactly.
    """
    grad = np.zeros_like(x, dtype=np.float64)
    it = np.nditer(x, flags=["multi_index"], op_flags=["readwrite"])
    for _ in it:
        i = it.multi_index
        saved = x[i].copy()
        x[i] = saved + h
        f_plus = f()
        x[i] = saved - h
        f_minus = f()
        x[i] = saved
        grad[i] = (f_plus - f_minus) / (2 * h)
    return grad


def central_differences(f, x, indices, h: float = 1e-4):
    """The same estimate for the flat ``indices`` of ``x`` only: an array of len(indices)."""
    flat = x.reshape(-1)            # a view: x is contiguous (parameters always are)
    if not np.shares_memory(flat, x):
        raise ValueError("x must be contiguous")
    out = np.empty(len(indices), dtype=np.float64)
    for j, i in enumerate(indices):
        saved = flat[i]
        flat[i] = saved + h
        f_plus = f()
        flat[i] = saved - h
        f_minus = f()
        flat[i] = saved
        out[j] = (f_plus - f_minus) / (2 * h)
    return out


def relative_error(a, n, tiny: float = 1e-12):
    """|a − n| / max(|a|, |n|, tiny), element-wise."""
    a, n = np.asarray(a, np.float64), np.asarray(n, np.float64)
    return np.abs(a - n) / np.maximum(np.maximum(np.abs(a), np.abs(n)), tiny)


def _rng_states(model):
    """The state of every layer's random generator (``layer.rng``, e.g. Dropout's masks)."""
    return {i: layer.rng.bit_generator.state for i, layer in enumerate(model.layers)
            if isinstance(getattr(layer, "rng", None), np.random.Generator)}


def _set_rng_states(model, states):
    for i, state in states.items():
        model.layers[i].rng.bit_generator.state = state


def _loss_functions(model, x, y, rng_states):
    """For each layer k with parameters: (k, f) where f() = L(layers[k:](input of layer k), y).

    The layers before k do not depend on layer k's parameters, so their output is computed once.
    Every pass starts the layers' generators from ``rng_states``: a random layer (Dropout) draws
    the same mask each time, so L is one deterministic function of θ.
    """
    fs, h = [], x
    _set_rng_states(model, rng_states)
    for k, layer in enumerate(model.layers):
        if layer.param_names:
            def f(h=h, k=k):
                _set_rng_states(model, rng_states)
                out = h
                for later in model.layers[k:]:
                    out = later.forward(out)
                return model.loss.forward(out, y)
            fs.append((k, f))
        h = layer.forward(h)
    return fs


class _KeepState:
    """Training mode and every layer buffer (e.g. running statistics) as they were on entry:
    hundreds of perturbed forward passes must not update them."""

    def __init__(self, model, training=True):
        self.model, self.training = model, training

    def __enter__(self):
        self.saved = [(layer, layer.training, {n: np.copy(getattr(layer, n)) for n in layer.buffer_names})
                      for layer in self.model.layers]
        self.model.train(self.training)

    def __exit__(self, *exc):
        for layer, training, buffers in self.saved:
            layer.training = training
            for n, value in buffers.items():
                setattr(layer, n, value)


def numerical_gradients(model, x, y, h: float | None = None, progress=None):
    """Fill ``model.flat_grads`` (every ``dW``, ``db``, …) with central differences of the loss on
    the batch (x, y), x already prepared (``model.prepare``). Returns the loss at the current θ.

    ``h`` defaults to 1e-4 for float64 (seed 001's value) and 1e-2 for float32, whose rounding
    error ulp(L)/h would otherwise swamp the estimate. ``progress(done, total)`` is called after
    each parameter array. Cost: 2 forward passes (from the parameter's layer on) per entry.
    """
    if h is None:
        h = 1e-4 if model.dtype == np.float64 else 1e-2
    with _KeepState(model, training=True):
        states = _rng_states(model)
        loss = model.loss.forward(model.forward(x), y)
        after = _rng_states(model)     # left as after one forward pass, as backprop's would be
        total, done = model.num_parameters, 0
        for k, f in _loss_functions(model, x, y, states):
            layer = model.layers[k]
            for name in layer.param_names:
                p, g = getattr(layer, name), getattr(layer, "d" + name)
                g[...] = central_differences(f, p, range(p.size), h).reshape(p.shape)
                done += p.size
                if progress is not None:
                    progress(done, total)
        _set_rng_states(model, after)
    return loss


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

    def to_dict(self) -> dict:
        return {"passed": self.passed, "tolerance": self.tolerance, "h": self.h, "tiny": self.tiny,
                "parameters": [{**asdict(p), "shape": list(p.shape)} for p in self.parameters]}


def check_gradients(model, x, y, h: float = CHECK_H, tolerance: float = CHECK_TOLERANCE,
                    tiny: float = CHECK_TINY, entries: int | None = None, seed: int = 0) -> GradcheckReport:
    """Compare backprop's gradient a with the numerical gradient n for every parameter of ``model``.

    x, y: a batch (x as given to ``fit``: uint8 pixels or floats). The model must be float64.
    For each parameter: max |a − n| and max |a − n| / max(|a|, |n|, tiny); it passes when the
    latter is ≤ ``tolerance``. ``entries``: check at most this many entries per parameter, drawn
    at random (``default_rng(seed)``); None checks them all. Nothing in the model changes.
    """
    if model.dtype != np.float64:
        raise ConfigError(f"gradient checks need a float64 model, not {model.dtype.name} "
                          "(rounding in float32 swamps the finite differences)")
    if entries is not None and entries < 1:
        raise ConfigError("entries must be positive")
    rng = np.random.default_rng(seed)
    x = model.prepare(x)
    if not isinstance(y, np.ndarray):
        y = np.asarray(y)
    with _KeepState(model, training=True):
        states = _rng_states(model)    # restored on the way out: the check draws no randomness
        saved_grads = model.flat_grads.copy()
        saved_input_grad = [layer.input_grad for layer in model.layers]
        try:
            for layer in model.layers:
                layer.input_grad = True
            _set_rng_states(model, states)
            model.loss.forward(model.forward(x), y)
            model.backward(model.loss.backward())
            analytic = {name: g.reshape(-1).copy() for name, g in model.named_gradients()}
        finally:
            model.flat_grads[...] = saved_grads
            for layer, flag in zip(model.layers, saved_input_grad):
                layer.input_grad = flag
        results = []
        for k, f in _loss_functions(model, x, y, states):
            layer = model.layers[k]
            for name in layer.param_names:
                p, a = getattr(layer, name), analytic[f"{k}.{name}"]
                idx = np.arange(p.size)
                if entries is not None and entries < p.size:
                    idx = np.sort(rng.choice(p.size, size=entries, replace=False))
                n = central_differences(f, p, idx, h)
                abs_err = np.abs(a[idx] - n)
                rel_err = relative_error(a[idx], n, tiny)
                max_rel = float(rel_err.max()) if len(idx) else 0.0
                results.append(ParameterCheck(f"{k}.{name}", tuple(p.shape), len(idx),
                                              float(abs_err.max()) if len(idx) else 0.0, max_rel,
                                              bool(max_rel <= tolerance)))
        _set_rng_states(model, states)
    return GradcheckReport(all(r.passed for r in results), tolerance, h, tiny, results)
