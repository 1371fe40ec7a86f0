"""Conv2D, pooling, Dropout, BatchNorm: gradients against central differences (float64, rel. error
< 1e-6), values against their definitions, and their life inside a Sequential (train/eval, save/load);
PyTorch as the oracle is in ``test_conv_torch.py``."""

import numpy as np
import pytest

import numnet
from numnet import AvgPool2D, BatchNorm, Conv2D, Dropout, GlobalAvgPool2D, MaxPool2D, Reshape
from numnet.architectures import build

from ..helpers import check_layer, check_model


def channels_last(x):
    """The same (N, C, H, W) values with channels-last (N, H, W, C) memory."""
    return np.ascontiguousarray(x.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)


def spatial_major(x):
    """The same (N, C, H, W) values with (H, W, N, C) memory, as Conv2D hands them on."""
    return np.ascontiguousarray(x.transpose(2, 3, 0, 1)).transpose(2, 3, 0, 1)


LAYOUTS = {"nchw": np.ascontiguousarray, "nhwc": channels_last, "hwnc": spatial_major}


@pytest.mark.parametrize("make, shape", [
    (lambda: Conv2D(2, 3, 3, dtype=np.float64, seed=1), (2, 2, 6, 5)),
    (lambda: Conv2D(2, 3, 3, stride=2, padding=1, dtype=np.float64), (2, 2, 7, 6)),
    (lambda: Conv2D(3, 2, (2, 3), stride=(1, 2), padding=(1, 0), dtype=np.float64), (2, 3, 5, 7)),
    (lambda: Conv2D(1, 2, 3, padding=2, dtype=np.float64), (2, 5, 5)),          # (N, H, W) images
    (lambda: Conv2D(6, 2, 3, stride=2, padding=1, dtype=np.float64), (2, 6, 5, 6)),   # > few_channels
    (lambda: MaxPool2D(2), (2, 3, 6, 4)),
    (lambda: MaxPool2D(2), (2, 2, 7, 5)),                                        # a row and a column left over
    (lambda: MaxPool2D(3, stride=2), (2, 2, 7, 7)),                              # overlapping windows
    (lambda: AvgPool2D(2), (2, 3, 5, 4)),
    (lambda: AvgPool2D(3, stride=2), (2, 2, 7, 7)),
    (GlobalAvgPool2D, (3, 2, 4, 5)),
    (lambda: Reshape((2, 3, 2)), (3, 12)),
    (lambda: BatchNorm(4, dtype=np.float64), (6, 4)),
    (lambda: BatchNorm(3, dtype=np.float64), (4, 3, 3, 2)),
])
def test_gradients(make, shape, rng):
    layer = make()
    if isinstance(layer, BatchNorm):
        layer.gamma[...] = rng.uniform(0.5, 1.5, layer.gamma.shape)
        layer.beta[...] = rng.standard_normal(layer.beta.shape)
    x = rng.standard_normal(shape)
    check_layer(layer, x, rng)
    if x.ndim == 4:
        check_layer(make(), channels_last(x), rng)
        check_layer(make(), spatial_major(x), np.random.default_rng(1))


@pytest.mark.parametrize("make", [lambda: Conv2D(3, 4, 3, padding=1, dtype=np.float64, seed=2),
                                  lambda: Conv2D(3, 4, 2, dtype=np.float64, seed=2),
                                  lambda: MaxPool2D(2), lambda: BatchNorm(3, dtype=np.float64)])
