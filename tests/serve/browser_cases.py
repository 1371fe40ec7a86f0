"""The page of `numnet serve` in a real browser: Debian's chromium, headless, driven by playwright.

Draws a 7 and a 0 as mouse strokes on the canvas and reads the page's prediction; uploads an MNIST
test digit as a PNG and checks the class shown. Screenshots go to $NUMNET_TEST_ARTEFACTS (or a
pytest temporary folder): serve-7.png, serve-0.png, serve-upload.png.
"""
import os

import numpy as np
import pytest

from numnet.data.preprocess import load_digit

from .servemodel import SEVEN, ZERO, drawing_model, running_server

CHROMIUM = "/usr/bin/chromium"

sync_api = pytest.importorskip("playwright.sync_api", reason="the browser test needs playwright: pip install playwright")
if not os.path.exists(CHROMIUM):
    pytest.skip(f"the browser test needs Debian's chromium at {CHROMIUM}: apt-get install chromium",
                allow_module_level=True)
Image = pytest.importorskip("PIL.Image", reason="the upload test writes a PNG with Pillow")


@pytest.fixture(scope="module")
def artefacts(tmp_path_factory):
    folder = os.environ.get("NUMNET_TEST_ARTEFACTS") or str(tmp_path_factory.mktemp("screenshots"))
    os.makedirs(folder, exist_ok=True)
    return folder


@pytest.fixture(scope="module")
def page():
    with running_server(drawing_model()) as server, sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True)
        try:
            tab = browser.new_page(viewport={"width": 1280, "height": 1000})
            errors = []
            tab.on("pageerror", lambda e: errors.append(str(e)))
            tab.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            tab.goto(server.url)
            tab.wait_for_function("() => document.getElementById('model-line').textContent.includes('parameters')")
            tab.errors = errors
            yield tab
        finally:
            browser.close()


def draw(page, strokes):
    """Mouse strokes in the pad's 280×280 coordinates, each drawn in small steps."""
    page.click("#clear")
    box = page.locator("#pad").bounding_box()
    sx, sy = box["width"] / 280, box["height"] / 280
    for stroke in strokes:
        (x0, y0), rest = stroke[0], stroke[1:]
        page.mouse.move(box["x"] + x0 * sx, box["y"] + y0 * sy)
        page.mouse.down()
        for x, y in rest:
            page.mouse.move(box["x"] + x * sx, box["y"] + y * sy, steps=6)
        page.mouse.up()
    try:
        page.wait_for_function("() => window.numnet.settled()", timeout=60_000)   # a loaded CI machine is slow
    except Exception:
        raise AssertionError("the page did not settle: " + page.evaluate("JSON.stringify(window.numnet.state)")
                             + " message: " + str(page.text_content("#message"))
                             + " errors: " + str(page.errors)) from None


def shown(page) -> dict:
    return {"prediction": page.text_content("#prediction"), "state": page.get_attribute("#prediction", "data-state"),
            "message": page.text_content("#message")}


@pytest.mark.parametrize("digit, strokes", [(7, SEVEN), (0, ZERO)])
def test_drawn_digit_is_recognised(page, artefacts, digit, strokes):
    draw(page, strokes)
    result = shown(page)
    page.screenshot(path=os.path.join(artefacts, f"serve-{digit}.png"), full_page=True)
    assert result["state"] == "ok", result
    assert result["prediction"] == str(digit), result
    # the probability bar of the predicted class is the highlighted one, and the layers are drawn
    assert page.text_content(".bar.best .label") == str(digit)
    assert page.locator("#layers figure").count() == len(drawing_model().layers)
    assert page.locator("#units .unit").count() == 64 and page.locator("#units .unit.on").count() > 0
    assert not page.errors


def test_uploaded_mnist_digit(page, artefacts, mnist, tmp_path):
    (_, _), (xt, yt) = mnist
    path = str(tmp_path / "digit.png")
    Image.fromarray(xt[0]).save(path)
    expected = int(drawing_model().predict(load_digit(path)[None])[0])   # what `numnet predict` says
    assert expected == yt[0] == 7
    page.click("#clear")
    page.set_input_files("#upload", path)
    page.wait_for_function("() => window.numnet.settled() && document.getElementById('prediction').dataset.state !== 'empty'", timeout=120_000)
    result = shown(page)
    page.screenshot(path=os.path.join(artefacts, "serve-upload.png"), full_page=True)
    assert result["state"] == "ok" and result["prediction"] == str(expected), result
    # the 28×28 the page shows is the prepared image
    seen = page.evaluate("Array.from(document.getElementById('seen').getContext('2d')"
                         ".getImageData(0, 0, 28, 28).data).filter((_, i) => i % 4 === 0)")
    assert np.array_equal(np.array(seen).reshape(28, 28), load_digit(path))
    assert not page.errors


def test_blank_upload_shows_the_error(page, tmp_path):
    path = str(tmp_path / "blank.png")
    Image.fromarray(np.zeros((40, 40), dtype=np.uint8)).save(path)
    page.set_input_files("#upload", path)
    page.wait_for_function("() => window.numnet.settled() && document.getElementById('prediction').dataset.state === 'error'", timeout=120_000)
    assert "no ink" in page.text_content("#message")
