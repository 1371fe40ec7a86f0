"""ONNX export checked by onnx.checker and by independent evaluators: onnx's reference evaluator
(NumPy semantics of every operator, written by the ONNX project) and onnxruntime when installed.
The probabilities must match ``model.predict_proba`` within 1e-5."""
import functools
import os
import sys

import numpy as np
import pytest

onnx = pytest.importorskip("onnx", reason="ONNX export needs the onnx package (pip install numnet[onnx])")

import numnet  # noqa: E402
from numnet.architectures import PRESETS, build, mlp  # noqa: E402
from numnet.errors import NumnetError, OutputError  # noqa: E402
from numnet.io.onnx_export import ExportError, export, run_reference, to_onnx  # noqa: E402

from ..helpers import run_cli  # noqa: E402

TOL = 1e-5


@functools.lru_cache(maxsize=None)
def _mnist():
    (x, y), (xt, yt) = numnet.load_mnist()
    return x[:512], y[:512], xt[:24]


def _trained(layers, n=256, batch_size=64, dtype=np.float32, x=None, y=None):
    """A model trained for a few steps on a small subset, so that every weight, Standardize's μ, σ
    and BatchNorm's running statistics are non-trivial."""
    xs, ys, _ = _mnist()
    x = xs[:n] if x is None else x
    y = ys[:n] if y is None else y
    model = numnet.Sequential(layers, dtype=dtype, seed=0)
    model.fit(x, y, epochs=1, batch_size=batch_size, optimizer=numnet.Adam(3e-3), seed=0, workers=1)
    return model


SEQUENCE_PRESETS = ("rnn", "lstm", "gru", "vit")


@functools.lru_cache(maxsize=None)
def preset_model(name):
    spec = PRESETS[name]["spec"]
    n = 64 if name in SEQUENCE_PRESETS else 128 if spec else 512     # recurrent steps are slow: 2 steps
    return _trained(mlp() if spec is None else build(spec), n=n, batch_size=32)


def _agree(model, x, proto=None, **kw):
    """Export, check, run with the reference evaluator and compare with numnet; returns the proto."""
    proto = proto or to_onnx(model, **kw)
    onnx.checker.check_model(proto, full_check=True)
    feed = x if kw.get("input") in ("uint8", "scaled") else x.astype(model.dtype)
    logits, proba = run_reference(proto, feed)
    assert proba.shape == (len(x), 10) and proba.dtype == model.dtype
    expected = model.predict_proba(x)
    np.testing.assert_allclose(proba, expected, rtol=0, atol=TOL)
    np.testing.assert_allclose(logits, model.forward(model.prepare(x)), rtol=1e-4, atol=1e-4)
    assert (logits.argmax(axis=1) == model.predict(x)).all()
    return proto


@pytest.mark.parametrize("name", ["mlp", "cnn", "cnn-best", "lenet5"])
def test_every_preset_matches_predict_proba(name):
    model = preset_model(name)
    x = _mnist()[2]
    proto = _agree(model, x)
    ops = {n.op_type for n in proto.graph.node}
    assert "Gemm" in ops and "Dropout" not in ops
    assert ("Conv" in ops) == (name != "mlp")
    assert ("BatchNormalization" in ops) == (name == "cnn-best")
    assert proto.opset_import[0].version >= 13


def test_mlp_with_every_activation_and_a_softmax_layer():
    model = _trained([numnet.Flatten(), numnet.Standardize(), numnet.Dense(784, 20), numnet.Sigmoid(), numnet.Dense(20, 16), numnet.Tanh(),
                      numnet.Dense(16, 12), numnet.ReLU(), numnet.Dense(12, 10), numnet.Softmax()])
    _agree(model, _mnist()[2])


def test_step_activation():
    model = _trained([numnet.Flatten(), numnet.Standardize(), numnet.Dense(784, 16), numnet.Step(), numnet.Dense(16, 10)])
    hidden = model.layers[2].forward(model.layers[1].forward(model.prepare(_mnist()[2]).reshape(24, -1)))
    assert 0 < (hidden >= 0).mean() < 1        # the step does output both values
    _agree(model, _mnist()[2])


