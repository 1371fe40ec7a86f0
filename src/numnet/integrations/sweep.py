"""Hyperparameter sweeps on Optuna (extra ``sweep``): ``numnet sweep``.

A study maximises validation accuracy. Each trial draws a recipe from the search space (learning
rate, hidden widths or a preset's knobs, batch size, dropout, weight decay), trains on the
training set minus a seeded validation split (the test set is never seen), and reports the
validation accuracy to Optuna's pruner after every epoch (``fit``'s ``progress`` 'epoch' event;
a pruned trial stops by raising ``optuna.TrialPruned`` from inside ``fit``).

Trials run on ``jobs`` worker processes (spawned, each with ``cores // jobs`` BLAS threads, set in
the environment before NumPy is imported and again with threadpoolctl). They share one Optuna
storage: a journal file (``JournalFileBackend``, this machine) or a database URL such as
``postgresql://user@host/db`` (workers on many machines). Optuna hands out the trials; each
command adds ``trials`` trials to the study, split among its workers. At the end the best trial's
recipe is trained once on the whole training set, exactly as its ``numnet train`` command would,
and measured once on the test set.
"""
from __future__ import annotations

import multiprocessing
import os
import re
import shlex
import time
import uuid

import numpy as np

from ..api import Sequential
from ..data.datasets import load_mnist
from ..errors import ConfigError, NumnetError
from ..files import special_file
from ..train.recipe import Recipe

#: the searched knobs' ranges
LR_RANGE = (1e-4, 1e-2)               # MLP; a preset searches its own lr ×/÷ 10
WIDTH_RANGE = (16, 256)               # hidden widths (log-uniform integers)
MAX_LAYERS = 2                        # the MLP has 1..MAX_LAYERS hidden layers
BATCH_SIZES = (32, 64, 128, 256)
DROPOUTS = (0.0, 0.1, 0.2, 0.3, 0.5)
WEIGHT_DECAY_RANGE = (1e-6, 1e-2)     # AdamW's decoupled decay (log-uniform)
#: the keys of a suggested recipe that :class:`~numnet.train.recipe.Recipe` takes (besides ``arch``)
RECIPE_KEYS = ("optimizer", "lr", "weight_decay", "schedule", "augment", "epochs", "batch_size", "seed")
BLAS_ENV = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS")


class SweepError(NumnetError):
    """A sweep could not run: a worker process failed, or the storage cannot be opened."""


def _optuna():
    try:
        import optuna
    except ImportError:
        raise ConfigError("numnet sweep needs Optuna: pip install 'numnet[sweep]'") from None
    return optuna


# the search space --------------------------------------------------------------------------------
def suggest(trial, model: str = "mlp", epochs: int | None = None, seed: int = 0, num_classes: int = 10) -> dict:
    """A full training recipe for ``numnet train`` from the trial's suggestions:
    {arch, optimizer, lr, weight_decay, schedule, augment, epochs, batch_size, seed}.

    mlp: 1..MAX_LAYERS hidden ReLU layers of log-uniform widths, dropout after each.
    A preset (lenet5, cnn, cnn-best): its layers and schedule/augmentation, with lr searched within
    ×/÷ 10 of its own and, where its spec has a dropout, the dropout rate.
    Every recipe trains with AdamW and a searched weight decay.
    """
    base = Recipe.from_preset(model)
    spec = base.arch
    dropout = trial.suggest_categorical("dropout", DROPOUTS) if spec is None or "dropout(" in spec else None
    if spec is None:
        lr = trial.suggest_float("lr", *LR_RANGE, log=True)
        layers = ["flatten", "standardize"]
        for i in range(trial.suggest_int("layers", 1, MAX_LAYERS)):
            layers += [f"dense({trial.suggest_int(f'width{i + 1}', *WIDTH_RANGE, log=True)})", "relu"]
            if dropout:
                layers.append(f"dropout({dropout:g})")
        spec = "-".join(layers + [f"dense({num_classes})"])
    else:
        lr = trial.suggest_float("lr", base.lr / 10, base.lr * 10, log=True)
        if dropout is not None:
            spec = re.sub(r"dropout\([^)]*\)", f"dropout({dropout:g})" if dropout else "", spec)
            spec = re.sub(r"--+", "-", spec).strip("-")
    return {"arch": spec, "optimizer": "adamw", "lr": lr,
            "weight_decay": trial.suggest_float("weight_decay", *WEIGHT_DECAY_RANGE, log=True),
            "schedule": base.schedule, "augment": base.augment, "epochs": int(epochs or base.epochs),
            "batch_size": trial.suggest_categorical("batch_size", BATCH_SIZES), "seed": int(seed)}


