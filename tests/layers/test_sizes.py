"""Every layer says how many values it will hold before it allocates them (``param_shapes`` and
``buffer_shapes``, computed from the dimensions its constructor stores), so that ``numnet.load``
can refuse a model file whose architecture declares more than its arrays hold without allocating
anything: each registered layer of numnet, against what it really allocates; hostile files of the
recurrent, attention and transformer families, through the library and through the CLI; and what
happens to a layer of the user's own."""
import io
import json
import tracemalloc
import zipfile

import numpy as np
import pytest

import numnet
from numnet import layers as L
from numnet.errors import ConfigError
from numnet.io.serialize import arrays

from ..helpers import assert_one_line, run_cli

#: one or more representative configs per layer type of numnet (a new layer type needs its own here)
CONFIGS = {
    "Dense": [{"in_features": 5, "out_features": 3}],
    "ReLU": [{}], "Sigmoid": [{}], "Tanh": [{}], "Step": [{}], "Sign": [{}], "Softmax": [{}],
    "Flatten": [{}], "Reshape": [{"shape": [2, 3]}], "Mirror": [{}], "Shift": [{"dy": 1, "dx": -2}],
    "Standardize": [{"shape": [4, 5]}, {"shape": None}],
    "BatchNorm": [{"num_features": 6}],
    "Dropout": [{"p": 0.3}],
    "Conv2D": [{"in_channels": 2, "out_channels": 3, "kernel_size": [3, 2]}, {"in_channels": 1, "out_channels": 4}],
    "MaxPool2D": [{"kernel_size": 2}], "AvgPool2D": [{"kernel_size": 3, "stride": 1}], "GlobalAvgPool2D": [{}],
    "RNN": [{"input_size": 5, "hidden_size": 7}],
    "LSTM": [{"input_size": 5, "hidden_size": 7, "return_sequences": True}],
    "GRU": [{"input_size": 3, "hidden_size": 4}],
    "LayerNorm": [{"dim": 6}, {"dim": 6, "eps": 1e-3}],
    "GELU": [{}, {"approximate": "tanh"}],
    "MultiHeadSelfAttention": [{"embed_dim": 8, "num_heads": 2}],
    "PositionalEmbedding": [{"num_tokens": 5, "dim": 6}],
    "PatchEmbedding": [{"image_shape": [2, 8, 12], "patch_size": 4, "dim": 5, "cls_token": True},
                       {"image_shape": [28, 28], "patch_size": 7, "dim": 3, "cls_token": False}],
    "TokenPool": [{"mode": "mean"}],
    "TransformerEncoderBlock": [{"dim": 8, "num_heads": 2, "mlp_dim": 12}],
    "Ensemble": [{"members": [[{"type": "Flatten"}, {"type": "Dense", "in_features": 6, "out_features": 3}],
                              [{"type": "BatchNorm", "num_features": 6}, {"type": "Dense", "in_features": 6,
                                                                          "out_features": 3}]]}],
}
NUMNET_LAYERS = sorted(name for name, cls in L.REGISTRY.items() if cls.__module__.startswith("numnet."))


def allocated(layer) -> int:
    """Values held in the layer's parameters and buffers, children's included (what a saved file stores for it)."""
    return sum(np.asarray(a).size for _, a in layer.named_parameters() + layer.named_buffers())


@pytest.mark.parametrize("name", NUMNET_LAYERS)
def test_every_layer_declares_exactly_what_it_allocates(name):
    assert name in CONFIGS, f"add a representative config of {name} to CONFIGS (and array_shapes to {name})"
    for config in CONFIGS[name]:
        layer = L.from_config({"type": name, **config})
        declared = layer.size()                                               # before anything is allocated
        shapes = {**layer.param_shapes(), **layer.buffer_shapes()}
        assert declared == allocated(layer), (name, config)
        assert shapes == {k: a.shape for k, a in layer.named_parameters() + layer.named_buffers()}
        saved = {k: v for k, v in layer.config().items() if k != "type"}
        assert L.from_config({"type": name, **saved}).size() == declared, (name, saved)   # its own saved config too


