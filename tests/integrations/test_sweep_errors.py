"""Issue 26 items 13 and 14 (sweep): a storage Optuna cannot use, a corrupt journal and a negative seed
are one line and exit 2, never a traceback; a database URL's password is never printed; Ctrl-C ends a
sweep with 'interrupted' (exit 130), without Optuna's or a worker's traceback."""
import os
import signal
import subprocess
import sys
import time

import pytest

pytest.importorskip("optuna", reason="numnet sweep needs the optional extra 'sweep' (optuna)")

from numnet.integrations import sweep, sweep_storage  # noqa: E402

from ..helpers import ENV, assert_one_line, run_cli  # noqa: E402

TINY = ["--trials", "1", "--limit", "300", "--epochs", "1", "--no-test"]


def test_a_folder_as_storage(tmp_path):
    (tmp_path / "study").mkdir()
    code, _, err = run_cli("sweep", *TINY, "--storage", tmp_path / "study")
    assert_one_line(code, err, "is a directory")


@pytest.mark.parametrize("text", ["garbage{{{\n", '{"op_code": 0}\n', "\x00\xff\xfe\n"])
def test_a_corrupt_journal(tmp_path, text):
    journal = tmp_path / "bad.journal"
    journal.write_bytes(text.encode("latin-1"))
    code, _, err = run_cli("sweep", *TINY, "--storage", journal)
    assert_one_line(code, err, "not a journal Optuna can read")
    assert journal.read_bytes() == text.encode("latin-1")    # left as it was


@pytest.mark.skipif(not os.path.isdir("/sys/kernel"), reason="needs a read-only /sys")
def test_a_journal_that_cannot_be_written():
    code, _, err = run_cli("sweep", *TINY, "--storage", "/sys/kernel/numnet.journal")
    assert_one_line(code, err, "cannot be written")


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes to read-only files")
def test_a_read_only_journal(tmp_path):
    journal = tmp_path / "ro.journal"
    journal.write_text("")
    journal.chmod(0o444)
    code, _, err = run_cli("sweep", *TINY, "--storage", journal)
    assert_one_line(code, err, "cannot be written")


def test_a_negative_seed():
    code, _, err = run_cli("sweep", *TINY, "--seed", "-1")
    assert_one_line(code, err, "--seed")
    with pytest.raises(sweep.ConfigError, match="seed"):
        sweep.run(trials=1, seed=-1)


def test_an_unreachable_database_does_not_print_its_password():
    pytest.importorskip("sqlalchemy")
    code, out, err = run_cli("sweep", *TINY, "--storage", "postgresql://numnet:s3cret-pw@127.0.0.1:1/db", timeout=120)
    assert_one_line(code, err, "postgresql://numnet:***@127.0.0.1:1/db")
    assert "s3cret-pw" not in err + out


def test_redact_removes_the_password_wherever_it_appears():
    url = "postgresql://user:p@ss:w0rd@host/db"
    assert sweep_storage.redact(url) == "postgresql://user:***@host/db"
    assert "p@ss:w0rd" not in sweep_storage.redact(f"cannot open {url}: password p@ss:w0rd refused", url)


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_ctrl_c_says_interrupted_without_a_traceback(tmp_path, jobs):
    proc = subprocess.Popen([sys.executable, "-m", "numnet", "sweep", "--trials", "50", "--limit", "20000",
                             "--epochs", "20", "--no-test", "--jobs", jobs, "--storage", str(tmp_path / "s.journal")],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV,
                            start_new_session=True)
    assert proc.stdout.readline().startswith("sweep:")     # started; now inside the first trial
    time.sleep(6)
    os.killpg(proc.pid, signal.SIGINT)                     # as a terminal's Ctrl-C: the whole group
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert err == "interrupted\n"