def train_command(recipe: dict, limit: int | None = None, data_dir: str | None = None) -> str:
    """The ``numnet train`` command line that trains ``recipe`` (as :func:`train` does)."""
    args = ["numnet", "train", "--arch", recipe["arch"], "--optimizer", recipe["optimizer"],
            "--lr", f"{recipe['lr']:.6g}"]
    if recipe.get("weight_decay"):
        args += ["--weight-decay", f"{recipe['weight_decay']:.6g}"]
    for key in ("schedule", "augment"):
        if recipe.get(key):
            args += [f"--{key}", recipe[key]]
    args += ["--epochs", str(recipe["epochs"]), "--batch-size", str(recipe["batch_size"]), "--seed", str(recipe["seed"])]
    if limit:
        args += ["--limit", str(limit)]
    if data_dir:
        args += ["--data-dir", data_dir]
    return shlex.join(args)


def _rounded(recipe: dict) -> dict:
    """The recipe as its command line spells it (lr and weight decay to 6 significant digits)."""
    return {**recipe, "lr": float(f"{recipe['lr']:.6g}"),
            "weight_decay": float(f"{recipe['weight_decay']:.6g}") if recipe.get("weight_decay") else None}


def train(recipe: dict, x, y, num_classes: int, validation_data=None, progress=None):
    """Train ``recipe`` on (x, y) the way its ``numnet train`` command does (:func:`train_command`:
    the same :class:`~numnet.train.recipe.Recipe`); returns the model."""
    run = Recipe.from_arch(recipe["arch"], **{k: recipe.get(k) for k in RECIPE_KEYS})
    model = run.network(x.shape[1:], num_classes, Sequential)
    model.fit(x, y, **run.fit_options(model), validation_data=validation_data, progress=progress)
    return model


# data --------------------------------------------------------------------------------------------
def load_data(data_dir=None, limit=None):
    """((x_train, y_train), (x_test, y_test), num_classes), the training set cut to ``limit``."""
    (x_train, y_train), test = load_mnist(data_dir)
    num_classes = int(y_train.max()) + 1
    if limit:
        x_train, y_train = x_train[:limit], y_train[:limit]
    return (x_train, y_train), test, num_classes


def validation_split(n: int, fraction: float, seed: int):
    """(train indices, validation indices) of n samples: a seeded random ``fraction`` held out."""
    if not 0 < fraction < 1:
        raise ConfigError(f"validation fraction must be between 0 and 1, got {fraction}")
    n_val = int(round(n * fraction))
    if not 0 < n_val < n:
        raise ConfigError(f"{n} samples are too few for a validation split of {fraction}")
    order = np.random.default_rng(seed).permutation(n)
    return np.sort(order[n_val:]), np.sort(order[:n_val])


# storage and study -------------------------------------------------------------------------------
def open_storage(storage: str):
    """An Optuna storage: a database URL (``postgresql://...``, ``sqlite:///...``) or a journal file path."""
    optuna = _optuna()
    try:
        if "://" in storage:
            return optuna.storages.RDBStorage(storage, engine_kwargs={"pool_pre_ping": True})
        from optuna.storages.journal import JournalFileBackend

        directory = os.path.dirname(os.path.abspath(storage))
        if not os.path.isdir(directory):
            raise SweepError(f"storage {storage}: folder {directory} does not exist")
        if kind := special_file(storage):   # a FIFO would block the journal's open forever
            raise SweepError(f"storage {storage}: is {kind}, not a journal file")
        return optuna.storages.JournalStorage(JournalFileBackend(storage))
    except (ImportError, ValueError) as e:
        raise SweepError(f"cannot open storage {storage}: {e}") from None
    except Exception as e:                  # a database that does not answer: sqlalchemy's errors
        if type(e).__module__.startswith(("sqlalchemy", "psycopg")):
            raise SweepError(f"cannot open storage {storage}: {str(e).splitlines()[0]}") from None
        raise


