"""Issue 27's records, as whole processes on this machine: MNIST with the ``record`` preset,
Fashion-MNIST with ``record-fashion``, averaged with its mirror image (``numnet ensemble --mirror``).

    python benchmarks/records.py mnist --seeds 0,1,2       # goal: mean >= 99.70%, each run <= 15 min
    python benchmarks/records.py fashion --seeds 0,1,2     # goal: mean >= 94.0%, each run <= 20 min

A run is ``numnet train --model PRESET --seed S``. A record of M > 1 members (``RECORDS``) would
train seeds S·M ... S·M + M − 1, each ``numnet train --model PRESET --seed s --save``, then
``numnet ensemble`` of their files, its time all of those processes together (tried for
Fashion-MNIST, see docs/guides/presets.md#records); with ``mirror``, ``numnet ensemble --mirror``
(each network also reads the picture mirrored), with ``shift`` s, ``numnet ensemble --shift s``
(each also reads it moved s pixels four ways): test-time augmentation, its time counted too.
Results (each run's accuracy, time and members' test-accuracy curves) go to benchmarks/records.json,
a seed run again replacing its run; ``benchmarks/record_figure.py`` draws them.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile

from sequence import run_command, run_numnet

from numnet.architectures import PRESETS

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "records.json")
FASHION = "/usr/share/datasets/fashion-mnist"          # Debian's dataset-fashion-mnist
#: name: preset, members per run, test-time mirroring and shifts (pixels), data folder (None: the
#: bundled MNIST), goal (accuracy, seconds a run)
RECORDS = {"mnist": {"preset": "record", "members": 1, "mirror": False, "shift": 0, "data_dir": None,
                     "goal": (0.9970, 900)},
           "fashion": {"preset": "record-fashion", "members": 1, "mirror": True, "shift": 0, "data_dir": FASHION,
                       "goal": (0.940, 1200)}}


def one_run(record, seed, threads, folder):
    """One record run (its members, then their ensemble): accuracy, seconds, the members' curves."""
    data = ["--data-dir", record["data_dir"]] if record["data_dir"] else []
    members, files = [], []
    views = (["--mirror"] if record["mirror"] else []) + (["--shift", record["shift"]] if record["shift"] else [])
    combine = record["members"] > 1 or bool(views)
    for s in range(seed * record["members"], (seed + 1) * record["members"]):
        save = ["--save", os.path.join(folder, f"member{s}.npz")] if combine else []
        members.append(run_numnet(record["preset"], s, threads, *data, *save))
        files += save[1:]
    run = {"seed": seed, "members": members, "process_seconds": sum(m["process_seconds"] for m in members),
           "test_accuracy": members[0]["test_accuracy"], "commands": [m["command"] for m in members]}
    if combine:
        command, result, seconds = run_command(["ensemble", *files, *views, *data], threads)
        run.update(test_accuracy=result["test_accuracy"], ensemble_seconds=seconds,
                   process_seconds=run["process_seconds"] + seconds, commands=run["commands"] + [command])
    for m in members:
        m["command"] = m["command"].replace(folder + os.sep, "")
    run["commands"] = [c.replace(folder + os.sep, "") for c in run["commands"]]
    return run


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("record", choices=list(RECORDS))
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--threads", type=int, default=2, help="BLAS threads (default 2)")
    args = ap.parse_args()
    record = RECORDS[args.record]
    least, most = record["goal"]
    results = json.load(open(OUT)) if os.path.exists(OUT) else {}
    runs = earlier_runs(results.get(args.record, {}), record)         # a seed run again replaces its run
    with tempfile.TemporaryDirectory() as folder:
        for seed in (int(s) for s in args.seeds.split(",")):
            run = {**one_run(record, seed, args.threads, folder), "load_average": os.getloadavg()}
            runs[seed] = run
            print(f"{args.record} seed {seed}: {run['test_accuracy']:.4f} in {run['process_seconds'] / 60:.1f} min",
                  flush=True)
            results[args.record] = summarise(record, [runs[s] for s in sorted(runs)], args.threads)
            with open(OUT + ".part", "w") as f:
                json.dump(results, f, indent=1)
            os.replace(OUT + ".part", OUT)
    summary = results[args.record]
    print(f"{args.record}: mean {summary['mean_test_accuracy']:.4f} over {len(runs)} runs; goal >= {least:.2%}, "
          f"each <= {most / 60:.0f} min: {'met' if summary['goal_met'] else 'NOT met'}")


#: what runs must share to be summarised together: the preset, its recipe (as it is now), the members
#: and the test-time views
MATCH = ("preset", "recipe", "members", "mirror", "shift")


def earlier_runs(earlier, record) -> dict:
    """{seed: run} of a record's earlier summary, if its runs were made with the same preset, recipe,
    members and test-time views as ``record`` now ({} otherwise: a changed recipe starts its table afresh)."""
    now = summarise(record, [], 0)
    same = all(json.loads(json.dumps(now[k])) == earlier.get(k) for k in MATCH)
    return {r["seed"]: r for r in earlier.get("runs", [])} if same else {}


def summarise(record, runs, threads):
    least, most = record["goal"]
    mean = statistics.mean(r["test_accuracy"] for r in runs) if runs else None
    return {"preset": record["preset"], "recipe": PRESETS[record["preset"]]["recipe"], "members": record["members"],
            "mirror": record["mirror"], "shift": record["shift"], "threads": threads, "runs": runs,
            "mean_test_accuracy": mean, "goal": {"test_accuracy": least, "seconds": most},
            "goal_met": len(runs) >= 3 and mean >= least and all(r["process_seconds"] <= most for r in runs)}


if __name__ == "__main__":
    main()
