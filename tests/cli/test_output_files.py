"""Every command that writes follows the one output-file policy (numnet.files): issue 26's items 1
(export over its own input, a device, a FIFO), 2 (predict --save-preprocessed over the user's
images), 14 (report with a read-only index.html or a full disk; plot --out FILE) and 16 (a full disk
at --save after training keeps the model at a fallback path)."""
import os
import stat

import numpy as np
import pytest

import numnet
from tests.helpers import assert_one_line, full_disk_in, run_cli
from tests.tinymodel import page_from_digit, saved_tiny_model

pytest.importorskip("matplotlib")


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    return saved_tiny_model(tmp_path_factory)


def snapshot(folder):
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


# item 1: export ----------------------------------------------------------------------------------
def test_export_never_writes_over_its_own_model(model, tmp_path):
    path = tmp_path / "m.npz"
    path.write_bytes(open(model, "rb").read())
    before = path.read_bytes()
    (tmp_path / "link.onnx").symlink_to(path)
    for out in (path, tmp_path / "link.onnx"):
        code, _, err = run_cli("export", path, out)
        assert_one_line(code, err, "is the input")
    assert path.read_bytes() == before and numnet.load(path).layers


@pytest.mark.parametrize("kind", ["device", "fifo"])
def test_export_refuses_special_files(model, tmp_path, kind):
    """A device node like /dev/full (our own copy: the export this replaces used to swap the real
    /dev/full for a regular file, for every process on the machine) and a FIFO (writing one hangs)."""
    pytest.importorskip("onnx")
    target = tmp_path / ("full" if kind == "device" else "pipe")
    try:
        os.mknod(target, stat.S_IFCHR | 0o666, os.makedev(1, 7)) if kind == "device" else os.mkfifo(target)
    except PermissionError:
        pytest.skip("cannot create a device node here")
    code, _, err = run_cli("export", model, target, timeout=60)
    assert_one_line(code, err, "OUT", "not a regular file")
    assert (stat.S_ISCHR if kind == "device" else stat.S_ISFIFO)(os.lstat(target).st_mode)


def test_export_writes_through_a_symlink_like_save(model, tmp_path):
    pytest.importorskip("onnx")
    real = tmp_path / "real.onnx"
    real.write_bytes(b"old")
    (tmp_path / "link.onnx").symlink_to(real)
    code, _, err = run_cli("export", model, tmp_path / "link.onnx")
    assert code == 0, err
    assert (tmp_path / "link.onnx").is_symlink() and real.stat().st_size > 1000


# item 2: predict --save-preprocessed --------------------------------------------------------------
def test_save_preprocessed_never_overwrites_the_users_files(model, mnist, tmp_path):
    from PIL import Image

    p = tmp_path / "p"
    p.mkdir()
    page = np.round(page_from_digit(mnist[1][0][0], np.random.default_rng(0)) * 255).astype(np.uint8)
    Image.fromarray(page).save(p / "photo.png")
    Image.fromarray(page).save(p / "other.jpg")
    Image.fromarray(page[:50]).save(p / "other.png")        # an unrelated file with the name predict wanted
    users = snapshot(p)
    for run in range(2):
        code, out, err = run_cli("predict", model, p / "photo.png", p / "other.jpg", "--save-preprocessed", p)
        assert code == 0, err
        assert {k: v for k, v in snapshot(p).items() if k in users} == users
        assert sorted(os.listdir(p)) == ["other.jpg", "other.png", "other.preprocessed.png", "photo.png",
                                         "photo.preprocessed.png"]     # the second run replaces its own files
        assert "saved as" in out and str(p / "photo.preprocessed.png") in out
    assert Image.open(p / "photo.preprocessed.png").size == (28, 28)


