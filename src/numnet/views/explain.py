"""Walk one sample through a network as tutorial 1 does on paper: every layer's equation with the
actual shapes (column vectors, as tutorial 1 writes them: x is 784×1), a few values, the softmax and the
cross-entropy loss; then the backward pass (∂L/∂z = softmax(z) − y, ∂L/∂W = ∂L/∂z·aᵀ, ...) with
shapes and norms; then one Adam update of one weight with every intermediate number.

:func:`explain` returns plain data (dicts, lists, floats); ``numnet explain`` renders it. The
numbers come from the model's own layers (``forward``/``backward`` on a batch of one), so they are
exactly what training computes. This module knows no layer by name: each layer class states its
own formulas (``equations``, or ``explain_lines`` where they depend on the mode or the input), its
output's symbol (``symbol``) and, if it has something to add, ``describe``/``describe_backward``.
A formula's shapes template names arrays; every shape printed is read here off the array it names
(:func:`_fill`), never typed. The walk runs in evaluation mode, and so does each formula shown.
"""
from __future__ import annotations

import functools
import re

import numpy as np

from .. import losses
from ..layers.base import Layer
from ..optim import Adam
from .evaluation import positive_digit as _positive_digit

_SLOT = re.compile(r"\{([\w.]+)\}(ᵀ?)")


def _column(shape, transposed: bool = False) -> tuple:
    """A shape as the tutorials write it: a vector of n values is a column, n×1 (transposed, 1×n);
    a matrix is its rows × columns (transposed, swapped); more axes as they are."""
    shape = tuple(int(s) for s in shape)
    if len(shape) < 2:
        shape = (shape[0] if shape else 1, 1)
    if transposed:
        if len(shape) != 2:
            raise ValueError(f"cannot transpose a shape of {len(shape)} axes: {shape}")
        shape = shape[::-1]
    return shape


def _dims(shape) -> str:
    return "(" + "×".join(str(s) for s in shape) + ")"


def _shape(a) -> str:
    return _dims(_column(np.shape(a)))


def _fill(template: str, array) -> tuple:
    """(text, named): ``template`` with each ``{name}`` (``{name}ᵀ``) replaced by the shape of
    ``array(name)`` in column notation, and [{"name", "transposed", "shape"}] of each, in order."""
    named = []

    def shape_of(match):
        name, transposed = match.group(1), bool(match.group(2))
        shape = _column(np.shape(array(name)), transposed)
        named.append({"name": name, "transposed": transposed, "shape": list(shape)})
        return _dims(shape)

    return _SLOT.sub(shape_of, template), named


def _arrays(layer, own: dict):
    """name → array for a layer's shapes templates: ``own`` (x, y, dy, dx of this sample), then
    the layer's ``explain_arrays``, then an attribute path (W, dW, attn.in_proj_weight)."""
    extra = layer.explain_arrays()

    def array(name):
        if name in own:
            return own[name]
        if name in extra:
            return extra[name]
        return functools.reduce(getattr, name.split("."), layer)
    return array


def _lines(layer, phase: str, own: dict, symbols: dict) -> list:
    """[{"equation", "shapes", "arrays"}]: the layer's ``explain_lines`` with the symbols filled in
    and every shape read off the array it names."""
    array = _arrays(layer, own)
    out = []
    for equation, template in layer.explain_lines(phase):
        shapes, named = _fill(template, array)
        out.append({"equation": equation.format(**symbols), "shapes": shapes, "arrays": named})
    return out


def _values(a, k: int = 5) -> list:
    return [float(v) for v in np.ravel(a)[:k]]


def _summary(a) -> dict:
    a = np.asarray(a, dtype=np.float64)
    return {"shape": list(a.shape), "first": _values(a), "min": float(a.min()), "max": float(a.max()),
            "norm": float(np.linalg.norm(a))}


