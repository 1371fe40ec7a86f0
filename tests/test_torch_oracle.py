"""PyTorch's autograd and torch.optim as an independent oracle for numnet's gradients (float64).

numnet never imports torch; only these tests do. Without torch they are skipped, with the reason
shown by ``pytest -ra``.

Adding a layer to the oracle is one line in ``LAYERS``: how to build the numnet layer from the input
shape, how to build the matching torch module from that numnet layer, and which numnet parameter
is which torch parameter (the weights are copied across with :func:`copy_weights`).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pytest

import numnet
from numnet.functional import smooth_labels

torch = pytest.importorskip("torch", reason="PyTorch is the oracle here: pip install -e '.[oracle]' (see the README)")
F = torch.nn.functional
torch.set_num_threads(1)
F64 = torch.float64

RTOL = 1e-9


@dataclass
class Pair:
    """A numnet layer and the torch module that computes the same function."""

    numnet: callable                    # (input sample shape, rng) -> numnet layer
    torch: callable                     # numnet layer -> torch module (float64)
    params: dict = field(default_factory=dict)   # numnet parameter name -> torch parameter name


LAYERS = {
    "Dense": Pair(lambda shape, rng: numnet.Dense(shape[-1], int(rng.integers(1, 65))),
                  lambda l: torch.nn.Linear(l.in_features, l.out_features, dtype=F64), {"W": "weight", "b": "bias"}),
    "ReLU": Pair(lambda shape, rng: numnet.ReLU(), lambda l: torch.nn.ReLU()),
    "Sigmoid": Pair(lambda shape, rng: numnet.Sigmoid(), lambda l: torch.nn.Sigmoid()),
    "Tanh": Pair(lambda shape, rng: numnet.Tanh(), lambda l: torch.nn.Tanh()),
    "Flatten": Pair(lambda shape, rng: numnet.Flatten(), lambda l: torch.nn.Flatten()),
    # convolutional layers (issue 5): (C, H, W) inputs; kernel, stride and padding drawn from rng
    "Conv2D": Pair(lambda shape, rng: numnet.Conv2D(shape[0], int(rng.integers(1, 6)), int(rng.integers(1, 4)),
                                                    int(rng.integers(1, 3)), int(rng.integers(0, 2))),
                   lambda l: torch.nn.Conv2d(l.in_channels, l.out_channels, l.kernel_size, l.stride, l.padding,
                                             dtype=F64), {"W": "weight", "b": "bias"}),
    "MaxPool2D": Pair(lambda shape, rng: numnet.MaxPool2D(2), lambda l: torch.nn.MaxPool2d(l.kernel_size, l.stride)),
    "AvgPool2D": Pair(lambda shape, rng: numnet.AvgPool2D(2), lambda l: torch.nn.AvgPool2d(l.kernel_size, l.stride)),
    "GlobalAvgPool2D": Pair(lambda shape, rng: numnet.GlobalAvgPool2D(),
                            lambda l: torch.nn.Sequential(torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten())),
    "BatchNorm2D": Pair(lambda shape, rng: numnet.BatchNorm(shape[0]),          # training mode: batch statistics
                        lambda l: torch.nn.BatchNorm2d(l.num_features, dtype=F64), {"gamma": "weight", "beta": "bias"}),
    "BatchNorm1D": Pair(lambda shape, rng: numnet.BatchNorm(shape[0]),
                        lambda l: torch.nn.BatchNorm1d(l.num_features, dtype=F64), {"gamma": "weight", "beta": "bias"}),
}
ACTIVATIONS = ["ReLU", "Sigmoid", "Tanh"]


def one_hot(y, k):
    return F.one_hot(torch.as_tensor(y), k).to(F64)


#: numnet loss name -> torch loss of (logits, integer labels) with the same definition
LOSSES = {
    "cross_entropy": lambda z, y: F.cross_entropy(z, torch.as_tensor(y)),
    "nll": lambda z, y: F.nll_loss(F.log_softmax(z, dim=1), torch.as_tensor(y)),
    "mse": lambda z, y: F.mse_loss(z, one_hot(y, z.shape[1])),        # mean over N·K elements
    "mae": lambda z, y: F.l1_loss(z, one_hot(y, z.shape[1])),
}


def copy_weights(pair: Pair, layer, module):
    with torch.no_grad():
        for ours, theirs in pair.params.items():
            getattr(module, theirs).copy_(torch.from_numpy(np.array(getattr(layer, ours))))


def build(names, in_shape, rng, loss, seed, outputs=None):
    """The numnet Sequential (float64, initialised from ``seed``) and its torch twin, same weights.
    ``outputs``: width of the last layer when it is a Dense (the number of classes)."""
    layers, pairs, shape = [], [], tuple(in_shape)
    for i, name in enumerate(names):
        if outputs is not None and i == len(names) - 1 and name == "Dense":
            layer = numnet.Dense(shape[-1], outputs)
        else:
            layer = LAYERS[name].numnet(shape, rng)
        layers.append(layer)
        pairs.append(LAYERS[name])
        shape = layer.output_shape(shape)
    model = numnet.Sequential(layers, loss=loss, dtype=np.float64, seed=seed)
    modules = []
    for pair, layer in zip(pairs, model.layers):
        module = pair.torch(layer)
        copy_weights(pair, layer, module)
        modules.append(module)
    return model, torch.nn.Sequential(*modules), pairs


def torch_grads(net, pairs):
    """{numnet name 'k.W': torch's gradient as numpy}."""
    return {f"{k}.{ours}": getattr(module, theirs).grad.numpy()
            for k, (pair, module) in enumerate(zip(pairs, net)) for ours, theirs in pair.params.items()}


def assert_matches(ours, theirs, what, rtol=RTOL):
    """Element-wise |a − t| / max(|a|, |t|) ≤ rtol; entries a million times smaller than the array's
    largest (sums that cancel to ≈ 0) are measured against 1e-6·max|t| instead."""
    ours, theirs = np.asarray(ours), np.asarray(theirs)
    assert ours.shape == theirs.shape, what
    floor = max(1e-6 * float(np.abs(theirs).max(initial=0)), 1e-300)
    rel = np.abs(ours - theirs) / np.maximum(np.maximum(np.abs(ours), np.abs(theirs)), floor)
    assert rel.max(initial=0) <= rtol, f"{what}: max relative error {rel.max():.2e}"


def dense_stack(depth, activation):
    """depth Dense layers with the activation between them: Dense-act-Dense-...-Dense."""
    names = []
    for i in range(depth):
        names += ["Dense"] if i == depth - 1 else ["Dense", activation]
    return names


#: (loss, activation, depth 1-4, seed): every loss with every activation and every depth; widths
#: (1-64), input size (1-64), batch (1-32) and the number of classes (2-10) drawn from the seed
CASES = [(loss, ACTIVATIONS[i % 3], 1 + (i + j) % 4, 100 * j + i) for j, loss in enumerate(LOSSES) for i in range(6)]


@pytest.mark.parametrize("loss, activation, depth, seed", CASES)
def test_random_architecture_gradients_match_autograd(loss, activation, depth, seed):
    rng = np.random.default_rng(1000 + seed)
    names = dense_stack(depth, activation)
    n_in, batch, k = int(rng.integers(1, 65)), int(rng.integers(1, 33)), int(rng.integers(2, 11))
    model, net, pairs = build(names, (n_in,), rng, loss, seed, outputs=k)
    x, y = rng.standard_normal((batch, n_in)), rng.integers(0, k, batch)

    value = model.loss.forward(model.forward(x), y)
    dx = model.backward(model.loss.backward())

    xt = torch.tensor(x, requires_grad=True)
    ref = LOSSES[loss](net(xt), y)
    ref.backward()
    assert value == pytest.approx(ref.item(), rel=1e-12)
    assert_matches(dx, xt.grad.numpy(), "dL/dx")
    theirs = torch_grads(net, pairs)
    assert set(theirs) == {n for n, _ in model.named_gradients()}
    for name, g in model.named_gradients():
        assert_matches(g, theirs[name], f"{names} {loss}: d{name}")


def test_every_activation_loss_and_depth_is_covered():
    assert {(loss, act) for loss, act, depth, _ in CASES if depth > 1} == {(l, a) for l in LOSSES for a in ACTIVATIONS}
    assert {depth for _, _, depth, _ in CASES} == {1, 2, 3, 4}
    assert set(LOSSES) == {"cross_entropy", "nll", "mse", "mae"}


@pytest.mark.parametrize("seed", range(4))
def test_binary_cross_entropy_matches_autograd(seed):
    rng = np.random.default_rng(2000 + seed)
    names = dense_stack(1 + seed, ACTIVATIONS[seed % 3])
    n_in, batch, k = int(rng.integers(1, 65)), int(rng.integers(1, 33)), int(rng.integers(1, 6))
    model, net, pairs = build(names, (n_in,), rng, "bce", seed, outputs=k)
    x, y = rng.standard_normal((batch, n_in)), rng.integers(0, 2, (batch, k)).astype(np.float64)
    value = model.loss.forward(model.forward(x), y)
    model.backward(model.loss.backward())
    ref = F.binary_cross_entropy_with_logits(net(torch.tensor(x)), torch.tensor(y))
    ref.backward()
    assert value == pytest.approx(ref.item(), rel=1e-12)
    theirs = torch_grads(net, pairs)
    for name, g in model.named_gradients():
        assert_matches(g, theirs[name], f"bce d{name}")


def test_soft_targets_cross_entropy_matches_autograd():
    rng = np.random.default_rng(7)
    model, net, pairs = build(["Dense", "Tanh", "Dense"], (12,), rng, "cross_entropy", 7, outputs=5)
    x, p = rng.standard_normal((9, 12)), rng.dirichlet(np.ones(5), 9)
    model.loss.forward(model.forward(x), p)
    model.backward(model.loss.backward())
    F.cross_entropy(net(torch.tensor(x)), torch.tensor(p)).backward()
    theirs = torch_grads(net, pairs)
    for name, g in model.named_gradients():
        assert_matches(g, theirs[name], f"soft targets d{name}")


def test_label_smoothing_matches_torch_cross_entropy_label_smoothing():
    """Integer labels smoothed by ``smooth_labels`` and numnet's cross-entropy on soft rows: the loss and
    every gradient of ``F.cross_entropy(z, y, label_smoothing=ε)``."""
    rng = np.random.default_rng(8)
    model, net, pairs = build(["Dense", "Tanh", "Dense"], (12,), rng, "cross_entropy", 8, outputs=6)
    x, y, eps = rng.standard_normal((11, 12)), rng.integers(0, 6, 11), 0.15
    loss = model.loss.forward(model.forward(x), smooth_labels(y, 6, eps, np.float64))
    model.backward(model.loss.backward())
    ref = F.cross_entropy(net(torch.tensor(x)), torch.as_tensor(y), label_smoothing=eps)
    ref.backward()
    assert loss == pytest.approx(ref.item(), rel=1e-12)
    theirs = torch_grads(net, pairs)
    for name, g in model.named_gradients():
        assert_matches(g, theirs[name], f"label smoothing d{name}")


# optimizer trajectories -----------------------------------------------------------------------------
#: numnet optimizer -> torch.optim with the same update. Momentum: numnet's v ← μ·v + g, W ← W − η·v
#: is torch.optim.SGD(momentum=μ) (dampening 0, no Nesterov), not the textbook v ← μ·v − η·g.
OPTIMIZERS = {
    "sgd": (lambda: numnet.SGD(0.1), lambda ps: torch.optim.SGD(ps, lr=0.1)),
    "momentum": (lambda: numnet.Momentum(0.05, momentum=0.9),
                 lambda ps: torch.optim.SGD(ps, lr=0.05, momentum=0.9, dampening=0, nesterov=False)),
    "adam": (lambda: numnet.Adam(0.01, beta1=0.9, beta2=0.999, eps=1e-8),
             lambda ps: torch.optim.Adam(ps, lr=0.01, betas=(0.9, 0.999), eps=1e-8)),
    "adam-l2": (lambda: numnet.Adam(0.01, weight_decay=0.05), lambda ps: torch.optim.Adam(ps, lr=0.01, weight_decay=0.05)),
    "adamw": (lambda: numnet.AdamW(0.01, weight_decay=0.1), lambda ps: torch.optim.AdamW(ps, lr=0.01, weight_decay=0.1)),
}


@pytest.mark.parametrize("name", list(OPTIMIZERS))
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_optimizer_trajectories_match_torch_optim(name, activation):
    """Same initial weights, same batches: 50 steps of numnet's fit and of a torch.optim loop end
    at the same parameters (float64)."""
    rng = np.random.default_rng(3)
    names = ["Dense", activation, "Dense", activation, "Dense"]
    model, net, pairs = build(names, (20,), rng, "cross_entropy", 3, outputs=4)
    n, batch, epochs = 100, 10, 5                    # 10 batches a pass, in order: 50 steps
    x, y = rng.standard_normal((n, 20)), rng.integers(0, 4, n)
    make_ours, make_theirs = OPTIMIZERS[name]
    model.fit(x, y, epochs=epochs, batch_size=batch, optimizer=make_ours(), shuffle=False)

    opt = make_theirs(net.parameters())
    for _ in range(epochs):
        for start in range(0, n, batch):
            opt.zero_grad()
            F.cross_entropy(net(torch.tensor(x[start:start + batch])), torch.tensor(y[start:start + batch])).backward()
            opt.step()
    theirs = {f"{k}.{ours}": getattr(module, t).detach().numpy()
              for k, (pair, module) in enumerate(zip(pairs, net)) for ours, t in pair.params.items()}
    moved = 0.0
    for pname, p in model.named_parameters():
        assert_matches(p, theirs[pname], f"{name} {activation} after 50 steps: {pname}")
        moved = max(moved, float(np.abs(p).max()))
    assert moved > 0


# convolutional networks (issue 5) ---------------------------------------------------------------------
#: (a bias right before a batch norm has an exactly zero gradient, lost in rounding: not compared here)
CNNS = [
    ["Conv2D", "Tanh", "BatchNorm2D", "MaxPool2D", "Conv2D", "ReLU", "Flatten", "Dense"],
    ["Conv2D", "Sigmoid", "AvgPool2D", "Conv2D", "ReLU", "BatchNorm2D", "GlobalAvgPool2D", "Tanh", "BatchNorm1D",
     "Dense"],
    ["Conv2D", "ReLU", "Conv2D", "MaxPool2D", "Flatten", "Dense", "Tanh", "Dense"],
]


@pytest.mark.parametrize("seed", range(6))
def test_cnn_gradients_match_autograd(seed):
    rng = np.random.default_rng(3000 + seed)
    names = CNNS[seed % len(CNNS)]
    channels, batch, k = int(rng.integers(1, 4)), int(rng.integers(2, 9)), int(rng.integers(2, 11))
    model, net, pairs = build(names, (channels, 12, 12), rng, "cross_entropy", seed, outputs=k)
    x, y = rng.standard_normal((batch, channels, 12, 12)), rng.integers(0, k, batch)
    value = model.loss.forward(model.forward(x), y)
    dx = model.backward(model.loss.backward())
    xt = torch.tensor(x, requires_grad=True)
    ref = F.cross_entropy(net(xt), torch.as_tensor(y))
    ref.backward()
    assert value == pytest.approx(ref.item(), rel=1e-12)
    assert_matches(dx, xt.grad.numpy(), f"{names}: dL/dx", rtol=1e-7)   # batch norm's (x − μ) cancels digits
    theirs = torch_grads(net, pairs)
    for name, g in model.named_gradients():
        assert_matches(g, theirs[name], f"{names}: d{name}", rtol=1e-7)
