"""numnet example: the tutorials' worked examples, computed by numnet beside the tutorials' numbers."""
from __future__ import annotations

from .common import Output, add_json_option


def add_parser(sub):
    p = sub.add_parser("example", help="a tutorial's worked example, computed by numnet",
                       description="Compute one of the tutorials' worked examples with numnet's own classes and "
                                   "print each number beside the one the tutorial prints. Without NAME: the list. "
                                   "Exit 1 if a number disagrees with the tutorial.")
    p.add_argument("name", nargs="?", metavar="NAME", help="the example (omit to list them)")
    add_json_option(p)
    p.set_defaults(run=run)


def _text(value) -> str:
    if isinstance(value, float):
        return f"{value:.4f}" if abs(value) >= 1e-3 or value == 0 else f"{value:.4g}"
    if isinstance(value, tuple):
        return "×".join(str(v) for v in value) if len(value) > 1 else f"({value[0]},)"
    return str(value)


def run(args) -> int:
    from rich.cells import cell_len  # a Chinese character takes two columns

    from numnet.views.examples import EXAMPLES
    from numnet.views.examples import run as compute
    from numnet.views.lang import _

    out = Output(args.json)
    if args.name is None:
        for name, (tutorial, title, _compute) in EXAMPLES.items():
            out.say(f"{name:20s} " + _("tutorial {n}: {title}").format(n=tutorial, title=_(title)))
        out.say("\n" + _("Run one: numnet example NAME"))
        out.emit({"examples": [{"name": name, "tutorial": tutorial, "title": title}
                               for name, (tutorial, title, _compute) in EXAMPLES.items()]})
        return 0
    ex = compute(args.name)
    out.say(f"{ex.name} — " + _("tutorial {n}: {title}").format(n=ex.tutorial, title=ex.title) + "\n")
    def pad(text, width):
        return text + " " * max(0, width - cell_len(text))

    width = max(cell_len(r.quantity) for r in ex.rows)
    for r in ex.rows:
        mark = {True: "✓", False: "✗ " + _("disagrees"), None: ""}[r.agrees]
        tutorial = _("tutorial {value}").format(value=_text(r.tutorial)) if r.tutorial is not None else ""
        formula = f"   {r.formula}" if r.formula else ""
        out.say(f"  {pad(r.quantity, width)} = {_text(r.value):<10} {pad(tutorial, 18)} {mark}{formula}")
    out.say(f"\n{ex.note}")
    out.emit(ex.as_dict())
    return 0 if ex.agrees else 1
