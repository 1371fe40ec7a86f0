"""benchmarks/run.py's report: a goal row says met or not and by how much, the time to a target
accuracy comes from a process's --json history, and the report and its chart are written."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

import report  # noqa: E402
import report_nets  # noqa: E402
from workloads_nets import time_to  # noqa: E402


def block(seconds, steps=100, batch=64):
    return {"seconds": seconds, "steps": steps, "step_median": seconds / steps, "step_max": 2 * seconds / steps,
            "batch_size": batch, "workers": 1}


def raw_run():
    history = [{"epoch": 0, "test_accuracy": 0.1, "train_seconds": 0.0, "eval_seconds": 2.0},
               {"epoch": 1, "test_accuracy": 0.985, "train_seconds": 10.0, "eval_seconds": 1.0},
               {"epoch": 2, "test_accuracy": 0.991, "train_seconds": 10.0, "eval_seconds": 1.0}]
    process = {"model": "cnn", "target": 0.99, "commands": {"numnet": "python -m numnet train", "torch": "python t.py"},
               "numnet": [{"seconds": 26.0, "test_accuracy": 0.991, "history": history, "time_to_target": 26.0}],
               "torch": [{"seconds": 40.0, "test_accuracy": 0.992, "history": history, "time_to_target": 40.0}]}
    return {"threads": 2, "epochs": {"threads": 2, "repeats": 3,
                                     "rnn": {"numnet": [block(1.0)] * 3, "torch": [block(2.5)] * 3},
                                     "lstm": {"numnet": [block(1.4)] * 3, "torch": [block(1.0)] * 3}},
            "cnn-process": process}


def test_an_epoch_row_says_whether_its_goal_is_met_and_by_how_much():
    rows = {r.chart: r for r in report_nets.rows(raw_run())}
    rnn, lstm = rows["rnn epoch, 2 thr"], rows["lstm epoch, 2 thr"]
    assert (round(rnn.ratio, 2), rnn.goal_ratio, rnn.met) == (0.4, 0.5, "yes (20% under)")
    assert (round(lstm.ratio, 2), lstm.met) == (1.4, "**no** (2.80× the goal)")
    assert "938 steps of 64" in rnn.workload and "13.1 s" in lstm.numnet      # 1.4 s / 100 steps × 938


def test_the_process_row_needs_the_accuracy_too():
    raw = raw_run()
    raw["cnn-process"]["numnet"][0]["test_accuracy"] = 0.989
    whole, to_target = report_nets.process_rows(raw["cnn-process"])
    assert round(whole.ratio, 2) == 0.65 and whole.met == "**no** (1.08× the ratio goal, lowest accuracy 98.90%)"
    assert to_target.met.startswith("**no**") and "26.0 s (epoch 2)" in to_target.numnet


def test_time_to_target_is_the_wall_time_less_the_epochs_after_it():
    run = {"seconds": 30.0, "history": raw_run()["cnn-process"]["numnet"][0]["history"]}
    assert time_to(run, 0.98) == 30.0 - 11.0            # epoch 1 reached it: epoch 2's 10 + 1 s come off
    assert time_to(run, 0.99) == 30.0
    assert time_to(run, 0.995) is None


def test_the_report_and_its_chart_are_written(tmp_path):
    raw = raw_run()
    chart = report.chart(raw, str(tmp_path / "ratios.png"))
    text = report.build_report(raw, "python benchmarks/run.py --all", str(tmp_path / "results.json"),
                               str(tmp_path / "RESULTS.md"), chart)
    assert Path(chart).stat().st_size > 1000 and "![numnet / PyTorch ratios](ratios.png)" in text
    assert "| `rnn` preset: training epoch" in text and "| 0.40 | ratio ≤ 0.5 | yes (20% under) |" in text


def test_a_loaded_row_compares_slowdowns_and_the_worst_step():
    quiet, loaded = block(1.0), block(3.0)             # numnet 3× slower loaded, its worst step 60 ms vs 10 ms
    loaded["step_max"] = 0.15
    raw = {"busy_loops": 2, "repeats": 1, "rnn": {"load": 4.0, "quiet": {"numnet": [quiet], "torch": [block(2.0)]},
                                                  "loaded": {"numnet": [loaded], "torch": [block(8.0)]}}}
    slowdown, worst = report_nets.loaded_rows(raw)
    assert (slowdown.numnet, slowdown.torch, slowdown.met) == ("3.00×", "4.00×", "yes (25% under)")
    assert (worst.numnet, worst.met) == ("15.0×", "**no** (1.5× the goal)")
