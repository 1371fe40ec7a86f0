"""Issue 26 item 15: a closed stdout (``numnet evaluate m.npz | head -1``) drops the rest of the output,
the work goes on, and the exit status is 141 (128 + SIGPIPE) unless the command failed otherwise; never
rich's silent exit 1, which for gradcheck means FAIL."""
import subprocess
import sys

import pytest

import numnet
from tests.helpers import ENV, make_folder
from tests.tinymodel import saved_tiny_model


def run_with_closed_stdout(*args, timeout=300):
    """``python -m numnet ARGS`` whose stdout reader has gone before the first line: (status, stderr)."""
    proc = subprocess.Popen([sys.executable, "-m", "numnet", *map(str, args)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=ENV)
    proc.stdout.close()                                    # the reader went away (as `| head -0` would)
    err = proc.stderr.read()
    proc.stderr.close()
    return proc.wait(timeout=timeout), err


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    return saved_tiny_model(tmp_path_factory)


@pytest.mark.parametrize("command", ["evaluate", "explain"])
def test_rich_tables_on_a_closed_stdout_exit_141(model, command):
    code, err = run_with_closed_stdout(command, model)
    assert code == 141, err
    assert err == ""


def test_gradcheck_that_passes_is_not_reported_as_fail(tmp_path):
    folder = tmp_path / "data"
    make_folder(folder, n_train=20, classes=3)
    code, err = run_with_closed_stdout("gradcheck", "--hidden", "3", "--batch", "4", "--data-dir", folder)
    assert code == 141, err                                # 1 would say FAIL
    assert err == ""


def test_train_goes_on_to_save_and_exits_141(tmp_path):
    path = tmp_path / "m.npz"
    code, err = run_with_closed_stdout("train", "--limit", "300", "--epochs", "1", "--hidden", "8", "--save", path)
    assert code == 141, err
    assert "Traceback" not in err
    assert numnet.load(path).layers                        # the work went on


def test_json_output_on_a_closed_stdout(model):
    code, err = run_with_closed_stdout("evaluate", model, "--json")
    assert code == 141 and "Traceback" not in err, err
