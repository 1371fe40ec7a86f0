"""numnet sweep: search space, validation split, the printed command, worker processes sharing a
journal file, and workers joining one study through a local PostgreSQL."""
import glob
import json
import os
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile

import numpy as np
import pytest

optuna = pytest.importorskip("optuna", reason="numnet sweep needs the optional extra 'sweep' (optuna)")

from numnet.integrations import sweep  # noqa: E402

from ..helpers import ENV, run_cli  # noqa: E402

TINY = ["--limit", "2000", "--epochs", "1"]


def test_validation_split_is_seeded_disjoint_and_complete():
    tr, va = sweep.validation_split(1000, 0.1, seed=3)
    assert len(va) == 100 and len(tr) == 900
    assert np.array_equal(np.sort(np.concatenate([tr, va])), np.arange(1000))
    tr2, va2 = sweep.validation_split(1000, 0.1, seed=3)
    assert np.array_equal(va, va2) and not np.array_equal(va, sweep.validation_split(1000, 0.1, seed=4)[1])
    with pytest.raises(sweep.ConfigError):
        sweep.validation_split(5, 0.01, seed=0)


def test_suggest_builds_specs_the_train_command_reads():
    from numnet.architectures import build
    from numnet.cli import build_parser

    trial = optuna.trial.FixedTrial({"dropout": 0.2, "lr": 3e-3, "layers": 2, "width1": 64, "width2": 32,
                                     "weight_decay": 1e-4, "batch_size": 128})
    recipe = sweep.suggest(trial, "mlp", epochs=3, seed=7)
    assert recipe["arch"] == "flatten-standardize-dense(64)-relu-dropout(0.2)-dense(32)-relu-dropout(0.2)-dense(10)"
    build(recipe["arch"])
    cmd = sweep.train_command(recipe, limit=500)
    args = build_parser().parse_args(shlex.split(cmd)[1:])
    assert (args.arch, args.optimizer, args.lr, args.weight_decay, args.epochs, args.batch_size, args.seed,
            args.limit) == (recipe["arch"], "adamw", 3e-3, 1e-4, 3, 128, 7, 500)
    # a preset: its layers with the dropout searched (0 removes it), its schedule and augmentation
    best = sweep.suggest(optuna.trial.FixedTrial({"dropout": 0.0, "lr": 1e-3, "weight_decay": 1e-3,
                                                  "batch_size": 64}), "cnn-best")
    assert "dropout" not in best["arch"] and "--" not in best["arch"] and best["arch"].endswith("relu-dense(10)")
    assert (best["schedule"], best["augment"], best["epochs"]) == ("onecycle", "affine", 15)
    build(best["arch"])


def test_a_pruned_trial_stops_inside_fit_after_its_first_epoch(mnist):
    (x, y), _ = mnist
    tr, va = sweep.validation_split(600, 0.2, seed=0)
    data = ((x[tr], y[tr]), (x[va], y[va]), 10)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="maximize", pruner=optuna.pruners.ThresholdPruner(lower=1.1),
                                sampler=optuna.samplers.RandomSampler(seed=0))      # prunes any accuracy
    study.optimize(lambda t: sweep.objective(t, {"model": "mlp", "epochs": 3}, data), n_trials=1)
    (trial,) = study.get_trials()
    assert trial.state == optuna.trial.TrialState.PRUNED
    assert list(trial.intermediate_values) == [1]            # reported epoch 1, then stopped: no epoch 2
    assert 0 <= trial.intermediate_values[1] <= 1 and trial.user_attrs["recipe"]["epochs"] == 3
    never = optuna.create_study(direction="maximize", pruner=optuna.pruners.ThresholdPruner(lower=1.1))
    never.optimize(lambda t: sweep.objective(t, {"model": "mlp", "epochs": 1}, data), n_trials=1)
    assert never.get_trials()[0].state == optuna.trial.TrialState.COMPLETE    # the last epoch is never pruned


def test_redact_hides_the_database_password():
    assert sweep.redact("postgresql://bob:s3cret@db.example:5432/x") == "postgresql://bob:***@db.example:5432/x"


