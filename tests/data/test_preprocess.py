import json
import struct
import zlib

import numpy as np
import pytest

from numnet.cli import main
from numnet.data.preprocess import (
    CENTRE,
    ImageError,
    centre_of_mass,
    label_components,
    read_image,
    resample_matrix,
    to_mnist,
)

from ..tinymodel import page_from_digit, saved_tiny_model, tiny_model

Image = pytest.importorskip("PIL.Image")


def ink_box(img):
    rows, cols = np.nonzero(img.any(axis=1))[0], np.nonzero(img.any(axis=0))[0]
    return rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1


@pytest.mark.parametrize("index, size, offset", [(0, 120, (30, 90)), (1, 60, (5, 10)), (2, 180, (10, 70)),
                                                 (4, 40, (150, 210)), (7, 90, (100, 0))])
def test_digit_is_centred_by_mass_and_fits_20px(mnist, rng, index, size, offset):
    (_, _), (xt, _) = mnist
    page = page_from_digit(xt[index], rng, size=size, page=(220, 260), offset=offset)
    img = to_mnist(page)
    assert img.shape == (28, 28) and img.dtype == np.uint8
    cy, cx = centre_of_mass(img)
    assert abs(cy - CENTRE) <= 1 and abs(cx - CENTRE) <= 1
    assert abs(cy - 13.5) <= 1 and abs(cx - 13.5) <= 1
    h, w = ink_box(img)
    assert h <= 20 and w <= 20 and max(h, w) >= 19       # longer side scaled to 20 px
    assert img.max() == 255 and img[0].max() == img[-1].max() == 0
    assert (img == 0).mean() > 0.5                        # paper noise is gone: a black background


def test_polarity_dark_on_light_equals_light_on_dark(mnist, rng):
    (_, _), (xt, _) = mnist
    page = page_from_digit(xt[3], rng, noise=0.0)
    a, b = to_mnist(page).astype(int), to_mnist(1 - page).astype(int)
    assert np.abs(a - b).max() <= 2


def test_specks_and_scanner_edge_are_ignored(mnist, rng):
    (_, _), (xt, _) = mnist
    page = page_from_digit(xt[5], rng, noise=0.01)
    clean = to_mnist(page)
    dirty = page.copy()
    for y, x in [(5, 5), (190, 20), (10, 240), (150, 230)]:
        dirty[y:y + 3, x:x + 3] = 0.1                     # dust
    dirty[:, -4:] = 0.05                                  # dark scanner edge along one side
    out = to_mnist(dirty)
    assert ink_box(out)[0] <= 20 and ink_box(out)[1] <= 20
    assert np.abs(out.astype(int) - clean.astype(int)).mean() < 3


def test_model_reads_rendered_mnist_digits_about_as_well_as_the_originals(mnist):
    rng = np.random.default_rng(7)
    (_, _), (xt, yt) = mnist
    model = tiny_model()
    n = 60
    pages = [page_from_digit(xt[i], rng, size=int(rng.integers(50, 150))) for i in range(n)]
    seen = np.stack([to_mnist(p) for p in pages])
    acc_pages = np.mean(model.predict(seen) == yt[:n])
    acc_orig = np.mean(model.predict(xt[:n]) == yt[:n])
    assert acc_pages >= acc_orig - 0.1


@pytest.mark.parametrize("page", [np.full((50, 60), 0.9), np.zeros((30, 30)),
                                  np.clip(np.random.default_rng(0).normal(0.8, 0.03, (80, 80)), 0, 1)])
def test_no_ink_is_an_error(page):
    with pytest.raises(ImageError, match="no ink"):
        to_mnist(page)


def test_resample_matrix_preserves_mean_and_shape():
    for n_in, n_out in [(100, 20), (8, 60), (28, 28), (3, 1)]:
        r = resample_matrix(n_in, n_out)
        assert r.shape == (n_out, n_in)
        assert np.allclose(r.sum(axis=1), 1)


def test_label_components():
    m = np.zeros((8, 10), bool)
    m[1:3, 1:3] = True               # a square
    m[5, 1:9] = True                 # a line
    m[6, 8] = True                   # touching the line diagonally
    m[0, 9] = True                   # a lone pixel
    labels = label_components(m)
    assert len(np.unique(labels[m])) == 3
    assert labels[6, 8] == labels[5, 1] and (labels[~m] == 0).all()


# reading files --------------------------------------------------------------------------------
def _save(page, path, **kw):
    Image.fromarray(np.round(page * 255).astype(np.uint8)).save(path, **kw)
    return str(path)


@pytest.mark.parametrize("ext", ["png", "jpg", "bmp", "gif"])
def test_read_image_formats(mnist, rng, tmp_path, ext):
    (_, _), (xt, _) = mnist
    page = page_from_digit(xt[0], rng, noise=0.01)
    path = _save(page, tmp_path / f"d.{ext}")
    gray = read_image(path)
    assert gray.shape == page.shape and 0 <= gray.min() and gray.max() <= 1
    assert np.abs(gray - page).mean() < 0.05


def test_transparent_png_with_dark_ink(tmp_path):
    rgba = np.zeros((60, 60, 4), np.uint8)
    rgba[10:50, 28:33] = (20, 20, 20, 255)                 # a "1" of opaque dark ink on transparency
    path = tmp_path / "t.png"
    Image.fromarray(rgba, "RGBA").save(path)
    img = to_mnist(read_image(path))
    assert ink_box(img)[0] == 20 and img.max() == 255


