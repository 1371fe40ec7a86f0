"""An evaluation report: PNG figures and an ``index.html`` that shows them with captions.

Figures (matplotlib, Agg backend, a fixed size each so the files are reproducible):
learning curves from the model's history, the confusion-matrix heatmap, a grid of test digits
titled "prediction: N" (tutorial 3's plot), the most confident mistakes, and the first Dense
layer's weights drawn as 28×28 images; for a model with attention, the attention maps of test
digit 0, and for a recurrent one, its hidden states' and their gradients' norms at each time step
(both read off ``numnet explain``'s walk of that digit). Needs matplotlib: ``pip install 'numnet[plot]'``.
"""
from __future__ import annotations

import html
import os

import numpy as np

from ..errors import NumnetError
from ..files import check_folder, write_file, written_together
from ..layers import Dense
from .evaluation import class_names, evaluate_classifier, labels_for
from .explain import explain

#: (width, height) in inches and the resolution of every figure: PNGs of width·DPI × height·DPI
DPI = 100
SIZES = {
    "learning_curves": (10, 4),
    "confusion_matrix": (7, 6),
    "predictions": (6, 7),
    "mistakes": (8, 8),
    "first_layer_weights": (8, 8.5),
}
#: figures only some models have (their size follows the number of heads or layers)
INSIDE = ("attention_map", "hidden_state_norms")


class PlotError(NumnetError):
    """matplotlib is missing."""


def pyplot_or_explain():
    """matplotlib.pyplot on the Agg backend, or a PlotError that says how to install it."""
    try:
        import matplotlib
    except ImportError:
        raise PlotError("the report draws with matplotlib, which is not installed: "
                        "pip install 'numnet[plot]' (or pip install matplotlib)") from None
    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _figure(plt, name):
    return plt.figure(figsize=SIZES[name], dpi=DPI, layout="constrained")


def save_png(fig, plt, folder, name, files=None) -> str:
    """``fig`` as ``folder/name.png`` (then closed) by the output-file policy
    (:func:`numnet.files.write_file`); into ``files`` (a :class:`numnet.files.Together`) when it is
    one of several files written together. Returns the path."""
    path = os.path.join(folder, name + ".png")

    def fill(f):
        fig.savefig(f, format="png", dpi=DPI, metadata={"Software": None})

    try:
        if files is None:
            write_file(path, fill, "figure")
        else:
            files.write(path, fill, "figure")
    finally:
        plt.close(fig)
    return path


def learning_curves(plt, history, out_dir, files=None, loss="cross-entropy"):
    """Loss and accuracy per epoch; ``loss``: the loss's name for the title (``Loss.title``)."""
    fig = _figure(plt, "learning_curves")
    ax_loss, ax_acc = fig.subplots(1, 2)
    if history:
        epochs = [e["epoch"] for e in history]
        for key, label, style in (("train_loss", "train", "-o"), ("val_loss", "test", "-s")):
            if all(e.get(key) is not None for e in history):
                ax_loss.plot(epochs, [e[key] for e in history], style, label=label)
        for key, label, style in (("train_accuracy", "train", "-o"), ("val_accuracy", "test", "-s")):
            if all(e.get(key) is not None for e in history):
                ax_acc.plot(epochs, [e[key] for e in history], style, label=label)
        for ax in (ax_loss, ax_acc):
            ax.set_xlabel("epoch")
            ax.grid(alpha=0.3)
            if ax.get_legend_handles_labels()[0]:
                ax.legend()
            ax.set_xticks(epochs if len(epochs) <= 20 else ax.get_xticks())
    else:
        for ax in (ax_loss, ax_acc):
            ax.text(0.5, 0.5, "no training history in this model file", ha="center", va="center",
                    transform=ax.transAxes)
    ax_loss.set_title(f"{loss} loss per epoch")
    ax_acc.set_title("accuracy per epoch")
    return save_png(fig, plt, out_dir, "learning_curves", files)


def confusion_heatmap(plt, cm, out_dir, files=None, names=None):
    """The confusion matrix, log-coloured; ``names``: the classes' tick labels (default 0 … K−1)."""
    cm = np.asarray(cm)
    fig = _figure(plt, "confusion_matrix")
    ax = fig.subplots()
    shown = np.log1p(cm)                       # log scale: the diagonal would hide every mistake
    im = ax.imshow(shown, cmap="Blues")
    k = len(cm)
    for i in range(k):
        for j in range(k):
            if cm[i, j]:
                ax.text(j, i, str(cm[i, j]), ha="center", va="center", fontsize=8,
                        color="white" if shown[i, j] > shown.max() * 0.6 else "black")
    ax.set_xticks(range(k), names or range(k))
    ax.set_yticks(range(k), names or range(k))
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    ax.set_title("confusion matrix (colour: log(1 + count))")
    fig.colorbar(im, ax=ax, shrink=0.8)
    return save_png(fig, plt, out_dir, "confusion_matrix", files)


