"""Issue 13, predict: images that would need too much memory are refused from their header, one
file at a time, so the good images beside them still get their predictions; --save-preprocessed is
checked before any work and a file that cannot be written loses nothing else."""
import json
import resource
import struct
import subprocess
import sys
import zlib

import numpy as np
import pytest

from numnet.data.imagefile import MAX_ASPECT, MEMORY_BUDGET, check_header, read_image, working_memory

from ..helpers import ENV, assert_one_line, run_cli
from ..tinymodel import page_from_digit, saved_tiny_model

Image = pytest.importorskip("PIL.Image", reason="predict reads images with Pillow")


def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_header(width, height, color_type=0):
    """A PNG whose header claims width × height pixels (gray: 0, RGBA: 6); its data holds almost none."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, color_type, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64))
            + chunk(b"IEND", b""))


@pytest.fixture(scope="module")
def model_and_digit(mnist, tmp_path_factory):
    (_, _), (xt, _) = mnist
    d = tmp_path_factory.mktemp("imgs")
    page = page_from_digit(xt[0], np.random.default_rng(0))
    good = d / "seven.png"
    Image.fromarray(np.round(page * 255).astype(np.uint8)).save(good)
    return saved_tiny_model(tmp_path_factory), str(good)


def test_huge_strips_are_refused_and_the_good_digit_is_predicted(model_and_digit, tmp_path):
    """A real 1×400,000 PNG (a few hundred bytes; 14 s and 4.85 GB before) and a 1×2,000,000 one
    (which sank the whole batch) beside a good digit: the digit is predicted, the strips are errors."""
    model, good = model_and_digit
    strips = []
    for width in (400_000, 2_000_000):
        path = tmp_path / f"strip{width}.png"
        Image.new("L", (width, 1), 255).save(path)
        assert path.stat().st_size < 20_000
        strips.append(str(path))
    code, out, err = run_cli("predict", model, strips[0], good, strips[1], "--json", timeout=60)
    assert code == 2
    result = json.loads(out)
    assert [p["file"] for p in result["predictions"]] == [good]
    assert result["predictions"][0]["prediction"] == 7
    assert {e["file"] for e in result["errors"]} == set(strips)
    assert all("too narrow" in e["error"] for e in result["errors"])
    assert "Traceback" not in err


def test_limits_come_from_the_header_before_decoding(tmp_path):
    """Header-only PNGs (no real pixel data): refused for their size, not for failing to decode."""
    cases = [(png_header(1, 2_000_000), "too narrow"),
             (png_header(6000, 6000, color_type=6), "too large to preprocess"),   # 36 Mpx RGBA: ~2.7 GiB
             (png_header(7000, 7000), "too large")]                                # over 40 Mpx
    for data, problem in cases:
        path = tmp_path / "h.png"
        path.write_bytes(data)
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        with pytest.raises(Exception, match=problem) as info:
            read_image(path)
        assert type(info.value).__name__ == "ImageError"
        assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 50_000     # KiB: nothing decoded


def test_working_memory_estimate():
    # 1×400,000: the 512×400,000 resampling matrix and its temporaries, about 5 GB (4.85 GB measured)
    assert 4.5e9 < working_memory(400_000, 1, "L") < 6e9
    # a 12-megapixel phone photo (JPEG, decoded at 1/4 scale) and a 2000×2000 RGBA PNG fit the budget
    assert working_memory(4000, 3000, "RGB", jpeg=True) < 0.2 * MEMORY_BUDGET
    assert working_memory(2000, 2000, "RGBA") < 0.5 * MEMORY_BUDGET
    check_header(2000, 2000, "RGBA")
    check_header(MAX_ASPECT, 1, "L")
    with pytest.raises(Exception, match="too narrow"):
        check_header(MAX_ASPECT + 1, 1, "L")


def test_measured_peak_stays_under_the_estimate(tmp_path):
    """Reading and preprocessing a 250×20,000 strip of ink in a fresh process: its peak memory
    (ru_maxrss) grows by less than the estimate."""
    path = tmp_path / "tall.png"
    a = np.full((20_000, 250), 255, np.uint8)
    a[5000:15000, 100:150] = 0
    Image.fromarray(a).save(path)
    code = ("import resource, sys\nfrom numnet.data.preprocess import load_digit\n"
            "r = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\nload_digit(sys.argv[1])\n"
            "print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - r) * 1024)")
    proc = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, env=ENV,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert int(proc.stdout) < working_memory(250, 20_000, "L")


def test_save_preprocessed_under_a_file_is_refused_first(model_and_digit, tmp_path):
    model, good = model_and_digit
    (tmp_path / "afile").write_text("x")
    for target in (tmp_path / "afile" / "sub", tmp_path / "afile"):
        code, out, err = run_cli("predict", model, good, "--save-preprocessed", target)
        assert_one_line(code, err, "--save-preprocessed")
        assert out == ""                                   # refused before any image was read


def test_save_preprocessed_into_an_existing_folder_loses_no_prediction(model_and_digit, tmp_path):
    model, good = model_and_digit
    seen = tmp_path / "seen"
    (seen / "seven.png").mkdir(parents=True)            # the name predict wants is taken by a folder
    code, out, err = run_cli("predict", model, good, "--json", "--save-preprocessed", seen)
    assert code == 0, err
    result = json.loads(out)
    assert result["predictions"][0]["prediction"] == 7
    assert result["predictions"][0]["preprocessed"] == str(seen / "seven.preprocessed.png")   # the next free name
    assert (seen / "seven.png").is_dir() and Image.open(seen / "seven.preprocessed.png").size == (28, 28)
    assert "Traceback" not in err
    seen2 = tmp_path / "seen2"
    seen2.mkdir()
    code, out, err = run_cli("predict", model, good, "--save-preprocessed", seen2)
    assert code == 0, err
    assert Image.open(seen2 / "seven.png").size == (28, 28)
    assert [p.name for p in seen2.iterdir()] == ["seven.png"]       # no temporary files left