def test_cnn_on_hw_images_without_reshape_strides_padding_and_every_pool():
    """Conv2D taking (N, H, W) images directly (in_channels = 1), stride and padding, max, average
    and global average pooling, and a pool on (N, H, W) input."""
    model = _trained([numnet.AvgPool2D(2), numnet.Conv2D(1, 4, 3, stride=2, padding=1), numnet.ReLU(),
                      numnet.MaxPool2D(3, stride=2), numnet.Conv2D(4, 6, (2, 3), padding=(1, 0)), numnet.GlobalAvgPool2D(),
                      numnet.Dense(6, 10)], n=128, batch_size=32)
    assert model.input_shape == (28, 28)
    proto = _agree(model, _mnist()[2])
    conv = [n for n in proto.graph.node if n.op_type == "Conv"]
    attrs = {a.name: list(a.ints) for a in conv[0].attribute}
    assert attrs == {"kernel_shape": [3, 3], "strides": [2, 2], "pads": [1, 1, 1, 1]}
    assert {a.name: list(a.ints) for a in conv[1].attribute}["pads"] == [1, 0, 1, 0]


def test_batchnorm_1d_and_2d_and_dropout_in_inference_form():
    model = _trained([numnet.Reshape((1, 28, 28)), numnet.Conv2D(1, 4, 5), numnet.BatchNorm(4), numnet.ReLU(), numnet.MaxPool2D(2),
                      numnet.Flatten(), numnet.Dropout(0.5), numnet.Dense(4 * 12 * 12, 32), numnet.BatchNorm(32),
                      numnet.ReLU(), numnet.Dropout(0.3), numnet.Dense(32, 10)], n=256, batch_size=32)
    for bn in (model.layers[2], model.layers[8]):
        assert not np.allclose(bn.running_mean, 0) and not np.allclose(bn.running_var, 1)
    proto = _agree(model, _mnist()[2])
    assert sum(n.op_type == "BatchNormalization" for n in proto.graph.node) == 2


def test_input_kinds_uint8_pixels_and_scaled():
    model = preset_model("mlp")
    x = _mnist()[2]
    proto = _agree(model, x, input="uint8")
    assert proto.graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.UINT8
    scaled = x.astype(np.float32) / 255
    _, proba = run_reference(to_onnx(model, input="scaled"), scaled)
    np.testing.assert_allclose(proba, model.predict_proba(scaled), atol=TOL)
    with pytest.raises(ExportError, match="input must be one of"):
        to_onnx(model, input="bytes")


def test_dynamic_batch_dimension_and_rows_input():
    model = _trained(mlp(hidden=(8,)), x=_mnist()[0][:256].reshape(256, -1))
    assert model.input_shape == (784,)
    proto = to_onnx(model)
    dims = proto.graph.input[0].type.tensor_type.shape.dim
    assert dims[0].dim_param == "batch" and [d.dim_value for d in dims[1:]] == [784]
    x = _mnist()[2].reshape(24, -1)
    for n in (1, 5, 24):
        _agree(model, x[:n], proto=proto)


def test_float64_model_exports_in_double():
    model = _trained(mlp(hidden=(16,)), dtype=np.float64)
    proto = _agree(model, _mnist()[2])
    assert proto.graph.output[1].type.tensor_type.elem_type == onnx.TensorProto.DOUBLE


def test_float64_cnn_as_float32_graph():
    model = _trained(build("conv(3,5,padding=1)-bn-pool(2)-relu-dense(10)"), n=64, batch_size=32, dtype=np.float64)
    proto = to_onnx(model, dtype="float32")
    assert proto.graph.output[1].type.tensor_type.elem_type == onnx.TensorProto.FLOAT
    x = _mnist()[2]
    _, proba = run_reference(proto, x.astype(np.float32))
    np.testing.assert_allclose(proba, model.predict_proba(x), rtol=0, atol=TOL)
    for bad in ("float16", "floaty"):
        with pytest.raises(ExportError, match="dtype"):
            to_onnx(model, dtype=bad)


def test_missing_onnx_package_is_a_clear_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "onnx", None)             # import onnx now raises ImportError
    with pytest.raises(ExportError, match=r"pip install 'numnet\[onnx\]'"):
        to_onnx(preset_model("mlp"))


def test_unsupported_layer_is_named():
    class Mamba(numnet.Layer):
        def forward(self, x):
            return x

    model = numnet.Sequential([numnet.Flatten(), Mamba(), numnet.Dense(784, 10)])
    with pytest.raises(ExportError, match=r"layer 1 \(Mamba\) cannot be exported") as info:
        to_onnx(model, input_shape=(28, 28))
    assert isinstance(info.value, NumnetError)


def test_input_shape_required_and_checked():
    model = numnet.Sequential(mlp(hidden=(8,)))
    with pytest.raises(ExportError, match="input shape"):
        to_onnx(model)
    to_onnx(model, input_shape=(28, 28))                     # given explicitly: fine
    with pytest.raises(ExportError, match="expects"):
        to_onnx(model, input_shape=(20, 20))                 # Dense(784) cannot take 400 values
    with pytest.raises(ExportError, match="opset"):
        to_onnx(model, input_shape=(28, 28), opset=11)


