"""The hostile-user probe of issue 26: about 150 cases, each a `python -m numnet ...` run (or a `numnet
serve` fed raw HTTP) under a memory limit and a timeout, classified as OK or by fault, and the table:

    tried / OK / traceback / hang / >2 GB / wrong result / lost file (/ skipped)

    python benchmarks/probe.py                  # every case (several minutes)
    python benchmarks/probe.py --quick          # the CI subset (tests/probe runs it, one test per case)
    python benchmarks/probe.py --only export --json

The faults, each counted once per case:
* traceback: "Traceback" on stderr, or the process died by a signal it was not sent;
* hang: still running at the case's timeout (default 60 s; the process group is killed);
* >2 GB: the child's peak resident memory (``ru_maxrss`` from ``os.wait4``, children included) over the
  case's limit (2 GiB unless the case says less); every child also runs under RLIMIT_AS = 6 GiB;
* wrong result: an exit status outside the case's allowed set, exit 0 with a non-finite number in its
  output, or the case's own check (e.g. ONNX probabilities against ``predict_proba``);
* lost file: a file that was in the case's folder before the run (inputs and bystanders, hashed before and
  after, FIFOs and links by kind and target) changed or vanished without being the case's output, an
  output changed by a run that failed, or an output promised by exit 0 missing.

Runs the tree this file sits in (``PYTHONPATH`` = ../src). The cases are in ``probe_cases.py`` and
``probe_serve.py`` beside this file.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import resource
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"
GiB = 1 << 30
#: RLIMIT_AS of every child (numba/LLVM reserve address space: 6 GiB leaves them room)
ADDRESS_LIMIT = 6 * GiB
#: peak resident memory above this is a fault (a case may ask for less)
RSS_LIMIT = 2 * GiB
FAULTS = ("traceback", "hang", ">2 GB", "wrong result", "lost file")
NONFINITE = re.compile(r"(?<![\w.])[-+]?(nan|inf|infinity)(?![\w])", re.IGNORECASE)
IS_ROOT = os.geteuid() == 0


def child_env(home: Path | None = None) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NUMNET_", "PYTEST"))}
    env.update(PYTHONPATH=str(SRC), MPLBACKEND="Agg", COLUMNS="100", OMP_NUM_THREADS="1",
               OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1", PYTHONDONTWRITEBYTECODE="1")
    if home is not None:
        env["MPLCONFIGDIR"] = str(home / ".mpl")
    return env


def numnet(*args) -> list:
    """argv of `python -m numnet ARGS` (no shell)."""
    return [sys.executable, "-m", "numnet", *map(str, args)]


@dataclass
class Result:
    code: int | None = None          # exit status (negative: killed by that signal)
    out: str = ""
    err: str = ""
    rss: int = 0                     # peak resident bytes
    seconds: float = 0.0
    timed_out: bool = False
    notes: list = field(default_factory=list)   # from a driver: (fault class, message)


@dataclass
class Case:
    """One hostile run: ``args`` after `python -m numnet` (or a full argv via ``argv``), prepared by
    ``setup(ctx)`` in an empty folder, allowed to exit with ``exits``."""
    name: str
    items: str                                   # issue 26 items it covers ("1", "6", ...) or "general"
    args: tuple = ()
    setup: Callable | None = None
    exits: frozenset = frozenset({2})
    owns: tuple = ()                             # pre-existing files it may change when it exits 0
    promises: tuple = ()                         # files exit 0 must leave behind
    check: Callable | None = None                # check(result, ctx) -> message or None
    quick: bool = False
    timeout: float = 60
    rss_limit: int = RSS_LIMIT
    needs: tuple = ()                            # "userns" (root: chmod via a user namespace), "tmpfs", "onnx"...
    driver: Callable | None = None               # driver(proc, ctx, result) runs beside the child (serve, pipes)
    pipe_stdout: bool = False                    # stdout is a pipe the driver reads
    argv: Callable | None = None                 # argv(ctx) -> full argv (wrappers: namespaces, tmpfs)
    group: str = ""

    def __post_init__(self):
        self.exits = frozenset(self.exits)
        self.group = self.group or self.items


class Models:
    """The models every case copies, trained once per run (``train --limit 2000 --epochs 1 --hidden 16``)."""
    RECIPES = {
        "m.npz": ("train", "--limit", "2000", "--epochs", "1", "--hidden", "16"),
        "bin7.npz": ("train", "--limit", "2000", "--epochs", "1", "--hidden", "16", "--binary", "7"),
        "gapcnn.npz": ("train", "--arch", "conv(2,3)-relu-gap-dense(10)", "--limit", "200", "--epochs", "1"),
    }

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self.lock = threading.Lock()

    def path(self, name: str) -> Path:
        with self.lock:
            target = self.folder / name
            if not target.exists():
                self.folder.mkdir(parents=True, exist_ok=True)
                proc = subprocess.run(numnet(*self.RECIPES[name], "--save", target), capture_output=True, text=True,
                                      env=child_env(), timeout=600)
                if proc.returncode != 0:
                    raise RuntimeError(f"building {name} failed: {proc.stderr[-500:]}")
            return target


class Ctx:
    """What a case's setup, argv and checks see: its folder and the shared models."""

    def __init__(self, tmp: Path, models: Models):
        self.tmp, self.models = Path(tmp), models

    def model(self, name="m.npz", as_name=None) -> Path:
        target = self.tmp / (as_name or name)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(self.models.path(name), target)
        return target

    def __truediv__(self, name):
        return self.tmp / name


