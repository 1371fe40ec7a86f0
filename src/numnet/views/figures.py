"""Figures of the tutorials' side remarks, measured on numnet: the activation functions and their
derivatives (tutorials 3–5), vanishing gradients in a deep sigmoid network (tutorial 4), the error
of forward and central differences against h (tutorial 2), the perceptron's decision boundary on
separable data and on XOR (tutorial 4). Each ``measure`` function returns numbers; each ``draw``
function turns them into a PNG (matplotlib, Agg, via ``numnet.views.report.pyplot_or_explain``).
"""
from __future__ import annotations

import numpy as np

from .. import optim
from ..architectures.grammar import mlp
from ..files import check_folder
from ..functional import sigmoid, softmax
from ..model import Sequential
from ..perceptron import Perceptron, toy_separable, xor
from ..train.gradients import backprop
from ..train.options import fit
from .gradcheck import check_gradients
from .report import save_png

DPI = 100


#: the PNG each figure of ``numnet plot`` is written to (its name without .png)
FILES = {"activations": "activations", "vanishing": "vanishing_gradients", "differences": "finite_differences",
         "perceptron": "perceptron"}


def _save(fig, plt, out_dir, name):
    """``fig`` as ``out_dir/name.png`` (the folder created if missing), by the output-file policy."""
    return save_png(fig, plt, check_folder(out_dir, "figure folder"), name)


# activations ------------------------------------------------------------------------------------
def activation_table(z=None):
    """{name: (f(z), f′(z))} on a grid z ∈ [−6, 6], from the formulas the layers use."""
    z = np.linspace(-6, 6, 1201) if z is None else z
    s = sigmoid(z)
    return z, {
        "sigmoid": (s, s * (1 - s)),                               # σ′ = σ(1 − σ) ≤ 1/4
        "tanh": (np.tanh(z), 1 - np.tanh(z) ** 2),                 # tanh′ = 1 − tanh² ≤ 1
        "ReLU": (np.maximum(z, 0), (z > 0).astype(float)),         # 0 or 1
        "step": ((z >= 0).astype(float), np.zeros_like(z)),        # 0 almost everywhere
        "sign": (np.where(z >= 0, 1.0, -1.0), np.zeros_like(z)),
    }


def draw_activations(plt, out_dir):
    """activations.png: f(z) and f′(z) for sigmoid, tanh, ReLU, step, sign; softmax of (z, 0, 1)."""
    z, table = activation_table()
    fig, axes = plt.subplots(1, 3, figsize=(13, 4), dpi=DPI, layout="constrained")
    for name, (f, df) in table.items():
        axes[0].plot(z, f, label=name)
        axes[1].plot(z, df, label=name + "′")
    axes[0].set(title="activation f(z)", xlabel="z", ylim=(-1.5, 2.5))
    axes[1].set(title="derivative f′(z) (step, sign: 0 for z ≠ 0)", xlabel="z", ylim=(-0.1, 1.1))
    p = softmax(np.stack([z, np.zeros_like(z), np.ones_like(z)], axis=1))
    for k, label in enumerate(("softmax₁ (logit z)", "softmax₂ (logit 0)", "softmax₃ (logit 1)")):
        axes[2].plot(z, p[:, k], label=label)
    axes[2].set(title="softmax of the logits (z, 0, 1)", xlabel="z")
    for ax in axes:
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    return _save(fig, plt, out_dir, FILES["activations"])


# vanishing gradients --------------------------------------------------------------------------
def _mlp_for(x, y, hidden, activation):
    """The MLP's layers for images like ``x`` (any size, not only 28×28) and labels ``y``."""
    return mlp(hidden, activation, in_features=int(np.prod(x.shape[1:])), num_classes=max(10, int(y.max()) + 1))


def gradient_norms(model, x, y):
    """‖∂L/∂W‖ (Frobenius) of every Dense layer, first to last, for the batch (x, y): one
    forward and one backward pass, all layers asked for their input gradient."""
    model.train()
    for layer in model.layers:
        layer.input_grad = True
    backprop(model, model.prepare(x), y)
    model.eval()
    return [float(np.linalg.norm(layer.dW)) for layer in model.layers if type(layer).__name__ == "Dense"]


def measure_vanishing(x, y, depth=8, width=32, train_samples=10000, lr=0.1, seed=0):
    """For a depth-``depth`` MLP of width ``width`` with sigmoid and with ReLU hidden layers:
    ‖∂L/∂W_l‖ per layer on 1,000 training images at initialisation and after one epoch of SGD
    (lr, batch 100) on ``train_samples`` images; with the test-free training accuracy."""
    out = {}
    for act in ("sigmoid", "relu"):
        model = Sequential(_mlp_for(x, y, (width,) * depth, act), seed=seed)
        model.adapt(x[:train_samples])
        before = gradient_norms(model, x[:1000], y[:1000])
        hist = fit(model, x[:train_samples], y[:train_samples], epochs=1, batch_size=100, optimizer=optim.SGD(lr),
                         seed=seed)
        out[act] = {"init": before, "after_one_epoch": gradient_norms(model, x[:1000], y[:1000]),
                    "train_accuracy": hist[-1]["train_accuracy"]}
    return {"depth": depth, "width": width, "train_samples": train_samples, "lr": lr, "norms": out}