@pytest.mark.parametrize("name", ["mlp", "cnn", "cnn-best", "lenet5", *SEQUENCE_PRESETS])
def test_onnxruntime_agrees(name):
    ort = pytest.importorskip("onnxruntime", reason="onnxruntime is optional (pip install numnet[onnx])")
    model = preset_model(name)
    x = _mnist()[2]
    for kind, feed in (("pixels", x.astype(np.float32)), ("uint8", x)):
        session = ort.InferenceSession(to_onnx(model, input=kind).SerializeToString(),
                                       providers=["CPUExecutionProvider"])
        logits, proba = session.run(None, {"input": feed})
        np.testing.assert_allclose(proba, model.predict_proba(x), rtol=0, atol=TOL)


def test_export_writes_atomically(tmp_path):
    model = preset_model("mlp")
    path = tmp_path / "m.onnx"
    info = export(model, path)
    assert info["bytes"] == path.stat().st_size and info["input_shape"] == [28, 28]
    assert os.listdir(tmp_path) == ["m.onnx"]                # no temporary file left behind
    loaded = onnx.load(str(path))
    onnx.checker.check_model(loaded)
    _agree(model, _mnist()[2], proto=loaded)
    with pytest.raises(OutputError, match="does not exist"):          # the output-file policy (numnet.files)
        export(model, tmp_path / "missing" / "m.onnx")
    with pytest.raises(OutputError, match="is a directory"):
        export(model, tmp_path)


# recurrent and attention layers -------------------------------------------------------------------
@pytest.mark.parametrize("name", SEQUENCE_PRESETS)
def test_sequence_presets_match_predict_proba(name):
    """rnn, lstm, gru: ONNX's own recurrent operators (gates reordered from PyTorch's i,f,g,o and
    r,z,n); vit: patches, positional embedding, three pre-norm blocks, LayerNorm, class token."""
    model = preset_model(name)
    proto = _agree(model, _mnist()[2])
    nodes = {n.op_type: n for n in proto.graph.node}
    if name == "vit":
        assert {"LayerNormalization", "Erf", "Softmax", "MatMul", "Expand", "Gather"} <= set(nodes)
        assert sum(n.op_type == "Softmax" for n in proto.graph.node) == 1 + 3     # the output + 3 blocks
    else:
        node = nodes[name.upper()]
        attrs = {a.name: a.i for a in node.attribute}
        assert attrs["hidden_size"] == 128
        assert attrs.get("linear_before_reset", 0) == (name == "gru")           # PyTorch's GRU form


def test_stacked_recurrent_layers_returning_sequences():
    model = _trained(build("standardize-gru(12,seq)-lstm(10,seq)-rnn(8)-dense(10)"), n=64, batch_size=32)
    assert [layer.return_sequences for layer in model.layers[1:4]] == [True, True, False]
    proto = _agree(model, _mnist()[2])
    assert [n.op_type for n in proto.graph.node if n.op_type in ("RNN", "LSTM", "GRU")] == ["GRU", "LSTM", "RNN"]
    from numnet.layers import LSTM

    with pytest.raises(ExportError, match=r"layer 0 \(LSTM\).*expects samples of shape \(T, 28\)"):
        to_onnx(numnet.Sequential([LSTM(28, 8), numnet.Dense(8, 10)]), input_shape=(28, 20))


def _attention_models():
    from numnet.layers import (
        GELU,
        LayerNorm,
        MultiHeadSelfAttention,
        PatchEmbedding,
        PositionalEmbedding,
        TokenPool,
        TransformerEncoderBlock,
    )

    # two channels before the patches (their (c, u, v) order matters), a class token, a block
    with_cls = [numnet.Conv2D(1, 2, 3, padding=1), PatchEmbedding((2, 28, 28), 7, 16), PositionalEmbedding(17, 16),
                TransformerEncoderBlock(16, 2, 24), LayerNorm(16), TokenPool("cls"), numnet.Dense(16, 10)]
    # no class token, bare attention, token-wise Dense, both GELUs, the mean of the tokens
    no_cls = [PatchEmbedding((28, 28), 4, 12, cls_token=False), MultiHeadSelfAttention(12, 3), GELU(),
              numnet.Dense(12, 20, init="xavier"), GELU("tanh"), LayerNorm(20), TokenPool("mean"), numnet.Dense(20, 10)]
    return {"with_cls": with_cls, "no_cls": no_cls}


@functools.lru_cache(maxsize=None)
def attention_model(kind):
    return _trained(_attention_models()[kind], n=64, batch_size=32)


