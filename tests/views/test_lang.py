"""The one catalog (CLI and web page): every message the code shows is translated in the committed
``zh_CN`` .po, the committed .mo is that .po compiled, placeholders survive translation, and the words
follow the glossary (教程1–5, never 种子). A new English string without a translation fails here.
Extraction is Babel's, driven by the repository's ``babel.cfg`` (the page's extractors included)."""
import io
import re
from pathlib import Path

import pytest

from numnet.views import lang
from numnet.views.examples import EXAMPLES, run

babel_extract = pytest.importorskip("babel.messages.extract", reason="the catalog's tests need Babel: pip install babel")
from babel.messages.frontend import parse_mapping_cfg  # noqa: E402
from babel.messages.mofile import read_mo, write_mo  # noqa: E402
from babel.messages.pofile import read_po  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
LOCALE = ROOT / "src/numnet/locales/zh_CN/LC_MESSAGES"


def code_messages() -> set:
    """Every message marked in src/ (``_()`` and ``N_()`` in Python, the page's data-i18n and t("…"))."""
    with open(ROOT / "babel.cfg") as f:
        method_map, options_map = parse_mapping_cfg(f)
    keywords = {"_": None, "N_": None, "gettext": None}
    return {message for _file, _line, message, _comments, _context in
            babel_extract.extract_from_dir(str(ROOT / "src"), method_map, options_map, keywords=keywords)}


@pytest.fixture(scope="module")
def po():
    with open(LOCALE / "numnet.po", "rb") as f:
        return read_po(f, locale="zh_CN")


def translations(catalog) -> dict:
    return {m.id: m.string for m in catalog if m.id}


def test_every_message_in_the_code_is_translated(po):
    used, catalog = code_messages(), translations(po)
    assert len(used) > 80                                   # the extraction found the CLI's and the page's words
    assert {"Forward pass", "Draw", "probability {p} %", "a perceptron decides"} <= used
    assert sorted(used - set(catalog)) == [], "not in numnet.po: run the commands in babel.cfg and translate"
    assert sorted(m for m, s in catalog.items() if not s) == [], "untranslated"
    assert sorted(m.id for m in po if m.id and m.fuzzy) == [], "fuzzy: check and remove the flag"
    assert sorted(set(catalog) - used) == [], "no longer used: remove from numnet.po"


def test_the_committed_mo_is_the_po_compiled(po):
    with open(LOCALE / "numnet.mo", "rb") as f:
        committed = translations(read_mo(f))
    compiled = io.BytesIO()
    write_mo(compiled, po)
    compiled.seek(0)
    assert committed == translations(read_mo(compiled)), "run: pybabel compile -d src/numnet/locales -D numnet"


def test_placeholders_and_glossary(po):
    for m in po:
        if m.id:
            assert sorted(re.findall(r"\{\w*\}", m.id)) == sorted(re.findall(r"\{\w*\}", m.string)), m.id
            assert "种子" not in m.string and "批量大小" not in m.string, m.string   # 教程1–5; 批大小
    catalog = translations(po)
    assert catalog["Forward pass"] == "前向传播" and catalog["Backward pass"] == "反向传播" and catalog["Loss"] == "损失"
    assert catalog["tutorial {n}: {title}"] == "教程{n}：{title}"


def test_examples_speak_the_language_in_force():
    try:
        assert lang.set_language("zh-CN") == "zh-CN" and lang.language() == "zh-CN"
        ex = run("sigmoid-bce")
        assert ex.title == "学生能及格吗？sigmoid 与二元交叉熵" and "σ 与交叉熵" in ex.note
        assert [r.value for r in ex.rows][:3] == [r.value for r in run("sigmoid-bce").rows][:3]   # numbers unchanged
        assert lang._("no such message") == "no such message"
    finally:
        lang.set_language("en")
    assert run("sigmoid-bce").title == EXAMPLES["sigmoid-bce"][1] == "will the student pass? sigmoid and binary cross-entropy"
    assert lang.set_language("xx") == "en"                  # the library falls back; the CLI refuses (tests/cli)
