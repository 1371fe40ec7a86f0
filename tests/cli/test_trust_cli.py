"""Issue 13, bad input through the CLI: each reproduction command gets one line on stderr, exit
status 2, no traceback, and nothing finished is lost. Each test runs ``python -m numnet`` in a
subprocess with this tree's ``src`` on PYTHONPATH, on small data and small networks."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

import numnet
from numnet.data.datasets import FILES
from numnet.data.idx import write_idx

from ..helpers import ENV, assert_one_line, make_folder, run_cli

FAST = ["--limit", "200", "--epochs", "1", "--hidden", "8"]


def folder(path, n_train=30, n_test=10, classes=10, **options):
    """An MNIST-style folder of random images whose labels cycle through ``classes`` unless given."""
    make_folder(path, n_train, n_test, classes=classes, **options)
    return str(path)


# options --------------------------------------------------------------------------------------
@pytest.mark.parametrize("args, needle", [
    (["train", "--seed", "-1"], "--seed"),
    (["gradcheck", "--seed", "-1"], "--seed"),
    (["train", "--arch", "dense(inf)"], "finite"),
    (["train", "--arch", "dense(10.5)"], "integer"),
    (["train", "--arch", "conv(4,5.5)-flatten-dense(10)"], "integer"),
    (["train", "--arch", ""], "empty architecture"),
    (["train", "--hidden", "100000000000"], "more than the limit"),
    (["train", "--arch", "conv(4,5,padding=100000)-flatten-dense(10)"], "more than the limit"),
    (["train", "--arch", "dense(100000000)-dense(10)"], "more than the limit"),
    (["train", "--min-accuracy", "nan"], "between 0 and 1"),
    (["train", "--min-accuracy", "inf"], "between 0 and 1"),
    (["train", "--lr", "nan"], "positive number"),
    (["train", "--limit", "1", "--epochs", "1"], "at least 2 samples"),
    (["predict", "m.npz", "x.png", "--top", "0"], "--top"),
])
def test_bad_option_is_one_line_and_status_2(args, needle, tmp_path):
    code, out, err = run_cli(*args, cwd=tmp_path)
    assert_one_line(code, err, needle)
    assert not os.listdir(tmp_path)                      # nothing written


def test_arch_with_a_real_fraction_still_works_for_dropout():
    from numnet.architectures import build

    layers = build("flatten-dense(16)-relu-dropout(0.25)-dense(10)")
    assert type(layers[-1]).__name__ == "Dense"


# --save targets ---------------------------------------------------------------------------------
@pytest.mark.parametrize("target, needle", [
    ("", "empty path"),
    ("/dev/full", "not a regular file"),
    ("/dev/null", "not a regular file"),
    ("/proc/numnet-model.npz", "does not take new files"),
    (".", "is a directory"),
    ("sub/", "is a directory"),
    ("missing/m.npz", "does not exist"),
    ("afile/m.npz", "not a folder"),
])
def test_save_target_is_checked_before_training(target, needle, tmp_path):
    (tmp_path / "afile").write_text("x")
    code, out, err = run_cli("train", *FAST, "--save", target, cwd=tmp_path)
    assert_one_line(code, err, "--save", needle)
    assert "training" not in out                         # refused before the data was read


def test_save_writes_through_a_symlink(tmp_path):
    real = tmp_path / "models" / "m.npz"
    real.parent.mkdir()
    real.write_bytes(b"old")
    link = tmp_path / "link.npz"
    link.symlink_to(real)
    code, out, err = run_cli("train", *FAST, "--save", link)
    assert code == 0, err
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert numnet.load(real).layers                      # the target holds the new model


def test_closed_stdout_keeps_the_model(tmp_path):
    """``numnet train --save m.npz | head -1``: the model file exists, no traceback."""
    path = tmp_path / "m.npz"
    proc = subprocess.run(f"{sys.executable} -m numnet train {' '.join(FAST)} --save {path} | head -1",
                          shell=True, capture_output=True, text=True, env=ENV, timeout=120)
    assert proc.stdout.startswith("training") and len(proc.stdout.splitlines()) == 1
    assert "Traceback" not in proc.stderr and "BrokenPipe" not in proc.stderr, proc.stderr
    assert numnet.load(path).layers


def test_json_has_no_nan_and_keeps_the_gate_honest(tmp_path):
    from numnet.errors import NonFiniteError
    from numnet.files import json_text, nulls_for_nonfinite

    value = {"a": 1.0, "b": [float("inf"), 1.5], "c": np.float32("-inf"), "d": np.arange(2)}
    with pytest.raises(NonFiniteError, match=r"b\[0\] is inf"):
        json_text(value)
    assert json.loads(json_text(nulls_for_nonfinite(value))) == {"a": 1.0, "b": [None, 1.5], "c": None, "d": [0, 1]}
    code, out, err = run_cli("train", *FAST, "--json", "--min-accuracy", "0")
    assert code == 0, err
    json.loads(out)


def strict_json(text):
    """json.loads that refuses the non-standard NaN / Infinity tokens (Python's accepts them)."""
    def refuse(token):
        raise ValueError(f"invalid JSON token {token}")
    return json.loads(text, parse_constant=refuse)


def test_json_of_a_run_that_blows_up_is_valid(tmp_path):
    """SGD at lr 1e30: the losses overflow to inf/NaN; stdout is still one valid JSON object."""
    code, out, err = run_cli("train", *FAST, "--optimizer", "sgd", "--lr", "1e30", "--json")
    assert "Traceback" not in err
    result = strict_json(out)
    assert result["test_loss"] is None or result.get("diverged")


# data ---------------------------------------------------------------------------------------------
def test_32x32_images_train_the_default_mlp_on_1024_inputs(tmp_path):
    d = folder(tmp_path / "d", size=32)
    code, out, err = run_cli("train", "--data-dir", d, "--epochs", "1", "--hidden", "8", "--json",
                             "--save", tmp_path / "m.npz")
    assert code == 0, err
    assert "1024-8-10" in err
    assert numnet.load(tmp_path / "m.npz").input_shape == (32, 32)


def test_model_against_data_of_another_shape_is_refused(tmp_path):
    d = folder(tmp_path / "d", size=32)
    code, _, err = run_cli("train", *FAST, "--save", tmp_path / "m.npz")
    assert code == 0, err
    for command in ("evaluate", "explain"):
        code, _, err = run_cli(command, tmp_path / "m.npz", "--data-dir", d)
        assert_one_line(code, err, "(32, 32)")


@pytest.mark.parametrize("labels, needle", [
    ({"test_labels": [0, 1, 2, 3, 4, 5, 6, 7, 8, 11]}, "label 11 is outside 0..9"),
    ({"train_labels": [0] * 30}, "single class"),
])
def test_labels_out_of_range_are_refused_before_training(labels, needle, tmp_path):
    d = folder(tmp_path / "d", **labels)
    code, out, err = run_cli("train", "--data-dir", d, "--epochs", "1", "--hidden", "8", "--save", tmp_path / "m.npz")
    assert_one_line(code, err, needle)
    assert "training" not in out


def test_training_label_11_makes_12_classes_and_says_which_are_missing(tmp_path):
    d = folder(tmp_path / "d", train_labels=[11] + [k % 10 for k in range(29)])
    code, out, err = run_cli("train", "--data-dir", d, "--epochs", "1", "--hidden", "8")
    assert code == 0, err
    assert "784-8-12" in out and "no training sample of class 10" in err


def test_five_classes_with_arch(tmp_path):
    d = folder(tmp_path / "d", classes=5)
    code, out, err = run_cli("train", "--data-dir", d, "--epochs", "1", "--arch", "flatten-dense(8)-relu-dense(5)",
                             "--save", tmp_path / "m.npz")
    assert code == 0, err
    code, out, err = run_cli("evaluate", tmp_path / "m.npz", "--data-dir", d, "--json")
    assert code == 0, err
    assert len(json.loads(out)["confusion_matrix"]) == 5
    code, out, err = run_cli("train", "--data-dir", d, "--epochs", "1", "--arch", "flatten-dense(8)-relu-dense(10)")
    assert_one_line(code, err, "5 classes")


@pytest.mark.parametrize("n_train, n_test, needle", [(30, 0, "test set is empty"), (0, 10, "training set is empty")])
def test_empty_sets_are_refused(n_train, n_test, needle, tmp_path):
    d = folder(tmp_path / "d", n_train=n_train, n_test=n_test)
    code, out, err = run_cli("train", "--data-dir", d, "--epochs", "1", "--hidden", "8")
    assert_one_line(code, err, needle)


CTRL_C = """
import os, runpy, signal, sys
sys.argv = ["numnet", "train", "--limit", "3000", "--epochs", "300", "--hidden", "8"]  # never done before 0.3 s
delay = float(os.environ["DELAY"])

def alarm(*_):
    # poll every 0.2 ms until numnet.cli has started (defined main), then Ctrl-C after `delay`
    global delay
    started = hasattr(sys.modules.get("numnet.cli"), "main")
    if not started or delay > 0:
        if started:
            delay, wait = 0.0, delay
        signal.setitimer(signal.ITIMER_REAL, wait if started else 0.0002)
        return
    os.kill(os.getpid(), signal.SIGINT)

signal.signal(signal.SIGALRM, alarm)
signal.setitimer(signal.ITIMER_REAL, 0.0002)
runpy.run_module("numnet", run_name="__main__", alter_sys=True)
"""


@pytest.mark.parametrize("delay", [0, 0.002, 0.01, 0.03, 0.1, 0.3])
def test_ctrl_c_while_starting_is_one_line_and_130(delay):
    """SIGINT at several moments of numnet's start-up, from its command module's import on
    (imports, parsing, loading data): exit status 130 and the one line 'interrupted', never a
    traceback. (Before that lie Python's own start-up and ``numnet/__init__``: a few ms.)"""
    proc = subprocess.run([sys.executable, "-c", CTRL_C], capture_output=True, text=True, timeout=60,
                          env={**ENV, "DELAY": str(delay)})
    assert proc.returncode == 130, (proc.returncode, proc.stderr)
    assert proc.stderr == "interrupted\n"


CTRL_C_DROPPED = """
import os, signal, sys, weakref
from numnet import cli
from numnet.cli import train
real = train.run

def run(args):                      # the command, with a Ctrl-C landing inside a weakref callback first
    class Box:
        pass
    box = Box()

    def callback(_):
        os.kill(os.getpid(), signal.SIGINT)
        sum(range(100000))          # its KeyboardInterrupt is raised here, where Python can only drop it
    ref = weakref.ref(box, callback)
    del box
    return real(args)

train.run = run
sys.exit(cli.main(["train", "--limit", "3000", "--epochs", "300", "--hidden", "8"]))
"""


def test_a_ctrl_c_python_would_drop_is_not_lost():
    """A Ctrl-C inside a weakref callback or __del__ (the import system's module-lock callback, in
    a cold start) is one Python prints as 'Exception ignored' and drops: the command then ran on to
    its end (exit 0). numnet sends it again, so it stops: 130 and one line."""
    proc = subprocess.run([sys.executable, "-c", CTRL_C_DROPPED], capture_output=True, text=True, timeout=120,
                          env=ENV)
    assert (proc.returncode, proc.stderr) == (130, "interrupted\n")


def test_label_minus_one_is_refused(tmp_path):
    """Signed labels (IDX int8) with a −1: refused from the folder, before training."""
    d = folder(tmp_path / "d")
    write_idx(os.path.join(d, FILES["train_labels"] + ".gz"), np.array([-1] + [k % 10 for k in range(29)], np.int8))
    code, out, err = run_cli("train", "--data-dir", d, "--epochs", "1", "--hidden", "8")
    assert_one_line(code, err, "uint8")
    assert "training" not in out


def test_label_minus_one_in_the_library(tmp_path):
    from numnet.data.datasets import check_labels
    from numnet.errors import DatasetError
    from numnet.views.evaluation import classification_report
    from numnet.views.metrics import confusion_matrix

    with pytest.raises(DatasetError, match="label -1"):
        check_labels(np.array([3, -1, 2]), 10)
    with pytest.raises(DatasetError, match="label 10"):
        check_labels(np.array([3, 10]), 10)
    with pytest.raises(DatasetError, match="integers"):
        check_labels(np.array([0.5]), 10)
    check_labels(np.array([0, 9], np.uint8), 10)
    with pytest.raises(DatasetError):
        classification_report([0, -1, 2], [0, 9, 2], num_classes=10)   # −1 would count as class 9's row
    with pytest.raises(DatasetError):
        confusion_matrix([0, 1, 2], [0, 1, 3], num_classes=3)
