"""A griffe extension for the API pages: numnet's docstrings are laid out as the math (aligned
formulas, shapes in columns), not as Markdown. A paragraph with a run of three or more spaces inside
a line, or with lines indented beyond the docstring's margin, is shown as a preformatted block; a
paragraph of ``name: meaning`` lines (the arguments of ``fit``) as a list; Sphinx roles (:class:`x`, :func:`x`, ...) become plain code spans. The docstrings themselves stay
as they are."""
from __future__ import annotations

import re

import griffe

ROLE = re.compile(r":(?:class|func|meth|mod|data|attr|exc|obj):`~?([^`]+)`")
ALIGNED = re.compile(r"\S {3,}\S")
TERM = re.compile(r"^[A-Za-z_][\w, ]*: ")


def markdown(text: str) -> str:
    out = []
    for paragraph in re.split(r"\n\s*\n", ROLE.sub(r"`\1`", text)):
        lines = paragraph.split("\n")
        if any(ALIGNED.search(line) or line.startswith(" ") for line in lines):
            out.append("```text\n" + paragraph.replace("``", "") + "\n```")
        elif sum(bool(TERM.match(line)) for line in lines) >= 2:
            out.append("\n".join(("- " if TERM.match(line) else "  ") + line for line in lines))
        else:
            out.append(paragraph)
    return "\n\n".join(out)


class PreformattedFormulas(griffe.Extension):
    def on_instance(self, *, obj, **kwargs) -> None:
        if obj.docstring is not None:
            obj.docstring.value = markdown(obj.docstring.value)
