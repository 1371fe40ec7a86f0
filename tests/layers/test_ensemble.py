"""Ensembles (numnet.ensemble, layers.Ensemble): the output is the mean of the members' logits, the
gradients reach every member (numerical gradients), and an ensemble is a model like any other:
saved, loaded, frozen and evaluated in parallel chunks with the same results."""
import json

import numpy as np
import pytest

import numnet
from numnet import layers as L
from numnet.errors import ConfigError
from numnet.functional import to_float
from numnet.inference.chunks import parallel_outputs

from ..helpers import check_layer, check_model
from ..io.test_model_file_trust import refused, write


def _members(seeds=(0, 1, 2), hidden=16, limit=3000):
    (x, y), _ = numnet.load_mnist()
    models = []
    for seed in seeds:
        m = numnet.Sequential(numnet.mlp((hidden,)), seed=seed)
        m.fit(x[:limit], y[:limit], epochs=1, batch_size=50, seed=seed, optimizer=numnet.Adam(2e-3), workers=1)
        models.append(m)
    return models


@pytest.fixture(scope="module")
def members():
    return _members()


def test_the_output_is_the_mean_of_the_members_logits(members, mnist):
    _, (xt, yt) = mnist
    model, x = numnet.ensemble(members), to_float(xt[:50])
    for m in members:
        m.eval()
    logits = np.mean([m.forward(x) for m in members], axis=0)
    np.testing.assert_allclose(model.forward(x), logits, rtol=1e-5, atol=1e-5)
    z = logits - logits.max(axis=1, keepdims=True)
    p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(model.predict_proba(xt[:50]), p, rtol=1e-4, atol=1e-6)
    # softmax of the mean logits = the members' probabilities' normalised geometric mean
    geo = np.exp(np.mean([np.log(m.predict_proba(xt[:50]).astype(np.float64)) for m in members], axis=0))
    np.testing.assert_allclose(p, geo / geo.sum(axis=1, keepdims=True), rtol=1e-3, atol=1e-6)


def test_three_members_beat_their_mean_accuracy(members, mnist):
    _, (xt, yt) = mnist
    accs = [m.evaluate(xt, yt)[1] for m in members]
    assert numnet.ensemble(members).evaluate(xt, yt)[1] > np.mean(accs)


def test_the_members_are_copies(members, mnist):
    _, (xt, _) = mnist
    before = members[0].predict_proba(xt[:20])
    model = numnet.ensemble(members)
    model.flat_params[:] = 0
    np.testing.assert_array_equal(members[0].predict_proba(xt[:20]), before)


def test_gradients_reach_every_member(rng):
    layer = L.Ensemble([[L.Dense(6, 5, dtype=np.float64), L.Tanh(), L.Dense(5, 3, dtype=np.float64)],
                        [L.Dense(6, 3, dtype=np.float64)],
                        [L.Dense(6, 4, dtype=np.float64), L.Sigmoid(), L.Dense(4, 3, dtype=np.float64)]])
    check_layer(layer, rng.standard_normal((4, 6)), rng, rtol=1e-6, atol=1e-9)
    assert [n for n, _ in layer.named_parameters()][:3] == ["m0_0.W", "m0_0.b", "m0_2.W"]


def test_a_model_of_convolutional_members_has_numerical_gradients(rng):
    def member():
        return numnet.architectures.build("conv(2,3)-bn-relu-pool(2)-flatten-dense(3)", input_shape=(1, 8, 8),
                                          num_classes=3)
    model = numnet.Sequential([L.Ensemble([member(), member()])], dtype=np.float64, seed=0)
    check_model(model, rng.standard_normal((5, 1, 8, 8)), np.array([0, 1, 2, 1, 0]), rtol=1e-5, atol=1e-8)


