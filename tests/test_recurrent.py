"""RNN, LSTM, GRU: central differences (float64) and PyTorch's nn.RNN/LSTM/GRU as oracles."""
import numpy as np
import pytest

import numnet
from numnet.gradcheck import check_gradients, numerical_gradient
from numnet.layers import Dense, Flatten
from numnet.layers import GRU, LSTM, RNN

CLASSES = {"RNN": RNN, "LSTM": LSTM, "GRU": GRU}


def _model(cls, F, H, seq, T, rng):
    layers = [cls(F, H, return_sequences=seq)] + ([Flatten()] if seq else []) + [Dense(T * H if seq else H, 3)]
    model = numnet.Sequential(layers, dtype=np.float64, seed=int(rng.integers(100)))
    for layer in model.layers:                 # non-zero biases everywhere, so every term is exercised
        for name in layer.param_names:
            if "bias" in name or name == "b":
                getattr(layer, name)[...] = rng.uniform(-0.5, 0.5, getattr(layer, name).shape)
    return model


@pytest.mark.parametrize("name", CLASSES)
@pytest.mark.parametrize("seq", [False, True])
def test_central_differences(name, seq, rng):
    N, T, F, H = 3, 4, 3, 5
    model = _model(CLASSES[name], F, H, seq, T, rng)
    x, y = rng.standard_normal((N, T, F)), rng.integers(0, 3, N)
    report = check_gradients(model, x, y)
    assert report.passed, report.to_dict()
    assert {p.name for p in report.parameters} >= {"0.weight_ih", "0.weight_hh", "0.bias_ih", "0.bias_hh"}

    # dL/dx too: the layer's backward against central differences of the loss in the input
    def loss():
        return model.loss.forward(model.forward(x), y)
    model.train()
    loss()
    dx = model.layers[0].backward(_upstream(model, y))
    np.testing.assert_allclose(dx, numerical_gradient(loss, x, h=1e-5), rtol=1e-6, atol=1e-9)


def _upstream(model, y):
    """dL/d(output of layer 0), after a forward pass."""
    grad = model.loss.backward()
    for layer in reversed(model.layers[1:]):
        grad = layer.backward(grad)
    return grad


torch = pytest.importorskip("torch", reason="PyTorch is the oracle for the recurrent layers")
TORCH = {"RNN": torch.nn.RNN, "LSTM": torch.nn.LSTM, "GRU": torch.nn.GRU}


def _copy_to_torch(layers, ref):
    with torch.no_grad():
        for k, layer in enumerate(layers):
            for name in layer.param_names:
                getattr(ref, f"{name}_l{k}").copy_(torch.from_numpy(getattr(layer, name)))


def _copy_from_torch(ref, layers):
    for k, layer in enumerate(layers):
        for name in layer.param_names:
            getattr(layer, name)[...] = getattr(ref, f"{name}_l{k}").detach().numpy()


@pytest.mark.parametrize("name", CLASSES)
@pytest.mark.parametrize("N, T, F, H, num_layers, seq", [
    (1, 1, 1, 1, 1, False), (4, 7, 3, 5, 1, False), (5, 6, 8, 4, 1, True), (2, 12, 28, 16, 2, False),
    (3, 5, 4, 6, 3, True),
])
def test_matches_pytorch(name, N, T, F, H, num_layers, seq, rng):
    """Stacks of 1-3 layers (all but the last with return_sequences) against nn.RNN/LSTM/GRU(num_layers),
    weights copied from PyTorch (its own initialisation) and the gradients compared in float64."""
    ref = TORCH[name](F, H, num_layers=num_layers, batch_first=True).double()
    layers = [CLASSES[name](F if k == 0 else H, H, return_sequences=seq or k < num_layers - 1, dtype=np.float64)
              for k in range(num_layers)]
    _copy_from_torch(ref, layers)
    x = rng.standard_normal((N, T, F))
    out = x
    for layer in layers:
        out = layer.forward(out)
    G = rng.standard_normal(out.shape)
    grad = G
    for layer in reversed(layers):
        grad = layer.backward(grad)
    xt = torch.tensor(x, requires_grad=True)
    yt = ref(xt)[0]
    yt = yt if seq else yt[:, -1]
    yt.backward(torch.from_numpy(G))
    close = dict(rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(out, yt.detach().numpy(), **close)
    np.testing.assert_allclose(grad, xt.grad.numpy(), **close)
    for k, layer in enumerate(layers):
        for pname in layer.param_names:
            np.testing.assert_allclose(getattr(layer, "d" + pname), getattr(ref, f"{pname}_l{k}").grad.numpy(),
                                       err_msg=f"layer {k} {pname}", **close)


@pytest.mark.parametrize("name", CLASSES)
def test_weights_copy_to_pytorch(name, rng):
    """The other direction: numnet's own initialisation copied into PyTorch gives the same outputs."""
    layer = CLASSES[name](6, 4, return_sequences=True, dtype=np.float64, seed=5)
    ref = TORCH[name](6, 4, batch_first=True).double()
    _copy_to_torch([layer], ref)
    x = rng.standard_normal((3, 9, 6))
    np.testing.assert_allclose(layer.forward(x), ref(torch.from_numpy(x))[0].detach().numpy(), rtol=1e-9, atol=1e-12)


def test_evaluation_in_chunks_equals_one_pass(rng):
    layer = LSTM(5, 7, dtype=np.float64)
    x = rng.standard_normal((11, 4, 5))
    whole = layer.forward(x)
    layer.training, layer.eval_chunk = False, 3
    np.testing.assert_allclose(layer.forward(x), whole, rtol=1e-13)


def test_dh_norms_are_the_gradients_of_the_hidden_states(rng):
    layer = RNN(3, 4, return_sequences=True, dtype=np.float64)
    layer.record_dh = True
    x = rng.standard_normal((2, 5, 3))
    layer.forward(x)
    G = np.zeros((2, 5, 4))
    G[:, -1] = rng.standard_normal((2, 4))            # loss on the last step only
    layer.backward(G)
    assert layer.dh_norms[-1] == pytest.approx(np.linalg.norm(G[:, -1]))
    assert np.all(layer.dh_norms > 0)
