"""The web page's words in the learner's language, from the one catalog the CLI speaks from
(:mod:`numnet.views.lang`): ``GET /api/strings?lang=zh-CN`` → ``{"lang": "zh-CN", "strings": {English: 中文}}``.

The page marks what it shows: an element of ``index.html`` with a ``data-i18n`` attribute (its
text, whitespace collapsed, is the message) and ``t("…")`` in ``app.js``. :func:`page_messages`
finds them; :func:`extract_html` and :func:`extract_js` are the same reading as Babel extractors
(``babel.cfg``), so ``pybabel extract`` puts them in ``numnet.pot`` beside the CLI's.
"""
from __future__ import annotations

import os
import re
from html.parser import HTMLParser

from ..views.lang import LANGUAGES, translation

WEB_DIR = os.path.join(os.path.dirname(__file__), "web")
#: t("…") in app.js: a double-quoted literal without escapes
JS_MESSAGE = re.compile(r'\bt\("([^"\\]*)"')


class _Marked(HTMLParser):
    """The text of each element marked ``data-i18n`` (no markup inside), with its line."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.found, self._open = [], None

    def handle_starttag(self, tag, attrs):
        if any(name == "data-i18n" for name, _value in attrs):
            self._open = (tag, self.getpos()[0], [])

    def handle_data(self, data):
        if self._open:
            self._open[2].append(data)

    def handle_endtag(self, tag):
        if self._open and tag == self._open[0]:
            self.found.append((self._open[1], " ".join("".join(self._open[2]).split())))
            self._open = None


def html_messages(text: str) -> list:
    """[(line, message)] of the elements marked ``data-i18n`` in ``text``."""
    parser = _Marked()
    parser.feed(text)
    parser.close()
    return parser.found


def extract_html(fileobj, keywords, comment_tags, options):
    """Babel extractor for ``index.html`` (see ``babel.cfg``)."""
    for line, message in html_messages(fileobj.read().decode("utf-8")):
        yield line, None, message, []


def js_messages(text: str) -> list:
    """[(line, message)] of the ``t("…")`` calls in ``text``."""
    return [(text.count("\n", 0, m.start()) + 1, m.group(1)) for m in JS_MESSAGE.finditer(text)]


def extract_js(fileobj, keywords, comment_tags, options):
    """Babel extractor for ``app.js`` (see ``babel.cfg``)."""
    for line, message in js_messages(fileobj.read().decode("utf-8")):
        yield line, None, message, []


def page_messages() -> list:
    """Every message the page shows, in order: ``index.html``'s marked elements, then ``app.js``'s ``t("…")``."""
    with open(os.path.join(WEB_DIR, "index.html"), encoding="utf-8") as f:
        messages = [m for _line, m in html_messages(f.read())]
    with open(os.path.join(WEB_DIR, "app.js"), encoding="utf-8") as f:
        messages += [m for _line, m in js_messages(f.read())]
    return list(dict.fromkeys(messages))


def choose_language(asked: str | None, default: str | None, accept_language: str | None) -> str:
    """The page's language: ``?lang=`` when it names one numnet speaks, else the server's ``default``
    (``numnet --lang … serve``), else the browser's first match in ``Accept-Language``, else English."""
    if asked in LANGUAGES:
        return asked
    if default in LANGUAGES:
        return default
    for item in (accept_language or "").split(","):
        tag = item.split(";")[0].strip().lower()
        for lang in LANGUAGES:
            if tag == lang.lower() or tag.split("-")[0] == lang.lower().split("-")[0]:
                return lang
    return LANGUAGES[0]


def page_strings(lang: str, messages) -> dict:
    """``{"lang": lang, "strings": {message: its translation}}`` for the page."""
    catalog = translation(lang)
    return {"lang": lang, "languages": list(LANGUAGES), "strings": {m: catalog.gettext(m) for m in messages}}
