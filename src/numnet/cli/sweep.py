"""numnet sweep: search hyperparameters with Optuna on worker processes (extra ``sweep``)."""
from __future__ import annotations

from .common import Output, add_data_option, add_json_option, positive_float, positive_int, seed_int


def add_parser(sub):
    p = sub.add_parser("sweep", help="search hyperparameters with Optuna (validation split, pruning, workers)",
                       description="Search learning rate, hidden widths (or a preset's knobs), batch size, dropout and "
                                   "weight decay with Optuna. Each trial trains on the training set minus a seeded "
                                   "validation split and reports validation accuracy after every epoch to a median "
                                   "pruner. The best trial's numnet train command is printed and its test accuracy "
                                   "measured once.")
    p.add_argument("--model", default="mlp", choices=["mlp", "lenet5", "cnn", "cnn-best"],
                   help="mlp (default): search 1-2 hidden layers' widths; a preset: search its lr and dropout")
    p.add_argument("--trials", type=positive_int, default=20, help="trials this command adds to the study (default 20)")
    p.add_argument("--jobs", type=positive_int, default=1,
                   help="worker processes on this machine (default 1); each gets cores/jobs BLAS threads")
    p.add_argument("--blas-threads", type=positive_int, metavar="N",
                   help="BLAS threads per worker (default: cores / jobs, at least 1)")
    p.add_argument("--storage", metavar="URL|PATH",
                   help="Optuna storage shared by the workers: a journal file (default STUDY.journal) or a "
                        "database URL, e.g. postgresql://user:pass@host/db for workers on many machines")
    p.add_argument("--study", default="numnet-sweep", metavar="NAME",
                   help="study name (default numnet-sweep); an existing study resumes")
    p.add_argument("--epochs", type=positive_int, help="epochs per trial (default: the preset's; mlp 5)")
    p.add_argument("--limit", type=positive_int, metavar="N", help="use the first N training samples only")
    p.add_argument("--val-fraction", type=positive_float, default=0.1, metavar="F",
                   help="share of the training samples held out for validation (default 0.1)")
    p.add_argument("--seed", type=seed_int, default=0,
                   help="seed of the split, the samplers and every trial (default 0)")
    p.add_argument("--pruner", default="median", choices=["median", "none"], help="default median")
    p.add_argument("--no-test", action="store_true", help="skip the final test-set measurement")
    add_data_option(p)
    add_json_option(p)
    p.set_defaults(run=run)


def run(args) -> int:
    from numnet.integrations import sweep

    out = Output(args.json)
    out.say(f"sweep: study {args.study!r}, {args.trials} trials on {args.jobs} worker process"
            f"{'es' if args.jobs > 1 else ''}, model {args.model}"
            + (f", {args.limit} samples" if args.limit else ""))

    def progress(event, number, state, value, params):
        shown = ", ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}" for k, v in params.items())
        score = f"val acc {value:.4f}" if state == "COMPLETE" else state.lower()
        out.say(f"trial {number:>3}: {score:<16} {shown}")

    result = sweep.run(trials=args.trials, jobs=args.jobs, storage=args.storage, study_name=args.study,
                       model=args.model, epochs=args.epochs, limit=args.limit, val_fraction=args.val_fraction,
                       seed=args.seed, data_dir=args.data_dir, pruner=args.pruner, measure_test=not args.no_test,
                       blas_threads=args.blas_threads, progress=progress)
    out.say(f"{result['trials']} trials in the study ({result['complete']} complete, {result['pruned']} pruned, "
            f"{result['failed']} failed); {result['trials_run']} run now in {result['wall_seconds']:.1f} s "
            f"on {result['jobs']} workers x {result['blas_threads']} BLAS threads")
    if result["best_trial"] is None:
        out.warn("no trial completed")
        out.emit(result)
        return 1
    out.say(f"best: trial {result['best_trial']}, validation accuracy {result['best_value']:.4f}")
    out.say(f"  {result['command']}")
    if result["test_accuracy"] is not None:
        out.say(f"test accuracy of that command: {result['test_accuracy']:.4f} (loss {result['test_loss']:.4f})")
    out.emit(result)
    return 0
