"""The loss of each logged iteration in ``numnet train --json`` (issue 24): ``iteration_losses`` holds
{"iteration", "loss"} of every iteration ``--log-every K`` prints, and for numerical training (tutorial 2's
central differences) every iteration even without --log-every."""
import json
import re

import pytest

from ..helpers import run_cli


def test_numerical_training_gives_every_iteration():
    code, out, err = run_cli("train", "--gradient", "numerical", "--hidden", 2, "--limit", 40, "--batch-size", 10,
                             "--epochs", 1, "--json")
    assert code == 0, err
    steps = json.loads(out)["iteration_losses"]
    assert [s["iteration"] for s in steps] == [1, 2, 3, 4]
    assert all(0 < s["loss"] < 10 for s in steps)


def test_json_matches_what_log_every_prints():
    code, out, err = run_cli("train", "--hidden", 8, "--limit", 300, "--batch-size", 50, "--epochs", 1,
                             "--log-every", 2, "--json")
    assert code == 0, err
    steps = json.loads(out)["iteration_losses"]
    printed = [(int(i), float(loss)) for i, loss in re.findall(r"iteration\s+(\d+): loss ([\d.]+)", err)]
    assert [s["iteration"] for s in steps] == [i for i, _ in printed] == [2, 4, 6]
    assert [s["loss"] for s in steps] == pytest.approx([loss for _, loss in printed], abs=5e-5)