def _mosaic(tiles, cols, gap, title_gap, fill):
    """Tiles (n, 28, 28) side by side in one array, with room above each tile for its title.
    Returns (array, [(x_centre, y_top) of each tile])."""
    n, th, tw = len(tiles), 28, 28
    rows = max(1, -(-n // cols))
    cell_h, cell_w = th + gap + title_gap, tw + gap
    out = np.full((rows * cell_h + gap, cols * cell_w + gap), fill, dtype=np.float64)
    where = []
    for k, tile in enumerate(tiles):
        r, c = divmod(k, cols)
        y, x = r * cell_h + gap + title_gap, c * cell_w + gap
        out[y:y + th, x:x + tw] = tile
        where.append((x + tw / 2 - 0.5, y - 1))
    return out, where


def _one_axes(fig):
    ax = fig.add_axes([0.01, 0.01, 0.98, 0.94])
    ax.axis("off")
    return ax


def _digit_grid(plt, name, images, titles, colours, out_dir, cols, heading, files=None):
    """Digits in one image (one axes: fast to draw), each with its title above it."""
    fig = plt.figure(figsize=SIZES[name], dpi=DPI)
    fig.suptitle(heading, fontsize=12)
    ax = _one_axes(fig)
    tiles = np.asarray(images, dtype=np.float64).reshape(-1, 28, 28) / 255 if len(images) else np.zeros((0, 28, 28))
    lines = max((t.count("\n") + 1 for t in titles), default=1)
    mosaic, where = _mosaic(tiles, cols, gap=4, title_gap=5 * lines + 2, fill=1.0)
    ax.imshow(mosaic, cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    for (x, y), title, colour in zip(where, titles, colours):
        ax.text(x, y, title, ha="center", va="bottom", fontsize=9, color=colour)
    if not len(images):
        ax.text(0.5, 0.5, "none", ha="center", va="center", transform=ax.transAxes)
    return save_png(fig, plt, out_dir, name, files)


def first_layer_weights(plt, model, out_dir, max_units=64, files=None):
    dense = next((l for l in model.layers if isinstance(l, Dense)), None)
    fig = plt.figure(figsize=SIZES["first_layer_weights"], dpi=DPI)
    ax = _one_axes(fig)
    if dense is None or dense.in_features != 784:
        ax.text(0.5, 0.5, "the first layer is not a Dense layer on 28×28 = 784 pixels", ha="center", va="center")
        return save_png(fig, plt, out_dir, "first_layer_weights", files)
    W = np.asarray(dense.W[:max_units], dtype=np.float64)
    W = W / np.maximum(np.abs(W).max(axis=1, keepdims=True), 1e-12)      # each unit on its own ±1 scale
    cols = int(np.ceil(np.sqrt(len(W))))
    mosaic, where = _mosaic(W.reshape(-1, 28, 28), cols, gap=3, title_gap=6, fill=0.0)
    ax.imshow(mosaic, cmap="RdBu_r", vmin=-1, vmax=1, interpolation="nearest")   # red +, blue −, white 0
    for k, (x, y) in enumerate(where):
        ax.text(x, y, f"unit {k}", ha="center", va="bottom", fontsize=7)
    fig.suptitle(f"first Dense layer: the weights of each of its {dense.out_features} units as a 28×28 image"
                 + (f" (first {len(W)})" if len(W) < dense.out_features else ""), fontsize=11)
    return save_png(fig, plt, out_dir, "first_layer_weights", files)


def attention_map(plt, steps, out_dir, files=None):
    """softmax(Q·Kᵀ/√d) of each head (columns) of each attention layer (rows), for one digit."""
    rows, cols = len(steps), max(len(s["attention"]) for s in steps)
    fig = plt.figure(figsize=(2.6 * cols + 1, 2.6 * rows + 0.8), dpi=DPI, layout="constrained")
    axes = np.atleast_2d(fig.subplots(rows, cols, squeeze=False))
    top = max(float(np.max(h)) for s in steps for h in s["attention"])     # one colour scale for every map
    for r, step in enumerate(steps):
        for h in range(cols):
            ax = axes[r, h]
            if h >= len(step["attention"]):
                ax.axis("off")
                continue
            P = np.asarray(step["attention"][h])
            im = ax.imshow(P, cmap="viridis", vmin=0, vmax=top, interpolation="nearest")
            ax.set_title(f"layer {step['index']} ({step['output']}), head {h + 1}", fontsize=8)
            ax.set_xlabel("key token", fontsize=7)
            ax.set_ylabel("query token", fontsize=7)
            ax.tick_params(labelsize=6)
    fig.colorbar(im, ax=axes, shrink=0.8)
    fig.suptitle(f"attention of test digit 0: row i = how token i spreads its attention ({len(P)} tokens)",
                 fontsize=10)
    return save_png(fig, plt, out_dir, "attention_map", files)


def hidden_state_norms(plt, steps, out_dir, files=None):
    """‖h_t‖ and ‖∂L/∂h_t‖ at each time step t of each recurrent layer, for one digit."""
    fig = plt.figure(figsize=(10, 4), dpi=DPI, layout="constrained")
    ax_h, ax_g = fig.subplots(1, 2)
    for forward, backward in steps:
        t = np.arange(1, len(forward["h_norms"]) + 1)
        ax_h.plot(t, forward["h_norms"], "-o", ms=3, label=f"{forward['layer']} (layer {forward['index']})")
        if backward:
            ax_g.semilogy(t, np.maximum(backward["dh_norms"], 1e-30), "-o", ms=3, label=forward["layer"])
    ax_h.set_title("‖h_t‖: the hidden state at each step")
    ax_g.set_title("‖∂L/∂h_t‖: the gradient reaching each step (log)")
    for ax in (ax_h, ax_g):
        ax.set_xlabel("time step t (row of the image)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    return save_png(fig, plt, out_dir, "hidden_state_norms", files)


def inside_figures(plt, model, x, y, out_dir, files=None) -> list:
    """[(path, caption)] of the figures of attention and recurrent layers, from explain's walk of digit 0."""
    kinds = {type(l).__name__ for layer in model.layers for _, l in layer.named_layers()}
    if not kinds & {"MultiHeadSelfAttention", "RNN", "LSTM", "GRU"}:
        return []
    label = int(y[0])
    walk = explain(model, x[0], int(labels_for(model, [label])[0]), label=label)
    out = []
    attention = [s for s in walk["forward"] if s.get("attention")]
    if attention:
        caption = ("Attention maps of test digit 0: for each attention layer (row) and head (column), the "
                   "softmax(Q·Kᵀ/√d) matrix; row i shows how much token i takes from each token "
                   "(token 0 is the class token when there is one). `numnet explain` prints the shapes.")
        out.append((attention_map(plt, attention, out_dir, files), caption))
    grads = {s["index"]: s for s in walk["backward"] if s.get("dh_norms")}
    recurrent = [(s, grads.get(s["index"])) for s in walk["forward"] if s.get("h_norms")]
    if recurrent:
        caption = ("Hidden-state norms of test digit 0 at each time step (left) and the norms of the loss's "
                   "gradient with respect to them (right, log scale): how far back in the sequence the "
                   "gradient still reaches (vanishing or exploding gradients).")
        out.append((hidden_state_norms(plt, recurrent, out_dir, files), caption))
    return out


#: the files a report writes into its folder (those of INSIDE only for the models that have them)
FILES = tuple(name + ".png" for name in (*SIZES, *INSIDE)) + ("index.html",)


def make_report(model, x_test, y_test, out_dir, title="numnet model", n_examples=16, n_mistakes=20, *,
                what: str = "report folder", inputs=()) -> dict:
    """Write the figures and index.html into ``out_dir`` (created if needed), all or none: the
    folder and each of :data:`FILES` in it are checked before any work (:func:`numnet.files.check_folder`:
    a read-only ``index.html``, a folder in a file's place or one of ``inputs`` is refused), and
    the files replace the old ones together only once all are written (a full disk leaves the
    folder as it was). ``what`` names the folder in errors.

    Returns {"index": path, "figures": [{"file", "caption"}], "evaluation": classification report}.
    """
    plt = pyplot_or_explain()
    check_folder(out_dir, what, FILES, inputs=inputs)
    with written_together() as files:
        return _write_report(plt, files, model, x_test, y_test, out_dir, title, n_examples, n_mistakes)


def _write_report(plt, files, model, x_test, y_test, out_dir, title, n_examples, n_mistakes) -> dict:
    report = evaluate_classifier(model, x_test, y_test)
    arrays = report.pop("_arrays")
    proba, pred = arrays["proba"], arrays["pred"]
    y = np.asarray(y_test)
    x = np.asarray(x_test)
    names = class_names(model, len(report["per_class"]))     # "not 7" and "7" for an "is it a 7?" model
    figures = []

    path = learning_curves(plt, model.history, out_dir, files, loss=model.loss.title)
    figures.append((path, "Learning curves: loss and accuracy on the training data (averaged over each epoch "
                          "while training) and on the test set (after each epoch), from the history saved "
                          "in the model file."))
    path = confusion_heatmap(plt, report["confusion_matrix"], out_dir, files, names)
    figures.append((path, f"Confusion matrix on the {len(y)} test digits: row = true class, column = predicted "
                          "class; off-diagonal cells are mistakes. Colour is log(1 + count) so small counts show."))
    k = min(n_examples, len(x))
    path = _digit_grid(plt, "predictions", x[:k], [f"prediction: {names[p]}" for p in pred[:k]],
                       ["black" if p == t else "red" for p, t in zip(pred[:k], y[:k])], out_dir, cols=4,
                       heading="test digits and the network's predictions", files=files)
    figures.append((path, f"The first {k} test digits, each titled with the network's prediction "
                          "(as in tutorial 3); red titles are wrong."))
    wrong = np.nonzero(pred != y)[0]
    confidence = proba[wrong, pred[wrong]]
    worst = wrong[np.argsort(-confidence, kind="stable")][:n_mistakes]
    path = _digit_grid(plt, "mistakes", x[worst],
                       [f"true {names[y[i]]}, predicted {names[pred[i]]}\n({proba[i, pred[i]]:.0%} sure)"
                        for i in worst],
                       ["red"] * len(worst), out_dir, cols=5, heading="the most confident mistakes",
                       files=files)
    figures.append((path, f"The {len(worst)} most confident mistakes (of {len(wrong)}): test digits the network "
                          "got wrong with the highest probability on its wrong answer."))
    path = first_layer_weights(plt, model, out_dir, files=files)
    figures.append((path, "The first Dense layer's weights, one 28×28 image per hidden unit (row k of W1): red "
                          "pixels push the unit's z up, blue pixels push it down, white ones do not matter. "
                          "The inputs are standardised pixels, so each unit is a template of strokes."))
    figures += inside_figures(plt, model, x, y, out_dir, files)

    index = os.path.join(out_dir, "index.html")
    page = _html(title, model, report, figures, names).encode("utf-8")
    files.write(index, lambda f: f.write(page), "report page")
    return {"index": index, "evaluation": report,
            "figures": [{"file": p, "caption": c} for p, c in figures]}


def _html(title, model, report, figures, names):
    e = html.escape
    m = report["macro"]
    rows = "".join(f"<tr><td>{e(names[r['class']])}</td><td>{r['precision']:.4f}</td><td>{r['recall']:.4f}</td>"
                   f"<td>{r['f1']:.4f}</td><td>{r['support']}</td></tr>" for r in report["per_class"])
    rows += (f"<tr class=macro><td>macro</td><td>{m['precision']:.4f}</td><td>{m['recall']:.4f}</td>"
             f"<td>{m['f1']:.4f}</td><td>{sum(r['support'] for r in report['per_class'])}</td></tr>")
    arch = " → ".join(e(repr(layer)) for layer in model.layers)
    figs = "".join(f'<figure><img src="{e(os.path.basename(p))}" alt="{e(os.path.basename(p))}">'
                   f"<figcaption>{e(c)}</figcaption></figure>\n" for p, c in figures)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{e(title)}</title>
<style>body{{font-family:sans-serif;max-width:1000px;margin:2em auto;padding:0 1em;color:#222}}
img{{max-width:100%;border:1px solid #ddd}}figure{{margin:2em 0}}figcaption{{color:#555;margin-top:.5em}}
table{{border-collapse:collapse}}td,th{{padding:2px 10px;text-align:right;border-bottom:1px solid #eee}}
.macro{{font-weight:bold}}code{{background:#f4f4f4;padding:1px 4px}}</style></head>
<body><h1>{e(title)}</h1>
<p>Test accuracy <b>{report['accuracy']:.4f}</b>, loss {report['loss']:.4f}.</p>
<p>Network: <code>{arch}</code></p>
<details><summary>Per-class precision, recall and F1</summary>
<table><tr><th>class</th><th>precision</th><th>recall</th><th>F1</th><th>support</th></tr>{rows}</table></details>
{figs}</body></html>
"""
