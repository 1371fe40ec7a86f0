"""The language switch of `numnet serve`'s page in headless chromium (run by test_serve_lang.py):
English first, 中文 turns the headings, buttons, hints and the model line into Chinese, the choice
is remembered on reload, EN turns it back. A screenshot: serve-zh-CN.png in $NUMNET_TEST_ARTEFACTS."""
import os

import pytest

from .servemodel import drawing_model, running_server

CHROMIUM = "/usr/bin/chromium"

sync_api = pytest.importorskip("playwright.sync_api", reason="the browser test needs playwright: pip install playwright")
if not os.path.exists(CHROMIUM):
    pytest.skip(f"the browser test needs Debian's chromium at {CHROMIUM}: apt-get install chromium",
                allow_module_level=True)


def test_the_page_switches_language(tmp_path):
    folder = os.environ.get("NUMNET_TEST_ARTEFACTS") or str(tmp_path)
    with running_server(drawing_model()) as server, sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True)
        try:
            tab = browser.new_page(viewport={"width": 1280, "height": 1000}, locale="en-US")
            errors = []
            tab.on("pageerror", lambda e: errors.append(str(e)))
            tab.goto(server.url)
            tab.wait_for_function("() => document.getElementById('model-line').textContent.includes('parameters')")
            assert tab.text_content("#draw-panel h2") == "Draw" and tab.text_content("#clear") == "Clear"
            assert tab.text_content("#message") == "draw a digit"

            tab.click("button[data-lang='zh-CN']")
            tab.wait_for_function("() => document.documentElement.lang === 'zh-CN'")
            assert tab.text_content("#draw-panel h2") == "手写" and tab.text_content("#clear") == "清除"
            assert tab.text_content("#answer-panel h2") == "预测" and tab.text_content("#message") == "写一个数字"
            assert "个参数" in tab.text_content("#model-line") and tab.title() == "numnet：写一个数字"
            assert tab.get_attribute("button[data-lang='zh-CN']", "aria-pressed") == "true"
            tab.screenshot(path=os.path.join(folder, "serve-zh-CN.png"))

            tab.reload()                                    # the choice is remembered
            tab.wait_for_function("() => document.getElementById('model-line').textContent.includes('个参数')")
            assert tab.text_content("#draw-panel h2") == "手写"

            tab.click("button[data-lang='en']")
            tab.wait_for_function("() => document.documentElement.lang === 'en'")
            assert tab.text_content("#draw-panel h2") == "Draw" and "parameters" in tab.text_content("#model-line")
            assert errors == []
        finally:
            browser.close()