def test_a_failed_save_preprocessed_loses_no_prediction(model, mnist, tmp_path, monkeypatch, capsys):
    import json

    from PIL import Image

    from numnet.cli import main

    page = np.round(page_from_digit(mnist[1][0][0], np.random.default_rng(0)) * 255).astype(np.uint8)
    Image.fromarray(page).save(tmp_path / "seven.png")
    full_disk_in(monkeypatch, tmp_path / "seen")
    code = main(["predict", model, str(tmp_path / "seven.png"), "--json", "--save-preprocessed", str(tmp_path / "seen")])
    result = json.loads(capsys.readouterr().out)
    assert code == 2 and result["predictions"][0]["prediction"] == 7
    assert "No space left on device" in result["errors"][0]["error"]
    assert os.listdir(tmp_path / "seen") == []


# item 14: report and plot -------------------------------------------------------------------------
def test_report_with_a_read_only_index_is_one_line_and_writes_nothing(model, tmp_path):
    out = tmp_path / "r"
    out.mkdir()
    (out / "index.html").write_text("my page")
    (out / "index.html").chmod(0o444)
    code, _, err = run_cli("report", model, "--out", out)
    assert_one_line(code, err, "--out", "index.html", "read-only")
    assert os.listdir(out) == ["index.html"] and (out / "index.html").read_text() == "my page"


def test_report_on_a_full_disk_leaves_the_old_report(model, tmp_path, monkeypatch, capsys):
    from numnet.cli import main

    out = tmp_path / "r"
    assert main(["report", model, "--out", str(out)]) == 0
    before = snapshot(out)
    full_disk_in(monkeypatch, out)
    assert main(["report", model, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "No space left on device" in err and len(err.strip().splitlines()) == 1
    assert snapshot(out) == before and sorted(os.listdir(out)) == sorted(before)      # no temporary files


def test_report_never_writes_over_its_model(model, tmp_path):
    out = tmp_path / "r"
    out.mkdir()
    (out / "index.html").write_bytes(open(model, "rb").read())
    code, _, err = run_cli("report", out / "index.html", "--out", out)
    assert_one_line(code, err, "is the input")


def test_plot_out_a_file_is_one_line(tmp_path):
    (tmp_path / "afile").write_text("x")
    code, _, err = run_cli("plot", "activations", "--out", tmp_path / "afile")
    assert_one_line(code, err, "--out", "exists and is not a folder")
    (tmp_path / "figs").mkdir()
    (tmp_path / "figs" / "activations.png").write_text("mine")
    (tmp_path / "figs" / "activations.png").chmod(0o444)
    code, _, err = run_cli("plot", "activations", "--out", tmp_path / "figs")
    assert_one_line(code, err, "--out", "read-only")
    assert (tmp_path / "figs" / "activations.png").read_text() == "mine"


# item 16: a full disk at --save --------------------------------------------------------------------
def test_a_full_disk_at_save_keeps_the_trained_model_elsewhere(tmp_path, monkeypatch, capsys):
    from numnet.cli import main

    work, models = tmp_path / "work", tmp_path / "models"
    work.mkdir()
    models.mkdir()
    (models / "m.npz").write_bytes(b"the old model")
    monkeypatch.chdir(work)
    full_disk_in(monkeypatch, models)
    code = main(["train", "--limit", "200", "--epochs", "1", "--hidden", "8", "--save", str(models / "m.npz")])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    [kept] = os.listdir(work)
    assert "No space left on device" in err and f"kept at {work / kept}" in err
    assert [p.shape for _, p in numnet.load(work / kept).named_parameters()][:1] == [(8, 784)]
    assert (models / "m.npz").read_bytes() == b"the old model" and os.listdir(models) == ["m.npz"]


def test_save_refuses_the_model_it_starts_from(model, tmp_path):
    start = tmp_path / "start.npz"
    start.write_bytes(open(model, "rb").read())
    code, _, err = run_cli("train", "--limit", "200", "--epochs", "1", "--init-from", start, "--save", start)
    assert_one_line(code, err, "--save", "is the input")
