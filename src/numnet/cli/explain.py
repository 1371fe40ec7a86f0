"""numnet explain: walk one test digit through the network, as tutorial 1 does on paper."""
from __future__ import annotations

from .common import Output, add_data_option, add_json_option, check_model_data, data_name, load_data


def add_parser(sub):
    p = sub.add_parser("explain", help="walk one test digit through the network: equations, shapes, gradients, Adam",
                       description="Walk test digit N through a saved model: each layer's equation with the "
                                   "actual shapes and a few values, softmax and cross-entropy; the backward pass "
                                   "with shapes and norms; then one Adam update of one weight.")
    p.add_argument("model", metavar="MODEL", help="model file from `numnet train --save model.npz`")
    p.add_argument("--index", type=int, default=0, metavar="N", help="which test digit (default 0)")
    add_data_option(p)
    add_json_option(p)
    p.set_defaults(run=run)


def run(args) -> int:
    import numnet
    from numnet.errors import ConfigError
    from numnet.views.evaluation import class_names, labels_for
    from numnet.views.explain import explain

    out = Output(args.json)
    model = numnet.load(args.model)
    (_, _), (x_test, y_test) = load_data(args.data_dir, need_train=False)
    check_model_data(model, x_test, y_test, f"{data_name(args.data_dir)} (test set)")
    if not 0 <= args.index < len(x_test):
        raise ConfigError(f"--index {args.index}: the test set has digits 0 to {len(x_test) - 1}")
    label = int(y_test[args.index])
    result = explain(model, x_test[args.index], int(labels_for(model, [label])[0]), label=label)
    render(result, out, args.index, x_test[args.index], class_names(model, len(result["output"]["probabilities"])))
    out.emit({"index": args.index, **result})
    return 0


def _vals(v):
    if v is None:
        return ""
    first = ", ".join(f"{x:.4g}" for x in v["first"])
    more = "…" if len(v["first"]) < _size(v["shape"]) else ""
    return f"[{first}{more}]  ‖·‖ {v['norm']:.4g}"


def _size(shape):
    n = 1
    for s in shape:
        n *= s
    return n


def _ascii_digit(img):
    """The 28×28 digit as text, two characters per pixel column pair."""
    shades = " ░▒▓█"
    rows = []
    for r in range(0, img.shape[0], 2):
        pair = img[r:r + 2].max(axis=0)
        rows.append("".join(shades[min(4, int(v) * 5 // 256)] for v in pair))
    return "\n".join(rows)


def render(r, out, index, image, names):
    from rich.markup import escape

    from numnet.views.lang import _

    c = out.console()
    o = r["output"]

    def line(text, shapes=""):
        """One formula and its shapes, never wrapped (a learner reads them as one line)."""
        c.print(f"[bold]{escape(text)}[/]" + (f"   [cyan]{escape(shapes)}[/]" if shapes else ""), soft_wrap=True)

    def step(s, what):
        for ln in s.get("lines") or [{"equation": s["equation"], "shapes": s.get("shapes") or ""}]:
            line(ln["equation"], ln["shapes"])
        if s.get("values"):
            c.print(f"    [dim]{what}{escape(_vals(s['values']))}[/]")
        for name, g in (s.get("params") or {}).items():
            if isinstance(g, dict):
                c.print(f"    [dim]‖∂L/∂{escape(name)}‖ = {g['norm']:.4g}[/]")
        if s.get("note"):
            c.print(f"    [yellow]{escape(s['note'])}[/]")
        if s.get("attention"):
            c.print("    [dim]" + _("attention") + f": {len(s['attention'])} × "
                    f"({len(s['attention'][0])}×{len(s['attention'][0][0])}) (--json: \"attention\")[/]")

    digit = o.get("positive_digit")
    target = (" → " + (_("target {target} (is a {digit})") if o["target"] else _("target {target} (not a {digit})"))
              .format(target=o["target"], digit=digit)) if digit is not None else ""
    c.rule("[bold]" + _("test digit {index}: label {label}").format(index=index, label=o["label"]) + target)
    if getattr(image, "shape", None) == (28, 28):
        c.print(escape(_ascii_digit(image)), style="cyan")
    mode = _("evaluation mode") if r.get("mode", "evaluation") == "evaluation" else _("training mode")
    c.rule("[bold]" + _("Forward pass") + f" ({mode})")
    for s in r["forward"]:
        step(s, "")
    c.rule("[bold]" + _("Loss"))
    names = [name if name == str(k) else f"{k} ({name})" for k, name in enumerate(names)]    # 1 (7), 0 (not 7)
    probs = "  ".join(f"{names[k]}: {p:.3f}" if k != o["prediction"] else f"[bold green]{names[k]}: {p:.3f}[/]"
                      for k, p in enumerate(o["probabilities"]))
    if o.get("link") in ("sigmoid", "probability"):                # one output: p answers "is it 1?"
        p = f"σ({o['logits']})" if o["link"] == "sigmoid" else o["logits"]
        c.print(f"[bold]p = {escape(p)}[/] = {o['probabilities'][1]:.4f}: \\[1 − p, p] = \\[{probs}]")
    else:
        c.print(f"[bold]p = softmax({escape(o['logits'])})[/] = \\[{probs}]")
    verdict = "[green]" + _("correct") + "[/]" if o["prediction"] == o["target"] else "[red]" + _("wrong") + "[/]"
    truth = _("target {target}").format(target=o["target"]) if digit is not None else _("label {label}").format(
        label=o["label"])
    c.print(_("prediction {prediction} ({truth}, {verdict})").format(prediction=o["prediction"], truth=truth,
                                                                     verdict=verdict))
    c.print(f"[bold]{escape(o['equation'])}[/] = [bold]{o['loss']:.6g}[/]")
    c.rule("[bold]" + _("Backward pass") + f" ({mode})")
    for s in r["backward"]:
        step(s, "")
    a = r.get("adam")
    if a:
        i, j = a["entry"]
        c.rule("[bold]" + _("One Adam step") + f": {a['param']}\\[{i},{j}] (" + _("the largest |gradient|")
               + f"), t = {a['t']}")
        lines = [
            (f"g  = ∂L/∂{a['param']}[{i},{j}]", a["g"]),
            (f"m  = β1·0 + (1 − β1)·g     (β1 = {a['beta1']})", a["m"]),
            (f"v  = β2·0 + (1 − β2)·g²    (β2 = {a['beta2']})", a["v"]),
            ("m̂  = m / (1 − β1ᵗ)", a["m_hat"]),
            ("v̂  = v / (1 − β2ᵗ)", a["v_hat"]),
        ]
        for text, value in lines:
            c.print(f"{escape(text):<40} = {value:.6g}")
        c.print(escape(f"W ← W − η·m̂ / (√v̂ + ε)    (η = {a['lr']:g}, ε = {a['eps']:g})"))
        c.print(f"   {a['old']:.6g} → [bold]{a['new']:.6g}[/]   (" + _("by the formula: {value}").format(
            value=f"{a['by_formula']:.6g}") + ")")
        c.print("[dim]" + escape(_("at t = 1, m̂ = g and v̂ = g², so m̂/√v̂ = sign(g): Adam's first step "
                                   "moves each weight by about η")) + "[/]")