def _create_study(optuna, storage: str, study_name: str, attempts: int = 5):
    """Create the study or load it. Commands started together on an empty database race to create
    its tables (one gets a unique-key violation): the loser tries again after a pause."""
    for attempt in range(attempts):
        try:
            return optuna.create_study(storage=open_storage(storage), study_name=study_name,
                                       direction="maximize", load_if_exists=True)
        except SweepError:
            if "://" not in storage or attempt == attempts - 1:
                raise
            time.sleep(0.5 * (attempt + 1))


def _pruner(optuna, name):
    if name == "none":
        return optuna.pruners.NopPruner()
    return optuna.pruners.MedianPruner(n_startup_trials=4, n_warmup_steps=0)


def objective(trial, options: dict, data) -> float:
    """One trial: train the suggested recipe on the split's training part, report the validation
    accuracy after each epoch (pruning stops it there), return the last validation accuracy."""
    optuna = _optuna()
    (x, y), (x_val, y_val), num_classes = data
    recipe = suggest(trial, options["model"], options.get("epochs"), options.get("seed", 0), num_classes)
    trial.set_user_attr("recipe", recipe)
    trial.set_user_attr("worker_pid", os.getpid())
    trial.set_user_attr("run_id", options.get("run_id"))          # which command ran it (any machine)
    start = time.perf_counter()

    def progress(event, **info):
        if event != "epoch" or info["epoch"] == 0:          # epoch 0 is the untrained model: nothing to judge
            return
        trial.report(info["val_accuracy"], step=info["epoch"])
        if info["epoch"] < recipe["epochs"] and trial.should_prune():
            trial.set_user_attr("seconds", time.perf_counter() - start)
            raise optuna.TrialPruned(f"pruned after epoch {info['epoch']}")

    model = train(recipe, x, y, num_classes, validation_data=(x_val, y_val), progress=progress)
    trial.set_user_attr("seconds", time.perf_counter() - start)
    return float(model.history[-1]["val_accuracy"])


def worker(storage: str, study_name: str, n_trials: int, options: dict, index: int, threads: int, callback=None):
    """One worker: ``n_trials`` trials of the study, BLAS limited to ``threads`` threads;
    ``callback(study, frozen_trial)`` after each trial (Optuna's callback signature)."""
    from threadpoolctl import threadpool_limits

    optuna = _optuna()
    optuna.logging.set_verbosity(optuna.logging.WARNING)      # the library does not print
    with threadpool_limits(limits=threads):
        (x_all, y_all), _, num_classes = load_data(options.get("data_dir"), options.get("limit"))
        tr, va = validation_split(len(x_all), options.get("val_fraction", 0.1), options.get("seed", 0))
        data = ((x_all[tr], y_all[tr]), (x_all[va], y_all[va]), num_classes)
        study = optuna.load_study(study_name=study_name, storage=open_storage(storage),
                                  sampler=optuna.samplers.TPESampler(seed=options.get("seed", 0) * 1009 + index
                                                                      + options.get("offset", 0)),
                                  pruner=_pruner(optuna, options.get("pruner")))
        study.optimize(lambda t: objective(t, options, data), n_trials=n_trials,
                       callbacks=[callback] if callback is not None else None)


def _spawn(ctx, args, threads):
    """Start a worker process whose BLAS gets ``threads`` threads from the environment it inherits."""
    saved = {k: os.environ.get(k) for k in BLAS_ENV}
    os.environ.update({k: str(threads) for k in BLAS_ENV})
    try:
        proc = ctx.Process(target=worker, args=args + (threads,), name=f"numnet-sweep-{args[4]}")
        proc.start()
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return proc


def cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def run(trials: int = 20, jobs: int = 1, storage: str | None = None, study_name: str = "numnet-sweep",
        model: str = "mlp", epochs: int | None = None, limit: int | None = None, val_fraction: float = 0.1,
        seed: int = 0, data_dir: str | None = None, pruner: str = "median", measure_test: bool = True,
        blas_threads: int | None = None, progress=None, poll_seconds: float = 0.5) -> dict:
    """Add ``trials`` trials to study ``study_name`` in ``storage`` (default: journal file
    ``<study_name>.journal``), on ``jobs`` worker processes with ``blas_threads`` BLAS threads each
    (default: cores // jobs, at least 1); then train the study's best recipe on the whole (limited)
    training set and measure its test accuracy once.

    progress: optional ``progress(event, **info)``: 'trial' (number, state, value, params) as
    trials finish. Returns {study, storage, best_params, best_value, best_trial, command,
    test_accuracy, test_loss, trials, trials_run, complete, pruned, failed, jobs, blas_threads,
    wall_seconds}.
    """
    optuna = _optuna()

    if trials < 1 or jobs < 1:
        raise ConfigError("--trials and --jobs must be positive")
    Recipe.from_preset(model)                                 # unknown preset: ConfigError now
    storage = storage or f"{study_name}.journal"
    (x_all, y_all), (x_test, y_test), num_classes = load_data(data_dir, limit)
    validation_split(len(x_all), val_fraction, seed)          # too few samples: fail before spawning
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = _create_study(optuna, storage, study_name)
    before = len(study.get_trials(deepcopy=False))
    options = {"model": model, "epochs": epochs, "limit": limit, "val_fraction": val_fraction, "seed": seed,
               "data_dir": data_dir, "pruner": pruner, "offset": before, "run_id": uuid.uuid4().hex}
    threads = int(blas_threads) if blas_threads else max(1, cores() // jobs)
    shares = [trials // jobs + (i < trials % jobs) for i in range(jobs)]
    seen = set(t.number for t in study.get_trials(deepcopy=False) if t.state.is_finished())

    def report(_study, t):
        if progress is not None and t.state.is_finished() and t.number not in seen:
            seen.add(t.number)
            progress("trial", number=t.number, state=t.state.name, value=t.value, params=t.params)

    start = time.perf_counter()
    if jobs == 1:                           # this process is the worker: no start-up of another one
        worker(storage, study_name, trials, options, 0, threads, report)
    else:
        _run_processes(study, storage, study_name, shares, options, threads, report, poll_seconds)
    wall = time.perf_counter() - start
    all_trials = study.get_trials(deepcopy=False)
    states = [t.state.name for t in all_trials]
    result = {"study": study_name, "storage": storage if "://" not in storage else _redact(storage),
              "trials": len(all_trials), "trials_run": sum(t.user_attrs.get("run_id") == options["run_id"] for t in all_trials),
              "complete": states.count("COMPLETE"), "pruned": states.count("PRUNED"), "failed": states.count("FAIL"),
              "jobs": jobs, "blas_threads": threads, "wall_seconds": wall,
              "best_params": None, "best_value": None, "best_trial": None, "command": None,
              "test_accuracy": None, "test_loss": None}
    if result["complete"] == 0:
        return result
    best = study.best_trial
    if "recipe" not in best.user_attrs:
        raise SweepError(f"study {study_name!r}: its best trial {best.number} was not made by numnet sweep (no recipe)")
    recipe = _rounded(best.user_attrs["recipe"])
    result.update(best_params=best.params, best_value=best.value, best_trial=best.number,
                  command=train_command(recipe, limit, data_dir))
    if measure_test:
        from threadpoolctl import threadpool_limits

        with threadpool_limits(limits=blas_threads):          # None: as the machine is
            final = train(recipe, x_all, y_all, num_classes)
        result["test_loss"], result["test_accuracy"] = (float(v) for v in final.evaluate(x_test, y_test))
    return result


def _run_processes(study, storage, study_name, shares, options, threads, report, poll_seconds):
    """Run a worker process per share of the trials; report trials as the storage shows them finished."""
    ctx = multiprocessing.get_context("spawn")
    procs = [_spawn(ctx, (storage, study_name, n, options, i), threads) for i, n in enumerate(shares) if n]
    try:
        while True:
            alive = any(p.is_alive() for p in procs)
            for t in study.get_trials(deepcopy=False):
                report(study, t)
            if not alive:
                break
            time.sleep(poll_seconds)
    finally:
        for p in procs:
            if p.is_alive():
                p.terminate()
            p.join()
    failed = [p.exitcode for p in procs if p.exitcode != 0]
    if failed:
        raise SweepError(f"{len(failed)} of {len(procs)} worker processes failed (exit codes {failed})")


def _redact(url: str) -> str:
    """A database URL without its password."""
    return re.sub(r"(://[^:/@]+):[^@]*@", r"\1:***@", url)