def draw_vanishing(plt, data, out_dir):
    fig, ax = plt.subplots(figsize=(7, 4.5), dpi=DPI, layout="constrained")
    for act, style in (("sigmoid", "tab:red"), ("relu", "tab:blue")):
        n = data["norms"][act]
        layers = np.arange(1, len(n["init"]) + 1)
        ax.semilogy(layers, n["init"], "o--", color=style, label=f"{act}, at initialisation")
        ax.semilogy(layers, n["after_one_epoch"], "s-", color=style, label=f"{act}, after one epoch")
    ax.set(xlabel="Dense layer (1 = nearest the input)", ylabel="‖∂L/∂W‖",
           title=f"gradient norm per layer, {data['depth']} hidden layers of {data['width']}")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    return _save(fig, plt, out_dir, FILES["vanishing"])


# finite differences ---------------------------------------------------------------------------
def measure_differences(x, y, hs=None, seed=0, hidden=(16,), entries=200):
    """Max |backprop − estimate| over ``entries`` random entries of every parameter of a small
    float64 MLP on the batch (x, y), for forward and central differences at each h (one a decade
    from 1e-12 to 1e-1 by default): the error against h, log-log."""
    hs = list(np.logspace(-12, -1, 12)) if hs is None else list(hs)
    model = Sequential(_mlp_for(x, y, hidden, "tanh"), dtype=np.float64, seed=seed)
    model.adapt(x)
    errors = {}
    for method in ("forward", "central"):
        errors[method] = [max(p.max_abs_error for p in check_gradients(model, x, y, h=h, method=method,
                                                                            entries=entries, seed=seed).parameters)
                          for h in hs]
    return {"h": [float(h) for h in hs], "max_abs_error": errors, "parameters": model.num_parameters}


def draw_differences(plt, data, out_dir):
    h = np.array(data["h"])
    fig, ax = plt.subplots(figsize=(7, 4.5), dpi=DPI, layout="constrained")
    for method, marker in (("forward", "o-"), ("central", "s-")):
        ax.loglog(h, data["max_abs_error"][method], marker, label=f"{method} differences")
    e_f, e_c = np.array(data["max_abs_error"]["forward"]), np.array(data["max_abs_error"]["central"])
    i = len(h) - 3
    ax.loglog(h, e_f[i] * h / h[i], ":", color="gray", label="slope 1 (O(h))")
    ax.loglog(h, e_c[i] * (h / h[i]) ** 2, "--", color="gray", label="slope 2 (O(h²))")
    ax.loglog(h, 1e-16 / h, "-.", color="silver", label="rounding ≈ ε/h")
    ax.set(xlabel="h", ylabel="max |backprop − finite difference|", ylim=(1e-13, 1),
           title="error of the numerical gradient against h (float64)")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    return _save(fig, plt, out_dir, FILES["differences"])


# the perceptron -----------------------------------------------------------------------------------
def measure_perceptron(epochs=100):
    """The perceptron rule on the separable toy set and on XOR: mistakes per epoch, final line."""
    out = {}
    for name, (x, y) in (("separable", toy_separable(100)), ("xor", xor())):
        p = Perceptron(2)
        hist = p.fit(x, y, epochs=epochs)
        out[name] = {"x": x.tolist(), "y": y.tolist(), "w": p.w.tolist(), "b": p.b, "converged": p.converged,
                     "epochs": len(hist), "mistakes": [e["mistakes"] for e in hist],
                     "accuracy": p.score(x, y)}
    return out


def draw_perceptron(plt, data, out_dir):
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.8), dpi=DPI, layout="constrained")
    for ax, name in zip(axes, ("separable", "xor")):
        d = data[name]
        x, y, (w1, w2), b = np.array(d["x"]), np.array(d["y"]), d["w"], d["b"]
        lo, hi = x.min(axis=0) - 0.5, x.max(axis=0) + 0.5
        gx, gy = np.meshgrid(np.linspace(lo[0], hi[0], 300), np.linspace(lo[1], hi[1], 300))
        ax.contourf(gx, gy, (w1 * gx + w2 * gy + b >= 0), levels=[-0.5, 0.5, 1.5], colors=["#fde0dd", "#deebf7"])
        ax.scatter(*x[y == 0].T, c="tab:red", marker="o", label="y = 0")
        ax.scatter(*x[y == 1].T, c="tab:blue", marker="^", label="y = 1")
        state = (f"converged after {d['epochs']} epochs" if d["converged"] else
                 f"not converged in {d['epochs']} epochs (accuracy {d['accuracy']:.2f})")
        ax.set(title=f"{'linearly separable' if name == 'separable' else 'XOR'}: {state}", xlabel="x₁", ylabel="x₂",
               xlim=(lo[0], hi[0]), ylim=(lo[1], hi[1]))
        ax.legend(fontsize=8, loc="upper left")
    return _save(fig, plt, out_dir, FILES["perceptron"])