# the child ------------------------------------------------------------------------------------
def _limits():
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_LIMIT, ADDRESS_LIMIT))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def run_process(argv, cwd, timeout, env, driver=None, pipe_stdout=False, ctx=None) -> Result:
    """Run ``argv`` in its own process group under the limits; wait with ``os.wait4`` for its rusage."""
    result = Result()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.monotonic()
        proc = subprocess.Popen(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE if pipe_stdout else out, stderr=err,
                                start_new_session=True, preexec_fn=_limits)
        thread = None
        if driver is not None:
            def drive():
                try:
                    driver(proc, ctx, result)
                except Exception as e:               # a fault of the probe, not of numnet: say so
                    result.notes.append(("wrong result", f"probe driver failed: {type(e).__name__}: {e}"))
            thread = threading.Thread(target=drive, daemon=True)
            thread.start()
        status = rusage = None
        while True:
            pid, status, rusage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() - start > timeout:
                result.timed_out = True
                _kill_group(proc.pid)
                pid, status, rusage = os.wait4(proc.pid, 0)
                break
            time.sleep(0.02)
        proc.returncode = result.code = os.waitstatus_to_exitcode(status)
        _kill_group(proc.pid)                          # leftovers (workers) of a finished child
        result.seconds = time.monotonic() - start
        result.rss = rusage.ru_maxrss * 1024
        if thread is not None:
            thread.join(15)
        if proc.stdout is not None:
            try:
                result.out = proc.stdout.read().decode(errors="replace") if not proc.stdout.closed else result.out
            except (OSError, ValueError):
                pass
            proc.stdout.close()
        else:
            out.seek(0)
            result.out = out.read().decode(errors="replace")
        err.seek(0)
        result.err = err.read().decode(errors="replace")
    return result


def _kill_group(pgid):
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


# files ----------------------------------------------------------------------------------------
def snapshot(root: Path) -> dict:
    """{relative path: (kind, fingerprint)} of everything under ``root``, links and FIFOs not followed or opened."""
    seen = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = os.path.join(dirpath, name)
            rel = os.path.relpath(path, root)
            if rel.startswith(".mpl"):
                continue
            try:
                st = os.lstat(path)
            except OSError:
                continue
            if stat.S_ISREG(st.st_mode):
                try:
                    with open(path, "rb") as f:
                        seen[rel] = ("file", hashlib.sha256(f.read()).hexdigest())
                except OSError:
                    seen[rel] = ("file", f"unreadable {st.st_size} {st.st_mtime_ns}")
            elif stat.S_ISLNK(st.st_mode):
                seen[rel] = ("link", os.readlink(path))
            elif stat.S_ISDIR(st.st_mode):
                seen[rel] = ("dir", "")
            elif stat.S_ISFIFO(st.st_mode):
                seen[rel] = ("fifo", "")
            else:
                seen[rel] = ("special", str(st.st_rdev))
    return seen