@pytest.mark.parametrize("x_layout", list(LAYOUTS))
@pytest.mark.parametrize("grad_layout", list(LAYOUTS))
def test_any_memory_layout_gives_the_same_values(make, x_layout, grad_layout, rng):
    """Layers hand (H, W, N, C) memory on, but take x and dL/dy in any layout: same outputs, same gradients."""
    x = np.round(rng.standard_normal((3, 3, 6, 6)), 1)            # rounded: ties in the max pools
    ref, layer = make(), make()
    y_ref = ref.forward(x)
    grad = rng.standard_normal(y_ref.shape)
    dx_ref = ref.backward(grad)
    y = layer.forward(LAYOUTS[x_layout](x))
    dx = layer.backward(LAYOUTS[grad_layout](grad))
    np.testing.assert_allclose(y, y_ref, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(dx, dx_ref, rtol=1e-12, atol=1e-12)
    for name in layer.param_names:
        np.testing.assert_allclose(getattr(layer, "d" + name), getattr(ref, "d" + name), rtol=1e-12, atol=1e-12)


def test_conv_output_is_spatial_major_in_memory(rng):
    z = Conv2D(2, 3, 3, dtype=np.float64).forward(rng.standard_normal((4, 2, 5, 5)))
    assert z.shape == (4, 3, 3, 3) and z.transpose(2, 3, 0, 1).flags.c_contiguous


def test_batchnorm_gradients_in_eval_mode(rng):
    bn = BatchNorm(3, dtype=np.float64)
    bn.running_mean[...] = [0.5, -1, 2]
    bn.running_var[...] = [2, 0.5, 1]
    bn.gamma[...] = [1.5, 0.5, -1]
    bn.training = False
    check_layer(bn, rng.standard_normal((4, 3, 2, 2)), rng)


class FixedMaskDropout(Dropout):
    """Dropout that draws the same mask on every forward call (reseeded), for numerical gradients."""

    def forward(self, x):
        self.rng = np.random.default_rng(7)
        return super().forward(x)


def test_dropout_gradient_with_a_fixed_mask(rng):
    check_layer(FixedMaskDropout(0.3), rng.standard_normal((5, 8)), rng)


def test_dropout_is_inverted_seeded_and_identity_in_eval(rng):
    x = np.ones((400, 50), dtype=np.float32)
    d = Dropout(0.25, seed=3)
    y = d.forward(x)
    assert set(np.unique(y)) == {0, np.float32(1 / 0.75)}
    assert abs((y == 0).mean() - 0.25) < 0.01 and abs(y.mean() - 1) < 0.02
    np.testing.assert_array_equal(Dropout(0.25, seed=3).forward(x), y)       # same seed, same mask
    assert not np.array_equal(d.forward(x), y)                                # a new mask per batch
    np.testing.assert_array_equal(d.backward(np.ones_like(x)), d.mask)
    d.training = False
    assert d.forward(x) is x and d.backward(x) is x


def test_conv_matches_the_definition(rng):
    conv = Conv2D(2, 3, 3, stride=2, padding=1, dtype=np.float64)
    conv.b[...] = rng.standard_normal(3)
    x = rng.standard_normal((2, 2, 5, 6))
    z = conv.forward(x)
    assert z.shape == (2, 3, 3, 3) and conv.output_shape((2, 5, 6)) == (3, 3, 3)
    xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    expected = np.zeros_like(z)
    for i in range(3):
        for j in range(3):
            patch = xp[:, :, 2 * i:2 * i + 3, 2 * j:2 * j + 3]
            expected[:, :, i, j] = np.einsum("ncuv,ocuv->no", patch, conv.W) + conv.b
    np.testing.assert_allclose(z, expected, rtol=1e-12)


def test_maxpool_sends_ties_to_the_first_max():
    x = np.array([[[[1.0, 1.0], [0.0, 1.0]]]])
    p = MaxPool2D(2)
    assert p.forward(x)[0, 0, 0, 0] == 1
    np.testing.assert_array_equal(p.backward(np.ones((1, 1, 1, 1)))[0, 0], [[1, 0], [0, 0]])


def test_conv_eval_in_slices_equals_one_pass(rng, monkeypatch):
    conv = Conv2D(3, 4, 3, padding=1, dtype=np.float64)
    x = rng.standard_normal((10, 3, 6, 6))
    full = conv.forward(x)
    conv.training = False
    monkeypatch.setattr(Conv2D, "eval_elements", 3 * 36 * 27)       # 3 samples at a time
    np.testing.assert_allclose(conv.forward(x), full, rtol=1e-13)


def test_batchnorm_running_statistics_and_modes(rng):
    bn = BatchNorm(2, momentum=0.1, dtype=np.float64)
    x = rng.standard_normal((8, 2, 3, 3)) * [[[[2.0]], [[0.5]]]] + [[[[1.0]], [[-3.0]]]]
    y = bn.forward(x)
    np.testing.assert_allclose(y.mean(axis=(0, 2, 3)), 0, atol=1e-12)
    np.testing.assert_allclose(y.var(axis=(0, 2, 3)), 1, rtol=1e-3)
    mu, var = x.mean(axis=(0, 2, 3)), x.var(axis=(0, 2, 3), ddof=1)
    np.testing.assert_allclose(bn.running_mean, 0.1 * mu)
    np.testing.assert_allclose(bn.running_var, 0.9 + 0.1 * var)
    bn.training = False
    expected = (x - bn.running_mean[:, None, None]) / np.sqrt(bn.running_var[:, None, None] + 1e-5)
    np.testing.assert_allclose(bn.forward(x), expected, rtol=1e-12)


# inside a model -----------------------------------------------------------------------------------
SPEC = "conv(4,3,padding=1)-bn-relu-pool(2)-conv(6,3)-relu-avgpool(2)-flatten-dense(16)-bn-relu-dropout(0.3)-dense(10)"


def small_cnn(seed=0, dtype=np.float32):
    return numnet.Sequential(build(SPEC, input_shape=(12, 12)), dtype=dtype, seed=seed)


def test_model_gradients_float64(rng):
    """The whole stack (channels-last views between layers) against central differences."""
    model = numnet.Sequential(build("conv(3,3,padding=1)-relu-pool(2)-bn-conv(4,2)-flatten-dense(10)",
                                    input_shape=(6, 6)), dtype=np.float64, seed=2)
    x, y = rng.standard_normal((4, 6, 6)), np.array([1, 2, 3, 4])
    check_model(model, x, y, atol=1e-9)      # atol: entries that are 0, e.g. of a channel ReLU silenced


def test_cnn_learns_and_saves(mnist, tmp_path):
    (x, y), (xt, yt) = mnist
    x12, xt12 = x[:1500, 2:26:2, 2:26:2], xt[:500, 2:26:2, 2:26:2]          # 12x12 MNIST, quick
    model = numnet.Sequential(build("conv(8,3,padding=1)-bn-pool(2)-relu-flatten-dropout(0.2)-dense(10)",
                                    input_shape=(12, 12)), seed=1)
    history = model.fit(x12, y[:1500], epochs=4, batch_size=50, optimizer=numnet.AdamW(3e-3),
                        schedule=numnet.schedules.OneCycle(3e-3), augment=numnet.RandomAffine(1, 5, 0.05),
                        validation_data=(xt12, yt[:500]), seed=1)
    assert history[-1]["val_accuracy"] > 0.6                                # chance: 0.1
    model = small_cnn(seed=1)
    model.fit(x12[:300], y[:300], epochs=1, batch_size=50)
    assert all(not l.training for l in model.layers)                        # fit leaves eval mode
    path = model.save(tmp_path / "cnn.npz")
    loaded = numnet.load(path)
    assert [l.config() for l in loaded.layers] == [l.config() for l in model.layers]
    np.testing.assert_array_equal(loaded.layers[2].running_var, model.layers[2].running_var)
    np.testing.assert_array_equal(loaded.predict_proba(xt12), model.predict_proba(xt12))
    # same seed, same training (dropout masks, augmentation and batch order are all seeded)
    again = small_cnn(seed=1)
    again.fit(x12[:200], y[:200], epochs=1, batch_size=50, augment=numnet.RandomAffine(), seed=4)
    twice = small_cnn(seed=1)
    twice.fit(x12[:200], y[:200], epochs=1, batch_size=50, augment=numnet.RandomAffine(), seed=4)
    np.testing.assert_array_equal(again.flat_params, twice.flat_params)


def test_cli_trains_an_arch_and_rejects_bad_specs(tmp_path, capsys):
    import json

    from numnet.cli import main

    path = tmp_path / "m.npz"
    code = main(["train", "--arch", "conv(4,5)-pool(2)-relu-flatten-dense(10)", "--epochs", "2", "--limit", "1000",
                 "--batch-size", "20", "--lr", "3e-3",
                 "--json", "--save", str(path)])
    result = json.loads(capsys.readouterr().out)
    assert code == 0 and result["test_accuracy"] > 0.6
    assert type(numnet.load(path).layers[1]).__name__ == "Conv2D"
    assert main(["train", "--arch", "conv(4,5)-frobnicate-dense(10)"]) == 2
    assert "unknown layer" in capsys.readouterr().err
    assert main(["train", "--model", "cnn", "--arch", "dense(10)"]) == 2