def explain(model, x, y: int, adam_lr: float | None = None, label: int | None = None) -> dict:
    """Explain ``model`` on one sample ``x`` (e.g. a 28×28 uint8 image) whose class, in the model's
    classes, is ``y``; ``label``: the data set's label it came from, where that differs (for a model
    trained on "is it a D?", label 7 is class y = 1 when D = 7: see ``views.evaluation.labels_for``).

    Returns {"input", "forward" (list of steps), "output" (probabilities, prediction, label, target
    y, positive_digit, loss), "backward" (list of steps), "adam" (one weight's update) or None}.
    Every step has "layer", "index", "mode", "lines" (each {"equation", "shapes", "arrays": the
    name, transposed and shape of each array printed}), "equation" and "shapes" (the lines joined)
    and numbers; "params" names its parameters. An attention step adds "attention" (heads × L × L),
    a recurrent one "h_norms" (forward) and "dh_norms" (backward), per time step.
    """
    model.eval()
    explaining = [l for layer in model.layers for _, l in layer.named_layers()]
    for l in explaining:
        l.explaining = True        # backward keeps what the lines show (∂L/∂Z, δa_t, attention's gradients)
    try:
        return _explain(model, model.prepare(np.asarray(x)[None]), int(y), adam_lr, label)
    finally:
        for l in explaining:
            l.explaining = False


def _explain(model, xb, y, adam_lr, label):
    digit = None if label is None else _positive_digit(model)     # D of an "is it a D?" model
    label = y if label is None else int(label)
    steps, activations = [], []
    a, name = xb, "image" if xb.ndim > 2 else "x"
    param_count = 0
    result = {"input": {"symbol": name, "label": label, **_summary(a[0])}, "mode": "evaluation"}
    for i, layer in enumerate(model.layers):
        kind = type(layer).__name__
        out = layer.forward(a)
        params = layer.params                              # its children's too, dotted (attn.in_proj_weight)
        if params:
            param_count += 1
        k = param_count
        new = layer.symbol.format(i=i, k=k)
        seed_style = "{k}" in layer.equations["forward"]     # W1, b1 as column vectors, as tutorial 1 writes them
        names = {n: f"{n}{k}" if seed_style else n for n in params}
        symbols = {"x": name, "y": new, "k": k, "name": kind, "params": "".join(f", {n}" for n in params)}
        lines = _lines(layer, "forward", {"x": a[0], "y": out[0]}, symbols)
        step = {"index": i, "layer": kind, "input": name, "output": new, "k": k, "seed_style": seed_style,
                "mode": "training" if layer.training else "evaluation",
                "equation": ",   ".join(line["equation"] for line in lines),
                "shapes": ",   ".join(line["shapes"] for line in lines if line["shapes"]), "lines": lines,
                "params": {names[n]: list(_column(p.shape)) if seed_style else list(p.shape)
                           for n, p in params.items()}}
        if layer.equations is Layer.equations and type(layer).explain_lines is Layer.explain_lines:
            step["generic"] = True                         # a layer that states no formulas of its own
        step.update(layer.describe(a, out))
        maps = [l.P[0] for _, l in layer.named_layers() if isinstance(getattr(l, "P", None), np.ndarray)]
        if maps:                                           # softmax(Q·Kᵀ/√d) of each head: (h, L, L)
            step["attention"] = [[[float(v) for v in row] for row in head] for head in maps[0]]
        step["values"] = _summary(out[0])
        steps.append(step)
        activations.append(out)
        a, name = out, new
    result["forward"] = steps
    inputs = [xb] + activations[:-1]

    logits = a
    loss_fn = model.loss
    loss = loss_fn.forward(logits, np.array([y]))
    classify = isinstance(loss_fn, (losses.SoftmaxCrossEntropy, losses.LogSoftmaxNLL))
    link = loss_fn.link(logits.shape[-1])                  # "sigmoid": one output z, p = σ(z) answers "is it 1?"
    sigmoid = link == "sigmoid"                             # the binary cross-entropy of one output
    proba = model.probabilities(logits.astype(np.float64))[0]
    if classify:
        equation = f"L = −Σᵢ yᵢ·log pᵢ = −log p_{y} = −log {proba[y]:.4f}"
    elif sigmoid:                                          # proba[y]: p for y = 1, 1 − p for y = 0
        equation = f"L = −[y·log p + (1 − y)·log(1 − p)] = −log {'p' if y else '(1 − p)'} = −log {proba[y]:.4f}"
    else:
        equation = f"L = {type(loss_fn).__name__}({name}, y)"
    result["output"] = {
        "logits": name, "link": link, "probabilities": [float(p) for p in proba], "prediction": int(np.argmax(proba)),
        "label": label, "target": y, "positive_digit": digit, "loss": float(loss),
        "loss_name": type(loss_fn).__name__, "equation": equation,
    }

    # backward: the loss's gradient, then every layer's backward in reverse -----------------
    grad = loss_fn.backward()
    p_shape = _shape(proba) if classify else _shape(grad[0])   # softmax(z) − y; else the output's: σ(z) − y, ŷ − y
    back = [{"equation": f"∂L/∂{name} = softmax({name}) − y" if classify else
             f"∂L/∂{name} = σ({name}) − y" if sigmoid else f"∂L/∂{name} = {type(loss_fn).__name__}′",
             "shapes": f"{p_shape} − {p_shape} → {_shape(grad[0])}", "layer": "loss",
             "values": _summary(grad[0])}]
    first_param = next((i for i, l in enumerate(model.layers) if l.param_shapes()), None)
    for i in range(len(model.layers) - 1, -1, -1):
        layer, step = model.layers[i], steps[i]
        kind, inp, outp = type(layer).__name__, step["input"], step["output"]
        try:
            layer.input_grad = True
            g_in = layer.backward(grad)
        except Exception as e:       # a layer that cannot backpropagate in evaluation mode
            back.append({"layer": kind, "equation": f"{kind}: backward not available here ({type(e).__name__})",
                         "shapes": "", "values": None})
            break
        k, seed_style = step["k"], step["seed_style"]
        symbols = {"x": inp, "y": outp, "k": k, "name": kind}
        lines = _lines(layer, "backward", {"x": inputs[i][0], "y": activations[i][0], "dy": grad[0], "dx": g_in[0]},
                       symbols)
        entry = {"layer": kind, "index": i, "mode": step["mode"],
                 "equation": ",   ".join(line["equation"] for line in lines),
                 "shapes": ",   ".join(line["shapes"] for line in lines if line["shapes"]), "lines": lines,
                 "params": {f"{n}{k}" if seed_style else n: {"shape": list(_column(g.shape)) if seed_style
                                                              else list(g.shape), "norm": float(np.linalg.norm(g))}
                            for n, g in layer.grads.items()}}
        if step.get("generic"):
            entry["generic"] = True
        entry.update(layer.describe_backward())
        entry["values"] = _summary(g_in[0])
        back.append(entry)
        grad = g_in
        if first_param is not None and i <= first_param:
            back.append({"layer": "stop", "equation": f"(∂L/∂{inp} of the input is not needed by training: stop)",
                         "shapes": "", "values": None})
            break
    result["backward"] = back
    result["adam"] = _adam_step(model, steps, adam_lr)
    return result