def test_save_load_freeze_and_parallel_chunks_agree(members, mnist, tmp_path):
    _, (xt, yt) = mnist
    model = numnet.ensemble(members, names=["a.npz", "b.npz", "c.npz"])
    path = tmp_path / "ens.npz"
    model.save(path)
    loaded = numnet.load(path)
    assert [row["model"] for row in loaded.info["ensemble"]] == ["a.npz", "b.npz", "c.npz"]
    np.testing.assert_array_equal(loaded.flat_params, model.flat_params)
    p = model.predict_proba(xt[:500])
    np.testing.assert_allclose(loaded.predict_proba(xt[:500]), p, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(loaded.freeze().predict_proba(xt[:500]), p, rtol=1e-5, atol=1e-6)
    loaded.eval()
    x = to_float(xt[:2000])
    chunks = np.concatenate([out for _, out in parallel_outputs(loaded, x, 250, 2)])
    np.testing.assert_allclose(chunks, loaded.forward(x), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("case, needle", [
    ("one", "at least two"), ("shapes", "input shape"), ("binary", "one-output"), ("classes", "different shapes")])
def test_members_that_do_not_fit_together_are_refused(members, case, needle):
    a = members[0]
    if case == "one":
        others = [a]
    elif case == "shapes":
        b = numnet.Sequential(numnet.mlp((8,), in_features=196), seed=0)
        b.input_shape = (14, 14)
        others = [a, b]
    elif case == "binary":
        b = numnet.Sequential(numnet.mlp((8,), num_classes=1), loss="bce", seed=0)
        b.input_shape = a.input_shape
        others = [b, a]
    else:
        b = numnet.Sequential(numnet.mlp((8,), num_classes=7), seed=0)
        b.input_shape = a.input_shape
        others = [a, b]
    with pytest.raises(ConfigError, match=needle):
        numnet.ensemble(others)


@pytest.mark.parametrize("members_cfg, needle", [
    ([[{"type": "Flatten"}]] * 1000, "limit"), ({"a": 1}, "members"), ([[]] * 2, "at least two")])
def test_a_crafted_ensemble_file_is_refused_in_one_line(members, tmp_path, members_cfg, needle):
    model = numnet.ensemble(members[:2])
    cfg = json.loads(json.dumps(model.config()))
    cfg["layers"][0]["members"] = members_cfg
    refused(write(tmp_path / "crafted.npz", cfg, {}), needle)


# test-time mirroring -------------------------------------------------------------------------------
def test_mirror_reverses_the_last_axis_and_its_gradient(rng):
    x = rng.standard_normal((3, 2, 4, 5))
    mirror = L.Mirror()
    np.testing.assert_array_equal(mirror.forward(x)[..., 0], x[..., 4])
    np.testing.assert_array_equal(mirror.forward(mirror.forward(x)), x)
    check_layer(mirror, x, rng, rtol=1e-7, atol=1e-10)
    assert mirror.output_shape((2, 4, 5)) == (2, 4, 5)
    with pytest.raises(ConfigError, match="images"):
        mirror.output_shape((784,))


def test_a_mirrored_ensemble_averages_each_model_on_the_image_and_its_mirror(members, mnist, tmp_path):
    _, (xt, yt) = mnist
    model = numnet.ensemble(members[:1], names=["a.npz"], mirror=True)
    x = to_float(xt[:40])
    members[0].eval()
    expected = (members[0].forward(x) + members[0].forward(np.ascontiguousarray(x[:, :, ::-1]))) / 2
    np.testing.assert_allclose(model.forward(x), expected, rtol=1e-5, atol=1e-5)
    assert len(model.layers[0].members) == 2 and model.info["mirror"] is True
    model.save(tmp_path / "m.npz")
    np.testing.assert_allclose(numnet.load(tmp_path / "m.npz").predict_proba(xt[:40]), model.predict_proba(xt[:40]),
                               rtol=1e-6, atol=1e-7)
    assert len(numnet.ensemble(members[:2], mirror=True).layers[0].members) == 4
    flat = numnet.Sequential(numnet.mlp((8,)), seed=0)
    flat.input_shape = (784,)
    with pytest.raises(ConfigError, match="images"):
        numnet.ensemble([flat], mirror=True)


# test-time shifts ----------------------------------------------------------------------------------
@pytest.mark.parametrize("dy, dx", [(1, 0), (-1, 2), (0, -3), (5, 5)])
def test_shift_moves_the_image_with_zeros_coming_in_and_its_gradient_back(rng, dy, dx):
    x = rng.standard_normal((3, 2, 5, 5))
    shift = L.Shift(dy, dx)
    y = shift.forward(x)
    for i in range(5):
        for j in range(5):
            inside = 0 <= i - dy < 5 and 0 <= j - dx < 5
            np.testing.assert_array_equal(y[..., i, j], x[..., i - dy, j - dx] if inside else 0)
    check_layer(shift, x, rng, rtol=1e-7, atol=1e-10)
    assert shift.output_shape((2, 5, 5)) == (2, 5, 5) and shift.config() == {"type": "Shift", "dy": dy, "dx": dx}
    with pytest.raises(ConfigError, match="images"):
        shift.output_shape((784,))
    with pytest.raises(ConfigError, match="dx"):
        L.Shift(1, 0.5)


def test_a_shifted_ensemble_averages_each_model_on_the_image_and_its_four_moves(members, mnist):
    _, (xt, _) = mnist
    x = to_float(xt[:40])
    model = numnet.ensemble(members[:2], names=["a.npz", "b.npz"], shift=1)
    assert len(model.layers[0].members) == 10 and model.info["shift"] == 1
    framed = np.pad(x, ((0, 0), (1, 1), (1, 1)))                        # moved: zeros come in at the edge
    views = [x] + [framed[:, 1 - dy:29 - dy, 1 - dx:29 - dx] for dy, dx in ((-1, 0), (1, 0), (0, -1), (0, 1))]
    expected = np.mean([m.eval().forward(v) for v in views for m in members[:2]], axis=0)
    np.testing.assert_allclose(model.forward(x), expected, rtol=1e-5, atol=1e-5)
    with pytest.raises(ConfigError, match="shift"):
        numnet.ensemble(members[:1], shift=-1)