def lost_files(before: dict, after: dict, case: Case, code) -> list:
    lost = []
    for rel, (kind, digest) in before.items():
        now = after.get(rel)
        if now == (kind, digest) or kind == "dir" and now and now[0] == "dir":
            continue
        if rel in case.owns and code == 0 and now is not None and now[0] == kind:
            continue
        what = "vanished" if now is None else f"{kind} became {now[0]}" if now[0] != kind else "changed"
        lost.append(f"{rel} {what}")
    if code == 0:
        for rel in case.promises:
            if after.get(rel, ("",))[0] != "file":
                lost.append(f"{rel} promised by exit 0 but missing")
    return lost


# environment checks ---------------------------------------------------------------------------
_CAPABILITIES = {}


def capability(name: str) -> str | None:
    """None if this machine can run cases that need ``name``, else the reason it cannot."""
    if name not in _CAPABILITIES:
        _CAPABILITIES[name] = _probe_capability(name)
    return _CAPABILITIES[name]


def _probe_capability(name):
    if name == "userns":       # running as root, chmod stops nothing: the child runs in a user namespace
        if not IS_ROOT:
            return None
        ok = shutil.which("unshare") and subprocess.run(["unshare", "--user", "--map-root-user", "true"],
                                                        capture_output=True).returncode == 0
        return None if ok else "running as root and no user namespace (unshare -r) to make chmod bite"
    if name == "tmpfs":        # a full disk: a tiny tmpfs mounted in a private mount namespace
        ok = shutil.which("unshare") and subprocess.run(
            ["unshare", "--user", "--map-root-user", "--mount", "sh", "-c", "mount -t tmpfs -o size=64k tmpfs /mnt"],
            capture_output=True).returncode == 0
        return None if ok else "no user+mount namespace to mount a small tmpfs as a full disk"
    if name == "mknod":
        return None if not IS_ROOT or _can_mknod() else "cannot make a device node here"
    if name in ("onnx", "onnxruntime", "optuna", "matplotlib", "PIL"):
        import importlib.util
        return None if importlib.util.find_spec(name) else f"{name} is not installed"
    raise ValueError(name)


def _can_mknod():
    with tempfile.TemporaryDirectory() as d:
        try:
            os.mknod(os.path.join(d, "full"), stat.S_IFCHR | 0o666, os.makedev(1, 7))
            return True
        except OSError:
            return False


def in_userns(argv):
    """``argv`` where chmod restricts it: as root, inside a user namespace (files owned by another uid)."""
    return ["unshare", "--user", "--map-root-user", *argv] if IS_ROOT else list(argv)


def chown_away(path: Path):
    """As root, give ``path`` to a uid the user namespace does not map, so its mode bits apply there."""
    if IS_ROOT:
        os.lchown(path, 12345, 12345)


# one case -------------------------------------------------------------------------------------
@dataclass
class Outcome:
    case: Case
    faults: list = field(default_factory=list)   # (class, message)
    skipped: str | None = None
    result: Result | None = None

    @property
    def ok(self):
        return not self.faults and not self.skipped


