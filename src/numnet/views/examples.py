"""The tutorials' worked examples, computed by numnet's own classes and set beside the numbers the
tutorials print (``numnet example NAME``).

Each example is a function returning an :class:`Example`: rows of (quantity, formula, numnet's
value, the tutorial's value or None where the tutorial prints none) and a note. A row agrees when
numnet's value, rounded as the tutorial rounds (as many decimals as it prints), equals it; shapes
agree when they are equal. The tutorials are called 1–5 as in ``docs/tutorials.md``. Titles, notes
and the words among the formulas are in the language in force (:mod:`numnet.views.lang`).

    perceptron          tutorial 4: x = (3, 1), w = (0.5, 0.8), b = −1 → z = 1.3 → step = 1
    sigmoid-bce         tutorial 4: x = (2, 3), w = (0.5, −0.2), b = 0.1 → z = 0.5 → a = 0.622 → L = 0.474
    softmax             tutorial 5's softmax, with tutorial 2's overflow guard (subtract the max)
    losses              tutorial 5's MSE, RMSE and MAE on one small regression
    activations         tutorial 4's table, and tutorial 5's slip "Sigmoid(x) = tanh(x)"
    numerical-gradient  tutorial 2: central differences with h = 1e-4, and its loop that never runs
    adam-step           tutorial 1: one Adam step, m, v, m̂, v̂ written out
    backprop-shapes     tutorial 1: 784-25-25-10, every forward and backward shape read from the arrays
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ..architectures import mlp
from ..data.datasets import load_mnist
from ..errors import ConfigError
from ..functional import sigmoid, softmax
from ..layers import Dense, ReLU, Sigmoid
from ..losses import MAE, MSE, BinaryCrossEntropy, SoftmaxCrossEntropy, rmse
from ..model import Sequential
from ..optim import Adam
from ..perceptron import Perceptron
from ..train.gradients import numerical_gradient
from .lang import N_, _


@dataclass
class Row:
    """One quantity: its ``formula``, numnet's ``value`` (a number or a shape) and the ``tutorial``'s
    printed value (text as printed, e.g. "0.622"; a shape as a tuple; None where it prints none)."""
    quantity: str
    formula: str
    value: object
    tutorial: object = None

    @property
    def agrees(self):
        """True/False against the tutorial's value; None where the tutorial prints none."""
        if self.tutorial is None:
            return None
        if isinstance(self.tutorial, tuple):
            return tuple(self.value) == self.tutorial
        decimals = len(self.tutorial.partition(".")[2])
        return abs(float(self.value) - float(self.tutorial)) <= 0.5 * 10 ** -decimals + 1e-12


@dataclass
class Example:
    rows: list = field(default_factory=list)
    note: str = ""
    name: str = ""
    tutorial: int = 0
    title: str = ""

    @property
    def agrees(self) -> bool:
        """Every row that the tutorial prints agrees."""
        return all(row.agrees is not False for row in self.rows)

    def as_dict(self) -> dict:
        def plain(v):
            return list(v) if isinstance(v, tuple) else v
        return {"name": self.name, "tutorial": self.tutorial, "title": self.title, "agrees": self.agrees,
                "note": self.note,
                "rows": [{"quantity": r.quantity, "formula": r.formula, "value": plain(r.value),
                          "tutorial": plain(r.tutorial), "agrees": r.agrees} for r in self.rows]}


def perceptron() -> Example:
    p = Perceptron(2)
    p.w[:], p.b = [0.5, 0.8], -1.0
    x = np.array([[3.0, 1.0]])
    z = float(p.net_input(x)[0])
    return Example(rows=[
        Row("z", "z = w·x + b = 0.5·3 + 0.8·1 − 1", round(z, 10), "1.3"),
        Row("ŷ", "ŷ = step(z) = 1 if z ≥ 0 else 0", int(p.predict(x)[0]), "1"),
    ], note=_("numnet.perceptron.Perceptron with w = (0.5, 0.8), b = −1: the neuron fires ('accept')."))


