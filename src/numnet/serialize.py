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
from . import optim
from .errors import ConfigError, ModelFileError
from .model import FORMAT, FORMAT_VERSION, Sequential

MAX_CONFIG_BYTES = 1 << 24
OPTIMIZER = "__optimizer__"          # array entries '__optimizer__.i.name': the optimizer's state


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
    entries, cfg = arrays(model), model.config()
    opt = getattr(model, "optimizer", None)
    if type(opt) in optim.REGISTRY.values():       # so that load + fit continues rather than cold-starting
        cfg["optimizer_state"] = {"config": opt.config(), "t": opt.t}
        for i, state in opt.state.items():
            for name in opt.state_names:
                if name != "tmp":
                    entries[f"{OPTIMIZER}.{i}.{name}"] = state[name]
    if getattr(model, "training_state", None):
        cfg["training_state"] = model.training_state
    entries["__config__"] = np.array(json.dumps(cfg))
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
            opt_arrays = {}
            if cfg.get("optimizer_state") is not None:
                model.optimizer, opt_arrays = _optimizer(cfg["optimizer_state"], model, fail)
                expected.update(opt_arrays)
            present = set(sizes) - {"__config__"}
            if set(expected) != present:
                missing = sorted(set(expected) - present)
                extra = sorted(present - set(expected))
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
                if not np.isfinite(target).all():
                    raise fail(f"array {key} holds NaN or infinite values (a training that diverged?)")
    except ModelFileError:
        raise
    except (zipfile.BadZipFile, OSError, ValueError, KeyError, TypeError, EOFError) as e:
        raise fail(f"corrupt or unreadable model file ({e.__class__.__name__}: {e})") from None
    model.input_shape = tuple(cfg["input_shape"]) if cfg.get("input_shape") else None
    model.history = list(cfg.get("history") or [])
    model.info = dict(cfg.get("info") or {})
    model.training_state = _training_state(cfg.get("training_state"), fail)
    return model


def _optimizer(saved, model, fail):
    """The optimizer of a saved model, its state arrays still to be read: (optimizer, {key: array})."""
    try:
        kwargs = dict(saved["config"])
        opt = optim.get(kwargs.pop("type"), kwargs.pop("lr"), **kwargs)
        t = saved["t"]
        if isinstance(t, bool) or not isinstance(t, int) or t < 0:
            raise ValueError(f"step count {t!r}")
    except (ConfigError, TypeError, ValueError, KeyError, AttributeError) as e:
        raise fail(f"invalid optimizer state ({e})") from None
    opt.t = t
    targets = {}
    if t:
        state = opt.state_for(0, model.flat_params)
        targets = {f"{OPTIMIZER}.0.{name}": state[name] for name in opt.state_names if name != "tmp"}
    return opt, targets


def _training_state(state, fail):
    """The position of a checkpointed run (see ``training.fit``), checked; None if there is none."""
    if state is None:
        return None
    ints = ("epoch", "epochs", "step", "batch_size", "samples", "seed")
    if (not isinstance(state, dict) or any(isinstance(state.get(k), bool) or not isinstance(state.get(k), int)
                                           for k in ints)
            or not isinstance(state.get("rng"), dict) or not isinstance(state.get("layer_rngs"), dict)):
        raise fail("invalid training state")
    return state
