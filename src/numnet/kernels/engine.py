"""Which engine runs the hot paths: ``numpy`` (the readable formulas, one NumPy pass per operation)
or ``numba`` (the same formulas fused into compiled loops, ``numnet.kernels.jit``).

Chosen by :func:`use` (the CLI's ``--engine``), else by the environment variable
``NUMNET_ENGINE=numpy|numba``, else numba when it imports and NumPy when it does not. Nothing is
imported until the first hot path asks (:func:`jit`), so ``numnet --help`` never pays for numba.
"""
from __future__ import annotations

import importlib
import os
import warnings

from ..errors import ConfigError

ENGINES = ("numpy", "numba")

_chosen: str | None = None     # what the user asked for (None: the environment, then the default)
_kernels = False               # False: not resolved yet; None: the NumPy engine; else the jit module
note: str | None = None        # why the default fell back to NumPy (for the CLI to print), else None


class EngineWarning(UserWarning):
    """numba was wanted by default but could not be imported: NumPy runs everything."""


def use(name: str | None) -> str:
    """Select the engine ('numpy', 'numba' or None for the default) for what runs next; returns the
    engine in effect. Asking for numba explicitly when it does not import is an error."""
    global _chosen, _kernels
    if name is not None and name not in ENGINES:
        raise ConfigError(f"unknown engine {name!r} (choose from {', '.join(ENGINES)})")
    _chosen, _kernels = name, False
    return current()


def current() -> str:
    """The engine in effect: 'numba' or 'numpy'."""
    return "numpy" if jit() is None else "numba"


def jit():
    """The compiled kernels (module ``numnet.kernels.jit``) when the engine is numba, else None."""
    global _kernels, note
    if _kernels is not False:
        return _kernels
    wanted = _chosen or os.environ.get("NUMNET_ENGINE") or None
    if wanted not in (None, *ENGINES):
        raise ConfigError(f"NUMNET_ENGINE={wanted!r}: choose from {', '.join(ENGINES)}")
    _kernels, note = None, None
    if wanted == "numpy":
        return None
    _cache_dir()
    try:
        from . import jit as kernels
    except ImportError as e:
        if wanted == "numba":
            raise ConfigError(f"engine numba: {e}") from None
        note = f"numba is not available ({e}); using the NumPy engine"
        warnings.warn(note, EngineWarning, stacklevel=2)
        return None
    _kernels = kernels
    return kernels


def compiled(name: str):
    """The compiled kernels of one family, module ``numnet.kernels.jit_<name>`` (``conv``,
    ``recurrent``, ``attention``, ``norm``), when the engine is numba, else None; imported on first
    use, as :func:`jit`, so a model that never runs a family never compiles it."""
    if jit() is None:
        return None
    return importlib.import_module(f"{__package__}.jit_{name}")


def conv_kernels():
    """The compiled convolution and pooling kernels (``compiled("conv")``)."""
    return compiled("conv")


def _cache_dir():
    """numba caches compiled kernels beside their source (``__pycache__``); where the package folder
    is read-only (a system install) and NUMBA_CACHE_DIR is unset, a per-user cache folder instead."""
    if os.environ.get("NUMBA_CACHE_DIR"):
        return
    here = os.path.dirname(os.path.abspath(__file__))
    pycache = os.path.join(here, "__pycache__")
    if os.access(pycache if os.path.isdir(pycache) else here, os.W_OK):
        return
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    os.environ["NUMBA_CACHE_DIR"] = os.path.join(base, "numnet", "numba")
