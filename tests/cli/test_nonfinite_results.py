"""Issue 26 item 5: a model with huge weights gives `loss nan`; evaluate (and explain) must not pass it
off with exit 0. The human path checks the command's result as the --json path does: NonFiniteError,
one line naming the number, exit 1."""
import numpy as np
import pytest

import numnet
from tests.helpers import run_cli
from tests.tinymodel import tiny_model


@pytest.fixture(scope="module")
def huge(tmp_path_factory):
    path = tmp_path_factory.mktemp("huge") / "huge.npz"
    tiny_model().save(path)
    model = numnet.load(path)
    for layer in model.layers:
        for array in layer.params.values():
            array *= np.float32(1e30)                      # finite, but the logits overflow
    model.training_state = None
    model.save(path)
    return path


@pytest.mark.parametrize("json_flag", [[], ["--json"]])
def test_evaluate_with_a_nan_loss_exits_1(huge, json_flag):
    """The forward pass overflows (or the loss comes out NaN): exit 1, one line, no result printed."""
    code, out, err = run_cli("evaluate", huge, *json_flag)
    assert code == 1, err
    assert ("is nan" in err or "overflowed" in err) and "Traceback" not in err
    if json_flag:
        assert out == ""


def test_explain_with_non_finite_values_exits_1(huge):
    code, _, err = run_cli("explain", huge)
    assert code == 1, err
    assert "not a finite number" in err and "Traceback" not in err