def test_two_workers_share_a_journal_file_and_the_study_resumes(tmp_path):
    journal = tmp_path / "s.journal"
    code, out, err = run_cli("sweep", "--trials", "4", "--jobs", "2", *TINY, "--storage", str(journal),
                             "--study", "s", "--json", "--seed", "1")
    assert code == 0, err
    result = json.loads(out)
    assert (result["trials"], result["trials_run"], result["jobs"]) == (4, 4, 2)
    assert result["blas_threads"] == max(1, sweep.cores() // 2)
    study = optuna.load_study(study_name="s", storage=sweep.open_storage(str(journal)))
    trials = study.get_trials()
    assert sorted(t.number for t in trials) == [0, 1, 2, 3]            # every trial recorded once
    assert all(t.state.is_finished() for t in trials)
    assert len({t.user_attrs["worker_pid"] for t in trials}) == 2      # two processes did the work
    assert len({t.params["lr"] for t in trials}) == 4                   # and did not repeat each other
    complete = [t for t in trials if t.state == optuna.trial.TrialState.COMPLETE]
    assert result["best_value"] == max(t.value for t in complete) and 0.5 < result["best_value"] <= 1
    for t in complete:                                                    # one report per epoch
        assert list(t.intermediate_values) == [1] and t.intermediate_values[1] == t.value
    # the printed command trains the same network: the same test accuracy
    argv = shlex.split(result["command"])
    assert argv[:2] == ["numnet", "train"] and "--limit" in argv
    code, out2, err = run_cli(*argv[1:], "--json")
    assert code == 0, err
    assert json.loads(out2)["test_accuracy"] == pytest.approx(result["test_accuracy"], abs=1e-12)
    # --study resumes: one more trial on the same journal
    code, out, err = run_cli("sweep", "--trials", "1", *TINY, "--storage", str(journal), "--study", "s",
                             "--json", "--no-test")
    assert code == 0, err
    again = json.loads(out)
    assert (again["trials"], again["trials_run"], again["test_accuracy"]) == (5, 1, None)
    assert again["best_value"] >= result["best_value"]


def test_bad_storage_and_options_are_one_line_errors(tmp_path):
    code, _, err = run_cli("sweep", "--storage", str(tmp_path / "missing" / "x.journal"), *TINY)
    assert code == 2 and "does not exist" in err and len(err.strip().splitlines()) == 1
    code, _, err = run_cli("sweep", "--val-fraction", "1.5", *TINY, "--storage", str(tmp_path / "j"))
    assert code == 2 and "validation fraction" in err and "Traceback" not in err


# PostgreSQL ------------------------------------------------------------------------------------------
def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def postgres_url():
    """A throwaway PostgreSQL cluster on localhost (Debian's ``postgresql`` package, which .ci/run
    installs), run as the 'postgres' user when we are root; stopped and deleted afterwards."""
    pytest.importorskip("psycopg", reason="PostgreSQL storage needs psycopg (extra 'sweep')")
    initdb = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb")) or [shutil.which("initdb")]
    if not initdb[-1]:
        pytest.skip("PostgreSQL is not installed (apt-get install postgresql)")
    bindir = os.path.dirname(initdb[-1])
    root = tempfile.mkdtemp(prefix="numnet-pg-")
    as_user = []
    if os.geteuid() == 0:
        import pwd

        try:
            pw = pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("running as root and there is no 'postgres' user to run PostgreSQL")
        os.chmod(root, 0o755)
        os.chown(root, pw.pw_uid, pw.pw_gid)
        as_user = ["runuser", "-u", "postgres", "--"] if shutil.which("runuser") else ["su", "postgres", "-c"]
    data, port = os.path.join(root, "data"), _free_port()

    def sh(*cmd):
        cmd = list(cmd) if as_user[:1] != ["su"] else [shlex.join(cmd)]
        return subprocess.run(as_user + cmd, capture_output=True, text=True, timeout=120)

    started = False
    try:
        r = sh(f"{bindir}/initdb", "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8")
        if r.returncode != 0:
            pytest.skip(f"initdb failed: {r.stderr.strip()[-300:]}")
        r = sh(f"{bindir}/pg_ctl", "-D", data, "-l", os.path.join(root, "log"), "-w", "-t", "60",
               "-o", f"-p {port} -k {root} -c listen_addresses=127.0.0.1", "start")
        if r.returncode != 0:
            pytest.skip(f"PostgreSQL did not start: {r.stderr.strip()[-300:]}")
        started = True
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        if started:
            sh(f"{bindir}/pg_ctl", "-D", data, "-m", "fast", "-w", "stop")
        shutil.rmtree(root, ignore_errors=True)


def test_two_sweep_commands_join_one_study_through_postgresql(postgres_url):
    """Two `numnet sweep` processes (as if on two machines), started together on an empty database,
    add their trials to one study: both create-or-load it (the loser of the race to create the
    tables tries again), then Optuna hands out the trials."""
    args = ["sweep", *TINY, "--storage", postgres_url, "--study", "shared", "--json", "--no-test", "--trials", "2"]
    procs = [subprocess.Popen([sys.executable, "-m", "numnet", *args, "--seed", str(seed)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV)
             for seed in (1, 2)]
    outputs = [p.communicate(timeout=300) for p in procs]
    for p, (out, err) in zip(procs, outputs):
        assert p.returncode == 0, err
        assert json.loads(out)["trials_run"] == 2
        assert json.loads(out)["storage"] == postgres_url                # no password to hide here
    study = optuna.load_study(study_name="shared", storage=postgres_url)
    trials = study.get_trials()
    assert sorted(t.number for t in trials) == list(range(4))            # 2 + 2, each once
    assert len({t.user_attrs["worker_pid"] for t in trials}) == 2
    assert all(t.state.is_finished() for t in trials)
    # a third command resumes the study and sees all of them
    code, out, err = run_cli("sweep", *TINY, "--storage", postgres_url, "--study", "shared", "--json", "--trials", "1",
                             "--no-test")
    assert code == 0, err
    assert (json.loads(out)["trials"], json.loads(out)["trials_run"]) == (5, 1)
