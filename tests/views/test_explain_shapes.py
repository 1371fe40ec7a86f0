"""Every shape ``numnet explain`` prints is the shape of the array it names (issue 24).

For an MLP, a CNN with batch norm and dropout, an LSTM and a small ViT: run ``numnet explain``
(human and --json), find every printed shape, and check it against the model's own arrays: the
activations and their gradients (an independent forward pass here), the parameters and their
gradients (by attribute path), the intermediate arrays the layer keeps (``explain_arrays``).
"""
import functools
import json
import re

import numpy as np
import pytest

import numnet
from numnet.architectures.grammar import build
from numnet.cli import main
from numnet.views.explain import explain

SPECS = {
    "mlp": None,                                                          # numnet.mlp(): 784-25-25-10
    "cnn": "conv(4,5)-bn-relu-dropout(0.5)-pool(2)-flatten-dense(10)",
    "lstm": "standardize-lstm(16)-dense(10)",
    "vit": "patch(7,16)-pos-block(2,32)-ln-cls-dense(10)",
    "rnn": "standardize-rnn(8)-dense(10)",
    "gru": "standardize-gru(8)-dense(10)",
    "attn": "patch(7,16,cls=0)-pos-ln-attn(2)-gelu-meantokens-dense(10)",
}
SHAPE = re.compile(r"\((\d+(?:×\d+)*)\)")


def column(shape, transposed=False):
    shape = tuple(shape) if len(shape) >= 2 else (shape[0] if shape else 1, 1)
    return list(shape[::-1] if transposed else shape)


def printed(text):
    return [[int(n) for n in m.split("×")] for m in SHAPE.findall(text)]


@functools.cache
def _saved(kind, folder):
    (x, y), _ = numnet.load_mnist()
    layers = numnet.mlp() if SPECS[kind] is None else build(SPECS[kind])
    model = numnet.Sequential(layers, seed=0)
    model.fit(x[:300], y[:300], epochs=1, batch_size=50)
    path = f"{folder}/{kind}.npz"
    model.save(path)
    return path


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return str(tmp_path_factory.mktemp("explain_shapes"))


