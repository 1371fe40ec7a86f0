"""numnet train when things go wrong: divergence (exit 1, valid JSON), checkpoints, Ctrl-C and
--resume (bit-identical to the uninterrupted run), early stopping on a validation split."""
import json
import re
import signal
import subprocess
import sys
import time

import numpy as np

import numnet

from ..helpers import ENV, run_cli


def test_lr_inf_diverges_with_exit_1_and_valid_json(tmp_path):
    code, out, err = run_cli("train", "--lr", "inf", "--epochs", "1", "--limit", "1000", "--json",
                             "--save", tmp_path / "nan.npz")
    assert code == 1, err
    result = json.loads(out)                                   # strict JSON: no NaN anywhere
    assert result["diverged"] is True and result["model_path"] is None
    assert re.search(r"^warning: diverged at epoch 1, step \d+: loss nan; try a lower --lr$", err, re.M)
    assert "Traceback" not in err and "RuntimeWarning" not in err
    assert not (tmp_path / "nan.npz").exists()                 # no NaN model saved


def test_sgd_lr_100_diverges_and_keeps_a_good_file(tmp_path):
    good = tmp_path / "m.npz"
    assert run_cli("train", "--hidden", "8", "--epochs", "1", "--limit", "500", "--save", good)[0] == 0
    before = good.read_bytes()
    code, _, err = run_cli("train", "--optimizer", "sgd", "--lr", "100", "--epochs", "3", "--limit", "6000",
                           "--save", good)
    assert code == 1 and "diverged at epoch" in err
    assert good.read_bytes() == before


def test_patience_validates_on_a_split_never_the_test_set(tmp_path):
    code, out, err = run_cli("train", "--hidden", "16", "--epochs", "40", "--limit", "600", "--optimizer", "sgd",
                             "--lr", "0.9", "--batch-size", "20", "--patience", "1", "--json")
    assert code == 0, err
    result = json.loads(out)
    assert len(result["history"]) < 40 and "early stop after epoch" in err
    assert all("val_accuracy" in e and "test_accuracy" not in e for e in result["history"])
    assert "val loss" in err


def test_ctrl_c_then_resume_gives_the_uninterrupted_weights(tmp_path):
    common = ["--hidden", "32", "--epochs", "20", "--limit", "1500", "--batch-size", "32", "--schedule", "onecycle",
              "--augment", "shift", "--seed", "4"]
    assert run_cli("train", *common, "--save", tmp_path / "whole.npz", timeout=600)[0] == 0
    ck = tmp_path / "ck.npz"
    proc = subprocess.Popen([sys.executable, "-m", "numnet", "train", *common, "--checkpoint", str(ck)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV)
    deadline = time.time() + 300
    while not ck.exists() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err                         # the signal came during epoch 2 of 20
    assert "resume with: numnet train --resume" in err and "Traceback" not in err
    done = numnet.load(ck).training_state["epoch"]
    assert 1 <= done < 20
    code, _, err = run_cli("train", "--resume", ck, "--save", tmp_path / "resumed.npz", timeout=600)
    assert code == 0, err
    whole, resumed = numnet.load(tmp_path / "whole.npz"), numnet.load(tmp_path / "resumed.npz")
    np.testing.assert_array_equal(resumed.flat_params, whole.flat_params)
    assert [e["train_loss"] for e in resumed.history] == [e["train_loss"] for e in whole.history]


def test_resume_refuses_a_plain_model(tmp_path):
    plain = tmp_path / "m.npz"
    assert run_cli("train", "--hidden", "8", "--epochs", "1", "--limit", "300", "--save", plain)[0] == 0
    numnet.load(plain).training_state                          # a saved model records where it stopped ...
    code, _, err = run_cli("train", "--resume", tmp_path / "missing.npz")
    assert code == 2 and "no such model file" in err and len(err.strip().splitlines()) == 1
