"""An ensemble: K trained networks side by side on the same input, their outputs averaged.

    z = (1/K) · Σ_k f_k(x)

For classifiers each f_k gives logits, so softmax(z) ∝ (Π_k softmax(f_k(x)))^(1/K): the members'
probabilities averaged in the log domain (their normalised geometric mean). Networks trained from
different seeds make different mistakes; averaging them makes fewer.

backward, every member getting its share of the gradient:
    ∂L/∂f_k = (1/K) · ∂L/∂z          ∂L/∂x = Σ_k f_kᵀ(∂L/∂f_k)

The members' layers are child layers (plain attributes ``m{k}_{j}``: member k, its layer j), so their
parameters are the ensemble's, with dotted names (``0.m1_3.W``), and a model file holds them all.
"""
from __future__ import annotations

from ..errors import ConfigError
from .base import Layer
from .sizes import pass_values, walk


#: the most members an ensemble takes (a model file cannot ask for more)
MAX_MEMBERS = 32


def _check_count(k):
    if k > MAX_MEMBERS:
        raise ConfigError(f"an ensemble of {k} members, more than the limit of {MAX_MEMBERS}")


class Ensemble(Layer):
    """The mean of the outputs of ``members`` (each a list of layers, the whole network of one model)."""

    equations = {"forward": "{y} = (1/K)·Σ_k f_k({x})",
                 "backward": "∂L/∂{x} = Σ_k f_kᵀ(∂L/∂{y} / K)"}
    symbol = "z"

    def __init__(self, members):
        members = [list(m) for m in members]
        if len(members) < 2 or not all(members):
            raise ConfigError("an ensemble needs at least two members, each a non-empty list of layers")
        _check_count(len(members))
        if not all(isinstance(layer, Layer) for m in members for layer in m):
            raise ConfigError("an ensemble's members are lists of layers")
        self.members = [[f"m{k}_{j}" for j in range(len(m))] for k, m in enumerate(members)]
        self.child_names = tuple(name for names in self.members for name in names)
        for names, layers in zip(self.members, members):
            for name, layer in zip(names, layers):
                setattr(self, name, layer)
        self.per_sample = all(layer.per_sample for layer in self.layers_of_all())

    @classmethod
    def from_config(cls, cfg, layer):
        """The ensemble a config describes; ``layer(cfg)`` makes each member's layers."""
        members = cfg.get("members")
        if not isinstance(members, list) or not all(isinstance(m, list) for m in members):
            raise ConfigError("an ensemble's config needs 'members': a list of lists of layers")
        _check_count(len(members))                          # before any layer is made
        return cls([[layer(c) for c in m] for m in members])

    def member(self, k) -> list:
        """Member k's layers, in order."""
        return [getattr(self, name) for name in self.members[k]]

    def layers_of_all(self) -> list:
        """Every member's layers, member after member."""
        return [layer for k in range(len(self.members)) for layer in self.member(k)]

    def forward(self, x):
        z = None
        for k in range(len(self.members)):
            out = x
            for layer in self.member(k):
                out = layer.forward(out)
            if z is None:
                z = out.copy()                                      # (it may be a layer's cache)
            else:
                z += out
        z *= z.dtype.type(1 / len(self.members))
        return z

    def backward(self, grad):
        share = grad * grad.dtype.type(1 / len(self.members))
        dx = None
        for k in range(len(self.members)):
            g = share
            for layer in reversed(self.member(k)):
                g = layer.backward(g)
            dx = g if dx is None else dx + g
        return dx if self.input_grad else None

    # sizes --------------------------------------------------------------------------------------
    def output_shape(self, input_shape):
        shapes = set()
        for k in range(len(self.members)):
            shape = input_shape
            for size in walk(self.member(k), input_shape):
                shape = size.output_shape
            shapes.add(None if shape is None else tuple(shape))
        if len(shapes) != 1:
            raise ConfigError(f"the ensemble's members output different shapes: {sorted(map(str, shapes))}")
        return shapes.pop()

    def values_per_sample(self, input_shape, output_shape):
        """All members' passes: each keeps what its backward needs."""
        return sum(pass_values(list(walk(self.member(k), input_shape))) for k in range(len(self.members)))

    def config(self):
        return {"type": "Ensemble", "members": [[layer.config() for layer in self.member(k)]
                                                for k in range(len(self.members))]}