@pytest.mark.parametrize("opset", [13, 17, 18])
@pytest.mark.parametrize("kind", ["with_cls", "no_cls"])
def test_attention_layers_every_kind_and_opset(kind, opset):
    """Opset 13-16 has no LayerNormalization (written out with ReduceMean); from 18 ReduceMean takes
    its axes as an input."""
    model = attention_model(kind)
    proto = _agree(model, _mnist()[2], opset=opset)
    ops = {n.op_type for n in proto.graph.node}
    assert ("LayerNormalization" in ops) == (opset >= 17)
    assert ("Tanh" in ops) == (kind == "no_cls") and "Erf" in ops
    if opset == 18 and kind == "no_cls":
        mean = next(n for n in proto.graph.node if n.op_type == "ReduceMean")
        assert len(mean.input) == 2


def test_float64_recurrent_and_attention_models():
    """float64 graphs (the reference evaluator runs them; onnxruntime has no float64 RNN, LSTM, GRU
    or Erf): LayerNorm is written out there, as LayerNormalization's ε is a float32 attribute."""
    for spec in ("standardize-rnn(6,seq)-gru(6,seq)-lstm(6)-dense(10)", "patch(7,8)-pos-block(2,16)-ln-cls-dense(10)"):
        model = _trained(build(spec), n=64, batch_size=32, dtype=np.float64)
        proto = _agree(model, _mnist()[2])
        assert proto.graph.output[1].type.tensor_type.elem_type == onnx.TensorProto.DOUBLE
        assert "LayerNormalization" not in {n.op_type for n in proto.graph.node}


# the command ---------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def saved_cnn(tmp_path_factory):
    path = tmp_path_factory.mktemp("onnx") / "cnn.npz"
    preset_model("lenet5").save(path)
    return path


def test_cli_export(saved_cnn, tmp_path):
    import json

    target = tmp_path / "lenet5.onnx"
    code, out, err = run_cli("export", str(saved_cnn), str(target), "--json")
    assert code == 0, err
    result = json.loads(out)
    assert result["onnx_path"] == str(target) and result["bytes"] == target.stat().st_size
    assert result["opset"] >= 13 and result["input"] == "pixels"
    proto = onnx.load(str(target))
    onnx.checker.check_model(proto, full_check=True)
    _agree(preset_model("lenet5"), _mnist()[2], proto=proto)
    code, out, err = run_cli("export", str(saved_cnn), str(tmp_path / "u.onnx"), "--input", "uint8")
    assert code == 0 and "u.onnx" in out and err == ""


@pytest.mark.parametrize("case, problem", [
    ("missing", "no such model file"),
    ("not_a_model", "not a numnet model"),
    ("unwritable", "does not exist"),
    ("opset", "opset"),
])
def test_cli_export_bad_input(case, problem, saved_cnn, tmp_path):
    model, target, extra = str(saved_cnn), str(tmp_path / "m.onnx"), []
    if case == "missing":
        model = str(tmp_path / "nothing.npz")
    elif case == "not_a_model":
        model = str(tmp_path / "other.npz")
        np.savez(model, a=np.zeros(3))
    elif case == "unwritable":
        target = str(tmp_path / "no" / "such" / "folder" / "m.onnx")
    else:
        extra = ["--opset", "9"]
    code, out, err = run_cli("export", model, target, *extra)
    assert code == 2, err
    assert problem in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not os.path.exists(target)


def test_an_ensemble_of_an_mlp_and_a_cnn_matches_predict_proba():
    """numnet ensemble's model: each member's graph on the same input, Sum, times 1/K."""
    model = numnet.ensemble([preset_model("mlp"), preset_model("cnn-best")])
    proto = _agree(model, _mnist()[2])
    ops = [n.op_type for n in proto.graph.node]
    assert "Sum" in ops and "Conv" in ops and "BatchNormalization" in ops


def test_a_mirrored_ensemble_matches_predict_proba():
    """numnet ensemble --mirror: the mirrored member reads its input through Slice(steps=[-1])."""
    model = numnet.ensemble([preset_model("cnn")], mirror=True)
    proto = _agree(model, _mnist()[2])
    assert "Slice" in [n.op_type for n in proto.graph.node]


def test_a_shifted_ensemble_matches_predict_proba():
    """numnet ensemble --shift 2: each moved member reads its input through Pad (zeros) and Slice."""
    model = numnet.ensemble([preset_model("cnn")], shift=2)
    proto = _agree(model, _mnist()[2])
    ops = [n.op_type for n in proto.graph.node]
    assert ops.count("Pad") == 4 and ops.count("Slice") == 4