def sigmoid_bce() -> Example:
    dense = Dense(2, 1, dtype=np.float64)
    model = Sequential([dense], loss="bce", dtype=np.float64)
    dense.W[...], dense.b[...] = [[0.5, -0.2]], [0.1]
    x, y = np.array([[2.0, 3.0]]), np.array([1])
    z = model.forward(x)
    loss = BinaryCrossEntropy()
    L = loss(z, y)
    dz = loss.backward()
    dense.backward(dz)
    a = float(sigmoid(z)[0, 0])
    return Example(rows=[
        Row("z", "z = w·x + b = 0.5·2 + (−0.2)·3 + 0.1", float(z[0, 0]), "0.5"),
        Row("a", "a = σ(z) = 1 / (1 + e^(−z))", a, "0.622"),
        Row("L", "L = −[y·log a + (1 − y)·log(1 − a)],  y = 1", L, "0.474"),
        Row("∂L/∂z", "∂L/∂z = a − y", float(dz[0, 0])),
        Row("∂L/∂w1", "∂L/∂w1 = (a − y)·x1", float(dense.dW[0, 0])),
        Row("∂L/∂w2", "∂L/∂w2 = (a − y)·x2", float(dense.dW[0, 1])),
        Row("∂L/∂b", "∂L/∂b = a − y", float(dense.db[0])),
    ], note=_("The tutorial's backward pass stops at 'the output error'; numnet's Dense.backward continues: "
              "with σ and cross-entropy together the error is simply a − y (σ'(z) = a(1 − a) cancels)."))


def softmax_example() -> Example:
    z = np.array([[2.0, 1.0, 0.1]])
    p = softmax(z)[0]
    shifted = softmax(z + 1000.0)[0]
    with np.errstate(over="ignore", invalid="ignore"):
        naive = np.exp(z[0] + 1000.0) / np.exp(z[0] + 1000.0).sum()
    return Example(rows=[
        Row("p1", "p_i = e^(z_i) / Σ_j e^(z_j),  z = (2, 1, 0.1)", float(p[0])),
        Row("p2", "", float(p[1])),
        Row("p3", "", float(p[2])),
        Row("Σ p", _("the probabilities sum to 1"), float(p.sum())),
        Row(_("p1 of z + 1000"), _("softmax(z − max z): the same probabilities"), float(shifted[0])),
        Row(_("p1 of z + 1000, naive"), _("e^1002 overflows to inf: inf/inf"), str(naive[0])),
    ], note=_("Tutorial 5 gives the formula; tutorial 2's _softmax subtracts the largest score first "
              "(溢出对策, the overflow guard), which changes nothing mathematically and keeps e^z finite."))


def losses() -> Example:
    y_true = np.array([[3.0, -0.5, 2.0, 7.0]]).T
    y_pred = np.array([[2.5, 0.0, 2.0, 8.0]]).T
    y_out = y_pred.copy()
    y_out[3] = 17.0                                    # one prediction far off: an outlier
    mse, mae = MSE(), MAE()
    logits = np.array([[2.0, 1.0, 0.1]])
    return Example(rows=[
        Row("MSE", "(1/N) Σ (y − ŷ)²,  y = (3, −0.5, 2, 7), ŷ = (2.5, 0, 2, 8)", mse(y_pred, y_true)),
        Row("RMSE", _("√MSE (in the target's units)"), rmse(y_pred, y_true)),
        Row("MAE", "(1/N) Σ |y − ŷ|", mae(y_pred, y_true)),
        Row(_("MSE, last ŷ = 17"), _("one error of 10 is squared: 100/4"), mse(y_out, y_true)),
        Row(_("RMSE, last ŷ = 17"), "", rmse(y_out, y_true)),
        Row(_("MAE, last ŷ = 17"), _("it grows linearly"), mae(y_out, y_true)),
        Row(_("cross-entropy"), "−log p_y,  z = (2, 1, 0.1), y = 0", SoftmaxCrossEntropy()(logits, np.array([0]))),
    ], note=_("Tutorial 5 gives the formulas. MSE punishes large errors most (squares), MAE treats every unit of "
              "error alike, RMSE is MSE back in the target's units. For classes, cross-entropy."))


