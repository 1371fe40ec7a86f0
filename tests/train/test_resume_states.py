"""Issue 26 item 14: a checkpoint whose random generators' states are not numpy's (a crafted or mangled
file) is refused in one line when the run resumes, not a TypeError or AttributeError traceback."""
import numpy as np
import pytest

import numnet
from numnet.errors import ConfigError
from tests.helpers import assert_one_line, run_cli
from tests.io.test_model_file_fields import rewrite_config


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    rng = np.random.default_rng(0)
    x, y = rng.random((40, 12)).astype(np.float32), np.arange(40) % 3
    model = numnet.Sequential([numnet.Dense(12, 8), numnet.Dropout(0.2), numnet.ReLU(), numnet.Dense(8, 3)], seed=0)
    path = tmp_path_factory.mktemp("ck") / "ck.npz"
    model.fit(x, y, epochs=1, batch_size=10, checkpoint=str(path))
    return path, (x, y)


def _state(key, value):
    def change(cfg):
        cfg["training_state"][key] = value
    return change


@pytest.mark.parametrize("key, value", [
    ("rng", {"bit_generator": "PCG64", "state": {"state": "x", "inc": 1}, "has_uint32": 0, "uinteger": 0}),
    ("rng", {"bit_generator": "MT19937", "state": {"key": [1], "pos": 0}}),
    ("rng", {"bit_generator": "PCG64", "state": {"state": -5, "inc": 2 ** 200}, "has_uint32": 0, "uinteger": 0}),
    ("layer_rngs", {"0": {"bit_generator": "PCG64"}}),          # layer 0 is a Dense: no generator
    ("layer_rngs", {"x": {}}),
    ("layer_rngs", {}),                                          # the Dropout's state is missing
])
def test_resume_refuses_bad_generator_states(checkpoint, tmp_path, key, value):
    path, (x, y) = checkpoint
    bad = rewrite_config(path, tmp_path / "bad.npz", _state(key, value))
    model = numnet.load(bad)
    with pytest.raises(ConfigError, match="random generator states are invalid"):
        model.fit(x, y, epochs=2, batch_size=10, resume=True)


def test_a_good_checkpoint_resumes(checkpoint):
    path, (x, y) = checkpoint
    model = numnet.load(path)
    model.fit(x, y, epochs=2, batch_size=10, resume=True)
    assert model.history[-1]["epoch"] == 2


def test_cli_resume_says_one_line(tmp_path):
    ck = tmp_path / "ck.npz"
    assert run_cli("train", "--limit", "300", "--epochs", "1", "--hidden", "8", "--checkpoint", ck)[0] == 0
    bad = rewrite_config(ck, tmp_path / "bad.npz", _state("rng", {"bit_generator": "PCG64", "state": "x"}))
    code, _, err = run_cli("train", "--resume", bad, "--epochs", "2")
    assert_one_line(code, err, "random generator states are invalid")
