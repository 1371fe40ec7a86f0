"""Layers made of layers: child layers held as plain attributes, dotted parameter names walked by
the model, the file format and the workers; Dense on tokens (TokenDense's successor, old files
included); constructors that store dimensions only."""
import io
import json
import tracemalloc
import zipfile

import numpy as np
import pytest

import numnet
from numnet import layers as L
from numnet.io.serialize import arrays
from numnet.train.parallel import twin

from ..helpers import check_layer


def _transformer(**kw):
    return numnet.Sequential([L.PatchEmbedding((28, 28), 7, 8, cls_token=False), L.TransformerEncoderBlock(8, 2, 12),
                              L.TokenPool("mean"), L.Dense(8, 10)], **kw)


def test_a_transformer_model_names_its_parameters_by_dotted_paths():
    model = _transformer(seed=0)
    names = [name for name, _ in model.named_parameters()]
    assert names == ["0.weight", "0.bias",
                     "1.norm1.gamma", "1.norm1.beta", "1.attn.in_proj_weight", "1.attn.in_proj_bias",
                     "1.attn.out_proj_weight", "1.attn.out_proj_bias", "1.norm2.gamma", "1.norm2.beta",
                     "1.linear1.W", "1.linear1.b", "1.linear2.W", "1.linear2.b", "3.W", "3.b"]
    assert [n for n, _ in model.named_gradients()] == names
    assert list(arrays(model)) == names
    block = model.layers[1]
    assert [n for n, _ in block.children()] == list(block.child_names)
    assert block.attn.in_proj_weight is dict(model.named_parameters())["1.attn.in_proj_weight"]
    assert np.shares_memory(block.linear1.W, model.flat_params) and np.shares_memory(block.linear1.dW, model.flat_grads)
    assert sum(p.value.size for p in model.parameters()) == model.num_parameters
    model.eval()
    assert not any(layer.training for _, layer in model.named_layers())
    model.train()
    assert all(layer.training for _, layer in model.named_layers())


def test_a_twin_of_a_block_shares_parameters_and_has_its_own_children():
    model = _transformer(seed=0)
    other = twin(model)
    a, b = model.layers[1], other.layers[1]
    for name, child in a.children():
        assert getattr(b, name) is not child
    assert b.attn.in_proj_weight is not a.attn.in_proj_weight
    assert np.shares_memory(b.attn.in_proj_weight, model.flat_params)
    assert not np.shares_memory(b.attn.din_proj_weight, model.flat_grads)


def test_no_layer_class_routes_attributes():
    """No __getattr__ or __setattr__ in any registered layer class (or its bases below object)."""
    for name, cls in L.REGISTRY.items():
        for klass in cls.__mro__[:-1]:
            assert "__getattr__" not in vars(klass) and "__setattr__" not in vars(klass), (name, klass)


def test_dense_on_tokens_is_dense_on_every_token(rng):
    dense = L.Dense(5, 3, dtype=np.float64, seed=1)
    x = rng.standard_normal((4, 6, 5))
    y = dense.forward(x)
    assert y.shape == (4, 6, 3) and dense.output_shape((6, 5)) == (6, 3)
    np.testing.assert_allclose(y.reshape(-1, 3), L.Dense(5, 3, dtype=np.float64, seed=1).forward(x.reshape(-1, 5)),
                               rtol=1e-14, atol=1e-14)
    check_layer(dense, x, rng, atol=1e-9)


def _rewrite(path, out, cfg_edit, rename):
    """A copy of a saved model with its config edited and its arrays renamed (as older files named them)."""
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(out, "w") as dst:
        for item in src.infolist():
            key = item.filename[:-4]
            data = src.read(item)
            if key == "__config__":
                cfg = json.loads(str(np.lib.format.read_array(io.BytesIO(data))))
                cfg_edit(cfg)
                buf = io.BytesIO()
                np.lib.format.write_array(buf, np.array(json.dumps(cfg)))
                data = buf.getvalue()
            dst.writestr(rename(key) + ".npy", data)
    return out


def test_a_file_made_before_composition_loads(tmp_path, rng):
    """Files saved before this change name a token Dense 'TokenDense' and a block's arrays '1.attn_in_proj_weight'."""
    model = numnet.Sequential([L.PatchEmbedding((28, 28), 7, 8), L.Dense(8, 12, init="xavier"),
                               L.TransformerEncoderBlock(12, 2, 16), L.TokenPool("cls"), L.Dense(12, 10)], seed=3)
    model.save(tmp_path / "new.npz")

    def as_before(cfg):
        cfg["layers"][1]["type"] = "TokenDense"

    def old_name(key):                                          # '2.attn.in_proj_weight' -> '2.attn_in_proj_weight'
        layer, _, rest = key.partition(".")
        return f"{layer}.{rest.replace('.', '_', 1)}" if layer == "2" else key
    old = _rewrite(tmp_path / "new.npz", tmp_path / "old.npz", as_before, old_name)
    with zipfile.ZipFile(old) as zf:
        assert "2.linear1_W.npy" in zf.namelist() and "2.linear1.W.npy" not in zf.namelist()
    loaded = numnet.load(old)
    assert type(loaded.layers[1]) is L.Dense and loaded.layers[1].init == "xavier"
    np.testing.assert_array_equal(loaded.flat_params, model.flat_params)
    x = rng.integers(0, 256, (5, 28, 28)).astype(np.uint8)
    np.testing.assert_array_equal(loaded.predict_proba(x), model.predict_proba(x))


HUGE = [lambda: L.LSTM(28, 100_000), lambda: L.MultiHeadSelfAttention(10 ** 8, 1), lambda: L.Dense(10 ** 6, 10 ** 6),
        lambda: L.TransformerEncoderBlock(10 ** 6, 2, 10 ** 6), lambda: L.Conv2D(10 ** 4, 10 ** 4, 99),
        lambda: L.BatchNorm(10 ** 9), lambda: L.Standardize((10 ** 9,)),
        lambda: L.PositionalEmbedding(10 ** 5, 10 ** 5), lambda: L.PatchEmbedding((10 ** 4, 28, 28), 7, 10 ** 6)]


@pytest.mark.parametrize("make", HUGE)
def test_constructing_a_huge_layer_allocates_nothing(make):
    tracemalloc.start()
    layer = make()
    shapes = {**layer.param_shapes(), **layer.buffer_shapes()}
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 2 ** 20, peak
    assert layer.size() == sum(int(np.prod(s)) for s in shapes.values()) > 10 ** 9


def test_a_layer_on_its_own_allocates_on_first_use():
    dense = L.Dense(4, 3, dtype=np.float64, seed=5)
    assert "W" not in vars(dense)
    assert dense.W.dtype == np.float64 and dense.dW.shape == (3, 4) and not dense.dW.any()
    again = L.Dense(4, 3, dtype=np.float64, seed=5)
    np.testing.assert_array_equal(again.W, dense.W)             # its own seed
    kept = numnet.Sequential([L.Dense(4, 3, seed=5)], seed=None)   # seed=None keeps the layers' own values
    np.testing.assert_array_equal(kept.layers[0].W, dense.W.astype(np.float32))
