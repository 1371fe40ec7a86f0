"""The page of `numnet serve` in a real browser (the cases are in ``browser_cases.py``).

They run in a pytest process of their own: after the rest of the suite had run in the same
process, a drawn stroke's request sometimes never settled in the page (never alone, nor after
test_serve.py, test_engine.py or test_seeds.py; the cause was not found), and one test's browser
then waited for ever. In a fresh process the cases are reliable. Skipped, with the reason, only
where chromium or playwright is missing.
"""
import os
import subprocess
import sys

import pytest

CHROMIUM = "/usr/bin/chromium"
HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.join(os.path.dirname(HERE), "src")


def test_the_page_in_headless_chromium(tmp_path):
    pytest.importorskip("playwright.sync_api", reason="the browser test needs playwright: pip install playwright")
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"the browser test needs Debian's chromium at {CHROMIUM}: apt-get install chromium")
    env = {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", ""),
           "NUMNET_TEST_ARTEFACTS": os.environ.get("NUMNET_TEST_ARTEFACTS") or str(tmp_path)}
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-x",
                           os.path.join(HERE, "browser_cases.py")], capture_output=True, text=True, env=env,
                          timeout=900, cwd=os.path.dirname(HERE))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert "4 passed" in proc.stdout, proc.stdout[-2000:]
    for name in ("serve-7.png", "serve-0.png", "serve-upload.png"):
        assert os.path.getsize(os.path.join(env["NUMNET_TEST_ARTEFACTS"], name)) > 1000
