"""Saving and loading models: one ``.npz`` file holding every parameter and buffer array (entries
'k.name' for layer k, 'k.child.name' for its child layers) and a JSON entry ``__config__`` (the
architecture, loss, dtype, history and training info). No pickle anywhere (``allow_pickle=False``);
sizes are checked before anything is allocated; files are written by the output-file policy
(:mod:`numnet.files`: a temporary file renamed over the target, never over a special file)."""
from __future__ import annotations

import json
import os
import struct
import tokenize
import zipfile
import zlib

import numpy as np

from .. import layers as layers_mod
from .. import optim
from ..architectures.sizes import check_layers
from ..errors import ConfigError, ModelFileError, OutputError
from ..files import keep_elsewhere, write_file
from ..model import FORMAT, FORMAT_VERSION, Sequential

MAX_CONFIG_BYTES = 1 << 24
OPTIMIZER = "__optimizer__"          # array entries '__optimizer__.i.name': the optimizer's state


def arrays(model) -> dict:
    """{'k.name': array} for every parameter and buffer of every layer (the arrays themselves);
    a child layer's are 'k.child.name' (``3.attn.in_proj_weight``)."""
    return dict(model.named_parameters()) | dict(model.named_buffers())


def _entry_name(key: str, entries) -> str:
    """``key``, or the name files made before layers held child layers gave a child's array if the
    file has that one instead: '3.attn_in_proj_weight' for '3.attn.in_proj_weight' (the parts of
    a TransformerEncoderBlock)."""
    layer, _, rest = key.partition(".")
    old = f"{layer}.{rest.replace('.', '_', 1)}"
    return old if key not in entries and old in entries else key


def save(model, path, *, what: str = "model file", keep: bool = False, inputs=()) -> str:
    """Write ``model`` to ``path`` (.npz: arrays + a JSON entry ``__config__``) by the output-file
    policy (:func:`numnet.files.write_file`: atomically, never over a special file or one of
    ``inputs``); returns ``path``. ``keep``: if the target cannot be written (a full disk),
    keep the model at a fallback path (:func:`numnet.files.keep_elsewhere`) and raise an
    :class:`~numnet.errors.OutputError` that says where; ``what`` names the target in errors."""
    entries, cfg = arrays(model), model.config()
    opt = getattr(model, "optimizer", None)
    opt = getattr(opt, "inner", opt)               # a wrapper (numnet.train.transfer.Restricted): its optimizer
    if type(opt) in optim.REGISTRY.values():       # so that load + fit continues rather than cold-starting
        cfg["optimizer_state"] = {"config": opt.config(), "t": opt.t,
                                  "sizes": {str(i): int(state["tmp"].size) for i, state in opt.state.items()}}
        for i, state in opt.state.items():
            for name in opt.state_names:
                if name != "tmp":
                    entries[f"{OPTIMIZER}.{i}.{name}"] = state[name]
    if getattr(model, "training_state", None):
        cfg["training_state"] = model.training_state
    entries["__config__"] = np.array(json.dumps(cfg))

    def fill(f):
        np.savez(f, **entries)

    try:
        write_file(path, fill, what, inputs=inputs)
    except OutputError as e:
        if not keep:
            raise
        raise keep_elsewhere(e, fill, path) from None
    return os.fspath(path)


def load(path, model_class=Sequential) -> Sequential:
    """Load a model saved by :func:`save`, as a ``model_class`` (``numnet.load`` asks for
    ``numnet.Sequential``, which has ``fit`` and ``save``). No pickle: ``allow_pickle=False``.

    Raises :class:`ModelFileError` for a missing, corrupt or foreign file. Nothing is allocated
    before it is checked: the config's size; the values the architecture declares (its layers,
    built from the config without allocating, sum their ``param_shapes`` and ``buffer_shapes``)
    against what the file's arrays can hold; every array's ``.npy`` header (shape,
    dtype) against the architecture and against the size of its entry in the zip; the config's own
    header before its text; the layers' sizes, walked from the saved input shape, against the limits
    of :mod:`numnet.architectures.sizes` (a crafted conv padding that would need gigabytes a sample).
    """
    path = os.fspath(path)

    def fail(problem):
        problem = " ".join(str(problem).split())                    # one line, whatever the cause said
        return ModelFileError(f"{path}: {problem[:300]}")

    if not os.path.isfile(path):
        raise fail("no such model file (make one with: numnet train --save model.npz)")
    try:
        with zipfile.ZipFile(path) as zf:
            entries = {i.filename[:-4]: i for i in zf.infolist() if i.filename.endswith(".npy")}
            if "__config__" not in entries:
                raise fail("not a numnet model (no __config__ entry)")
            if entries["__config__"].file_size > MAX_CONFIG_BYTES:
                raise fail("config entry too large")
            cfg = _config(zf, entries["__config__"], fail)
            capacity = _capacity(path, entries, fail)
            model = _build(cfg, capacity, fail, model_class)
            expected = {_entry_name(key, entries): a for key, a in arrays(model).items()}
            if cfg.get("optimizer_state") is not None:
                model.optimizer, opt_arrays = _optimizer(cfg["optimizer_state"], model, fail)
                expected.update(opt_arrays)
            present = set(entries) - {"__config__"}
            if set(expected) != present:
                missing = sorted(set(expected) - present)
                extra = sorted(present - set(expected))
                raise fail(f"arrays disagree with the architecture (missing {missing}, unexpected {extra})")
            for key, target in expected.items():
                _read_into(zf, entries[key], key, target, fail)
            for _, layer in model.named_layers():
                layer.state_loaded()
    except ModelFileError:
        raise
    except ConfigError as e:
        raise fail(f"invalid model ({e})") from None
    except (zipfile.BadZipFile, zlib.error, OSError, ValueError, KeyError, TypeError, EOFError, RecursionError,
            SyntaxError, tokenize.TokenError, NotImplementedError, struct.error) as e:         # (a mangled .npy header or zip entry)
        raise fail(f"corrupt or unreadable model file ({e.__class__.__name__}: {e})") from None
    model.input_shape = tuple(cfg["input_shape"]) if cfg.get("input_shape") else None
    model.history = list(cfg.get("history") or [])
    model.info = dict(cfg.get("info") or {})
    model.training_state = _training_state(cfg.get("training_state"), fail)
    return model


