"""ONNX export of one-output (binary, ``numnet train --binary D``) models: the graph's
``probabilities`` are what ``predict_proba`` gives, [1 − σ(z), σ(z)] (batch, 2), not the softmax of a
single logit (which is 1.0 for every input); with MSE (a sigmoid layer against 0/1 targets) p is the
output itself. Checked with onnxruntime and onnx's reference evaluator."""
import functools

import numpy as np
import pytest

onnx = pytest.importorskip("onnx", reason="ONNX export needs the onnx package (pip install numnet[onnx])")

import numnet
from numnet.architectures import build, mlp
from numnet.io.onnx_export import run_reference, to_onnx

TOL = 1e-5


@functools.cache
def _data():
    (x, y), (xt, _) = numnet.load_mnist()
    return x[:256], (y[:256] == 7).astype(np.int64), xt[:200]


@functools.cache
def _binary(kind):
    """An "is it a 7?" model (one output: BCE on the logit, or MSE on a sigmoid) trained for a few steps."""
    x, y, _ = _data()
    layers = build("conv(4,5)-relu-pool(2)-flatten-dense(1)", num_classes=1) if kind == "cnn" else \
        mlp([16], "relu", in_features=784, num_classes=1)
    if kind == "mlp-mse":                                  # MSE against 0/1: a sigmoid layer, p is the output
        layers.append(numnet.Sigmoid())
    model = numnet.Sequential(layers, loss="mse" if kind == "mlp-mse" else "bce", seed=0)
    model.fit(x, y, epochs=1, batch_size=64, optimizer=numnet.Adam(3e-3), seed=0, workers=1)
    assert model.binary
    return model


@pytest.mark.parametrize("kind", ["mlp", "cnn", "mlp-mse"])
def test_binary_onnx_probabilities_match_predict_proba(kind):
    model = _binary(kind)
    _, _, xt = _data()
    proto = to_onnx(model)
    expected = model.predict_proba(xt)
    assert expected.shape == (len(xt), 2)
    assert 0.05 < expected[:, 1].mean() < 0.95            # not all one class: the check means something
    _, proba = run_reference(proto, xt.astype(np.float32))
    assert proba.shape == expected.shape
    np.testing.assert_allclose(proba, expected, rtol=0, atol=TOL)
    ort = pytest.importorskip("onnxruntime")
    session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    logits, proba = session.run(None, {"input": xt.astype(np.float32)})
    assert logits.shape == (len(xt), 1)
    np.testing.assert_allclose(proba, expected, rtol=0, atol=TOL)
    assert (proba.argmax(axis=1) == model.predict(xt)).all()
    outputs = {o.name: [d.dim_value or d.dim_param for d in o.type.tensor_type.shape.dim] for o in proto.graph.output}
    assert outputs == {"logits": ["batch", 1], "probabilities": ["batch", 2]}