def _adam_step(model, steps, lr):
    """One Adam step (t = 1) on a copy of the last Dense layer's W, at the entry with the
    largest |gradient|: g, m, v, m̂, v̂ and the new value, read from numnet.Adam's own state.
    None where there is no gradient to step with (a step or sign output passes none back: the
    perceptron learns by its own rule)."""
    dense = [(s, model.layers[s["index"]]) for s in steps if s["layer"] == "Dense"]
    if not dense or not np.any(dense[-1][1].dW):
        return None
    step, layer = dense[-1]
    k = step["k"]
    if lr is None:
        lr = float((model.info.get("optimizer") or {}).get("lr", 1e-3))
    opt = Adam(lr)
    W, dW = layer.W.copy(), layer.dW.copy()
    where = np.unravel_index(int(np.argmax(np.abs(dW))), dW.shape)
    old = float(W[where])
    opt.step([W], [dW])
    m, v = opt.state[0]["m"][where], opt.state[0]["v"][where]
    t = opt.t
    m_hat, v_hat = float(m) / (1 - opt.beta1 ** t), float(v) / (1 - opt.beta2 ** t)
    return {"param": f"W{k}", "entry": [int(where[0]), int(where[1])], "lr": lr, "beta1": opt.beta1,
            "beta2": opt.beta2, "eps": opt.eps, "t": t, "g": float(dW[where]), "m": float(m), "v": float(v),
            "m_hat": m_hat, "v_hat": v_hat, "old": old, "new": float(W[where]),
            "by_formula": float(old - lr * m_hat / (np.sqrt(v_hat) + opt.eps))}