@pytest.mark.parametrize("name, config", [
    ("LSTM", {"input_size": 5, "hidden_size": 0}), ("GRU", {"input_size": 2.5, "hidden_size": 4}),
    ("RNN", {"input_size": "5", "hidden_size": 4}), ("RNN", {"input_size": True, "hidden_size": 4}),
    ("LayerNorm", {"dim": float("inf")}), ("Dense", {"in_features": 4, "out_features": -1}),
    ("MultiHeadSelfAttention", {"embed_dim": 10, "num_heads": 3}),
    ("MultiHeadSelfAttention", {"embed_dim": 8, "num_heads": 0}),
    ("PositionalEmbedding", {"num_tokens": 0, "dim": 4}),
    ("PatchEmbedding", {"image_shape": [28, 28], "patch_size": 5, "dim": 4}),
    ("PatchEmbedding", {"image_shape": [1, 2, 28, 28], "patch_size": 7, "dim": 4}),
    ("PatchEmbedding", {"image_shape": [28, 28.5], "patch_size": 7, "dim": 4}),
    ("TransformerEncoderBlock", {"dim": 8, "num_heads": 3, "mlp_dim": 4}),
    ("TransformerEncoderBlock", {"dim": 8, "num_heads": 2, "mlp_dim": 12.5}),
])
def test_bad_sizes_are_refused_by_the_constructor(name, config):
    with pytest.raises(ConfigError):
        L.REGISTRY[name](**config)


# hostile files, one small real model per family -----------------------------------------------
FAMILIES = {
    "recurrent": lambda: [L.LSTM(28, 6, return_sequences=True), L.GRU(6, 5, return_sequences=True), L.RNN(5, 4),
                          L.Dense(4, 10)],
    "attention": lambda: [L.PatchEmbedding((28, 28), 7, 8), L.PositionalEmbedding(17, 8),
                          L.MultiHeadSelfAttention(8, 2), L.Dense(8, 8, init="xavier"), L.LayerNorm(8),
                          L.TokenPool("cls"), L.Dense(8, 10)],
    "transformer": lambda: [L.PatchEmbedding((28, 28), 7, 8, cls_token=False), L.TransformerEncoderBlock(8, 2, 16),
                            L.TokenPool("mean"), L.Dense(8, 10)],
}
#: (family, layer index, the edit to its config) — each declares at least 10⁹ values
HUGE = [
    ("recurrent", 0, {"hidden_size": 10 ** 6}), ("recurrent", 1, {"input_size": 10 ** 9}),
    ("recurrent", 2, {"hidden_size": 10 ** 5}),
    ("attention", 0, {"dim": 10 ** 9}), ("attention", 0, {"image_shape": [10 ** 7, 28, 28]}),
    ("attention", 1, {"num_tokens": 10 ** 9}), ("attention", 2, {"embed_dim": 10 ** 6}),
    ("attention", 3, {"out_features": 10 ** 9}), ("attention", 4, {"dim": 10 ** 10}),
    ("transformer", 1, {"mlp_dim": 10 ** 9}), ("transformer", 1, {"dim": 10 ** 6}),
]


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """{family: (path, config, arrays)} of a small real model of each family, saved."""
    out = {}
    for family, make in FAMILIES.items():
        model = numnet.Sequential(make(), seed=0)
        model.input_shape = (28, 28)
        path = tmp_path_factory.mktemp(family) / "m.npz"
        model.save(path)
        out[family] = path, model.config(), {k: v.copy() for k, v in arrays(model).items()}
    return out


def write(path, cfg, entries):
    """A .npz written by hand: __config__ (JSON text) and the given arrays."""
    with zipfile.ZipFile(path, "w") as zf:
        for key, value in {"__config__": np.array(json.dumps(cfg)), **entries}.items():
            buf = io.BytesIO()
            np.lib.format.write_array(buf, np.asarray(value), allow_pickle=False)
            zf.writestr(key + ".npy", buf.getvalue())
    return path


