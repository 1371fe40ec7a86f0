import json

import numpy as np
import pytest

import numnet
from numnet.cli import main
from numnet.views.explain import explain

from ..tinymodel import saved_tiny_model, tiny_model


def dense_layers(model):
    return [l for l in model.layers if isinstance(l, numnet.Dense)]


def test_forward_shapes_match_the_model(mnist):
    (_, _), (xt, yt) = mnist
    model = tiny_model()
    r = explain(model, xt[0], yt[0])
    dense = [s for s in r["forward"] if s["layer"] == "Dense"]
    assert len(dense) == len(dense_layers(model))
    for k, (step, layer) in enumerate(zip(dense, dense_layers(model)), start=1):
        out, inp = layer.W.shape
        assert step["equation"].startswith(f"z{k} = W{k}·")
        assert step["params"][f"W{k}"] == [out, inp]
        assert step["shapes"] == f"({out}×{inp})·({inp}×1) + ({out}×1) → ({out}×1)"
        assert step["values"]["shape"] == [out]
    assert r["forward"][0]["shapes"] == "(28×28) → (784×1)"
    relus = [s for s in r["forward"] if s["layer"] == "ReLU"]
    assert all(0 <= s["zeros"] <= s["values"]["shape"][0] for s in relus)
    assert r["forward"][-1]["values"]["shape"] == [10]


def test_numbers_agree_with_the_model(mnist):
    (_, _), (xt, yt) = mnist
    model = tiny_model()
    r = explain(model, xt[1], yt[1])
    o = r["output"]
    proba = model.predict_proba(xt[1:2])[0]
    assert np.allclose(o["probabilities"], proba, atol=1e-6)
    assert o["prediction"] == int(np.argmax(proba))
    assert o["loss"] == pytest.approx(-np.log(proba[yt[1]]), rel=1e-4, abs=1e-6)
    # the backward pass: ∂L/∂W norms equal a plain forward/backward on the same sample
    ref = numnet.Sequential(numnet.mlp(hidden=(32, 16)), seed=0)
    ref.flat_params[...] = model.flat_params
    for a, b in zip(ref.layers, model.layers):
        if isinstance(a, numnet.Standardize):
            a.mean, a.std, a.adapted = b.mean, b.std, True
    ref.eval()
    out = ref.forward(ref.prepare(xt[1:2]))
    ref.loss.forward(out, yt[1:2])
    ref.backward(ref.loss.backward())
    norms = {}
    for s in r["backward"]:
        for name, g in (s.get("params") or {}).items():
            norms[name] = g["norm"]
    for k, layer in enumerate(dense_layers(ref), start=1):
        assert norms[f"W{k}"] == pytest.approx(float(np.linalg.norm(layer.dW)), rel=1e-4)
        assert norms[f"b{k}"] == pytest.approx(float(np.linalg.norm(layer.db)), rel=1e-4)
    # the first backward step is softmax(z) − y
    first = r["backward"][0]
    y = np.eye(10)[yt[1]]
    assert first["equation"] == "∂L/∂z3 = softmax(z3) − y"
    assert first["values"]["norm"] == pytest.approx(float(np.linalg.norm(proba - y)), rel=1e-4)
    mask = [s for s in r["backward"] if s.get("mask_active") is not None]
    assert len(mask) == 2


def test_adam_step(mnist):
    (_, _), (xt, yt) = mnist
    a = explain(tiny_model(), xt[2], yt[2])["adam"]
    assert a["t"] == 1
    assert a["m"] == pytest.approx((1 - a["beta1"]) * a["g"], rel=1e-5)
    assert a["v"] == pytest.approx((1 - a["beta2"]) * a["g"] ** 2, rel=1e-4)
    assert a["m_hat"] == pytest.approx(a["g"], rel=1e-5) and a["v_hat"] == pytest.approx(a["g"] ** 2, rel=1e-4)
    assert a["new"] == pytest.approx(a["by_formula"], abs=1e-6)
    assert a["new"] == pytest.approx(a["old"] - a["lr"] * np.sign(a["g"]), abs=1e-6)


class Doubler(numnet.Layer):
    """A layer explain has never heard of (stands in for Conv2D, pooling, ...)."""

    param_names = ("s",)

    def __init__(self, n=16):
        self.s = np.ones(n, dtype=np.float32)
        self.ds = np.zeros_like(self.s)

    def forward(self, x):
        self.x = x
        return x * self.s

    def backward(self, grad):
        self.ds[...] = (grad * self.x).sum(axis=0)
        return grad * self.s


def test_unknown_layers_are_described_generically(mnist):
    (x, y), (xt, yt) = mnist
    layers = [numnet.Flatten(), numnet.Standardize(), numnet.Dense(784, 16), numnet.Sigmoid(), Doubler(16),
              numnet.Dense(16, 10)]
    model = numnet.Sequential(layers, seed=0)
    model.fit(x[:500], y[:500], epochs=1, batch_size=50)
    r = explain(model, xt[0], yt[0])
    generic = [s for s in r["forward"] if s.get("generic")]
    assert len(generic) == 1 and generic[0]["equation"] == "a4 = Doubler(h1, s)"
    assert generic[0]["shapes"] == "(16×1) → (16×1)   with s (16×1)"     # a vector is a column, as everywhere
    assert r["forward"][3]["equation"].startswith("h1 = σ(z1)")
    back = [s for s in r["backward"] if s.get("generic")]
    assert back and back[0]["params"]["s"]["shape"] == [16]
    json.dumps(r)


def test_cli_explain(tmp_path_factory, capsys):
    path = saved_tiny_model(tmp_path_factory)
    assert main(["explain", path, "--index", "5"]) == 0
    out = capsys.readouterr().out
    assert "z1 = W1·x̂ + b1" in out and "(32×784)·(784×1) + (32×1) → (32×1)" in out
    assert "softmax" in out and "∂L/∂W3 = ∂L/∂z3·h2ᵀ" in out and "1[z2 > 0]" in out and "Adam" in out
    assert main(["explain", path, "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["index"] == 0 and {"forward", "backward", "output", "adam"} <= set(result)
    assert main(["explain", path, "--index", "10000"]) == 2
    assert "--index" in capsys.readouterr().err


def test_convolutional_layers_are_explained(mnist):
    (_, _), (xt, yt) = mnist
    layers = [numnet.Reshape((1, 28, 28)), numnet.Conv2D(1, 4, 5), numnet.ReLU(), numnet.MaxPool2D(2),
              numnet.Flatten(), numnet.Dense(4 * 12 * 12, 10)]
    r = explain(numnet.Sequential(layers, seed=0), xt[0], yt[0])
    conv = r["forward"][1]
    assert conv["equation"].startswith("a1 = W ⋆ a0 + b")
    # the GEMM as computed: X_col (windows) · W_matᵀ + b → Z, reshaped to the feature maps
    assert conv["shapes"] == "(576×25)·(25×4) + (1×4) → (576×4) → (4×24×24)   with W (4×1×5×5)"
    assert r["forward"][3]["shapes"] == "(4×24×24) → (4×12×12)"
    assert r["forward"][-1]["shapes"] == "(10×576)·(576×1) + (10×1) → (10×1)"
    assert any(s.get("params", {}).get("W", {}).get("shape") == [4, 1, 5, 5] for s in r["backward"])
    json.dumps(r)
