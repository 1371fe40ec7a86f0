"""RNN, LSTM, GRU against PyTorch's nn.RNN/LSTM/GRU (float64): stacks of layers, gradients and weights
copied both ways. Skipped without torch (pip install -e '.[oracle]')."""
import numpy as np
import pytest

from numnet.layers import GRU, LSTM, RNN

torch = pytest.importorskip("torch", reason="PyTorch is the oracle for the recurrent layers")
CLASSES = {"RNN": RNN, "LSTM": LSTM, "GRU": GRU}
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
