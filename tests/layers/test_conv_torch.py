"""Conv2D, pooling, BatchNorm, Dropout, weight decay, AdamW and the schedules against PyTorch (float64)."""
import numpy as np
import pytest

import numnet
from numnet import AvgPool2D, BatchNorm, Conv2D, Dropout, MaxPool2D, schedules

torch = pytest.importorskip("torch", reason="PyTorch is the oracle here: pip install -e '.[oracle]' (see the README)")
F = torch.nn.functional


def t(a, grad=False):
    return torch.tensor(np.ascontiguousarray(a), dtype=torch.float64, requires_grad=grad)


@pytest.mark.parametrize("c_in, c_out, k, stride, padding, hw", [
    (3, 4, 3, 1, 0, (7, 6)), (3, 4, 3, 2, 1, (7, 6)), (2, 5, (3, 2), (2, 1), (0, 1), (8, 5)), (1, 2, 5, 1, 2, (9, 9)),
    (6, 4, 3, 2, 1, (7, 6)), (8, 3, (2, 3), 1, (1, 0), (6, 7)),      # > few_channels: rows of windows
    (1, 3, 3, 1, 0, (30, 30)),               # 3·28·28 rows: dW as a sum of 1024-row products
])
def test_conv2d(c_in, c_out, k, stride, padding, hw, rng):
    conv = Conv2D(c_in, c_out, k, stride=stride, padding=padding, dtype=np.float64, seed=3)
    conv.b[...] = rng.standard_normal(c_out)
    x = rng.standard_normal((3, c_in) + hw)
    z = conv.forward(x)
    G = rng.standard_normal(z.shape)
    dx = conv.backward(G)
    xt, Wt, bt = t(x, True), t(conv.W, True), t(conv.b, True)
    zt = F.conv2d(xt, Wt, bt, stride=stride, padding=padding)
    zt.backward(t(G))
    np.testing.assert_allclose(z, zt.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(dx, xt.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(conv.dW, Wt.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(conv.db, bt.grad.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("layer, fn", [
    (MaxPool2D(2), lambda x: F.max_pool2d(x, 2)),
    (MaxPool2D(3, 2), lambda x: F.max_pool2d(x, 3, 2)),
    (AvgPool2D(2), lambda x: F.avg_pool2d(x, 2)),
    (AvgPool2D(3, 2), lambda x: F.avg_pool2d(x, 3, 2)),
])
def test_pooling(layer, fn, rng):
    x = rng.standard_normal((2, 3, 7, 8))
    x[0, 0, :2, :2] = 1.0                                  # a tie: PyTorch sends the gradient to the first
    y = layer.forward(x)
    G = rng.standard_normal(y.shape)
    xt = t(x, True)
    yt = fn(xt)
    yt.backward(t(G))
    np.testing.assert_allclose(y, yt.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(layer.backward(G), xt.grad.numpy(), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("shape", [(16, 5), (6, 3, 4, 5)])
def test_batchnorm_train_and_eval(shape, rng):
    C = shape[1]
    bn = BatchNorm(C, momentum=0.1, dtype=np.float64)
    bn.gamma[...] = rng.uniform(0.5, 1.5, C)
    bn.beta[...] = rng.standard_normal(C)
    ref = (torch.nn.BatchNorm1d if len(shape) == 2 else torch.nn.BatchNorm2d)(C, momentum=0.1).double()
    with torch.no_grad():
        ref.weight.copy_(t(bn.gamma))
        ref.bias.copy_(t(bn.beta))
    for step in range(3):                                   # training: batch statistics, running averages
        x = rng.standard_normal(shape) * 2 + step
        G = rng.standard_normal(shape)
        ref.zero_grad()
        xt = t(x, True)
        yt = ref(xt)
        yt.backward(t(G))
        np.testing.assert_allclose(bn.forward(x), yt.detach().numpy(), rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(bn.backward(G), xt.grad.numpy(), rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(bn.dgamma, ref.weight.grad.numpy(), rtol=1e-10)
        np.testing.assert_allclose(bn.dbeta, ref.bias.grad.numpy(), rtol=1e-10)
        np.testing.assert_allclose(bn.running_mean, ref.running_mean.numpy(), rtol=1e-12)
        np.testing.assert_allclose(bn.running_var, ref.running_var.numpy(), rtol=1e-12)
    bn.training = False                                     # evaluation: running statistics
    ref.eval()
    x, G = rng.standard_normal(shape), rng.standard_normal(shape)
    xt = t(x, True)
    yt = ref(xt)
    yt.backward(t(G))
    np.testing.assert_allclose(bn.forward(x), yt.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(bn.backward(G), xt.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_dropout_with_a_fixed_mask(rng):
    """Same mask in both: PyTorch's dropout is x·m/(1 − p) with m its own Bernoulli draw."""
    p = 0.3
    d = Dropout(p, seed=5)
    x, G = rng.standard_normal((6, 10)), rng.standard_normal((6, 10))
    y = d.forward(x)
    keep = d.mask != 0
    torch.manual_seed(0)
    xt = t(x, True)
    # torch.nn.functional.dropout draws its own mask; reproduce it through the same formula with ours
    yt = xt * t(keep) / (1 - p)
    yt.backward(t(G))
    np.testing.assert_allclose(y, yt.detach().numpy(), rtol=1e-15)
    np.testing.assert_allclose(d.backward(G), xt.grad.numpy(), rtol=1e-15)
    # and torch's own dropout has the same statistics: kept values scaled by 1/(1 − p), zeros elsewhere
    yd = F.dropout(t(np.ones((200, 200))), p, training=True).numpy()
    assert set(np.unique(yd)) == {0.0, 1 / (1 - p)} and abs((yd == 0).mean() - p) < 0.01


@pytest.mark.parametrize("ours, theirs", [
    (lambda: numnet.SGD(0.1, weight_decay=0.05), lambda ps: torch.optim.SGD(ps, lr=0.1, weight_decay=0.05)),
    (lambda: numnet.Momentum(0.05, 0.9, weight_decay=0.05),
     lambda ps: torch.optim.SGD(ps, lr=0.05, momentum=0.9, weight_decay=0.05)),
    (lambda: numnet.Adam(0.01, weight_decay=0.1), lambda ps: torch.optim.Adam(ps, lr=0.01, weight_decay=0.1)),
    (lambda: numnet.AdamW(0.01), lambda ps: torch.optim.AdamW(ps, lr=0.01)),
    (lambda: numnet.AdamW(0.01, weight_decay=0.3), lambda ps: torch.optim.AdamW(ps, lr=0.01, weight_decay=0.3)),
])
def test_weight_decay_and_adamw(ours, theirs, rng):
    W = rng.standard_normal(7)
    Wt = t(W, True)
    opt, ref = ours(), theirs([Wt])
    for step in range(5):
        g = rng.standard_normal(7)
        Wt.grad = t(g)
        ref.step()
        opt.step([W], [g])
    np.testing.assert_allclose(W, Wt.detach().numpy(), rtol=1e-12)


def test_adamw_with_a_schedule_decays_by_the_current_rate(rng):
    W = rng.standard_normal(4)
    Wt = t(W, True)
    opt, ref = numnet.AdamW(0.02, weight_decay=0.2), torch.optim.AdamW([Wt], lr=0.02, weight_decay=0.2)
    sched = torch.optim.lr_scheduler.OneCycleLR(ref, max_lr=0.02, total_steps=10, cycle_momentum=False)
    ours = schedules.OneCycle(0.02)
    for step in range(10):
        g = rng.standard_normal(4)
        Wt.grad = t(g)
        ref.step()
        sched.step() if step < 9 else None
        opt.lr = ours(step, 10)
        opt.step([W], [g])
    np.testing.assert_allclose(W, Wt.detach().numpy(), rtol=1e-12)


@pytest.mark.parametrize("ours, theirs", [
    (schedules.OneCycle(0.1), lambda o, n: torch.optim.lr_scheduler.OneCycleLR(o, max_lr=0.1, total_steps=n)),
    (schedules.OneCycle(0.05, pct_start=0.25, div_factor=10, final_div_factor=100),
     lambda o, n: torch.optim.lr_scheduler.OneCycleLR(o, max_lr=0.05, total_steps=n, pct_start=0.25,
                                                      div_factor=10, final_div_factor=100)),
    (schedules.Cosine(0.1, min_lr=0.001), lambda o, n: torch.optim.lr_scheduler.CosineAnnealingLR(o, n, 0.001)),
    (schedules.StepDecay(0.1, 0.5, (0.25, 0.5)),
     lambda o, n: torch.optim.lr_scheduler.MultiStepLR(o, [n // 4, n // 2], 0.5)),
])
def test_schedules(ours, theirs):
    n = 40
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1 if not isinstance(ours, schedules.OneCycle)
                          else 1.0)
    sched = theirs(opt, n)
    for step in range(n):
        assert ours(step, n) == pytest.approx(opt.param_groups[0]["lr"], rel=1e-9, abs=1e-15), step
        opt.step()
        sched.step()
