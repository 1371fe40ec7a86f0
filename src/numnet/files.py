"""What numnet writes, each said once.

* :func:`json_text` — the one JSON writer: every ``--json`` line and every HTTP body. JSON has no
  NaN or Infinity, so a non-finite number is an error (:class:`~numnet.errors.NonFiniteError`,
  naming where it sits: ``history[3].loss``), never an invalid token and never a silent null. A
  caller that reports a known non-finite value on purpose (a diverged run's history) says so with
  :func:`nulls_for_nonfinite` first.
"""
from __future__ import annotations

import json
import math

from .errors import NonFiniteError


def _plain(obj, where: str):
    """``obj`` as plain Python (NumPy scalars and arrays become numbers and lists), checked finite."""
    if isinstance(obj, float):
        if not math.isfinite(obj):
            raise NonFiniteError(f"{where or 'the result'} is {obj}, not a finite number (JSON cannot hold it)")
        return obj
    if isinstance(obj, dict):
        return {k: _plain(v, f"{where}.{k}" if where else str(k)) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v, f"{where}[{i}]") for i, v in enumerate(obj)]
    if hasattr(obj, "dtype") and hasattr(obj, "tolist"):        # NumPy scalars and arrays
        return _plain(obj.tolist(), where)
    return obj


def json_text(obj, *, compact: bool = False) -> str:
    """``obj`` as JSON text. Raises NonFiniteError if it holds NaN or ±Infinity anywhere."""
    separators = (",", ":") if compact else None
    try:                    # plain and finite (the usual case): the C encoder alone, no walk in Python
        return json.dumps(obj, allow_nan=False, separators=separators)
    except (TypeError, ValueError):          # NumPy values, or a non-finite number: _plain converts or names it
        return json.dumps(_plain(obj, ""), allow_nan=False, separators=separators)


def nulls_for_nonfinite(obj):
    """``obj`` with every non-finite float replaced by None: for values known to be non-finite
    and reported on purpose (the history of a run that diverged)."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: nulls_for_nonfinite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [nulls_for_nonfinite(v) for v in obj]
    if hasattr(obj, "dtype") and hasattr(obj, "tolist"):
        return nulls_for_nonfinite(obj.tolist())
    return obj
