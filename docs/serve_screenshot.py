"""Make docs/serve.png, the docs' picture of `numnet serve`: the page with the default network
(784-25-25-10, what `numnet serve` trains without a model) and a 7 drawn as mouse strokes, taken
with Debian's chromium through playwright (as tests/serve/test_serve_browser.py), reduced to a 96-colour
palette so that it stays small.

    python docs/serve_screenshot.py [--model model.npz] [--out docs/serve.png]
"""
from __future__ import annotations

import argparse
import io
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", help="model file (default: train the default network, 5 epochs)")
    parser.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "serve.png"))
    args = parser.parse_args(argv)

    from PIL import Image
    from playwright.sync_api import sync_playwright
    from tests.servemodel import SEVEN, running_server

    import numnet

    if args.model:
        model = numnet.load(args.model)
    else:
        (x, y), (xt, yt) = numnet.load_mnist()
        model = numnet.Sequential(numnet.mlp(), seed=0)
        model.fit(x, y, epochs=5, batch_size=100, optimizer=numnet.Adam(1e-3), validation_data=(xt, yt), seed=0)
    with running_server(model) as server, sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True)
        page = browser.new_page(viewport={"width": 1060, "height": 800})
        page.goto(server.url)
        page.wait_for_function("() => document.getElementById('model-line').textContent.includes('parameters')")
        page.evaluate("() => { document.getElementById('model-line').textContent = "
                      "document.getElementById('model-line').textContent.replace('test model', 'default network'); }")
        box = page.locator("#pad").bounding_box()
        for stroke in SEVEN:
            page.mouse.move(box["x"] + stroke[0][0], box["y"] + stroke[0][1])
            page.mouse.down()
            for x, y in stroke[1:]:
                page.mouse.move(box["x"] + x, box["y"] + y, steps=8)
            page.mouse.up()
        page.wait_for_function("() => window.numnet.settled()")
        png = page.screenshot(full_page=True)
        browser.close()
    image = Image.open(io.BytesIO(png)).convert("RGB")
    image.quantize(colors=96, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(args.out, optimize=True)
    print(f"{args.out}: {image.size[0]}×{image.size[1]}, {os.path.getsize(args.out):,} bytes")


if __name__ == "__main__":
    main()
