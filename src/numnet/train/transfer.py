"""Transfer learning and gradient clipping: start from a saved model's weights, freeze layers, and
an optimizer wrapper that clips the gradient and updates the trainable layers only.

* ``copy_weights(source, target)``: parameters (and saved buffers) copied layer by layer, matched by
  position and shape; the head (last layer with parameters) may differ in shape when the class
  count differs, and is then left as initialised (a new head).
* ``freeze(model, k)``: the first k layers with parameters get ``trainable = False``.
* ``Restricted(optimizer, model, clip_norm)``: an optimizer that (1) scales the gradient g of the
  trainable parameters to norm at most c, g ← g·min(1, c/‖g‖₂) (``clip_grad_norm``, as
  ``torch.nn.utils.clip_grad_norm_``), then (2) lets ``optimizer`` update the trainable parameters
  only: frozen ones are not even handed to it, so neither weight decay nor momentum moves them.
"""
from __future__ import annotations

import numpy as np

from ..errors import ConfigError
from ..io.serialize import load as load_model
from ..optim import Optimizer


def load(path):
    """``numnet.load`` (every layer family is registered when ``numnet.layers`` is imported)."""
    return load_model(path)


def parameter_layers(model):
    """Indices of the layers that have parameters, in order."""
    return [i for i, layer in enumerate(model.layers) if layer.param_shapes()]


def copy_weights(source, target, head: bool = True) -> dict:
    """Copy ``source``'s parameters and buffers into ``target`` (both ``Sequential``), layer by layer.

    The two must have the same number of layers of the same types with the same parameter shapes,
    except the head (the last layer with parameters): if its shapes differ (another class count), or
    ``head`` is False, it keeps its fresh initialisation. Raises ConfigError naming the first
    mismatch. Returns {"copied": [layer indices], "new_head": index or None}.
    """
    if len(source.layers) != len(target.layers):
        raise ConfigError(f"cannot start from a model with {len(source.layers)} layers: this network has "
                          f"{len(target.layers)} (layers are matched by position)")
    last = (parameter_layers(target) or [None])[-1]
    copied, new_head = [], None
    for i, (src, dst) in enumerate(zip(source.layers, target.layers)):
        if type(src).__name__ != type(dst).__name__:
            raise ConfigError(f"layer {i}: the saved model has {type(src).__name__}, this network "
                              f"{type(dst).__name__}")
        src_params, dst_params = src.params, dst.params            # dotted names: children's too
        mismatch = [n for n in dst_params if np.shape(src_params.get(n)) != np.shape(dst_params[n])]
        if i == last and (mismatch or not head):
            new_head = i
            continue
        if mismatch:
            n = mismatch[0]
            raise ConfigError(f"layer {i} ({type(dst).__name__}): {n} has shape {np.shape(src_params.get(n))} in "
                              f"the saved model, {np.shape(dst_params[n])} here")
        for n, value in dst_params.items():
            value[...] = src_params[n]                        # in place: the target's flat buffer
        for (_, s), (_, d) in zip(src.named_layers(), dst.named_layers()):
            for n in d.buffer_names:
                setattr(d, n, np.array(getattr(s, n), copy=True))
            d.adapted = s.adapted                             # Standardize: keep the source's statistics
            d.state_loaded()
        copied.append(i)
    return {"copied": copied, "new_head": new_head}


def freeze(model, k: int) -> list:
    """Mark the first ``k`` layers with parameters ``trainable = False`` (and the others True).

    The first trainable layer with parameters gets ``input_grad = False``: backpropagation stops
    there, since nothing below it is updated (``unfreeze`` undoes both). Returns the frozen indices.
    """
    layers = parameter_layers(model)
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 0 <= k <= len(layers):
        raise ConfigError(f"freeze: k must be an integer from 0 to {len(layers)} (the layers with parameters), "
                          f"got {k!r}")
    unfreeze(model)
    for n, i in enumerate(layers):
        model.layers[i].trainable = n >= k
    if 0 < k < len(layers):
        model.layers[layers[k]].input_grad = False
    return layers[:k]


def unfreeze(model):
    for layer in model.layers:
        if layer.trainable is False:
            layer.trainable = True
        if layer.param_shapes() and "input_grad" in vars(layer):
            del layer.input_grad                               # back to the class default (True)


def clip_grad_norm(grads, max_norm: float) -> float:
    """Scale the arrays ``grads`` in place so that their global norm √(Σ‖g‖²) is at most ``max_norm``:
    g ← g · min(1, max_norm/(‖g‖ + 1e-6)) (``torch.nn.utils.clip_grad_norm_``). Returns the norm before."""
    total = float(np.sqrt(sum(float(np.dot(g.reshape(-1), g.reshape(-1))) for g in grads)))
    scale = max_norm / (total + 1e-6)
    if scale < 1:
        for g in grads:
            g *= scale
    return total


class Restricted(Optimizer):
    """``optimizer`` applied to the trainable parameters of ``model`` only, after clipping their
    gradient to global norm ``clip_norm`` (None: no clipping). Use it wherever an optimizer goes:
    ``model.fit(..., optimizer=Restricted(Adam(1e-3), model, clip_norm=1.0))``. ``lr`` reads and
    sets the wrapped optimizer's (schedules work unchanged). The trainable set is read at each step."""

    def __init__(self, optimizer: Optimizer, model=None, clip_norm: float | None = None):
        if clip_norm is not None and not clip_norm > 0:
            raise ConfigError(f"clip norm must be positive, got {clip_norm}")
        self.inner, self.model, self.clip_norm = optimizer, model, clip_norm
        self.last_norm = None        # the gradient's norm before clipping, at the last step

    @property
    def lr(self):
        return self.inner.lr

    @lr.setter
    def lr(self, value):
        self.inner.lr = value

    @property
    def t(self):
        return self.inner.t

    def _trainable(self, params, grads):
        """The (param, grad) slices of the flat buffers that belong to trainable layers: contiguous
        runs of layers, each one slice (the same runs at every step, so the wrapped optimizer's
        per-parameter state stays in place)."""
        model = self.model
        if model is None or len(params) != 1 or params[0] is not model.flat_params:
            return list(params), list(grads)
        runs, offset = [], 0
        for layer in model.layers:
            size = sum(int(np.prod(s)) for s in layer.param_shapes().values())
            if size and layer.trainable:
                if runs and runs[-1][1] == offset:
                    runs[-1][1] = offset + size
                else:
                    runs.append([offset, offset + size])
            offset += size
        return [params[0][a:b] for a, b in runs], [grads[0][a:b] for a, b in runs]

    def step(self, params, grads):
        params, grads = self._trainable(params, grads)
        if self.clip_norm is not None:
            self.last_norm = clip_grad_norm(grads, self.clip_norm)
        self.inner.step(params, grads)

    def config(self):
        cfg = dict(self.inner.config())
        if self.clip_norm is not None:
            cfg["clip_norm"] = self.clip_norm
        return cfg