def hostile(saved, family, index, edit, path):
    _, cfg, entries = saved[family]
    cfg = json.loads(json.dumps(cfg))
    cfg["layers"][index].update(edit)
    return write(path, cfg, entries), cfg["layers"][index]["type"]


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_the_real_models_load_back(saved, family):
    path, _, entries = saved[family]
    model = numnet.load(path)
    for key, value in arrays(model).items():
        np.testing.assert_array_equal(value, entries[key])


@pytest.mark.parametrize("family, index, edit", HUGE)
def test_a_huge_declared_layer_is_refused_before_anything_is_allocated(saved, family, index, edit, tmp_path):
    path, _ = hostile(saved, family, index, edit, tmp_path / "huge.npz")
    tracemalloc.start()
    with pytest.raises(numnet.ModelFileError) as e:
        numnet.load(path)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    message = str(e.value)
    assert "\n" not in message and "declares" in message, message
    assert peak < 50 * 2 ** 20, peak
    assert L.from_config(saved[family][1]["layers"][index] | edit).size() >= 10 ** 9


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_the_cli_refuses_a_huge_declared_layer_with_one_line(saved, family, tmp_path):
    index, edit = next((i, e) for f, i, e in HUGE if f == family)
    path, _ = hostile(saved, family, index, edit, tmp_path / "huge.npz")
    for args in (["evaluate", path], ["predict", path, tmp_path / "digit.png"]):
        code, _, err = run_cli(*args, timeout=120)
        assert_one_line(code, err, "declares")


def test_a_numnet_layer_that_does_not_declare_its_size_is_refused(saved, monkeypatch):
    monkeypatch.setattr(L.LSTM, "array_shapes", L.Layer.array_shapes)      # the default: the arrays it holds
    with pytest.raises(numnet.ModelFileError, match="LSTM does not declare its size"):
        numnet.load(saved["recurrent"][0])


# layers of the user's own ------------------------------------------------------------------------
class Gain(L.Layer):
    """y = g ⊙ x, g (n,): a user's layer with a parameter, allocated in its constructor, and no array_shapes."""
    param_names = ("g",)

    def __init__(self, n, dtype=np.float32):
        self.n = n
        self.g, self.dg = np.ones(n, dtype), np.zeros(n, dtype)

    def forward(self, x):
        return x * self.g

    def config(self):
        return {"type": type(self).__name__, "n": self.n}


class DeclaredGain(Gain):
    """The same, storing its dimension only and saying its shapes (as numnet's layers do)."""

    def __init__(self, n, dtype=np.float32):
        self.n = numnet.functional.whole(n, "n")

    def array_shapes(self):
        return {"g": (self.n,)}

    def init_params(self, rng):
        self.g[...] = 1


def _saved_with(cls, path, monkeypatch):
    monkeypatch.setitem(L.REGISTRY, cls.__name__, cls)                # as numnet.layers.register does
    model = numnet.Sequential([L.Flatten(), cls(784), L.Dense(784, 10)], seed=0)
    model.save(path)
    return model


@pytest.mark.parametrize("cls", [Gain, DeclaredGain])
def test_a_registered_layer_of_your_own_loads_whether_or_not_it_declares(cls, tmp_path, monkeypatch):
    """(The README's recipe for a new layer allocates in its constructor: its size is read from its arrays.)"""
    model = _saved_with(cls, tmp_path / "m.npz", monkeypatch)
    assert cls(784).param_shapes() == {"g": (784,)}
    np.testing.assert_array_equal(numnet.load(tmp_path / "m.npz").layers[1].g, model.layers[1].g)


def test_a_registered_layer_of_your_own_that_declares_is_checked(tmp_path, monkeypatch):
    model = _saved_with(DeclaredGain, tmp_path / "m.npz", monkeypatch)
    cfg = json.loads(json.dumps(model.config()))
    cfg["layers"][1]["n"] = 10 ** 10                                    # 40 GB
    tracemalloc.start()
    with pytest.raises(numnet.ModelFileError, match="declares"):
        numnet.load(write(tmp_path / "huge.npz", cfg, arrays(model)))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 50 * 2 ** 20, peak
