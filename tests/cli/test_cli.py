import json
import os

import pytest

import numnet
from numnet.cli import main

from ..helpers import make_folder, run_cli


def test_train_json_and_save(tmp_path):
    path = tmp_path / "m.npz"
    code, out, err = run_cli("train", "--hidden", "16", "--epochs", "2", "--limit", "3000", "--batch-size", "30", "--json",
                             "--save", str(path), "--seed", "3")
    assert code == 0, err
    result = json.loads(out)   # exactly one JSON object on stdout
    assert set(result) >= {"test_accuracy", "test_loss", "train_seconds", "epochs", "history", "model_path"}
    assert result["epochs"] == 2 and [e["epoch"] for e in result["history"]] == [0, 1, 2]   # 0: before training
    assert set(result["history"][0]) == {"epoch", "train_loss", "train_accuracy", "test_loss", "test_accuracy",
                                         "train_seconds", "eval_seconds"}     # DESIGN.md's keys, and the time apart
    assert 0.8 < result["test_accuracy"] <= 1
    assert result["model_path"] == str(path)
    assert "epoch" in err and "test accuracy" in err     # human output went to stderr
    model = numnet.load(path)
    (_, _), (xt, yt) = numnet.load_mnist()
    assert model.evaluate(xt, yt)[1] == pytest.approx(result["test_accuracy"])


def test_train_human_output_and_gate(capsys):
    code = main(["train", "--hidden", "8", "--epochs", "1", "--limit", "1000", "--min-accuracy", "0.999"])
    out, err = capsys.readouterr()
    assert code == 1 and "below the gate" in err
    assert "epoch   1" in out and "test accuracy" in out


@pytest.mark.parametrize("args, problem", [
    (["train", "--activation", "swish"], "invalid choice"),
    (["train", "--optimizer", "lion"], "invalid choice"),
    (["train", "--epochs", "0"], "positive integer"),
    (["train", "--batch-size", "-5"], "positive integer"),
    (["train", "--lr", "0"], "positive number"),
    (["train", "--hidden", "64,x"], "hidden sizes"),
    (["train", "--hidden", "64,0"], "positive"),
    (["train", "--data-dir", "/nonexistent/dir"], "no such data folder"),
    (["train", "--save", "/nonexistent/dir/m.npz"], "does not exist"),
    (["bogus"], "invalid choice"),
])
def test_bad_input_is_one_line_and_status_2(args, problem):
    code, out, err = run_cli(*args)
    assert code == 2
    assert problem in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_malformed_data_dir(tmp_path):
    make_folder(tmp_path / "d")
    (tmp_path / "d" / "train-images-idx3-ubyte.gz").write_bytes(b"junk")
    code, out, err = run_cli("train", "--data-dir", str(tmp_path / "d"), "--save", str(tmp_path / "m.npz"))
    assert code == 2 and "train-images" in err and len(err.strip().splitlines()) == 1
    assert not os.path.exists(tmp_path / "m.npz")


def test_data_dir_training(tmp_path, capsys):
    make_folder(tmp_path / "d", n_train=50, n_test=20)
    assert main(["train", "--data-dir", str(tmp_path / "d"), "--epochs", "1", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["epochs"] == 1


def test_help_and_module_entry_point():
    code, out, _ = run_cli("--help")
    assert code == 0 and "train" in out
    code, out, _ = run_cli("train", "--help")
    assert code == 0 and "--hidden" in out and "--data-dir" in out
