"""Where a sweep keeps its study (:mod:`numnet.integrations.sweep`): every check of ``--storage`` and
its opening, in one place. A journal file (this machine) or a database URL (workers on many machines);
what Optuna could not use is a :class:`SweepError` in one line before any trial, and a URL's password
never appears in a message.
"""
from __future__ import annotations

import json
import os
import re

from ..errors import ConfigError, NumnetError
from ..files import special_file


class SweepError(NumnetError):
    """A sweep could not run: a worker process failed, or the storage cannot be opened."""


def require_optuna():
    """The optuna module, or a ConfigError saying how to install it."""
    try:
        import optuna
    except ImportError:
        raise ConfigError("numnet sweep needs Optuna: pip install 'numnet[sweep]'") from None
    return optuna


def check_storage(storage: str) -> None:
    """Refuse, before any work, a storage that Optuna could not use: every check of ``--storage``
    is here. A journal file must be a regular file (or a new one) that can be written, in an
    existing folder that takes new files (Optuna puts its lock file beside the journal)."""
    if "://" in storage:
        return                                      # a database: its server answers (open_storage)
    directory = os.path.dirname(os.path.abspath(storage))

    def fail(problem):
        return SweepError(f"storage {storage}: {problem}")

    if not os.path.isdir(directory):
        raise fail(f"folder {directory} does not exist")
    if kind := special_file(storage):           # a FIFO would block the journal's open forever
        raise fail(f"is {kind}, not a journal file")
    if os.path.exists(storage):
        _check_journal_lines(storage, fail)
    probe = os.path.join(directory, f".{os.path.basename(storage)}.{os.getpid()}.probe")
    try:
        if os.path.exists(storage):
            with open(storage, "ab"):               # an existing journal stays as it is
                pass
        os.close(os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        os.unlink(probe)
    except OSError as e:
        raise fail(f"cannot be written ({e.strerror or e})") from None


def _check_journal_lines(path: str, fail) -> None:
    """Every complete line of an Optuna journal is a JSON record with an ``op_code`` (a last line
    without its newline may be another worker's write in progress: Optuna skips it, so do we). Optuna
    itself would append to a journal it cannot read and only then fail."""
    try:
        with open(path, "rb") as f:
            for number, line in enumerate(f, start=1):
                if not line.endswith(b"\n"):
                    break
                try:
                    record = json.loads(line)
                except ValueError:
                    record = None
                if not isinstance(record, dict) or not isinstance(record.get("op_code"), int):
                    raise fail(f"not a journal Optuna can read (line {number} is not one of its records)")
    except OSError as e:
        raise fail(f"cannot be read ({e.strerror or e})") from None


def open_storage(storage: str):
    """An Optuna storage: a database URL (``postgresql://...``, ``sqlite:///...``) or a journal file
    path (checked by :func:`check_storage`, then replayed: one Optuna cannot read is refused before
    anything is written to it). Errors name the storage without its password."""
    optuna = require_optuna()
    check_storage(storage)
    if "://" in storage:
        try:
            return optuna.storages.RDBStorage(storage, engine_kwargs={"pool_pre_ping": True})
        except (ImportError, ValueError, OSError) as e:
            raise SweepError(redact(f"cannot open storage {storage}: {e}", storage)) from None
        except Exception as e:              # a database that does not answer: sqlalchemy's errors
            if type(e).__module__.startswith(("sqlalchemy", "psycopg")):
                raise SweepError(redact(f"cannot open storage {storage}: {str(e).splitlines()[0]}", storage)) from None
            raise
    from optuna.storages.journal import JournalFileBackend

    try:
        journal = optuna.storages.JournalStorage(JournalFileBackend(storage))
        journal.get_all_studies()           # replays the journal, reading only
    except (ValueError, KeyError, TypeError, AttributeError, UnicodeDecodeError, OSError) as e:
        raise SweepError(f"storage {storage}: not a journal Optuna can read ({type(e).__name__}: "
                         f"{str(e)[:200]})") from None
    return journal


def redact(text: str, url: str | None = None) -> str:
    """``text`` (a database URL, or a message about ``url``) without the URL's password, wherever
    it appears: ``postgresql://user:***@host/db``. The password runs from the user's colon to the
    URL's last '@' (the host part has none)."""
    password = re.search(r"://[^:/@]*:(.*)@", url if url is not None else text)
    return text.replace(password.group(1), "***") if password and password.group(1) else text
