"""numnet's layers, one module per family, and the one registry of layer types.

    activations   ReLU, Sigmoid, Tanh, Step, Sign, Softmax
    dense         Dense                      z = W·x + b   (on the last axis: rows (N, in) or tokens (N, L, in))
    shape         Flatten, Reshape, Mirror, Shift   (images left-right: y[…, j] = x[…, W−1−j]; moved: x[…, i−dy, j−dx])
    norm          Standardize, BatchNorm
    dropout       Dropout
    conv          Conv2D                     Z = X_col·W_matᵀ + b
    pool          MaxPool2D, AvgPool2D, GlobalAvgPool2D
    recurrent     RNN, LSTM, GRU             h_t = tanh(x_t·W_ihᵀ + b_ih + h_{t−1}·W_hhᵀ + b_hh), BPTT
    attention     LayerNorm, GELU, MultiHeadSelfAttention    softmax(QKᵀ/√d)·V
    tokens        PositionalEmbedding, PatchEmbedding, TokenPool  (images to tokens and back)
    transformer   TransformerEncoderBlock    pre-norm: x + MHSA(LN(x)), then x + MLP(LN(x)), made of child layers
    ensemble      Ensemble                   z = (1/K)·Σ_k f_k(x): trained networks averaged (numnet ensemble)

The contract every layer follows is in ``base.py``. A new layer is a class in one of these
modules (or a new one) plus one line in ``REGISTRY`` below, so that saved models name it.

May import: kernels, init, functional, errors (the math stands on the fast paths and the pure
functions, never on the machinery above it).
"""
from __future__ import annotations

from ..errors import ConfigError
from ..functional import sigmoid, softmax
from .activations import ReLU, Sigmoid, Sign, Softmax, Step, Tanh
from .attention import GELU, LayerNorm, MultiHeadSelfAttention
from .base import Layer, Parameter
from .conv import Conv2D
from .dense import Dense
from .dropout import Dropout
from .ensemble import Ensemble
from .norm import BatchNorm, Standardize
from .pool import AvgPool2D, GlobalAvgPool2D, MaxPool2D
from .recurrent import GRU, LSTM, RNN
from .shape import Flatten, Mirror, Reshape, Shift
from .tokens import PatchEmbedding, PositionalEmbedding, TokenPool
from .transformer import TransformerEncoderBlock

#: layer classes by name, as saved models name them
REGISTRY = {cls.__name__: cls for cls in (
    Dense, ReLU, Sigmoid, Tanh, Step, Sign, Softmax, Flatten, Reshape, Mirror, Shift, Standardize, BatchNorm,
    Dropout, Conv2D, MaxPool2D, AvgPool2D, GlobalAvgPool2D,
    RNN, LSTM, GRU,
    LayerNorm, GELU, MultiHeadSelfAttention, PositionalEmbedding, PatchEmbedding, TokenPool,
    TransformerEncoderBlock, Ensemble,
)}

#: layer types that saved files may name by an older name: TokenDense (before Dense took tokens)
RENAMED = {"TokenDense": "Dense"}


def layer_class(name):
    """The registered class a saved model's layer type names (old names included), or None."""
    return REGISTRY.get(RENAMED.get(name, name)) if isinstance(name, str) else None


def register(cls):
    """Add a layer class of your own to the registry (usable as a decorator), so that models that
    use it can be saved and loaded."""
    if not (isinstance(cls, type) and issubclass(cls, Layer)):
        raise ConfigError(f"only Layer subclasses can be registered, not {cls!r}")
    REGISTRY[cls.__name__] = cls
    return cls


def from_config(cfg: dict) -> Layer:
    """The layer a ``config()`` dict describes (a layer made of other layers' configs, an
    :class:`Ensemble`, has a ``from_config(cfg, from_config)`` classmethod that builds them)."""
    if not isinstance(cfg, dict):
        raise ConfigError(f"a layer must be described by an object, not {type(cfg).__name__}")
    cfg = dict(cfg)
    cls = layer_class(cfg.pop("type", None))
    if cls is None:
        raise ConfigError(f"unknown layer type in {cfg!r}")
    if hasattr(cls, "from_config"):
        return cls.from_config(cfg, from_config)
    return cls(**cfg)


__all__ = ["REGISTRY", "RENAMED", "layer_class", "GELU", "GRU", "LSTM", "LayerNorm", "MultiHeadSelfAttention",
           "PatchEmbedding", "PositionalEmbedding", "RNN", "TokenPool", "TransformerEncoderBlock", "AvgPool2D",
           "BatchNorm", "Conv2D", "Dense", "Dropout", "Ensemble", "Flatten", "GlobalAvgPool2D",
           "Layer", "MaxPool2D", "Mirror", "Parameter", "ReLU", "Reshape", "Shift", "Sigmoid", "Sign", "Softmax",
           "Standardize", "Step", "Tanh", "from_config", "register", "sigmoid", "softmax"]
