"""The page of `numnet serve` in two languages, from the one catalog: ``GET /api/strings`` answers in
the language asked (``?lang=``), else the server's (``numnet --lang zh-CN serve``), else the browser's
``Accept-Language``; every word the page marks is in it; the switch on the page changes the page
(headless chromium, in a process of its own as in test_serve_browser.py)."""
import json
import urllib.request

import pytest

from numnet.serve.strings import choose_language, page_messages

from .servemodel import drawing_model, run_browser_cases, running_server


def strings(server, query="", accept=None):
    req = urllib.request.Request(server.url + "api/strings" + query)
    if accept:
        req.add_header("Accept-Language", accept)
    with urllib.request.urlopen(req, timeout=30) as r:
        assert r.headers["Content-Type"].startswith("application/json")
        return json.loads(r.read())


@pytest.fixture(scope="module")
def server():
    with running_server(drawing_model()) as s:
        yield s


def test_strings_in_chinese_and_english(server):
    zh = strings(server, "?lang=zh-CN")
    assert zh["lang"] == "zh-CN" and zh["languages"] == ["en", "zh-CN"]
    assert set(zh["strings"]) == set(page_messages()) and len(zh["strings"]) > 15
    assert zh["strings"]["Draw"] == "手写" and zh["strings"]["Prediction"] == "预测"
    assert zh["strings"]["probability {p} %"] == "概率 {p} %"
    assert all(english != chinese for english, chinese in zh["strings"].items())      # every word translated
    en = strings(server, "?lang=en")
    assert en["lang"] == "en" and all(k == v for k, v in en["strings"].items())


def test_default_from_accept_language(server):
    assert strings(server, accept="zh-CN,zh;q=0.9,en;q=0.8")["lang"] == "zh-CN"
    assert strings(server, accept="zh")["lang"] == "zh-CN"
    assert strings(server, accept="en-GB,en;q=0.9")["lang"] == "en"
    assert strings(server, accept="fr-FR")["lang"] == "en"
    assert strings(server)["lang"] == "en"
    assert strings(server, "?lang=en", accept="zh-CN")["lang"] == "en"       # the switch wins
    assert strings(server, "?lang=xx", accept="zh-CN")["lang"] == "zh-CN"    # an unknown one is ignored


def test_default_from_the_server():
    with running_server(drawing_model(), language="zh-CN") as s:
        assert strings(s, accept="en-US")["lang"] == "zh-CN"
        assert strings(s, "?lang=en")["lang"] == "en"
    assert choose_language(None, None, "de, zh-TW;q=0.5") == "zh-CN"


def test_the_switch_in_headless_chromium(tmp_path):
    run_browser_cases("browser_lang_cases.py", tmp_path, timeout=600)
