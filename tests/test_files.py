"""The output-file policy (numnet.files): refuse folders, special files, read-only files and inputs;
write through a temporary file and a rename, so that a failure leaves every target as it was; keep
data that cost work at a fallback path and say where."""
import os
import stat

import pytest

from numnet import files
from numnet.errors import OutputError

from .helpers import full_disk_in


def leftovers(folder):
    return sorted(p.name for p in folder.iterdir() if p.name.endswith((".part", ".probe")))


# check_target ------------------------------------------------------------------------------------
@pytest.mark.parametrize("target, problem", [
    ("", "empty path"),
    (".", "is a directory"),
    ("/dev/full", "not a regular file"),
    ("/dev/null", "not a regular file"),
    ("missing/out.bin", "does not exist"),
    ("afile/out.bin", "not a folder"),
    ("/proc/numnet.bin", "does not take new files"),
])
def test_check_target_refuses(target, problem, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "afile").write_text("x")
    with pytest.raises(OutputError, match=problem) as info:
        files.check_target(target, "--out")
    assert str(info.value).startswith("--out ")
    assert os.listdir(tmp_path) == ["afile"]                # nothing written, not even a probe


def test_check_target_refuses_a_fifo_without_opening_it(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(OutputError, match="not a regular file"):
        files.check_target(fifo)                            # (opening a FIFO to write would hang)
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)


def test_check_target_refuses_a_read_only_file_even_for_root(tmp_path):
    kept = tmp_path / "kept.txt"
    kept.write_text("mine")
    kept.chmod(0o444)
    with pytest.raises(OutputError, match="read-only"):
        files.write_file(kept, lambda f: f.write(b"new"))
    assert kept.read_text() == "mine"


def test_check_target_refuses_an_input_by_any_name(tmp_path):
    model = tmp_path / "m.npz"
    model.write_bytes(b"model")
    (tmp_path / "link.npz").symlink_to(model)
    os.link(model, tmp_path / "hard.npz")
    for target in (model, tmp_path / "link.npz", tmp_path / "hard.npz", tmp_path / "." / "m.npz"):
        with pytest.raises(OutputError, match="is the input"):
            files.check_target(target, "OUT", inputs=[str(model)])
    assert files.check_target(tmp_path / "other.npz", "OUT", inputs=[str(model), None]) == str(tmp_path / "other.npz")


def test_symbolic_links_are_written_through(tmp_path):
    real = tmp_path / "real.bin"
    real.write_bytes(b"old")
    link = tmp_path / "link.bin"
    link.symlink_to(real)
    assert files.write_file(link, lambda f: f.write(b"new")) == str(real)
    assert link.is_symlink() and real.read_bytes() == b"new"


# write_file and written_together -------------------------------------------------------------------
def test_write_file_replaces_atomically_and_keeps_the_permissions(tmp_path):
    target = tmp_path / "out.bin"
    target.write_bytes(b"old")
    target.chmod(0o640)
    files.write_file(target, lambda f: f.write(b"new"))
    assert target.read_bytes() == b"new" and stat.S_IMODE(target.stat().st_mode) == 0o640
    assert leftovers(tmp_path) == []


def test_a_full_disk_leaves_the_target_as_it_was(tmp_path, monkeypatch):
    target = tmp_path / "out.bin"
    target.write_bytes(b"old")
    full_disk_in(monkeypatch, tmp_path)
    with pytest.raises(OutputError, match="No space left on device") as info:
        files.write_file(target, lambda f: f.write(b"new" * 1000), "--save")
    assert str(info.value).startswith("--save ") and "\n" not in str(info.value)
    assert target.read_bytes() == b"old" and leftovers(tmp_path) == []


def test_an_error_while_filling_removes_the_temporary_file(tmp_path):
    def fill(f):
        f.write(b"half")
        raise ValueError("the figure cannot be drawn")

    with pytest.raises(ValueError):
        files.write_file(tmp_path / "out.bin", fill)
    assert os.listdir(tmp_path) == []


def test_written_together_is_all_or_none(tmp_path):
    (tmp_path / "a.txt").write_text("old a")
    (tmp_path / "b.txt").write_text("old b")
    (tmp_path / "b.txt").chmod(0o444)
    with pytest.raises(OutputError, match="read-only"):
        with files.written_together() as out:
            out.write(tmp_path / "a.txt", lambda f: f.write(b"new a"))
            out.write(tmp_path / "b.txt", lambda f: f.write(b"new b"))
    assert (tmp_path / "a.txt").read_text() == "old a" and leftovers(tmp_path) == []
    with files.written_together() as out:
        out.write(tmp_path / "a.txt", lambda f: f.write(b"new a"))
        assert (tmp_path / "a.txt").read_text() == "old a"         # renamed only at the end
    assert (tmp_path / "a.txt").read_text() == "new a"


def test_check_folder_creates_it_and_checks_each_file_first(tmp_path):
    assert files.check_folder(tmp_path / "new" / "deep", "--out") == str(tmp_path / "new" / "deep")
    assert (tmp_path / "new" / "deep").is_dir()
    (tmp_path / "afile").write_text("x")
    with pytest.raises(OutputError, match="exists and is not a folder"):
        files.check_folder(tmp_path / "afile", "--out")
    (tmp_path / "r").mkdir()
    (tmp_path / "r" / "index.html").write_text("kept")
    (tmp_path / "r" / "index.html").chmod(0o444)
    with pytest.raises(OutputError, match="index.html.*read-only"):
        files.check_folder(tmp_path / "r", "--out", ["a.png", "index.html"])
    assert sorted(os.listdir(tmp_path / "r")) == ["index.html"]


# keep_elsewhere ------------------------------------------------------------------------------------
def test_keep_elsewhere_keeps_the_data_and_says_where(tmp_path, monkeypatch):
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    error = OutputError("--save 'm.npz': cannot write (No space left on device)")
    kept = files.keep_elsewhere(error, lambda f: f.write(b"model"), "m.npz")
    [name] = os.listdir(work)
    assert name.startswith("numnet-unsaved-") and name.endswith(".npz")
    assert (work / name).read_bytes() == b"model"
    assert str(kept).startswith(str(error)) and f"kept at {work / name}" in str(kept)


def test_keep_elsewhere_says_when_nothing_takes_the_data(tmp_path, monkeypatch):
    monkeypatch.setattr(files, "fallback_paths", lambda path: ["/proc/numnet-unsaved.npz"])
    kept = files.keep_elsewhere(OutputError("--save 'm.npz': cannot write"), lambda f: f.write(b"x"), "m.npz")
    assert "could not be kept elsewhere either" in str(kept) and "\n" not in str(kept)
