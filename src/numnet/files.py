"""What numnet writes, each said once.

* :func:`json_text` — the one JSON writer: every ``--json`` line and every HTTP body. JSON has no
  NaN or Infinity, so a non-finite number is an error (:class:`~numnet.errors.NonFiniteError`,
  naming where it sits: ``history[3].loss``), never an invalid token and never a silent null. A
  caller that reports a known non-finite value on purpose (a diverged run's history) says so with
  :func:`nulls_for_nonfinite` first.
* The output-file policy, for every file numnet writes (models, checkpoints, ONNX graphs, IDX
  files, figures, reports, preprocessed images): :func:`check_target` before any work refuses a
  folder, a special file (``/dev/full``, a FIFO), a read-only file, an input of the command
  (``export m.npz m.npz``) and a folder that takes no new files; :func:`write_file` and
  :func:`written_together` write through a temporary file in the same folder, flushed, then
  renamed, so a failure (a full disk) leaves every target as it was; :func:`keep_elsewhere` keeps
  data that cost work (a trained model) at a fallback path and says where. Symbolic links are
  written through. A failure is one :class:`~numnet.errors.OutputError` line.
* :func:`special_file` — what numnet reads is a regular file: a FIFO (whose open or read waits for a
  writer forever), a device (``/dev/zero`` never ends) or a socket is named by ``stat`` before it is
  opened, and every reader (images, IDX data sets, a sweep's journal) refuses it in one line.
"""
from __future__ import annotations

import json
import math
import os
import stat
import tempfile
import time
from contextlib import contextmanager

from .errors import NonFiniteError, OutputError

#: what ``stat`` says a path is, for the kinds that are not regular files
_KINDS = ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISCHR, "a character device"),
          (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))


def special_file(path) -> str | None:
    """What ``path`` is when it exists and is not a regular file ('a FIFO (named pipe)', 'a
    directory', ...; a symlink is followed), else None. ``stat`` never blocks, where ``open`` on a
    FIFO waits for a writer: callers refuse the path in one line before they open it."""
    try:
        mode = os.stat(path).st_mode
    except (OSError, ValueError):
        return None                   # missing or unreadable: the caller's open says which
    if stat.S_ISREG(mode):
        return None
    return next((kind for test, kind in _KINDS if test(mode)), "not a regular file")


def _refuse(where: str, value: float):
    raise NonFiniteError(f"{where or 'the result'} is {value}, not a finite number (JSON cannot hold it)")


def _plain(obj, where: str = "", nonfinite=_refuse):
    """``obj`` as plain Python (NumPy scalars and arrays become numbers and lists); a non-finite
    float becomes ``nonfinite(where, value)`` (by default: NonFiniteError naming its place)."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else nonfinite(where, obj)
    if isinstance(obj, dict):
        return {k: _plain(v, f"{where}.{k}" if where else str(k), nonfinite) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v, f"{where}[{i}]", nonfinite) for i, v in enumerate(obj)]
    if hasattr(obj, "dtype") and hasattr(obj, "tolist"):        # NumPy scalars and arrays
        return _plain(obj.tolist(), where, nonfinite)
    return obj


def json_text(obj, *, compact: bool = False) -> str:
    """``obj`` as JSON text. Raises NonFiniteError if it holds NaN or ±Infinity anywhere."""
    separators = (",", ":") if compact else None
    try:                    # plain and finite (the usual case): the C encoder alone, no walk in Python
        return json.dumps(obj, allow_nan=False, separators=separators)
    except (TypeError, ValueError):          # NumPy values, or a non-finite number: _plain converts or names it
        return json.dumps(_plain(obj), allow_nan=False, separators=separators)


def nulls_for_nonfinite(obj):
    """``obj`` with every non-finite float replaced by None: for values known to be non-finite
    and reported on purpose (the history of a run that diverged)."""
    return _plain(obj, nonfinite=lambda where, value: None)


# the output-file policy -------------------------------------------------------------------------
def _refuse(what: str, path, problem: str) -> OutputError:
    return OutputError(f"{what} {os.fspath(path)!r}: {problem}")


def _is_input(real: str, inputs) -> str | None:
    """The input among ``inputs`` that is the file ``real`` (the same inode, or the same path)."""
    for source in inputs:
        if source is None or not str(source):
            continue
        source = os.fspath(source)
        try:
            if os.path.samefile(real, source):
                return source
        except OSError:                                      # one of them does not exist (yet)
            if os.path.realpath(source) == real:
                return source
    return None


def _takes_no_files(directory) -> str | None:
    """Why ``directory`` takes no new files (``/proc``, a read-only mount), or None: probed by
    creating and removing an empty file there, as the atomic write will."""
    probe = os.path.join(directory, f".numnet.{os.getpid()}.probe")
    try:
        os.close(os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        os.unlink(probe)
    except OSError as e:
        return e.strerror or str(e)
    return None


def check_target(path, what: str = "output", *, inputs=()) -> str:
    """The file to write for ``path``, or an :class:`~numnet.errors.OutputError` naming ``what``
    (the option, e.g. ``--save``) and the problem. Run it before any work: nothing is written.

    A symbolic link is written through (the link stays, its target gets the new content), so the
    checks apply to the target. Refused: an empty path; a folder; a device node, pipe or socket
    (``/dev/full``, a FIFO); a file with no write permission (``chmod a-w``: a file someone keeps,
    refused even for root); one of ``inputs`` (``export m.npz m.npz``); a folder that is missing,
    not a folder, or does not take new files (``/proc``, read-only mounts: probed by creating and
    removing an empty file there, as the atomic write will)."""
    if path is None or not str(path).strip():
        raise _refuse(what, "" if path is None else path, "empty path")
    real = os.path.realpath(os.fspath(path))
    if os.path.isdir(real) or str(path).endswith(os.sep):
        raise _refuse(what, path, "is a directory, not a file")
    source = _is_input(real, inputs)
    if source is not None:
        raise _refuse(what, path, f"is the input {source}; numnet never writes over its input (choose another path)")
    if os.path.lexists(real):
        kind = special_file(real)
        if kind:
            raise _refuse(what, path, f"exists and is {kind}, not a regular file")
        if not os.stat(real).st_mode & 0o222 or not os.access(real, os.W_OK):
            raise _refuse(what, path, "exists and is read-only (make it writable or choose another path)")
    directory = os.path.dirname(real)
    if not os.path.exists(directory):
        raise _refuse(what, path, f"folder {directory} does not exist")
    if not os.path.isdir(directory):
        raise _refuse(what, path, f"{directory} is not a folder")
    problem = _takes_no_files(directory)
    if problem:
        raise _refuse(what, path, f"folder {directory} does not take new files ({problem})")
    return real


def check_folder(path, what: str = "output folder", names=(), *, inputs=()) -> str:
    """The folder ``path`` (created if missing), checked to take new files, and each of ``names``
    in it checked as :func:`check_target` checks a file: all before any work, so that a folder
    writer (a report: figures and ``index.html``) refuses at once rather than stopping half-way."""
    if path is None or not str(path).strip():
        raise _refuse(what, "" if path is None else path, "empty path")
    path = os.fspath(path)
    if os.path.exists(path) and not os.path.isdir(path):
        raise _refuse(what, path, "exists and is not a folder")
    try:
        os.makedirs(path, exist_ok=True)
    except OSError as e:
        raise _refuse(what, path, f"cannot create the folder ({e.strerror or e})") from None
    problem = _takes_no_files(path)
    if problem:
        raise _refuse(what, path, f"the folder does not take new files ({problem})")
    for name in names:
        check_target(os.path.join(path, name), what, inputs=inputs)
    return path


def _mode_for(real: str) -> int:
    """The permissions the written file gets: the replaced file's, else those of a new file."""
    try:
        return stat.S_IMODE(os.stat(real).st_mode)
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


