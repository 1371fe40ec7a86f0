"""One step of each optimizer against values computed by hand from the seed formulas."""
import numpy as np
import pytest

import numnet
from numnet import SGD, Adam, Momentum


def test_sgd_step():
    W, g = np.array([1.0, -2.0]), np.array([0.5, 0.25])
    SGD(0.1).step([W], [g])
    np.testing.assert_allclose(W, [1 - 0.05, -2 - 0.025], rtol=1e-15)


def test_momentum_two_steps():
    W, opt = np.array([1.0]), Momentum(0.1, momentum=0.9)
    opt.step([W], [np.array([2.0])])    # v = 2,          W = 1 - 0.2 = 0.8
    opt.step([W], [np.array([1.0])])    # v = 0.9*2 + 1,  W = 0.8 - 0.28 = 0.52
    np.testing.assert_allclose(W, [0.52], rtol=1e-15)


def test_adam_first_two_steps_match_the_seed_formula():
    b1, b2, eps, lr = 0.9, 0.999, 1e-8, 0.01
    W, opt = np.array([0.5, -1.0]), Adam(lr)
    g1, g2 = np.array([0.2, -0.4]), np.array([0.1, 0.3])
    opt.step([W], [g1])
    m, v = (1 - b1) * g1, (1 - b2) * g1 ** 2
    m_hat, v_hat = m / (1 - b1), v / (1 - b2)
    expected = np.array([0.5, -1.0]) - lr * m_hat / (np.sqrt(v_hat) + eps)
    np.testing.assert_allclose(W, expected, rtol=1e-14)
    # first Adam step moves every weight by ≈ lr against the gradient's sign
    np.testing.assert_allclose(W - [0.5, -1.0], [-lr, lr], rtol=1e-6)
    opt.step([W], [g2])
    m, v = b1 * m + (1 - b1) * g2, b2 * v + (1 - b2) * g2 ** 2
    m_hat, v_hat = m / (1 - b1 ** 2), v / (1 - b2 ** 2)
    expected = expected - lr * m_hat / (np.sqrt(v_hat) + eps)
    np.testing.assert_allclose(W, expected, rtol=1e-14)


def test_adam_without_t_in_bias_correction_would_differ():
    # guards against the classic bug: bias correction with t fixed at 1
    W, opt = np.array([0.0]), Adam(0.1)
    for _ in range(3):
        opt.step([W], [np.array([1.0])])
    assert opt.t == 3
    np.testing.assert_allclose(W, [-0.3], rtol=1e-6)  # constant gradient: each step is exactly lr


def test_optimizer_registry_and_errors():
    assert isinstance(numnet.optim.get("adam"), Adam) and numnet.optim.get("adam").lr == 1e-3
    with pytest.raises(numnet.ConfigError):
        numnet.optim.get("rmsprop")
    with pytest.raises(numnet.ConfigError):
        SGD(0)


@pytest.mark.parametrize("name, kwargs", [("sgd", {}), ("sgd", {"weight_decay": 0.1}), ("momentum", {}),
                                          ("adam", {}), ("adam", {"weight_decay": 0.01}), ("adamw", {})])
@pytest.mark.parametrize("parts", [2, 3])
def test_updates_in_parts_on_threads_equal_the_whole_update(name, kwargs, parts, rng):
    """fit(workers=k) updates a big parameter buffer in k slices at once: the same values bit for bit."""
    from concurrent.futures import ThreadPoolExecutor

    from numnet.train.parallel import MIN_PART, sliced_step

    n = MIN_PART * parts + 7
    p0 = rng.standard_normal(n).astype(np.float32)
    grads = [rng.standard_normal(n).astype(np.float32) for _ in range(3)]
    small0 = rng.standard_normal(5).astype(np.float32)          # below min_part: updated in one piece
    whole, split = numnet.optim.get(name, 0.01, **kwargs), numnet.optim.get(name, 0.01, **kwargs)
    p_whole, p_split, s_whole, s_split = p0.copy(), p0.copy(), small0.copy(), small0.copy()
    with ThreadPoolExecutor(parts - 1) as pool:
        for g in grads:
            whole.step([p_whole, s_whole], [g, g[:5]])
            sliced_step(split, [p_split, s_split], [g, g[:5]], pool, parts)
    np.testing.assert_array_equal(p_split, p_whole)
    np.testing.assert_array_equal(s_split, s_whole)
    assert not np.array_equal(p_whole, p0)
    assert whole.state.keys() == split.state.keys()
    for key in whole.state:
        assert whole.state[key].keys() == split.state[key].keys()
        for name in whole.state[key]:
            if name != "tmp":                                    # scratch: its last contents do not matter
                np.testing.assert_array_equal(split.state[key][name], whole.state[key][name])


def test_updates_in_parts_of_a_2d_parameter_keep_its_state_shape(rng):
    from concurrent.futures import ThreadPoolExecutor

    from numnet.train.parallel import MIN_PART, sliced_step

    n = MIN_PART * 2
    p, g = rng.standard_normal((2, n)).astype(np.float32), rng.standard_normal((2, n)).astype(np.float32)
    opt, ref = Adam(0.01), Adam(0.01)
    p_ref = p.copy()
    with ThreadPoolExecutor(1) as pool:
        sliced_step(opt, [p], [g], pool, 2)
        opt.step([p], [g])                                   # then in one piece: the same state arrays
    ref.step([p_ref], [g])
    ref.step([p_ref], [g])
    np.testing.assert_array_equal(p, p_ref)
    assert opt.state[0]["m"].shape == (2, n)