def _config(zf, entry, fail) -> dict:
    """The JSON config entry, checked for the keys and types that everything after relies on."""
    with zf.open(entry) as f:
        shape, _, dtype = _header(f, "__config__", fail)
        if shape != () or dtype.kind != "U" or f.tell() + dtype.itemsize != entry.file_size:
            raise fail(f"config entry: its header declares shape {shape} of {dtype}, not one string of the "
                       f"entry's {entry.file_size:,} bytes")
        text = str(np.frombuffer(f.read(dtype.itemsize), dtype=dtype)[0])
    try:
        cfg = json.loads(text)
    except (ValueError, RecursionError) as e:
        raise fail(f"config is not valid JSON ({type(e).__name__})") from None
    if not isinstance(cfg, dict) or cfg.get("format") != FORMAT:
        raise fail("not a numnet model (wrong format tag)")
    if cfg.get("version") != FORMAT_VERSION:
        raise fail(f"unsupported model format version {cfg.get('version')!r}")
    shape = cfg.get("input_shape")
    checks = {
        "layers": isinstance(cfg.get("layers"), list) and all(isinstance(c, dict) for c in cfg["layers"]),
        "loss": isinstance(cfg.get("loss"), dict) and isinstance(cfg["loss"].get("type"), str),
        "dtype": cfg.get("dtype") in ("float32", "float64"),
        "input_shape": shape is None or (isinstance(shape, list) and all(
            isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in shape)),
        "history": cfg.get("history") is None or _is_history(cfg["history"]),
        "info": cfg.get("info") is None or _is_info(cfg["info"]),
    }
    bad = [k for k, ok in checks.items() if not ok]
    if bad:
        raise fail(f"invalid config entry: {', '.join(bad)}")
    return cfg


def _is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


#: the history keys that training, the report and serve read: the epoch and its measurements
HISTORY_NUMBERS = ("train_loss", "train_accuracy", "val_loss", "val_accuracy", "seconds", "eval_seconds")


def _is_history(history) -> bool:
    """A list of epoch entries: each a dict with an integer ``epoch`` and numbers (or null) for
    :data:`HISTORY_NUMBERS`; other keys are the saver's own."""
    return isinstance(history, list) and all(
        isinstance(e, dict) and isinstance(e.get("epoch"), int) and not isinstance(e["epoch"], bool)
        and all(e.get(k) is None or _is_number(e[k]) for k in HISTORY_NUMBERS) for e in history)


def _is_info(info) -> bool:
    """A dict; the parts that commands read have their types: ``run`` and ``recipe`` dicts,
    ``optimizer`` a dict whose ``lr`` (if any) is a number."""
    if not isinstance(info, dict) or not all(info.get(k) is None or isinstance(info[k], dict)
                                             for k in ("run", "recipe", "optimizer")):
        return False
    lr = (info.get("optimizer") or {}).get("lr")
    return lr is None or _is_number(lr)


#: deflate cannot expand data by more than about 1032:1, so a compressed entry's stated size beyond
#: that is a lie
MAX_DEFLATE_RATIO = 1032


def _capacity(path, entries, fail) -> int:
    """Bytes the file's arrays can hold, from their zip entries' sizes, which the file itself
    states: each is held to what the file's bytes allow (an entry stored as is holds exactly its
    compressed bytes; a deflated one at most 1032 times them; all together no more than the file)."""
    arrays = [e for k, e in entries.items() if k != "__config__"]
    if sum(e.compress_size for e in arrays) > os.path.getsize(path):
        raise fail("its zip entries claim more bytes than the file has")
    for e in arrays:
        if e.compress_type == zipfile.ZIP_STORED and e.file_size != e.compress_size:
            raise fail(f"entry {e.filename}: stored, but its sizes disagree ({e.file_size} vs {e.compress_size})")
        if e.file_size > MAX_DEFLATE_RATIO * max(e.compress_size, 1):
            raise fail(f"entry {e.filename}: claims {e.file_size:,} bytes from {e.compress_size:,} compressed")
    return sum(e.file_size for e in arrays)


