"""The language of what numnet shows a learner: English by default, Chinese with ``--lang zh-CN``
or ``NUMNET_LANG=zh-CN``. Text to translate is written in English and wrapped in ``_()``; the
catalogs are gettext files in ``numnet/locales/<lang>/LC_MESSAGES/numnet.po`` (compiled to ``.mo``
with Babel: ``pybabel compile -d src/numnet/locales -D numnet``).

    from numnet.views.lang import _
    print(_("Forward pass"))            # "前向传播" under zh-CN

Text kept in a module-level table is marked with ``N_()`` (it stays English there) and passed
through ``_()`` where it is shown. Formulas, numbers and shapes are never translated; error
messages stay English. ``translation(lang)`` is one language's catalog without changing the one in
force (the web page asks per request).
"""
from __future__ import annotations

import gettext
import os

#: the languages numnet speaks; the first is the default
LANGUAGES = ("en", "zh-CN")
LOCALES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "locales")

_translation: gettext.NullTranslations = gettext.NullTranslations()
_current = "en"


def translation(lang: str) -> gettext.NullTranslations:
    """The catalog of ``lang`` (one of :data:`LANGUAGES`; English: no catalog, every message itself)."""
    return gettext.translation("numnet", LOCALES, languages=[lang.replace("-", "_")], fallback=True)


def set_language(lang: str | None = None) -> str:
    """Speak ``lang`` (default: ``NUMNET_LANG``, else English) from now on; returns the language in force.
    An unknown language falls back to English (the CLI refuses it first)."""
    global _translation, _current
    lang = lang or os.environ.get("NUMNET_LANG") or "en"
    lang = lang if lang in LANGUAGES else "en"
    _translation = translation(lang)
    _current = lang
    return lang


def language() -> str:
    """The language in force ('en' or 'zh-CN')."""
    return _current


def _(message: str) -> str:
    """``message`` in the language in force (itself where there is no translation)."""
    return _translation.gettext(message)


def N_(message: str) -> str:
    """Marks ``message`` for the catalog where it is written (a table built at import); ``_()`` translates it
    where it is shown."""
    return message


set_language()