def activations() -> Example:
    x = 1.0
    relu, sig = ReLU(), Sigmoid()
    sig.forward(np.zeros((1, 1)))
    return Example(rows=[
        Row("σ(1)", "σ(x) = 1 / (1 + e^(−x))", float(sigmoid(np.array(x)))),
        Row("tanh(1)", "tanh(x) = (e^x − e^(−x)) / (e^x + e^(−x))", math.tanh(x)),
        Row("2σ(2)−1", "tanh(x) = 2σ(2x) − 1", float(2 * sigmoid(np.array(2 * x)) - 1)),
        Row("ReLU(−1)", "max(0, x)", float(relu.forward(np.array([[-1.0]]))[0, 0])),
        Row("σ'(0)", _("σ'(x) = σ(x)(1 − σ(x)), at most 1/4: Sigmoid.backward"),
            float(sig.backward(np.ones((1, 1)))[0, 0])),
    ], note=_("Tutorial 5 writes 'Sigmoid(x) = tanh(x)' under tanh: a slip. They differ (σ(1) ≈ 0.731, "
              "tanh(1) ≈ 0.762; σ lies in (0, 1), tanh in (−1, 1)); the true relation is tanh(x) = 2σ(2x) − 1."))


def tutorials_numerical_gradient(f, x):
    """Tutorial 2's ``numerical_gradient``, as printed (its loop condition included)."""
    h = 1e-4
    grad = np.zeros_like(x)
    it = np.nditer(x, flags=["multi_index"], op_flags=["readwrite"])
    while not it.multi_index:                            # as printed; `while not it.finished:` is meant
        idx = it.multi_index
        tmp_val = x[idx]
        x[idx] = float(tmp_val) + h
        fxh1 = f(x)
        x[idx] = tmp_val - h
        fxh2 = f(x)
        grad[idx] = (fxh1 - fxh2) / (2 * h)
        x[idx] = tmp_val
        it.iternext()
    return grad


def numerical_gradient_example() -> Example:
    x = np.array([3.0, 4.0])

    def f():
        return float(np.sum(x ** 2))                     # f(x) = x0² + x1²,  ∇f = (2·x0, 2·x1)

    g = numerical_gradient(f, x, h=1e-4)
    forward = (((x[0] + 1e-4) ** 2 + x[1] ** 2) - f()) / 1e-4
    as_printed = tutorials_numerical_gradient(lambda v: float(np.sum(v ** 2)), x.copy())
    return Example(rows=[
        Row("∂f/∂x0", "(f(x + h·e0) − f(x − h·e0)) / 2h,  f = x0² + x1², x = (3, 4), h = 1e-4", float(g[0])),
        Row("∂f/∂x1", "", float(g[1])),
        Row(_("forward difference ∂f/∂x0"), _("(f(x + h·e0) − f(x)) / h: error ≈ h (here 1e-4)"), forward),
        Row(_("∂f/∂x0, code as printed"), _("tutorial 2's numerical_gradient, run as printed"),
            float(as_printed[0])),
        Row(_("∂f/∂x1, code as printed"), "", float(as_printed[1])),
    ], note=_("Exact: (6, 8). Central differences are off by O(h²), forward by O(h). The tutorial's "
              "numerical_gradient loops `while not it.multi_index:`, but multi_index (0, 0) is a non-empty tuple, "
              "so the loop never runs and every gradient is 0; `while not it.finished:` is meant "
              "(numnet.train.gradients.numerical_gradient)."))


