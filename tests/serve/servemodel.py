"""A model that reads drawn digits reliably (784-64-10, 2 epochs on 6,000 images, about 1 s
on an idle machine, 92-93 % on the test set), and a `numnet serve` server running in a thread, for the serve tests."""
import contextlib
import functools
import json
import os
import subprocess
import sys
import urllib.error
import urllib.request

import numpy as np
import pytest

import numnet

from ..helpers import ENV, SRC

CHROMIUM = "/usr/bin/chromium"
HERE = os.path.dirname(os.path.abspath(__file__))


def run_browser_cases(cases: str, tmp_path, timeout: int):
    """Run the playwright module ``cases`` (a file in tests/serve) in a pytest process of its own,
    against Debian's chromium; skipped, with the reason, where playwright or chromium is missing.
    Returns (the finished process, the folder its screenshots went to); asserts it passed."""
    pytest.importorskip("playwright.sync_api", reason="the browser test needs playwright: pip install playwright")
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"the browser test needs Debian's chromium at {CHROMIUM}: apt-get install chromium")
    artefacts = os.environ.get("NUMNET_TEST_ARTEFACTS") or str(tmp_path)
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-x",
                           os.path.join(HERE, cases)], capture_output=True, text=True,
                          env={**ENV, "NUMNET_TEST_ARTEFACTS": artefacts}, timeout=timeout, cwd=os.path.dirname(SRC))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    return proc, artefacts


@functools.lru_cache(maxsize=1)
def drawing_model():
    """Trained once per session (cached; callers must not train it further)."""
    (x, y), _ = numnet.load_mnist()
    model = numnet.Sequential(numnet.mlp(hidden=(64,)), seed=0)
    model.fit(x[:6000], y[:6000], epochs=2, batch_size=50, optimizer=numnet.Adam(2e-3), seed=0)
    return model


@contextlib.contextmanager
def running_server(model, **options):
    """A Server on a free port of 127.0.0.1, serving from a daemon thread; yields it."""
    from numnet.inference.predictor import Predictor
    from numnet.serve import make_server, start_in_thread

    server = make_server(Predictor(model, name="test model"), "127.0.0.1", 0, **options)
    thread = start_in_thread(server)
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


def request(url, body=None, content_type="application/json", method=None, timeout=60):
    """(status, decoded JSON or bytes, headers) of one HTTP request; 4xx/5xx do not raise."""
    if isinstance(body, (dict, list)):
        body = json.dumps(body).encode()
    req = urllib.request.Request(url, data=body, method=method)
    if body is not None:
        req.add_header("Content-Type", content_type)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            status, data, headers = r.status, r.read(), r.headers
    except urllib.error.HTTPError as e:
        status, data, headers = e.code, e.read(), e.headers
    if headers.get("Content-Type", "").startswith("application/json"):
        data = json.loads(data)
    return status, data, headers


# strokes in the coordinates of the page's 280×280 pad, thick like the page's pen (18 px)
SEVEN = [[(80, 70), (200, 70), (130, 220)]]
ZERO = [[(140 + 55 * np.sin(t), 140 - 85 * np.cos(t)) for t in np.linspace(0, 2 * np.pi, 40)]]


def raster(strokes, size=280, width=18):
    """The strokes drawn as the canvas does (white round-capped lines on black), uint8 (size, size)."""
    yy, xx = np.mgrid[0:size, 0:size] + 0.5
    img = np.zeros((size, size))
    for s in strokes:
        for (x0, y0), (x1, y1) in zip(s[:-1], s[1:]):
            dx, dy = x1 - x0, y1 - y0
            t = np.clip(((xx - x0) * dx + (yy - y0) * dy) / max(dx * dx + dy * dy, 1e-9), 0, 1)
            d = np.hypot(xx - x0 - t * dx, yy - y0 - t * dy)
            img = np.maximum(img, np.clip(width / 2 - d + 0.5, 0, 1))
    return np.rint(img * 255).astype(np.uint8)
