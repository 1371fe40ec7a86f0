"""Where a training step's gradients come from: backpropagation, or the definition of the
derivative (tutorial 2's numerical gradient). ``fit(gradient=...)`` takes either by name, or any
function ``gradient(model, x, y) -> (output, loss)`` that leaves ∂L/∂θ in the layers' gradients.

Numerical gradients by central differences, one entry at a time, two forward passes each:

    ∂L/∂θ_i ≈ (L(θ + h·e_i) − L(θ − h·e_i)) / (2h)        (error O(h²) + rounding ≈ ulp(L)/h)
"""
from __future__ import annotations

import numpy as np


def backprop(model, x, y, weight=None):
    """One forward and one backward pass: (output, loss); ∂L/∂θ lands in the layers' gradients
    (those of ``weight``·L if a weight is given)."""
    out = model.forward(x)
    loss = model.loss.forward(out, y)
    grad = model.loss.backward()
    model.backward(grad if weight is None else grad * weight)
    return out, loss


def numerical_gradient(f, x, h: float = 1e-4):
    """∂f/∂x by central differences, one entry at a time (tutorial 2's ``numerical_gradient``):

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


def forward_differences(f, x, indices, h: float = 1e-4):
    """Tutorial 2's other estimate, the forward difference, for the flat ``indices`` of ``x``:

    ∂f/∂x_i ≈ (f(x + h·e_i) − f(x)) / h        (error O(h): h·f''/2, + rounding ≈ ulp(f)/h)

    One forward pass per entry plus one for f(x), but the error falls only linearly with h
    (central differences: quadratically), so it bottoms out orders of magnitude higher.
    """
    flat = x.reshape(-1)
    if not np.shares_memory(flat, x):
        raise ValueError("x must be contiguous")
    f0 = f()
    out = np.empty(len(indices), dtype=np.float64)
    for j, i in enumerate(indices):
        saved = flat[i]
        flat[i] = saved + h
        out[j] = (f() - f0) / h
        flat[i] = saved
    return out


#: finite-difference estimates by name, for ``check_gradients(method=...)``
DIFFERENCES = {"central": central_differences, "forward": forward_differences}


def rng_states(model):
    """The state of every layer's random generator (``layer.rng``, e.g. Dropout's masks)."""
    return {i: layer.rng.bit_generator.state for i, layer in enumerate(model.layers)
            if isinstance(getattr(layer, "rng", None), np.random.Generator)}


def set_rng_states(model, states):
    for i, state in states.items():
        model.layers[i].rng.bit_generator.state = state


def loss_functions(model, x, y, states):
    """For each layer k with parameters: (k, f) where f() = L(layers[k:](input of layer k), y).

    The layers before k do not depend on layer k's parameters, so their output is computed once.
    Every pass starts the layers' generators from ``states``: a random layer (Dropout) draws
    the same mask each time, so L is one deterministic function of θ.
    """
    fs, h = [], x
    set_rng_states(model, states)
    for k, layer in enumerate(model.layers):
        if layer.param_shapes():
            def f(h=h, k=k):
                set_rng_states(model, states)
                out = h
                for later in model.layers[k:]:
                    out = later.forward(out)
                return model.loss.forward(out, y)
            fs.append((k, f))
        h = layer.forward(h)
    return fs


def saved_buffers(model) -> list:
    """[(layer, name, copy)] of every buffer of every layer and child layer; ``restore_buffers`` puts
    them back."""
    return [(layer, n, np.copy(getattr(layer, n))) for _, layer in model.named_layers() for n in layer.buffer_names]


def restore_buffers(saved) -> None:
    for layer, n, value in saved:
        setattr(layer, n, value.copy())


class KeepState:
    """Training mode and every layer buffer (e.g. running statistics) as they were on entry:
    hundreds of perturbed forward passes must not update them."""

    def __init__(self, model, training=True):
        self.model, self.training = model, training

    def __enter__(self):
        self.modes = [(layer, layer.training) for _, layer in self.model.named_layers()]
        self.buffers = saved_buffers(self.model)
        self.model.train(self.training)

    def __exit__(self, *exc):
        for layer, training in self.modes:
            layer.training = training
        restore_buffers(self.buffers)


def numerical_gradients(model, x, y, h: float | None = None, progress=None):
    """Fill every parameter's gradient (``dW``, ``db``, …) with central differences of the loss on
    the batch (x, y), x already prepared (``model.prepare``). Returns the loss at the current θ.

    ``h`` defaults to 1e-4 for float64 (tutorial 2's value) and 1e-2 for float32, whose rounding
    error ulp(L)/h would otherwise swamp the estimate. ``progress(done, total)`` is called after
    each parameter array. Cost: 2 forward passes (from the parameter's layer on) per entry.
    """
    if h is None:
        h = 1e-4 if model.dtype == np.float64 else 1e-2
    with KeepState(model, training=True):
        states = rng_states(model)
        loss = model.loss.forward(model.forward(x), y)
        after = rng_states(model)     # left as after one forward pass, as backprop's would be
        total, done = model.num_parameters, 0
        for k, f in loss_functions(model, x, y, states):
            for p in model.layers[k].parameters():
                p.grad[...] = central_differences(f, p.value, range(p.value.size), h).reshape(p.shape)
                done += p.value.size
                if progress is not None:
                    progress(done, total)
        set_rng_states(model, after)
    return loss


def numerical(model, x, y):
    """The numerical gradient as a training step's gradient source: (output, loss)."""
    out = model.forward(x)
    loss = model.loss.forward(out, y)
    numerical_gradients(model, x, y)
    return out, loss


#: gradient sources by name, for ``fit(gradient=...)``
SOURCES = {"backprop": backprop, "numerical": numerical}
