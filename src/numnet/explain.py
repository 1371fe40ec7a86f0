"""Walk one sample through a network as seed 000 does on paper: every layer's equation with the
actual shapes (column vectors, as in the seed: x is 784×1), a few values, the softmax and the
cross-entropy loss; then the backward pass (∂L/∂z = softmax(z) − y, ∂L/∂W = ∂L/∂z·aᵀ, ...) with
shapes and norms; then one Adam update of one weight with every intermediate number.

:func:`explain` returns plain data (dicts, lists, floats); ``numnet explain`` renders it. The
numbers come from the model's own layers (``forward``/``backward`` on a batch of one), so they are
exactly what training computes. Layers this module does not know (convolutions, pooling, ...) are
described generically from their class name and the shapes they produce.
"""
from __future__ import annotations

import numpy as np

from . import layers as L
from . import losses
from .optim import Adam

ACTIVATION_FORMULAS = {
    "ReLU": ("ReLU", "max(0, {z})", "1[{z} > 0]"),
    "Sigmoid": ("σ", "1 / (1 + e^(−{z}))", "σ({z})·(1 − σ({z}))"),
    "Tanh": ("tanh", "tanh({z})", "1 − tanh²({z})"),
    "Step": ("step", "1[{z} ≥ 0]", "0"),
}


#: layers of other modules, known by class name (so this module imports none of them):
#: the forward equation, given the input symbol; their backward is described generically
KNOWN = {
    "Conv2D": "{new} = W ⋆ {x} + b   (cross-correlation of each filter with every patch)",
    "MaxPool2D": "{new} = maxpool({x})   (the largest value of each window)",
    "AvgPool2D": "{new} = avgpool({x})   (the mean of each window)",
    "GlobalAvgPool2D": "{new} = mean of each channel of {x}",
    "Dropout": "{new} = {x}   (dropout is off when evaluating; in training {x} ⊙ mask / (1 − p))",
    "BatchNorm": "{new} = γ ⊙ ({x} − μ_running) / √(σ²_running + ε) + β",
    "Reshape": "{new} = reshape({x})",
}


def _shape(a) -> str:
    """Shape in the seed's column-vector notation: a vector of n values is (n×1)."""
    shape = tuple(np.shape(a))
    if len(shape) == 1:
        shape = shape + (1,)
    return "(" + "×".join(str(s) for s in shape) + ")"


def _dims(shape) -> str:
    return "(" + "×".join(str(s) for s in shape) + ")"


def _values(a, k: int = 5) -> list:
    return [float(v) for v in np.ravel(a)[:k]]


def _summary(a) -> dict:
    a = np.asarray(a, dtype=np.float64)
    return {"shape": list(a.shape), "first": _values(a), "min": float(a.min()), "max": float(a.max()),
            "norm": float(np.linalg.norm(a))}