def adam_step() -> Example:
    theta, g = np.array([1.0]), np.array([0.5])
    adam = Adam(lr=0.001)
    adam.step([theta], [g])
    s = adam.state[0]
    m, v = float(s["m"][0]), float(s["v"][0])
    m_hat, v_hat = m / (1 - adam.beta1), v / (1 - adam.beta2)
    return Example(rows=[
        Row("m", _("m = β1·m + (1 − β1)·g = 0.1·0.5  (m starts at 0, β1 = 0.9)"), m),
        Row("v", "v = β2·v + (1 − β2)·g² = 0.001·0.25  (β2 = 0.999)", v),
        Row("m̂", "m̂ = m / (1 − β1ᵗ),  t = 1", m_hat),
        Row("v̂", "v̂ = v / (1 − β2ᵗ)", v_hat),
        Row("θ", "θ = θ − η·m̂ / (√v̂ + ε) = 1 − 0.001·0.5/0.5", float(theta[0])),
    ], note=_("The bias correction undoes the zero start: m̂ = g and v̂ = g² after one step, so the first step "
              "moves every weight by about η whatever the gradient's size. numnet.optim.Adam, as in tutorial 1."))


#: the weight shapes tutorial 1 writes: W1 ∈ R^(25×784), W2 ∈ R^(25×25), W3 ∈ R^(10×25)
TUTORIAL_1_WEIGHTS = [(25, 784), (25, 25), (10, 25)]


def backprop_shapes() -> Example:
    _train, (x_test, y_test) = load_mnist()
    model = Sequential(mlp((25, 25)), seed=0)
    out = model.forward(x_test[:1])
    model.loss(out, y_test[:1])
    model.backward(model.loss.backward())
    dense = [layer for _, layer in model.named_layers() if isinstance(layer, Dense)]

    def col(a):                                          # one sample as a column, as tutorial 1 writes it
        return tuple(reversed(a.shape))

    rows = [Row("x", _("the image, flattened"), col(dense[0].x), (784, 1))]
    for k, (layer, shape) in enumerate(zip(dense, TUTORIAL_1_WEIGHTS), start=1):
        rows_out, cols_in = shape
        rows += [Row(f"W{k}", f"W{k} ∈ R^({rows_out}×{cols_in})", layer.W.shape, shape),
                 Row(f"∂L/∂W{k}", f"∂L/∂z{k}·h{k - 1}ᵀ: ({rows_out}×1)·(1×{cols_in})", layer.dW.shape, shape),
                 Row(f"∂L/∂b{k}", _("∂L/∂z{k}: the tutorial's {rows}×1 column, kept as a vector").format(
                     k=k, rows=rows_out), layer.db.shape)]
    rows.append(Row("z3", _("the logits, one per digit"), col(out), (10, 1)))
    return Example(rows=rows, note=_(
                   "Read from the arrays of a numnet model after one forward and backward pass on an MNIST "
                   "image. A weight's gradient has the weight's shape: an outer product (column × row)."))


#: name -> (tutorial, title (English; shown through ``_()``), the function computing its rows)
EXAMPLES = {
    "perceptron": (4, N_("a perceptron decides"), perceptron),
    "sigmoid-bce": (4, N_("will the student pass? sigmoid and binary cross-entropy"), sigmoid_bce),
    "softmax": (5, N_("softmax turns scores into probabilities"), softmax_example),
    "losses": (5, N_("MSE, RMSE and MAE on one small regression; cross-entropy for classes"), losses),
    "activations": (5, N_("the activation table, and a slip in tutorial 5"), activations),
    "numerical-gradient": (2, N_("a derivative from its definition"), numerical_gradient_example),
    "adam-step": (1, N_("one Adam step"), adam_step),
    "backprop-shapes": (1, N_("every shape of 784-25-25-10, forward and backward"), backprop_shapes),
}


def run(name: str) -> Example:
    """The worked example ``name`` (one of :data:`EXAMPLES`), computed now."""
    if name not in EXAMPLES:
        raise ConfigError(f"unknown example {name!r} (choose from {', '.join(EXAMPLES)})")
    tutorial, title, compute = EXAMPLES[name]
    example = compute()
    example.name, example.tutorial, example.title = name, tutorial, _(title)
    return example
