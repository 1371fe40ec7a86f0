"""Model summaries: shapes from a real forward pass, counts from the parameter arrays themselves."""
import json

import numpy as np
import pytest

import numnet
from numnet.architectures import PRESETS, build, mlp
from numnet.views.summary import summary, summary_dict, summary_rows

from ..helpers import run_cli


def preset(name):
    spec = PRESETS[name]["spec"]
    model = numnet.Sequential(mlp() if spec is None else build(spec), seed=0)
    model.input_shape = (28, 28)
    return model


@pytest.mark.parametrize("name", ["mlp", "cnn", "cnn-best", "lenet5"])
def test_shapes_are_those_of_a_forward_pass_and_total_is_every_array(name):
    model = preset(name).eval()
    rows = summary_rows(model)
    assert [r["index"] for r in rows] == list(range(len(model.layers)))
    assert [r["type"] for r in rows] == [type(layer).__name__ for layer in model.layers]
    h = np.random.default_rng(0).random((3, 28, 28)).astype(np.float32)
    for row, layer in zip(rows, model.layers):
        h = layer.forward(h)
        assert row["output_shape"] == list(h.shape[1:]), row
        assert row["parameters"] == sum(getattr(layer, n).size for n in layer.param_names)
    info = summary_dict(model)
    arrays = [p for _, p in model.named_parameters()]
    assert info["total_parameters"] == sum(a.size for a in arrays) == model.num_parameters
    buffers = [getattr(layer, n) for layer in model.layers for n in getattr(layer, "buffer_names", ())]
    assert info["non_trainable_parameters"] == sum(np.size(b) for b in buffers)
    assert info["input_shape"] == [28, 28]


def test_known_counts_of_the_cnn_preset_and_the_text_table():
    model = preset("cnn")
    rows = summary_rows(model)
    by_desc = {r["description"]: r for r in rows}
    assert by_desc["Conv2D(1->32, 5x5)"]["parameters"] == 32 * 25 + 32
    assert by_desc["Conv2D(32->64, 5x5)"]["parameters"] == 64 * 32 * 25 + 64
    assert by_desc["Dense(1024->128)"]["parameters"] == 128 * 1024 + 128
    assert by_desc["Dense(1024->128)"]["output_shape"] == [128]
    text = summary(model)
    lines = text.splitlines()
    assert lines[0] == "Model: Sequential (float32), input (None, 28, 28)"
    assert any("Conv2D(1->32, 5x5)" in ln and "(None, 32, 24, 24)" in ln and ln.endswith("832") for ln in lines)
    total = sum(r["parameters"] for r in rows)
    assert f"Total params: {total:,}" in text and "Non-trainable params: 0" in text


def test_strides_padding_batchnorm_statistics_and_unknown_input_shape():
    layers = [numnet.Conv2D(1, 4, 3, stride=2, padding=1), numnet.BatchNorm(4), numnet.AvgPool2D(2, stride=1),
              numnet.GlobalAvgPool2D(), numnet.Dropout(0.25), numnet.Dense(4, 10)]
    model = numnet.Sequential(layers)
    rows = summary_rows(model)                                # never trained: input shape unknown
    assert rows[0]["description"] == "Conv2D(1->4, 3x3, stride 2x2, pad 1x1)"
    assert rows[2]["description"] == "AvgPool2D(2x2, stride 1x1)" and rows[4]["description"] == "Dropout(0.25)"
    assert [r["output_shape"] for r in rows] == [None, None, None, None, None, [10]]
    assert rows[1]["parameters"] == 8 and rows[1]["non_trainable"] == 8
    rows = summary_rows(model, input_shape=(28, 28))
    assert [r["output_shape"] for r in rows] == [[4, 14, 14], [4, 14, 14], [4, 13, 13], [4], [4], [10]]
    with pytest.raises(numnet.ConfigError, match=r"layer 0 \(Conv2D\(1->4, 3x3, stride 2x2, pad 1x1\)\)"):
        summary_rows(model, input_shape=(3, 32, 32))          # 3 channels into a 1-channel convolution
    with pytest.raises(numnet.ConfigError, match=r"layer 1 \(Dense\(4->10\)\) cannot take inputs of shape \(5,\)"):
        summary_rows(numnet.Sequential([numnet.Flatten(), numnet.Dense(4, 10)]), input_shape=(5,))
    assert "Non-trainable params: 8 (BatchNorm running mean and variance)" in summary(model, (28, 28))
    assert summary(model).splitlines()[0].endswith("input ?")


def test_cli_summary_text_and_json(tmp_path):
    model = preset("cnn-best")
    path = tmp_path / "m.npz"
    model.save(path)
    code, out, err = run_cli("summary", str(path))
    assert code == 0, err
    assert out.strip() == summary(model).strip() and err == ""
    code, out, err = run_cli("summary", str(path), "--json")
    assert code == 0, err
    result = json.loads(out)                                  # one JSON object on stdout
    assert {"layers", "total_parameters", "input_shape"} <= set(result)
    assert {"index", "type", "output_shape", "parameters"} <= set(result["layers"][0])
    assert result["total_parameters"] == model.num_parameters == sum(r["parameters"] for r in result["layers"])
    assert result["input_shape"] == [28, 28] and result["layers"][-1]["output_shape"] == [10]
    assert "Total params" in err                              # the table went to stderr
    code, out, err = run_cli("summary", str(path), "--input-shape", "32,32")
    assert code == 2 and "layer 0 (Reshape(1, 28, 28)) cannot take inputs of shape (32, 32)" in err


@pytest.mark.parametrize("args, problem", [
    (["summary", "/nonexistent/m.npz"], "no such model file"),
    (["summary", "{tmp}/notes.txt"], "corrupt or unreadable"),
    (["summary", "m.npz", "--input-shape", "28,x"], "comma-separated"),
])
def test_cli_summary_bad_input(args, problem, tmp_path):
    (tmp_path / "notes.txt").write_text("not a model\n")
    code, out, err = run_cli(*[a.format(tmp=tmp_path) for a in args])
    assert code == 2 and problem in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