def run_explain(path, capsys, index=3):
    assert main(["explain", path, "--index", str(index), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert main(["explain", path, "--index", str(index)]) == 0
    return result, capsys.readouterr().out


def activations(model, image):
    """Inputs and outputs of every layer for one sample, by a plain forward pass."""
    model.eval()
    a = model.prepare(np.asarray(image)[None])
    ins, outs = [], []
    for layer in model.layers:
        ins.append(a[0].shape)
        a = layer.forward(a)
        outs.append(a[0].shape)
    return ins, outs


def layer_arrays(model, image, label):
    """The loaded model after ``explain`` ran on it in-process: its layers hold the sample's caches."""
    explain(model, image, label)
    return model


def resolve(layer, name):
    extra = layer.explain_arrays()
    if name in extra:
        return np.shape(extra[name])
    return np.shape(functools.reduce(getattr, name.split("."), layer))


def check_products(shapes):
    """Every product A·B printed has matching inner sizes; a plain 'A·B (+ b) → C' has C = rows(A)×cols(B)."""
    for a, b in re.findall(r"\((\d+(?:×\d+)*)\)·\((\d+(?:×\d+)*)\)", shapes):
        a, b = a.split("×"), b.split("×")
        assert a[-1] == b[0], shapes
    m = re.fullmatch(r"\((\d+)×(\d+)\)·\((\d+)×(\d+)\)(?: \+ \((\d+)×(\d+)\))? → \((\d+)×(\d+)\)", shapes)
    if m:
        r, _, _, c = m.group(1, 2, 3, 4)
        assert m.group(7, 8) == (r, c), shapes


@pytest.mark.parametrize("kind", list(SPECS))
def test_every_printed_shape_is_the_shape_of_its_array(kind, folder, capsys):
    path = _saved(kind, folder)
    result, human = run_explain(path, capsys)
    (_, _), (xt, yt) = numnet.load_mnist()
    model = numnet.load(path)
    ins, outs = activations(model, xt[3])
    model = layer_arrays(numnet.load(path), xt[3], int(yt[3]))
    accounted = set()
    for phase in ("forward", "backward"):
        for step in result[phase]:
            if "index" not in step:
                continue
            i, layer = step["index"], model.layers[step["index"]]
            own = {"x": ins[i], "y": outs[i], "dy": outs[i], "dx": ins[i]}     # a gradient has its array's shape
            for line in step["lines"]:
                for arr in line["arrays"]:
                    name = arr["name"]
                    truth = own[name] if name in own else resolve(layer, name)
                    assert arr["shape"] == column(truth, arr["transposed"]), (kind, phase, i, line)
                if line["shapes"]:
                    assert printed(line["shapes"]) == [a["shape"] for a in line["arrays"]], line
                    check_products(line["shapes"])
                    text = f"{line['equation']}   {line['shapes']}"
                    assert text in human, text
                    accounted.add(text)
            for name, g in (step.get("params") or {}).items():
                if isinstance(g, dict):                 # each parameter gradient has its parameter's shape
                    grads = {("d" + n if step.get("seed_style") else n): a for n, a in layer.named_gradients()}
                    assert any(list(a.shape) in (g["shape"], column(a.shape)) for a in grads.values())
    # no shape is printed that no array stands behind
    for text in human.splitlines():
        if not SHAPE.search(text) or "×" not in text:
            continue
        if text.startswith("∂L/∂") and " − " in text and "softmax" in text:    # the loss's gradient
            assert printed(text) == [[10, 1]] * 3, text
        elif "attention:" in text:
            heads = [s for s in result["forward"] if s.get("attention")]
            L = len(heads[0]["attention"][0])
            assert printed(text) == [[L, L]], text
        else:
            assert text in accounted, text


def test_the_backprop_shapes_of_tutorial_1(folder, capsys):
    result, human = run_explain(_saved("mlp", folder), capsys)
    assert "∂L/∂W2 = ∂L/∂z2·h1ᵀ   (25×1)·(1×25) → (25×25)" in human
    assert "∂L/∂W3 = ∂L/∂z3·h2ᵀ   (10×1)·(1×25) → (10×25)" in human
    assert "∂L/∂W1 = ∂L/∂z1·x̂ᵀ   (25×1)·(1×784) → (25×784)" in human
    assert "∂L/∂h1 = W2ᵀ·∂L/∂z2   (25×25)·(25×1) → (25×1)" in human
    assert result["mode"] == "evaluation"


def test_evaluation_mode_backward_is_the_formula_applied(folder, capsys):
    result, human = run_explain(_saved("cnn", folder), capsys)
    bn = next(s for s in result["backward"] if s.get("layer") == "BatchNorm")
    eqs = [line["equation"] for line in bn["lines"]]
    assert any("running_var" in e and "M·" not in e for e in eqs), eqs          # not the batch formula
    assert [line["shapes"].split(" → ")[-1] for line in bn["lines"][:2]] == ["(4×1)", "(4×1)"]   # ∂L/∂γ, ∂L/∂β
    drop = next(s for s in result["backward"] if s.get("layer") == "Dropout")
    assert drop["lines"][0]["equation"].startswith("∂L/∂h2 = ∂L/∂a4   (evaluation")
    assert "m / (1 − p)" not in drop["lines"][0]["equation"].split("(")[0]
    assert "Backward pass (evaluation mode)" in human
    # and the numbers are what that formula gives: ∂L/∂x = γ/√(running_var + ε)·∂L/∂y
    (_, _), (xt, yt) = numnet.load_mnist()
    model = numnet.load(_saved("cnn", folder))
    explain(model, xt[3], int(yt[3]))
    bn_layer = model.layers[bn["index"]]
    relu_back = next(s for s in result["backward"] if s.get("index") == bn["index"] + 1)
    assert bn["values"]["norm"] <= relu_back["values"]["norm"] * float(
        np.max(np.abs(bn_layer.gamma) / np.sqrt(bn_layer.running_var + bn_layer.eps))) * 1.0001


def test_lstm_shows_one_step_and_the_gradient_over_time(folder, capsys):
    result, human = run_explain(_saved("lstm", folder), capsys)
    assert "i_t = σ(W_ii·x_t + b_ii + W_hi·h_{t−1} + b_hi)   (16×28)·(28×1) + (16×1) + (16×16)·(16×1) + (16×1) → (16×1)" \
        in human
    assert "c_t = f_t ⊙ c_{t−1} + i_t ⊙ g_t" in human and "T = 28 time steps" in human
    assert "∂L/∂W_ih = Σ_t δa_t·x_tᵀ   (64×1)·(1×28) → (64×28)" in human
    lstm = next(s for s in result["backward"] if s.get("layer") == "LSTM")
    norms = lstm["dh_norms"]
    assert len(norms) == 28 and all(n >= 0 for n in norms)
    # the last step's norm is ‖∂L/∂h_T‖, the gradient the Dense head sends back
    head = next(s for s in result["backward"] if s.get("layer") == "Dense")
    assert norms[-1] == pytest.approx(head["values"]["norm"], rel=1e-4)
    assert "‖∂L/∂h_t‖, t = 1 … 28" in human


def test_attention_shows_q_k_v_scores_and_softmax_per_head(folder, capsys):
    result, human = run_explain(_saved("vit", folder), capsys)
    for j in (1, 2):
        assert f"S_{j} = Q_{j}·K_{j}ᵀ/√8   (the scores of head {j}: query i against key j)   (17×8)·(8×17) → (17×17)" \
            in human
        assert f"P_{j} = softmax(S_{j}) over each row (the attention map of head {j})   (17×17) → (17×17)" in human
        assert f"O_{j} = P_{j}·V_{j}   (17×17)·(17×8) → (17×8)" in human
    block = next(s for s in result["forward"] if s["layer"] == "TransformerEncoderBlock")
    P = np.array(block["attention"])
    assert P.shape == (2, 17, 17) and np.allclose(P.sum(axis=-1), 1, atol=1e-5)
    # the map is the one the model computes for this digit
    (_, _), (xt, _) = numnet.load_mnist()
    model = numnet.load(_saved("vit", folder))
    model.predict_proba(xt[3:4])
    assert np.allclose(P, model.layers[block["index"]].attn.P[0], atol=1e-5)
