"""The preset networks' rows of the results table (issue 25's acceptance list): epoch time at the
run's thread count and at 1 thread, evaluation throughput, ``numnet train --model cnn`` and the time
to 99.0% as whole processes, and the slowdown with two busy loops beside."""
from __future__ import annotations

from harness import FRAMEWORKS
from report import Row, med, ratio_verdict, verdict

#: issue 25's epoch-time goals (numnet / PyTorch); cnn: faster than PyTorch (the issue's title)
EPOCH_GOALS = {"rnn": 0.5, "lstm": 0.5, "gru": 0.5, "vit": 0.7, "cnn": 1.0}
#: evaluation throughput: numnet ≥ 1.5× PyTorch's images/s, i.e. PyTorch's / numnet's ≤ 1/1.5
EVAL_GOAL = 1.5
PROCESS_GOAL, TO_TARGET_GOAL, TO_TARGET_SECONDS, WORST_STEP_GOAL = 0.6, 0.6, 20.0, 10.0


def epoch_seconds(result, steps_per_epoch):
    return result["seconds"] / result["steps"] * steps_per_epoch


def epoch_rows(d, section) -> list:
    rows = []
    for net, goal in EPOCH_GOALS.items():
        if net not in d:
            continue
        res = d[net]
        per_epoch = -(-60000 // res["numnet"][0]["batch_size"])
        e = {fw: med([epoch_seconds(r, per_epoch) for r in res[fw]]) for fw in FRAMEWORKS}
        step = {fw: med([r["step_median"] for r in res[fw]]) * 1e3 for fw in FRAMEWORKS}
        ratio = e["numnet"] / e["torch"]
        workers = res["numnet"][0].get("workers")
        rows.append(Row(f"`{net}` preset: training epoch ({per_epoch} steps of {res['numnet'][0]['batch_size']}, "
                        f"from {res['numnet'][0]['steps']} steps × {len(res['numnet'])} repeats; "
                        f"numnet workers {workers})",
                        f"{e['numnet']:.1f} s (median step {step['numnet']:.1f} ms)",
                        f"{e['torch']:.1f} s (median step {step['torch']:.1f} ms)", ratio, f"ratio ≤ {goal}",
                        ratio_verdict(ratio, goal), f"{net} epoch, {d['threads']} thr", goal, section))
    return rows


def eval_rows(d) -> list:
    rows = []
    for net in EPOCH_GOALS:
        if net not in d:
            continue
        ips = {fw: med([r["images_per_second"] for r in d[net][fw]]) for fw in FRAMEWORKS}
        ratio = ips["torch"] / ips["numnet"]
        rows.append(Row(f"`{net}` preset: evaluation, 10,000 test images, batch {d['batch']} (numnet `model.predict`; "
                        "PyTorch `eval()` + `no_grad`, argmax)", f"{ips['numnet']:,.0f} images/s",
                        f"{ips['torch']:,.0f} images/s", ratio, f"≥ {EVAL_GOAL}× PyTorch's (ratio ≤ {1 / EVAL_GOAL:.2f})",
                        f"{'yes' if ratio <= 1 / EVAL_GOAL else '**no**'} ({1 / ratio:.2f}× PyTorch's)", f"{net} eval",
                        1 / EVAL_GOAL, "Evaluation throughput"))
    return rows


def process_rows(d) -> list:
    section = "Whole processes (fresh each run)"
    wall = {fw: med([r["seconds"] for r in d[fw]]) for fw in FRAMEWORKS}
    acc = {fw: [r["test_accuracy"] for r in d[fw]] for fw in FRAMEWORKS}
    ratio = wall["numnet"] / wall["torch"]
    accs = {fw: ", ".join(f"{a:.2%}" for a in acc[fw]) for fw in FRAMEWORKS}
    ok_acc = min(acc["numnet"]) >= d["target"]
    misses = ([f"{ratio / PROCESS_GOAL:.2f}× the ratio goal"] if ratio > PROCESS_GOAL else []) + \
        ([] if ok_acc else [f"lowest accuracy {min(acc['numnet']):.2%}"])
    met = verdict(False, ", ".join(misses)) if misses else ratio_verdict(ratio, PROCESS_GOAL)
    rows = [Row(f"`numnet train --model {d['model']}` vs the same recipe as a PyTorch script "
                f"(`{d['commands']['torch']}`): wall time, test accuracy", f"{wall['numnet']:.1f} s, {accs['numnet']}",
                f"{wall['torch']:.1f} s, {accs['torch']}", ratio,
                f"ratio ≤ {PROCESS_GOAL} and ≥ {d['target']:.1%}",
                met, f"numnet train --model {d['model']}", PROCESS_GOAL, section)]
    reached = {fw: [r["time_to_target"] for r in d[fw] if r["time_to_target"] is not None] for fw in FRAMEWORKS}
    full = {fw: len(reached[fw]) == len(d[fw]) for fw in FRAMEWORKS}

    def cell(fw):
        if not full[fw]:
            return f"not reached in {len(d[fw]) - len(reached[fw])} of {len(d[fw])} runs"
        return f"{med(reached[fw]):.1f} s (epoch " + ", ".join(
            str(next(e["epoch"] for e in r["history"] if e["epoch"] >= 1 and e["test_accuracy"] >= d["target"]))
            for r in d[fw]) + ")"
    if full["numnet"] and full["torch"]:
        t = {fw: med(reached[fw]) for fw in FRAMEWORKS}
        r2 = t["numnet"] / t["torch"]
        ok = t["numnet"] <= TO_TARGET_SECONDS and r2 <= TO_TARGET_GOAL
        met = verdict(ok, f"{t['numnet']:.1f} s, {r2 / TO_TARGET_GOAL:.2f}× the ratio goal")
    else:
        r2, met = None, verdict(False, "not reached")
    rows.append(Row(f"time to {d['target']:.1%} test accuracy from a fresh process, same runs (start-up, data, "
                    "every epoch's evaluation included, up to the first epoch at the target)", cell("numnet"),
                    cell("torch"), r2, f"≤ {TO_TARGET_SECONDS:.0f} s and ratio ≤ {TO_TARGET_GOAL}", met,
                    f"time to {d['target']:.0%}", TO_TARGET_GOAL, section))
    return rows


def loaded_rows(d) -> list:
    rows = []
    section = f"Loaded: {d['busy_loops']} busy-loop processes beside, same run"
    for net, res in d.items():
        if not isinstance(res, dict) or "quiet" not in res:
            continue
        block = {(fw, k): med([r["seconds"] for r in res[k][fw]]) for fw in FRAMEWORKS for k in ("quiet", "loaded")}
        slow = {fw: block[fw, "loaded"] / block[fw, "quiet"] for fw in FRAMEWORKS}
        quiet_step = {fw: med([r["step_median"] for r in res["quiet"][fw]]) for fw in FRAMEWORKS}
        worst = {fw: max(r["step_max"] for r in res["loaded"][fw]) / quiet_step[fw] for fw in FRAMEWORKS}
        ratio = slow["numnet"] / slow["torch"]
        rows.append(Row(f"`{net}` training steps: slowdown loaded / quiet (load average {res['load']:.1f})",
                        f"{slow['numnet']:.2f}×", f"{slow['torch']:.2f}×", ratio, "numnet's ≤ PyTorch's (ratio ≤ 1)",
                        ratio_verdict(ratio, 1.0), f"{net} loaded slowdown", 1.0, section))
        rows.append(Row(f"`{net}`: worst single loaded step / quiet median step (quiet {quiet_step['numnet'] * 1e3:.1f} "
                        f"vs {quiet_step['torch'] * 1e3:.1f} ms)", f"{worst['numnet']:.1f}×", f"{worst['torch']:.1f}×",
                        None, f"numnet ≤ {WORST_STEP_GOAL:.0f}×",
                        verdict(worst["numnet"] <= WORST_STEP_GOAL, f"{worst['numnet'] / WORST_STEP_GOAL:.1f}× the goal"),
                        section=section))
    return rows


def rows(raw: dict) -> list:
    out = []
    if "epochs" in raw:
        out += epoch_rows(raw["epochs"], f"Training epoch time, {raw['epochs']['threads']} threads")
    if "epochs-1thread" in raw:
        out += epoch_rows(raw["epochs-1thread"], "Training epoch time, 1 thread (quoted; the goals are the "
                                                 "2-thread ones)")
    if "eval" in raw:
        out += eval_rows(raw["eval"])
    if "cnn-process" in raw:
        out += process_rows(raw["cnn-process"])
    if "loaded" in raw:
        out += loaded_rows(raw["loaded"])
    return out


def method(raw: dict) -> list:
    """How the preset networks are compared (bullets of the report's method section)."""
    if not any(k in raw for k in ("epochs", "epochs-1thread", "eval", "cnn-process", "loaded")):
        return []
    return [
        "- Presets (`benchmarks/worker_nets.py`, `benchmarks/torch_nets.py`): numnet builds each network and "
        "its training exactly as `numnet train --model P` does (`Recipe.from_preset`: layers, optimizer, "
        "gradient clipping, one-cycle schedule, its default data-parallel workers) and trains with "
        "`model.fit` on the uint8 images (conversion inside its time). PyTorch trains the same layers "
        "(its own initialisation) with the same optimizer, clipping and `OneCycleLR`, on float tensors "
        "scaled (and standardised, for the recurrent nets) beforehand, outside its timer.",
        "- Epoch time = a block of training steps (the count is in the row) × steps per epoch / steps; each "
        "repeat is one block per side, alternating which goes first; medians over the repeats. Evaluation is "
        "not included (it has its own rows). The models keep training from block to block (5 warm-up steps "
        "first, which load numba's kernels).",
        "- Evaluation: a fresh preset model (Standardize fitted), `model.predict(x_test, batch_size=1000)` on "
        "the uint8 test images against `net.eval()`, `torch.no_grad()`, `net(x).argmax(1)` over 10 batches "
        "of 1,000 preloaded floats; images/s of the median call.",
        "- Whole processes: `python -m numnet train --model cnn --json` (its epoch 0 and every epoch's "
        "test evaluation included, as a user runs it) against `python benchmarks/torch_train.py --model cnn "
        "--json` (the same recipe from numnet's preset table, test evaluation after every epoch), fresh "
        "processes, alternating. Time to 99.0%: the process's wall time less the epochs (training and "
        "evaluation, from the `--json` history) after the first epoch that reached it.",
        "- Loaded: the same training steps of mlp (784-256-256-10, batch 128, Adam 1e-3), cnn and rnn, "
        "first quiet, then with two `python -c \"while True: pass\"` processes running; slowdown = median "
        "loaded block / median quiet block per side; worst step = the longest single loaded step over the "
        "median quiet step.",
    ]
