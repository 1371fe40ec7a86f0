"""RNN, LSTM, GRU against central differences (float64); PyTorch's nn.RNN/LSTM/GRU as oracles are in
``test_recurrent_torch.py``."""
import numpy as np
import pytest

import numnet
from numnet.layers import GRU, LSTM, RNN, Dense, Flatten

from ..helpers import check_model

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
    assert {name for name, _ in model.named_parameters()} >= {"0.weight_ih", "0.weight_hh", "0.bias_ih", "0.bias_hh"}
    check_model(model, x, y, atol=1e-9)


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