def run_case(case: Case, models: Models, folder: Path | None = None) -> Outcome:
    for need in case.needs:
        reason = capability(need)
        if reason:
            return Outcome(case, skipped=reason)
    own = folder is None
    tmp = Path(tempfile.mkdtemp(prefix=f"probe-{case.name[:40]}-")) if own else Path(folder)
    try:
        ctx = Ctx(tmp, models)
        if case.setup:
            reason = case.setup(ctx)
            if isinstance(reason, str):
                return Outcome(case, skipped=reason)
        before = snapshot(tmp)
        argv = case.argv(ctx) if case.argv else numnet(*case.args)
        result = run_process(argv, tmp, case.timeout, child_env(tmp), case.driver, case.pipe_stdout, ctx)
        after = snapshot(tmp)
        return Outcome(case, classify(case, result, before, after, ctx), result=result)
    finally:
        if own:
            _remove(tmp)


def classify(case, result, before, after, ctx) -> list:
    faults = []
    crashed = result.code is not None and result.code < 0 and not result.timed_out and result.code not in (
        -signal.SIGINT, -signal.SIGPIPE) and -result.code not in getattr(case, "sent_signals", ())
    if result.timed_out:
        faults.append(("hang", f"still running after {case.timeout:.0f} s"))
    if "Traceback (most recent call last)" in result.err or crashed:
        faults.append(("traceback", _traceback_line(result) if not crashed else f"killed by signal {-result.code}"))
    if result.rss > case.rss_limit:
        faults.append((">2 GB", f"peak RSS {result.rss / GiB:.2f} GiB (limit {case.rss_limit / GiB:.2f})"))
    faults += [note for note in result.notes]
    wrong = []
    if not result.timed_out and not any(f[0] == "traceback" for f in faults) and result.code not in case.exits:
        wrong.append(f"exit {result.code}, expected {sorted(case.exits)}")
    logs = case.args[:1] == ("serve",)              # a server's output is its log; its answers are checked by the case
    if result.code == 0 and not logs and (m := NONFINITE.search(result.out + "\n" + result.err)):
        wrong.append(f"exit 0 with a non-finite number: …{(result.out + chr(10) + result.err)[max(0, m.start() - 40):m.end() + 10]!r}")
    if case.check and not result.timed_out:
        try:
            message = case.check(result, ctx)
        except Exception as e:
            message = f"check failed: {type(e).__name__}: {e}"
        if message:
            wrong.append(message)
    faults += [("wrong result", w) for w in wrong]
    faults += [("lost file", m) for m in lost_files(before, after, case, result.code)]
    return faults


def _traceback_line(result):
    lines = [line for line in result.err.strip().splitlines() if line.strip()]
    return lines[-1][:200] if lines else ""


def _remove(tmp):
    def unlock(func, path, exc):
        try:
            os.chmod(os.path.dirname(path), 0o755)
            os.chmod(path, 0o755)
            func(path)
        except OSError:
            pass
    shutil.rmtree(tmp, onerror=unlock)


# the table ------------------------------------------------------------------------------------
def table(outcomes) -> str:
    groups = {}
    for o in outcomes:
        groups.setdefault(o.case.group, []).append(o)

    def key(g):
        return (0, int(g)) if g.isdigit() else (1, g)

    header = f"{'group':<14}{'tried':>6}{'OK':>5}{'traceback':>11}{'hang':>6}{'>2 GB':>7}{'wrong result':>14}" \
             f"{'lost file':>11}{'skipped':>9}"
    lines = [header, "-" * len(header)]

    def row(name, os_):
        tried = [o for o in os_ if not o.skipped]
        counts = [sum(any(f[0] == cls for f in o.faults) for o in tried) for cls in FAULTS]
        return (f"{name:<14}{len(tried):>6}{sum(o.ok for o in tried):>5}{counts[0]:>11}{counts[1]:>6}"
                f"{counts[2]:>7}{counts[3]:>14}{counts[4]:>11}{sum(bool(o.skipped) for o in os_):>9}")
    for g in sorted(groups, key=key):
        lines.append(row(("item " + g) if g.isdigit() else g, groups[g]))
    lines += ["-" * len(header), row("total", outcomes), ""]
    for o in outcomes:
        for cls, message in o.faults:
            first = next((line for line in o.result.err.splitlines() if line.strip()), "") if o.result else ""
            lines.append(f"FAULT {o.case.name} [{cls}] {message}" + (f" | stderr: {first[:160]}" if first else ""))
    for o in outcomes:
        if o.skipped:
            lines.append(f"SKIP  {o.case.name}: {o.skipped}")
    return "\n".join(lines)