def _chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _png_header(width, height):
    """A tiny PNG file whose header claims width × height pixels (its data holds almost none)."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", zlib.compress(b"\0" * 64))
            + _chunk(b"IEND", b""))


def test_decompression_bomb_is_refused_before_decoding(tmp_path):
    path = tmp_path / "bomb.png"
    path.write_bytes(_png_header(100_000, 100_000))         # claims 10^10 pixels
    with pytest.raises(ImageError, match="too large"):
        read_image(path)
    small = _save(np.ones((30, 30)), tmp_path / "s.png")
    with pytest.raises(ImageError, match="too large"):
        read_image(small, max_pixels=100)


@pytest.mark.parametrize("content, problem", [(b"hello, not an image\n", "not an image"),
                                              (None, "cannot decode"), ("missing", "no such file")])
def test_bad_files(tmp_path, content, problem):
    path = tmp_path / "x.png"
    if content is None:                                        # a truncated PNG
        good = tmp_path / "g.png"
        _save(np.random.default_rng(0).random((64, 64)), good)
        path.write_bytes(good.read_bytes()[:200])
    elif content != "missing":
        path.write_bytes(content)
    with pytest.raises(ImageError, match=problem):
        read_image(path)


# the command ----------------------------------------------------------------------------------
def test_cli_predict_json_errors_and_saved_inputs(mnist, tmp_path_factory, tmp_path, capsys):
    (_, _), (xt, yt) = mnist
    model_path = saved_tiny_model(tmp_path_factory)
    rng = np.random.default_rng(3)
    good = [_save(page_from_digit(xt[i], rng), tmp_path / f"digit{i}.png") for i in range(3)]
    text = tmp_path / "notes.png"
    text.write_text("not an image")
    blank = _save(np.full((40, 40), 0.9), tmp_path / "blank.png")
    seen = tmp_path / "seen"
    code = main(["predict", model_path, *good, str(text), blank, "--json", "--save-preprocessed", str(seen)])
    out, err = capsys.readouterr()
    assert code == 2
    result = json.loads(out)
    assert [p["file"] for p in result["predictions"]] == good
    for p in result["predictions"]:
        assert len(p["top"]) == 3 and p["top"][0]["class"] == p["prediction"]
        probs = [t["probability"] for t in p["top"]]
        assert probs == sorted(probs, reverse=True) and 0 < sum(probs) <= 1 + 1e-6
    assert {e["file"] for e in result["errors"]} == {str(text), blank}
    assert err.count("error:") == 2
    assert sorted(f.name for f in seen.iterdir()) == ["digit0.png", "digit1.png", "digit2.png"]
    assert Image.open(seen / "digit0.png").size == (28, 28)


def test_cli_predict_human_output(mnist, tmp_path_factory, tmp_path, capsys):
    (_, _), (xt, _) = mnist
    path = _save(page_from_digit(xt[0], np.random.default_rng(1)), tmp_path / "seven.jpg")
    assert main(["predict", saved_tiny_model(tmp_path_factory), path]) == 0
    out = capsys.readouterr().out
    assert "seven.jpg" in out and "→" in out and "%" in out


def test_uneven_lighting_and_tight_crops(mnist):
    """A photo darker on one side, and a fat digit cropped to its ink, read like the original."""
    from numnet.data.preprocess import dilate, resize

    rng = np.random.default_rng(5)
    (_, _), (xt, yt) = mnist
    model = tiny_model()
    n = 30
    shaded, tight = [], []
    light = 1 - 0.5 * np.linspace(0, 1, 240)[None, :]           # 50 % darker on the right
    for i in range(n):
        shaded.append(to_mnist(page_from_digit(xt[i], rng, size=100, page=(200, 240), offset=(50, 70)) * light))
        d = dilate(resize(xt[i] / 255, 112, 112), 3)
        rows, cols = np.nonzero(d.max(axis=1) > 0.1)[0], np.nonzero(d.max(axis=0) > 0.1)[0]
        d = d[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]
        tight.append(to_mnist(np.clip(0.9 - 0.8 * d + rng.normal(0, 0.02, d.shape), 0, 1)))
    direct = np.mean(model.predict(xt[:n]) == yt[:n])
    assert np.mean(model.predict(np.stack(shaded)) == yt[:n]) >= direct - 0.1
    assert np.mean(model.predict(np.stack(tight)) == yt[:n]) >= direct - 0.1


def test_exif_orientation_is_applied(tmp_path):
    page = np.full((40, 70), 0.9)
    page[10:30, 5:12] = 0.1                                     # ink at the left
    exif = Image.Exif()
    exif[0x0112] = 6                                            # "rotate 90° clockwise to display"
    path = tmp_path / "phone.jpg"
    Image.fromarray(np.round(page * 255).astype(np.uint8)).save(path, exif=exif)
    gray = read_image(path)
    assert gray.shape == (70, 40)                               # shown upright: taller than wide
    assert gray[:20].mean() < gray[-20:].mean()                 # the ink moved to the top


def test_thin_pen_strokes_are_thickened_like_mnist(mnist):
    """A fine pen on a large page would fade to faint lines at 20 px; strokes are brought to
    MNIST's width, so about as many pixels are inked as in MNIST (13 % above half intensity)."""
    from numnet.data.preprocess import resize

    rng = np.random.default_rng(2)
    (_, _), (xt, _) = mnist
    fractions = []
    for i in range(8):
        pen = (resize(xt[i] / 255, 160, 160) > 0.85).astype(float)      # 2-4 px strokes at 160 px
        page = np.full((240, 260), 0.9)
        page[40:200, 50:210] -= 0.8 * pen
        page += rng.normal(0, 0.03, page.shape)
        fractions.append(np.mean(to_mnist(np.clip(page, 0, 1)) > 127))
    mnist_fraction = np.mean(xt[:8] > 127)
    assert abs(np.mean(fractions) - mnist_fraction) < 0.05
