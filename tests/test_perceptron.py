"""Issue 26 item 5: a perceptron whose weights stop being finite (an infinite η) has diverged, as an MLP
does: NonFiniteError from the library, exit 1 and nothing passed off as an accuracy from the CLI."""
import json

import numpy as np
import pytest

import numnet
from numnet.errors import NonFiniteError
from tests.helpers import run_cli


def test_an_infinite_rate_is_a_divergence():
    x, y = numnet.perceptron.toy_separable(50)
    x = np.hstack([x, np.zeros((len(x), 1))])              # a zero feature: ∞·0 = NaN
    p = numnet.Perceptron(3, lr=np.inf)
    with pytest.raises(NonFiniteError, match="diverged at epoch 1"):
        p.fit(x, y, epochs=3)


def test_a_finite_rate_still_converges():
    x, y = numnet.perceptron.toy_separable(50)
    p = numnet.Perceptron(2, lr=1.0)
    p.fit(x, y, epochs=50)
    assert p.converged and p.score(x, y) == 1.0


def test_cli_perceptron_with_lr_inf_exits_1_with_valid_json():
    code, out, err = run_cli("train", "--model", "perceptron", "--binary", "3", "--lr", "inf", "--limit", "300",
                             "--json")
    assert code == 1, err
    assert "diverged" in err and "test accuracy" not in err and "Traceback" not in err
    result = json.loads(out)
    assert result["diverged"] is True and result["test_accuracy"] is None