def as_json(outcomes) -> dict:
    return {"cases": [{"name": o.case.name, "items": o.case.items, "quick": o.case.quick, "skipped": o.skipped,
                       "faults": [{"class": c, "message": m} for c, m in o.faults],
                       "exit": o.result.code if o.result else None,
                       "seconds": round(o.result.seconds, 2) if o.result else None,
                       "peak_rss_mib": round(o.result.rss / 2**20) if o.result else None,
                       "stderr_first": (o.result.err.strip().splitlines() or [""])[0][:300] if o.result else None}
                      for o in outcomes],
            "totals": {"tried": sum(not o.skipped for o in outcomes), "ok": sum(o.ok for o in outcomes),
                       **{c: sum(any(f[0] == c for f in o.faults) for o in outcomes) for c in FAULTS},
                       "skipped": sum(bool(o.skipped) for o in outcomes)}}


#: the quick subset (CI runs it through tests/probe): one or two cases per issue item and a few general ones,
#: about a minute on two busy cores once nothing hangs
QUICK = frozenset({
    "export-over-input", "export-to-fifo", "predict-save-preprocessed-over-inputs", "export-binary-probabilities",
    "explain-binary", "evaluate-huge-weights", "arch-lstm-100000", "evaluate-config-header-1e11",
    "predict-fifo-among-good", "evaluate-idx-count-1e9", "serve-nan-prediction", "serve-malformed-requests",
    "serve-mnist-preprocessing", "sweep-seed-negative", "plot-out-file", "resume-bad-rng",
    "explain-info-optimizer-not-dict", "evaluate-broken-pipe", "hidden-double-comma", "init-normal-nan",
    "evaluate-binary", "summary-input-fifo", "report-input-unreadable", "image-input-fifo",
    "predict-png-header-100000x100000", "save-output-same-as-input", "checkpoint-output-special-file",
    "option-train---lr-nan", "option-explain---index-1000000000000", "serve-input-corrupt",
})


def all_cases():
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from probe_cases import CASES
    from probe_serve import SERVE_CASES
    cases = CASES + SERVE_CASES
    for case in cases:
        case.quick = case.name in QUICK
    names = [c.name for c in cases]
    assert len(names) == len(set(names)), "case names must be unique"
    assert QUICK <= set(names), f"unknown quick cases: {sorted(QUICK - set(names))}"
    return cases


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="the CI subset only")
    parser.add_argument("--only", metavar="PATTERN", help="cases whose name or item matches this regex")
    parser.add_argument("--jobs", type=int, default=2, help="cases run at once (default 2)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    parser.add_argument("--json-out", metavar="FILE", help="also write the JSON object to FILE")
    parser.add_argument("--list", action="store_true", help="list the cases and exit")
    args = parser.parse_args(argv)
    cases = [c for c in all_cases() if (c.quick or not args.quick)
             and (not args.only or re.search(args.only, f"{c.name} item{c.items}"))]
    if args.list:
        for c in cases:
            print(f"{c.name:<40} item {c.items:<8} {'quick' if c.quick else ''}")
        return 0
    start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="probe-models-") as folder:
        models = Models(Path(folder))
        with ThreadPoolExecutor(max(1, args.jobs)) as pool:
            outcomes = list(pool.map(lambda c: run_case(c, models), cases))
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(as_json(outcomes), indent=1))
    if args.json:
        print(json.dumps(as_json(outcomes), indent=1))
    else:
        print(table(outcomes))
        print(f"\n{len(cases)} cases in {time.monotonic() - start:.0f} s")
    return 1 if any(o.faults for o in outcomes) else 0


if __name__ == "__main__":            # one module object for the cases' `from probe import ...` and for main
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import probe

    sys.exit(probe.main())
