"""benchmarks/records.py and record_figure.py: a record's goal needs three runs, the mean over the
goal and every run within its minutes; a member's curve counts training and evaluation seconds."""
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

import record_figure  # noqa: E402
import records  # noqa: E402

RECORD = {"preset": "record", "members": 1, "mirror": False, "shift": 0, "data_dir": None, "goal": (0.997, 900)}


def runs(*pairs):
    return [{"seed": k, "test_accuracy": acc, "process_seconds": s} for k, (acc, s) in enumerate(pairs)]


def test_the_goal_needs_three_runs_a_mean_over_it_and_each_run_in_time():
    assert records.summarise(RECORD, runs((0.9972, 400), (0.9970, 410), (0.9968, 405)), 2)["goal_met"]
    assert not records.summarise(RECORD, runs((0.9972, 400), (0.9970, 410)), 2)["goal_met"]
    assert not records.summarise(RECORD, runs((0.9972, 400), (0.9968, 410), (0.9968, 405)), 2)["goal_met"]
    assert not records.summarise(RECORD, runs((0.9990, 400), (0.9990, 910), (0.9990, 405)), 2)["goal_met"]


def test_a_curve_counts_training_and_evaluation_from_its_start():
    history = [{"epoch": 0, "test_accuracy": 0.1, "train_seconds": 0.0, "eval_seconds": 6.0},
               {"epoch": 1, "test_accuracy": 0.99, "train_seconds": 48.0, "eval_seconds": 6.0},
               {"epoch": 2, "test_accuracy": 0.995, "train_seconds": 54.0, "eval_seconds": 6.0}]
    minutes, accuracy = record_figure.curve(history, start=60.0)
    assert minutes == [2.0, 3.0] and accuracy == [99.0, 99.5]


def test_earlier_runs_are_kept_only_for_the_same_recipe():
    earlier = records.summarise(RECORD, runs((0.9972, 400), (0.9970, 410)), 2)
    earlier = json.loads(json.dumps(earlier))                          # as records.json holds it
    assert sorted(records.earlier_runs(earlier, RECORD)) == [0, 1]
    changed = {**earlier, "recipe": {**earlier["recipe"], "epochs": 99}}
    assert records.earlier_runs(changed, RECORD) == {}
    assert records.earlier_runs(earlier, {**RECORD, "mirror": True}) == {}
    assert records.earlier_runs(earlier, {**RECORD, "shift": 1}) == {}
    assert records.earlier_runs({}, RECORD) == {}