def _build(cfg, capacity, fail, model_class) -> Sequential:
    """The model the config describes, after checking that the values its layers declare fit in
    the ``capacity`` bytes of arrays the file holds (4 bytes a value at least) and that its layers,
    walked from the saved ``input_shape``, are within the size limits of
    :mod:`numnet.architectures.sizes` (parameters, values per sample, one sample's pass). Layers built from a
    config hold dimensions only, so the check allocates nothing (a registered layer of your own that
    allocates in its constructor has allocated by then)."""
    declared, layers = 0, []
    for c in cfg["layers"]:
        cls = layers_mod.layer_class(c.get("type"))
        if cls is None:
            raise fail(f"invalid architecture (unknown layer type {c.get('type')!r})")
        try:
            layer = layers_mod.from_config(c)
            declared += layer.size()
        except (KeyError, TypeError, ValueError, ConfigError) as e:
            raise fail(f"invalid architecture ({cls.__name__}: {e})") from None
        if declared > capacity // 4 + 1024:
            raise fail(f"the architecture declares {declared:,} or more values, but the file's arrays hold at most "
                       f"{capacity // 4:,}")
        layers.append(layer)
    check_layers(layers, cfg.get("input_shape"), "its architecture")    # what a pass will allocate (ConfigError)
    try:
        return model_class(layers, loss=cfg["loss"]["type"], dtype=cfg["dtype"], seed=None)
    except (ConfigError, TypeError, ValueError, KeyError) as e:
        raise fail(f"invalid architecture ({e})") from None


def _header(f, key, fail):
    """(shape, fortran order, dtype) from the .npy header at ``f``, read before any of its data (a
    header may declare any size: the caller checks it against what it expects and the entry holds)."""
    version = np.lib.format.read_magic(f)
    if version not in ((1, 0), (2, 0)):
        raise fail(f"array {key}: unsupported .npy version {version}")
    read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
    shape, fortran, dtype = read_header(f)
    if dtype.hasobject:
        raise fail(f"array {key} holds Python objects (refused: no pickle)")
    return tuple(shape), fortran, dtype


def _read_into(zf, entry, key, target, fail):
    """Read array ``key`` into ``target`` after checking its .npy header (shape, dtype, no pickled
    objects) against the architecture and the entry's size."""
    with zf.open(entry) as f:
        shape, fortran, dtype = _header(f, key, fail)
        if tuple(shape) != target.shape:
            raise fail(f"array {key} has shape {tuple(shape)}, the architecture needs {target.shape}")
        if dtype != target.dtype:
            raise fail(f"array {key} has dtype {dtype}, the model's is {target.dtype}")
        if entry.file_size != f.tell() + target.nbytes:
            raise fail(f"array {key}: its entry holds {entry.file_size} bytes, its header promises "
                       f"{f.tell() + target.nbytes}")
        data = f.read(target.nbytes)
    if len(data) != target.nbytes:
        raise fail(f"array {key} is truncated")
    flat = np.frombuffer(data, dtype=dtype)
    target[...] = flat.reshape(shape, order="F" if fortran else "C")
    if not np.isfinite(target).all():
        raise fail(f"array {key} holds NaN or infinite values (a training that diverged?)")


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
    sizes = saved.get("sizes", {"0": model.num_parameters} if t else {})
    if (not isinstance(sizes, dict) or not all(isinstance(n, int) and not isinstance(n, bool) and 0 < n for n in
                                               sizes.values()) or sum(sizes.values()) > model.num_parameters):
        raise fail("invalid optimizer state (sizes)")
    targets = {}
    for i, n in sizes.items():
        if not i.isdigit():
            raise fail("invalid optimizer state (parameter index)")
        state = opt.state_for(int(i), model.flat_params[:n])       # zeros shaped like that slice
        targets.update({f"{OPTIMIZER}.{i}.{name}": state[name] for name in opt.state_names if name != "tmp"})
    return opt, targets


def _training_state(state, fail):
    """The position of a checkpointed run (``model.training_state``, see
    :class:`numnet.train.checkpoint.Resume`), checked; None if there is none."""
    if state is None:
        return None
    ints = ("epoch", "epochs", "step", "batch_size", "samples", "seed")
    if (not isinstance(state, dict) or any(isinstance(state.get(k), bool) or not isinstance(state.get(k), int)
                                           for k in ints)
            or not isinstance(state.get("rng"), dict) or not isinstance(state.get("layer_rngs"), dict)):
        raise fail("invalid training state")
    return state
