"""numnet evaluate: test loss and accuracy, per-class precision/recall/F1, confusion matrix (for an
"is it a D?" model, of its two classes: 0 = not D, 1 = D)."""
from __future__ import annotations

from .common import Output, add_data_option, add_json_option, check_model_data, data_name, load_data


def add_parser(sub):
    p = sub.add_parser("evaluate", help="test accuracy, per-class precision/recall/F1 and the confusion matrix",
                       description="Evaluate a saved model on the test set: loss, accuracy, per-class "
                                   "precision, recall and F1 with macro averages, and the confusion matrix.")
    p.add_argument("model", metavar="MODEL", help="model file from `numnet train --save model.npz`")
    add_data_option(p)
    add_json_option(p)
    p.set_defaults(run=run)


def run(args) -> int:
    import numnet
    from numnet.views.evaluation import evaluate_classifier, labels_for

    out = Output(args.json)
    model = numnet.load(args.model)
    (_, _), (x_test, y_test) = load_data(args.data_dir, need_train=False)
    check_model_data(model, x_test, y_test, f"{data_name(args.data_dir)} (test set)")
    report = evaluate_classifier(model, x_test, labels_for(model, y_test))
    report.pop("_arrays")
    render(report, out, len(y_test))
    out.emit({k: report[k] for k in ("accuracy", "loss", "per_class", "macro", "confusion_matrix", "positive_digit")
              if k in report})
    return 0


def render(report, out, n):
    from rich.table import Table

    from numnet.views.lang import _

    console = out.console()
    console.print("[bold]" + _("test accuracy {accuracy}").format(accuracy=f"{report['accuracy']:.4f}") + "[/]   "
                  + _("loss {loss}   ({n} samples)").format(loss=f"{report['loss']:.4f}", n=n))
    digit = report.get("positive_digit")
    if digit is not None:
        console.print(_("'is it a {digit}?': class 1 = {digit}, class 0 = not {digit} (any other digit)").format(
            digit=digit))
    names = [f"{row['class']} ({row['name']})" if "name" in row else str(row["class"]) for row in report["per_class"]]
    t = Table(title=_("per class"), title_justify="left")
    for col in (_("class"), _("precision"), _("recall"), "F1", _("support")):
        t.add_column(col, justify="right")
    for row, name in zip(report["per_class"], names):
        t.add_row(name, f"{row['precision']:.4f}", f"{row['recall']:.4f}", f"{row['f1']:.4f}",
                  str(row["support"]))
    m = report["macro"]
    t.add_section()
    t.add_row(_("macro"), f"{m['precision']:.4f}", f"{m['recall']:.4f}", f"{m['f1']:.4f}",
              str(sum(r["support"] for r in report["per_class"])), style="bold")
    console.print(t)
    cm = report["confusion_matrix"]
    c = Table(title=_("confusion matrix (rows: true class, columns: predicted)"), title_justify="left")
    c.add_column(_("true"), justify="right", style="bold")
    for k in range(len(cm)):
        c.add_column(names[k], justify="right")
    for k, row in enumerate(cm):
        c.add_row(names[k], *[(f"[green]{v}[/]" if j == k else (f"[red]{v}[/]" if v else "[dim]·[/]"))
                            for j, v in enumerate(row)])
    console.print(c)
