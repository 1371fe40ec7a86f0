"""The arguments of one layer token of the ``--arch`` grammar: ``conv(32,5,padding=2)`` -> numbers.

Shared by the grammar of image layers (:mod:`.grammar`) and of sequence layers (:mod:`.sequence`).
"""
from __future__ import annotations

import math

from ..errors import ConfigError


def layer_args(text, token):
    """'32,5,padding=2' -> ([32, 5], {'padding': 2}), numbers only."""
    pos, kw = [], {}
    for part in (p.strip() for p in text.split(",")) if text.strip() else ():
        key, eq, value = part.partition("=")
        try:
            num = float(value if eq else key)
        except ValueError:
            raise ConfigError(f"layer {token!r}: {part!r} is not a number") from None
        if not math.isfinite(num):
            raise ConfigError(f"layer {token!r}: {part!r} is not a finite number")
        num = int(num) if num.is_integer() else num
        if eq:
            kw[key.strip()] = num
        elif kw:
            raise ConfigError(f"layer {token!r}: positional argument after a keyword")
        else:
            pos.append(num)
    return pos, kw


CONV_KEYS = {"s": "stride", "p": "padding", "stride": "stride", "padding": "padding"}


def layer_ints(token, values, names, minimum=1):
    """The integer arguments of a layer token, each at least ``minimum`` (sizes are never truncated)."""
    for name, v in zip(names, values):
        if not isinstance(v, int) or v < minimum:
            kind = "a positive integer" if minimum == 1 else "a non-negative integer"
            raise ConfigError(f"layer {token!r}: {name} must be {kind}, got {v:g}")
    return values