def explain(model, x, y: int, adam_lr: float | None = None) -> dict:
    """Explain ``model`` on one sample ``x`` (e.g. a 28×28 uint8 image) with integer label ``y``.

    Returns {"input", "forward" (list of steps), "output" (probabilities, prediction, loss),
    "backward" (list of steps), "adam" (one weight's update) or None}. Every step has "layer",
    "index", "equation", "shapes" and numbers; Dense steps also name their parameters.
    """
    model.eval()
    xb = model.prepare(np.asarray(x)[None])
    y = int(y)
    steps, symbols = [], []
    a, name = xb, "image" if xb.ndim > 2 else "x"
    dense_count = 0
    result = {"input": {"symbol": name, "label": y, **_summary(a[0])}}
    for i, layer in enumerate(model.layers):
        kind = type(layer).__name__
        out = layer.forward(a)
        step = {"index": i, "layer": kind, "input": name, "params": {}}
        if isinstance(layer, L.Flatten):
            new = "x"
            step["equation"] = f"{new} = flatten({name})"
            step["shapes"] = f"{_dims(a.shape[1:])} → {_shape(out[0])}"
        elif isinstance(layer, L.Standardize):
            new = "x̂"
            step["equation"] = f"{new} = ({name} − μ) / σ"
            step["shapes"] = f"{_shape(a[0])} → {_shape(out[0])}"
            step["note"] = f"μ per pixel (mean {float(np.mean(layer.mean)):.4f}), σ = {float(layer.std):.4f}"
        elif isinstance(layer, L.Dense):
            dense_count += 1
            k = dense_count
            new = f"z{k}"
            step["equation"] = f"{new} = W{k}·{name} + b{k}"
            step["shapes"] = (f"{_dims(layer.W.shape)}·{_shape(a[0])} + {_shape(layer.b)} → {_shape(out[0])}")
            step["params"] = {f"W{k}": list(layer.W.shape), f"b{k}": [layer.b.shape[0], 1]}
            step["dense"] = k
        elif kind in ACTIVATION_FORMULAS:
            sym, formula, _ = ACTIVATION_FORMULAS[kind]
            new = f"h{dense_count}" if name.startswith("z") else f"a{i}"
            step["equation"] = f"{new} = {sym}({name}) = {formula.format(z=name)}"
            step["shapes"] = f"{_shape(a[0])} → {_shape(out[0])}"
            if kind == "ReLU":
                zeros = int(np.count_nonzero(out[0] == 0))
                step["zeros"] = zeros
                step["note"] = f"{zeros} of {out[0].size} units are zero (z ≤ 0)"
        elif isinstance(layer, L.Softmax):
            new = "p"
            step["equation"] = f"p = softmax({name})"
            step["shapes"] = f"{_shape(a[0])} → {_shape(out[0])}"
        else:
            new = f"a{i}"
            params = {n: list(p.shape) for n, p in layer.params.items()}
            args = ", ".join([name] + list(params))
            step["equation"] = KNOWN.get(kind, "{new} = " + kind + "(" + args + ")").format(new=new, x=name)
            step["shapes"] = f"{_shape(a[0])} → {_shape(out[0])}"
            if params:
                step["shapes"] += "   with " + ", ".join(f"{n} {_dims(sh)}" for n, sh in params.items())
            step["params"] = params
            step["generic"] = kind not in KNOWN
        step["output"] = new
        step["values"] = _summary(out[0])
        steps.append(step)
        symbols.append((name, new))
        a, name = out, new
    result["forward"] = steps

    logits = a
    loss_fn = model.loss
    loss = loss_fn.forward(logits, np.array([y]))
    classify = isinstance(loss_fn, (losses.SoftmaxCrossEntropy, losses.LogSoftmaxNLL))
    proba = L.softmax(logits.astype(np.float64))[0]
    result["output"] = {
        "logits": name, "probabilities": [float(p) for p in proba], "prediction": int(np.argmax(proba)),
        "label": y, "loss": float(loss), "loss_name": type(loss_fn).__name__,
        "equation": (f"L = −Σᵢ yᵢ·log pᵢ = −log p_{y} = −log {proba[y]:.4f}" if classify
                     else f"L = {type(loss_fn).__name__}({name}, y)"),
    }

    # backward: the loss's gradient, then every layer's backward in reverse -----------------
    grad = loss_fn.backward()
    back = [{"equation": f"∂L/∂{name} = softmax({name}) − y" if classify else f"∂L/∂{name} = {type(loss_fn).__name__}′",
             "shapes": f"{_shape(proba)} − {_shape(proba)} → {_shape(grad[0])}", "layer": "loss",
             "values": _summary(grad[0])}]
    first_param = next((i for i, l in enumerate(model.layers) if l.param_names), None)
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
        entry = {"layer": kind, "index": i, "params": {}}
        if isinstance(layer, L.Dense):
            k = step["dense"]
            entry["equation"] = f"∂L/∂W{k} = ∂L/∂{outp}·{inp}ᵀ,   ∂L/∂b{k} = ∂L/∂{outp},   ∂L/∂{inp} = W{k}ᵀ·∂L/∂{outp}"
            entry["shapes"] = (f"{_shape(grad[0])}·{_dims((1, layer.in_features))} → {_dims(layer.dW.shape)},   "
                               f"{_shape(layer.db)},   {_dims(layer.W.T.shape)}·{_shape(grad[0])} → {_shape(g_in[0])}")
            entry["params"] = {f"W{k}": {"shape": list(layer.dW.shape), "norm": float(np.linalg.norm(layer.dW))},
                               f"b{k}": {"shape": [layer.db.shape[0], 1], "norm": float(np.linalg.norm(layer.db))}}
        elif kind in ACTIVATION_FORMULAS:
            sym, _, deriv = ACTIVATION_FORMULAS[kind]
            entry["equation"] = f"∂L/∂{inp} = ∂L/∂{outp} ⊙ {deriv.format(z=inp)}"
            entry["shapes"] = f"{_shape(grad[0])} ⊙ {_shape(grad[0])} → {_shape(g_in[0])}"
            if kind == "ReLU":
                active = int(np.count_nonzero(layer.mask[0]))
                entry["note"] = f"ReLU mask: {active} of {layer.mask[0].size} units pass the gradient"
                entry["mask_active"] = active
        elif isinstance(layer, (L.Flatten, L.Standardize)):
            entry["equation"] = (f"∂L/∂{inp} = reshape(∂L/∂{outp})" if isinstance(layer, L.Flatten)
                                 else f"∂L/∂{inp} = ∂L/∂{outp} / σ")
            entry["shapes"] = f"{_shape(grad[0])} → {_shape(g_in[0])}"
        else:
            entry["equation"] = f"∂L/∂{inp} = {kind}.backward(∂L/∂{outp})"
            entry["shapes"] = f"{_shape(grad[0])} → {_shape(g_in[0])}"
            entry["params"] = {n: {"shape": list(g.shape), "norm": float(np.linalg.norm(g))}
                               for n, g in layer.grads.items()}
            entry["generic"] = kind not in KNOWN
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
    largest |gradient|: g, m, v, m̂, v̂ and the new value, read from numnet.Adam's own state."""
    dense = [(s, model.layers[s["index"]]) for s in steps if s.get("dense")]
    if not dense:
        return None
    step, layer = dense[-1]
    k = step["dense"]
    if lr is None:
        lr = float((model.info.get("optimizer") or {}).get("lr", 1e-3))
    opt = Adam(lr)
    W, dW = layer.W.copy(), layer.dW.copy()
    where = np.unravel_index(int(np.argmax(np.abs(dW))), dW.shape)
    old = float(W[where])
    opt.step([W], [dW])
    m, v = (moment[where] for moment in opt.moments(0))
    t = opt.t
    m_hat, v_hat = float(m) / (1 - opt.beta1 ** t), float(v) / (1 - opt.beta2 ** t)
    return {"param": f"W{k}", "entry": [int(where[0]), int(where[1])], "lr": lr, "beta1": opt.beta1,
            "beta2": opt.beta2, "eps": opt.eps, "t": t, "g": float(dW[where]), "m": float(m), "v": float(v),
            "m_hat": m_hat, "v_hat": v_hat, "old": old, "new": float(W[where]),
            "by_formula": float(old - lr * m_hat / (np.sqrt(v_hat) + opt.eps))}
