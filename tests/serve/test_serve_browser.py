"""The page of `numnet serve` in a real browser (the cases are in ``browser_cases.py``).

They run in a pytest process of their own, so that the browser and its server start from a fresh
process whatever ran before. (An intermittent hang there first looked like interference from the
rest of the suite; it was a race in the page: a pointerup during the last drawing's request left
a request "pending" for ever. Fixed in web/app.js; the cases now report the page's state if it
does not settle.) Skipped, with the reason, only
where chromium or playwright is missing.
"""
import os
import subprocess
import sys

import pytest

from ..helpers import ENV, SRC

CHROMIUM = "/usr/bin/chromium"
HERE = os.path.dirname(os.path.abspath(__file__))


def test_the_page_in_headless_chromium(tmp_path):
    pytest.importorskip("playwright.sync_api", reason="the browser test needs playwright: pip install playwright")
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"the browser test needs Debian's chromium at {CHROMIUM}: apt-get install chromium")
    env = {**ENV, "NUMNET_TEST_ARTEFACTS": os.environ.get("NUMNET_TEST_ARTEFACTS") or str(tmp_path)}
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-x",
                           os.path.join(HERE, "browser_cases.py")], capture_output=True, text=True, env=env,
                          timeout=900, cwd=os.path.dirname(SRC))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert "4 passed" in proc.stdout, proc.stdout[-2000:]
    for name in ("serve-7.png", "serve-0.png", "serve-upload.png"):
        assert os.path.getsize(os.path.join(env["NUMNET_TEST_ARTEFACTS"], name)) > 1000
