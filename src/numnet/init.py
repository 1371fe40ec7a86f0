"""Weight initialisation. Each returns an array of ``shape`` drawn from the seeded ``rng``.

fan_in  = inputs per neuron  (Dense: in_features; Conv2D: C_in * kH * kW)
fan_out = outputs per input  (Dense: out_features; Conv2D: C_out * kH * kW)
"""
from __future__ import annotations

import numpy as np

from .errors import ConfigError


def he(shape, fan_in, fan_out, rng):
    """He / Kaiming normal for ReLU: W ~ N(0, 2 / fan_in)."""
    return rng.standard_normal(shape) * np.sqrt(2.0 / fan_in)


def lecun(shape, fan_in, fan_out, rng):
    """LeCun normal: W ~ N(0, 1 / fan_in). Half He's variance; with standardised inputs it trains
    ReLU MLPs faster in the first epochs (see ``architectures.DEFAULT_INIT``)."""
    return rng.standard_normal(shape) * np.sqrt(1.0 / fan_in)


def xavier(shape, fan_in, fan_out, rng):
    """Xavier / Glorot uniform for sigmoid and tanh: W ~ U(-a, a), a = sqrt(6 / (fan_in + fan_out))."""
    a = np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-a, a, size=shape)


def normal(std):
    """W ~ N(0, std^2); tutorial 2 uses std = 0.01 (``weight_init_std``)."""
    def init(shape, fan_in, fan_out, rng):
        return rng.standard_normal(shape) * std
    return init


def get(name):
    """An initialiser by name: 'he', 'lecun', 'xavier', 'normal:0.01' (or a callable, returned as is)."""
    if callable(name):
        return name
    if name == "he":
        return he
    if name == "lecun":
        return lecun
    if name in ("xavier", "glorot"):
        return xavier
    if isinstance(name, str) and name.startswith("normal"):
        _, _, std = name.partition(":")
        try:
            std = float(std or 0.01)
        except ValueError:
            std = None
        if std is not None:
            if not 0 <= std < np.inf:                      # nan too: weights of nan would only "diverge"
                raise ConfigError(f"initialiser {name!r}: the standard deviation must be a finite number >= 0")
            return normal(std)
    raise ConfigError(f"unknown initialiser {name!r} (he, lecun, xavier, normal:STD)")
