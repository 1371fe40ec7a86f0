import html
import json
import struct
import sys

import pytest

from numnet.cli import main

from ..tinymodel import saved_tiny_model, tiny_model

pytest.importorskip("matplotlib")

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_size(path):
    """(width, height) from a PNG's IHDR chunk, after checking the signature."""
    with open(path, "rb") as f:
        head = f.read(24)
    assert head[:8] == PNG_SIGNATURE and head[12:16] == b"IHDR", f"{path} is not a PNG"
    return struct.unpack(">II", head[16:24])


@pytest.fixture(scope="module")
def report(tmp_path_factory, mnist):
    from numnet.views.report import make_report

    (_, _), (xt, yt) = mnist
    out = tmp_path_factory.mktemp("report")
    return make_report(tiny_model(), xt[:600], yt[:600], str(out)), out


def test_report_writes_valid_pngs_of_expected_size(report):
    from numnet.views.report import DPI, SIZES

    result, out = report
    names = {p.name for p in out.iterdir()}
    assert names == {f"{n}.png" for n in SIZES} | {"index.html"}
    for name, (w, h) in SIZES.items():
        assert png_size(out / f"{name}.png") == (round(w * DPI), round(h * DPI))


def test_index_html_shows_every_figure_with_a_caption(report):
    result, out = report
    page = (out / "index.html").read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>")
    for fig in result["figures"]:
        name = fig["file"].rsplit("/", 1)[-1]
        assert f'<img src="{name}"' in page
        assert html.escape(fig["caption"]) in page
    assert page.count("<figcaption>") == len(result["figures"]) == 5
    assert "prediction" in page and "most confident mistakes" in page


def test_report_cli_json(tmp_path_factory, tmp_path, capsys):
    path = saved_tiny_model(tmp_path_factory)
    assert main(["report", path, "--out", str(tmp_path / "r"), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["index"].endswith("index.html") and len(result["figures"]) == 5
    assert (tmp_path / "r" / "index.html").exists()


def test_report_without_matplotlib_says_how_to_install(tmp_path_factory, tmp_path, capsys, monkeypatch):
    path = saved_tiny_model(tmp_path_factory)
    monkeypatch.setitem(sys.modules, "matplotlib", None)      # import matplotlib → ImportError
    assert main(["report", path, "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert "pip install 'numnet[plot]'" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "r").exists()