class Together:
    """Files written all or none (see :func:`written_together`): each :meth:`write` fills a
    temporary file beside its target; the renames happen together at the end."""

    def __init__(self):
        self.staged = []                                      # (temporary path, target path, what)

    def write(self, path, fill, what: str = "output", *, inputs=()) -> str:
        """Check ``path`` (:func:`check_target`), then ``fill(f)`` a temporary binary file beside it,
        flushed to the disk. Returns the path that will be written (through a symbolic link: its target)."""
        real = check_target(path, what, inputs=inputs)
        try:
            fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(real)}.", suffix=".part", dir=os.path.dirname(real))
            self.staged.append((tmp, real, what))
            with os.fdopen(fd, "wb") as f:
                fill(f)
                f.flush()
                os.fsync(f.fileno())
            os.chmod(tmp, _mode_for(real))
        except OSError as e:
            raise _refuse(what, path, f"cannot write ({e.strerror or e})") from None
        return real

    def commit(self):
        for tmp, real, what in self.staged:
            try:
                os.replace(tmp, real)
            except OSError as e:
                raise _refuse(what, real, f"cannot write ({e.strerror or e})") from None
        self.staged = []

    def discard(self):
        for tmp, _, _ in self.staged:
            try:
                os.unlink(tmp)
            except OSError:
                pass
        self.staged = []


@contextmanager
def written_together():
    """``with written_together() as files: files.write(path, fill, what)...``: every file is
    written to a temporary file beside its target and the targets are replaced only when the
    block ends without an error; after an error (a full disk, a read-only file) the temporary
    files are removed and every target is as it was: no half-written file, no partial report."""
    files = Together()
    try:
        yield files
        files.commit()
    finally:
        files.discard()


def write_file(path, fill, what: str = "output", *, inputs=()) -> str:
    """Write one file by the policy: :func:`check_target`, then ``fill(f)`` on a temporary binary
    file in the same folder, flushed to the disk and renamed over the target. Returns the path
    written. Any failure is one :class:`~numnet.errors.OutputError` and leaves the target as it was."""
    with written_together() as files:
        return files.write(path, fill, what, inputs=inputs)


def fallback_paths(path):
    """Where :func:`keep_elsewhere` tries to keep data whose target failed: a new file named
    ``numnet-unsaved-<date>-<time>-<pid><ext>`` in the working folder, else in the temporary folder."""
    ext = os.path.splitext(os.fspath(path))[1]
    name = f"numnet-unsaved-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}{ext}"
    return [os.path.abspath(name), os.path.join(tempfile.gettempdir(), name)]


def keep_elsewhere(error: OutputError, fill, path) -> OutputError:
    """After ``error`` (writing ``path`` failed): write ``fill`` at the first of
    :func:`fallback_paths` that takes it (never over an existing file). Returns the error to raise,
    which says where the data is kept, or that it could not be kept."""
    tried = []
    for fallback in fallback_paths(path):
        if os.path.lexists(fallback):
            continue
        try:
            kept = write_file(fallback, fill, "fallback")
        except OutputError as e:
            tried.append(str(e))
            continue
        return OutputError(f"{error}; kept at {kept} instead (move it where you want it)")
    return OutputError(f"{error}; it could not be kept elsewhere either ({'; '.join(tried) or 'no place left'})")
