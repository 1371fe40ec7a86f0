"""numnet against PyTorch on a CPU, side by side: python benchmarks/run.py --all [--quick] [--only NAMES]

One command for every comparison of issue 25: the training epoch time of the rnn, lstm, gru, vit and
cnn presets (at --threads, 2 by default, and at 1 thread), their evaluation throughput, ``numnet
train --model cnn`` against the same recipe as a PyTorch script as whole processes (with its time to
99.0% test accuracy), the MLP rows, and the slowdown with two busy loops beside. Each side runs in
its own long-lived worker process (``harness.py``, ``workers.py``) with the same thread count; every
repeat runs both sides back to back, alternating which goes first; the report quotes medians and the
ratio numnet / PyTorch (lower is better).

A full run writes benchmarks/RESULTS.md, benchmarks/results.json and the chart of the ratios
docs/guides/benchmark-ratios.png (shown in docs/guides/speed.md); a --quick or --only run writes
benchmarks/out/ instead (git ignores it), so it never overwrites the full results. The numnet
measured is the one on PYTHONPATH.

Workload names for --only (comma-separated): {names}.
--all (the default) runs: {all}.
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import sys
import time

import workloads_mlp as mlp
import workloads_nets as nets
from harness import FRAMEWORKS, HERE, ROOT, SIDES, Bench, machine
from report import build_report, chart

WORKLOADS = {"parity": mlp.w_parity, "sgemm": mlp.w_sgemm, "seed002": mlp.w_seed002, "seed002-2ep": mlp.w_seed002_2ep,
             "mlp256": mlp.w_mlp256, "to98": mlp.w_to98, "inference": mlp.w_inference, "memory": mlp.w_memory,
             "help": mlp.w_help, "seed000": mlp.w_seed000, "seed001": mlp.w_seed001, "profile": mlp.w_profile,
             "epochs": nets.w_epochs, "epochs-1thread": nets.w_epochs_1thread, "eval": nets.w_eval,
             "cnn-process": nets.w_cnn_process, "loaded": nets.w_loaded}
#: issue 25's acceptance list, about 15-20 minutes on 2 quiet cores (--quick: 2-4)
ALL = ["parity", "sgemm", "seed002", "mlp256", "inference", "epochs", "epochs-1thread", "eval", "cnn-process",
       "loaded"]
CHART = os.path.join(ROOT, "docs", "guides", "benchmark-ratios.png")
__doc__ = __doc__.format(names=", ".join(WORKLOADS), all=", ".join(ALL))


def settings(args) -> str:
    """What the run's size was, for the report's header."""
    steps = nets.QUICK_STEPS if args.quick else nets.STEPS
    reps = 2 if args.quick else args.repeats
    return (f"training steps per timed block: {', '.join(f'{k} {v}' for k, v in steps.items())}; repeats: "
            f"{reps} for the presets' workloads ({1 if args.quick else reps} loaded), "
            f"{1 if args.quick else args.repeats} for the MLP ones, "
            f"processes: {1 if args.quick else min(3, args.repeats)} run(s) of each"
            f"{' (--limit 3000 images)' if args.quick else ''}")


def run(bench: Bench, names: list) -> dict:
    raw = bench.raw
    raw["machine"] = machine()
    raw["info"] = {side: bench.worker(side).call("info") for side in FRAMEWORKS}
    raw["load_before"] = os.getloadavg()
    if raw["load_before"][0] > 0.5 * (os.cpu_count() or 1):
        bench.say(f"load average {raw['load_before'][0]:.1f} on {os.cpu_count()} cores: other work is running, "
                  "the figures will be noisy (the ratios less than the times)")
    start = time.perf_counter()
    try:
        for name in names:
            bench.say(f"== {name}")
            began = time.perf_counter()
            WORKLOADS[name](bench)
            raw.setdefault("workload_seconds", {})[name] = time.perf_counter() - began
    finally:
        bench.close()
    raw["load_after"] = os.getloadavg()
    raw["total_seconds"] = time.perf_counter() - start
    return raw


def write(raw, command, json_path, report_path, chart_path):
    chart_path = chart(raw, chart_path)
    with open(report_path, "w") as f:
        f.write(build_report(raw, command, json_path, report_path, chart_path))
    return chart_path


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--all", action="store_true", help="every workload of issue 25 (the default)")
    p.add_argument("--quick", action="store_true", help="fewer steps, repeats and epochs (a few minutes)")
    p.add_argument("--only", metavar="NAMES", help=f"comma-separated subset of: {', '.join(WORKLOADS)}")
    p.add_argument("--nets", metavar="NAMES", help="the presets' workloads on these nets only (of mlp, "
                                                   f"{', '.join(nets.NETS)})")
    p.add_argument("--repeats", type=int, default=5, help="repeats per timed workload (default 5)")
    p.add_argument("--threads", type=int, default=2, help="threads for BLAS and torch (default 2)")
    p.add_argument("--output", help="report path (default benchmarks/RESULTS.md; with --quick, --only or --nets, "
                                     "benchmarks/out/RESULTS.md, which git ignores)")
    p.add_argument("--json", help="raw figures path (default: results.json beside the report)")
    p.add_argument("--chart", help=f"chart path (default {os.path.relpath(CHART, ROOT)} for a full run, "
                                    "else ratios.png beside the report)")
    p.add_argument("--report-from", metavar="JSON", help="measure nothing: rebuild the report and the chart from "
                                                         "the raw figures of an earlier run")
    args = p.parse_args(argv)
    if args.all and args.only:
        p.error("give --all or --only, not both")
    args.nets = args.nets.split(",") if args.nets else None
    partial = args.quick or args.only or args.nets
    if args.report_from:
        with open(args.report_from) as f:
            raw = json.load(f)
        folder = os.path.dirname(os.path.abspath(args.report_from))
        report = args.output or os.path.join(folder, "RESULTS.md")
        write(raw, raw["command"], args.report_from, report,
              args.chart or (CHART if folder == HERE else os.path.join(folder, "ratios.png")))
        return
    if args.output is None:
        folder = os.path.join(HERE, "out") if partial else HERE
        os.makedirs(folder, exist_ok=True)
        args.output = os.path.join(folder, "RESULTS.md")
    folder = os.path.dirname(os.path.abspath(args.output))
    args.json = args.json or os.path.join(folder, "results.json")
    args.chart = args.chart or (os.path.join(folder, "ratios.png") if partial else CHART)
    names = [n.strip() for n in args.only.split(",")] if args.only else ALL
    unknown = set(names) - set(WORKLOADS)
    if unknown:
        p.error(f"unknown workload(s) {', '.join(sorted(unknown))}; choose from {', '.join(WORKLOADS)}")
    if "mlp256" in names and "sgemm" not in names:
        names = ["sgemm"] + names
    command = "python benchmarks/run.py" + "".join(f" {a}" for a in (argv if argv is not None else sys.argv[1:]))
    raw = run(Bench(args), names)
    raw.update(command=command, threads=args.threads, quick=args.quick, settings=settings(args),
               sides=list(SIDES), finished=datetime.datetime.now(datetime.timezone.utc).isoformat())
    with open(args.json, "w") as f:
        json.dump(raw, f, indent=1)
    chart_path = write(raw, command, args.json, args.output, args.chart)
    print(open(args.output).read())
    print(f"wrote {args.output}, {args.json}" + (f", {chart_path}" if chart_path else ""), file=sys.stderr)


if __name__ == "__main__":
    main()
