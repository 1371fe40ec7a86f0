"""Saving and loading models: one ``.npz`` file holding every parameter and buffer array (entries
'k.name' for layer k) and a JSON entry ``__config__`` (the architecture, loss, dtype, history and
training info). No pickle anywhere (``allow_pickle=False``); sizes are checked before anything is
allocated; files are written atomically (a temporary file renamed over the target)."""
from __future__ import annotations

import json
import os
import zipfile

import numpy as np

from . import layers as layers_mod
from .errors import ConfigError, ModelFileError
from .model import FORMAT, FORMAT_VERSION, Sequential

MAX_CONFIG_BYTES = 1 << 24


def arrays(model) -> dict:
    """{'k.name': array} for every parameter and buffer of every layer (the arrays themselves)."""
    out = {}
    for i, layer in enumerate(model.layers):
        for name in layer.param_names + getattr(layer, "buffer_names", ()):
            out[f"{i}.{name}"] = getattr(layer, name)
    return out


def save(model, path) -> str:
    """Write ``model`` to ``path`` (.npz: arrays + a JSON entry ``__config__``), atomically."""
    path = os.fspath(path)
    entries = arrays(model)
    entries["__config__"] = np.array(json.dumps(model.config()))
    directory = os.path.dirname(os.path.abspath(path))
    tmp = os.path.join(directory, f".{os.path.basename(path)}.{os.getpid()}.part")
    try:
        with open(tmp, "wb") as f:
            np.savez(f, **entries)
        os.replace(tmp, path)
    except OSError as e:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise ModelFileError(f"{path}: cannot write model ({e.strerror or e})") from None
    return path


def load(path) -> Sequential:
    """Load a model saved by :func:`save`. No pickle: ``allow_pickle=False``.

    Raises :class:`ModelFileError` for a missing, corrupt or foreign file, or arrays whose
    shapes disagree with the saved architecture (checked before they are read).
    """
    path = os.fspath(path)

    def fail(problem):
        return ModelFileError(f"{path}: {problem}")

    if not os.path.isfile(path):
        raise fail("no such model file (make one with: numnet train --save model.npz)")
    try:
        with zipfile.ZipFile(path) as zf:
            sizes = {i.filename[:-4]: i.file_size for i in zf.infolist() if i.filename.endswith(".npy")}
        if "__config__" not in sizes:
            raise fail("not a numnet model (no __config__ entry)")
        if sizes["__config__"] > MAX_CONFIG_BYTES:
            raise fail("config entry too large")
        with np.load(path, allow_pickle=False) as npz:
            cfg = json.loads(str(npz["__config__"]))
            if not isinstance(cfg, dict) or cfg.get("format") != FORMAT:
                raise fail("not a numnet model (wrong format tag)")
            if cfg.get("version") != FORMAT_VERSION:
                raise fail(f"unsupported model format version {cfg.get('version')!r}")
            try:
                model = Sequential([layers_mod.from_config(c) for c in cfg["layers"]],
                                   loss=cfg["loss"]["type"], dtype=cfg["dtype"], seed=None)
            except (ConfigError, TypeError, ValueError, KeyError) as e:
                raise fail(f"invalid architecture ({e})") from None
            expected = arrays(model)
            if set(expected) != set(sizes) - {"__config__"}:
                missing = sorted(set(expected) - set(sizes))
                extra = sorted(set(sizes) - set(expected) - {"__config__"})
                raise fail(f"arrays disagree with the architecture (missing {missing}, unexpected {extra})")
            for key, target in expected.items():
                if sizes[key] > target.nbytes + 4096:
                    raise fail(f"array {key} is larger than its layer allows")
                arr = npz[key]
                if arr.shape != target.shape:
                    raise fail(f"array {key} has shape {arr.shape}, the architecture needs {target.shape}")
                if arr.dtype != target.dtype:
                    raise fail(f"array {key} has dtype {arr.dtype}, expected {target.dtype}")
                target[...] = arr
    except ModelFileError:
        raise
    except (zipfile.BadZipFile, OSError, ValueError, KeyError, TypeError, EOFError) as e:
        raise fail(f"corrupt or unreadable model file ({e.__class__.__name__}: {e})") from None
    model.input_shape = tuple(cfg["input_shape"]) if cfg.get("input_shape") else None
    model.history = list(cfg.get("history") or [])
    model.info = dict(cfg.get("info") or {})
    return model
