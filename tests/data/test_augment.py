"""Batch augmentation: RandomAffine's geometry, mirrors and seeding; RandomInk's stroke changes; RandomErasing's
rectangles; the 'robust' and 'shift-flip-erase' chains."""
import numpy as np
import pytest

import numnet
from numnet import ConfigError
from numnet.data import augment
from numnet.data.augment import RandomAffine, RandomErasing, RandomInk, get


@pytest.fixture
def images(rng):
    return rng.random((40, 9, 7)).astype(np.float32)


def test_zero_ranges_are_the_identity(images, rng):
    out = RandomAffine(shift=0, rotation=0, scale=0)(images, rng)
    np.testing.assert_allclose(out, images, atol=1e-6)


def test_flip_one_mirrors_every_image_left_right(images, rng):
    out = RandomAffine(shift=0, rotation=0, scale=0, flip=1.0)(images, rng)
    np.testing.assert_allclose(out, images[..., ::-1], atol=1e-6)


def test_flip_half_mirrors_some_images_and_leaves_the_others(images, rng):
    out = RandomAffine(shift=0, rotation=0, scale=0, flip=0.5)(images, rng)
    same = np.all(np.abs(out - images) < 1e-6, axis=(1, 2))
    mirrored = np.all(np.abs(out - images[..., ::-1]) < 1e-6, axis=(1, 2))
    assert np.all(same | mirrored) and 5 < mirrored.sum() < 35


def test_shift_moves_the_centre_of_mass_by_at_most_the_shift(rng):
    x = np.zeros((200, 20, 20), np.float32)
    x[:, 8:12, 8:12] = 1
    out = get("shift")(x, rng)
    rows = np.arange(20)
    com_y = (out.sum(2) * rows).sum(1) / out.sum((1, 2))
    com_x = (out.sum(1) * rows).sum(1) / out.sum((1, 2))
    assert np.all(np.abs(com_y - 9.5) <= 2 + 1e-4) and np.all(np.abs(com_x - 9.5) <= 2 + 1e-4)
    assert np.std(com_y) > 0.5                       # the images really move, each its own way


def test_same_seed_same_batch_and_flat_rows(images):
    aug = get("shift-flip")
    a = aug(images, np.random.default_rng(3))
    b = aug(images, np.random.default_rng(3))
    np.testing.assert_array_equal(a, b)
    flat = RandomAffine(**numnet.data.augment.NAMED["shift-flip"], shape=(9, 7))(images.reshape(40, -1), np.random.default_rng(3))
    np.testing.assert_array_equal(flat.reshape(images.shape), a)


def test_bad_settings_raise(images, rng):
    with pytest.raises(ConfigError, match="unknown augmentation"):
        get("mirror")
    with pytest.raises(ConfigError, match="flip"):
        RandomAffine(flip=1.5)
    with pytest.raises(ConfigError, match="needs images"):
        RandomAffine()(images.reshape(40, -1), rng)


def test_far_shifts_read_background_zeros(images, rng):
    out = RandomAffine(shift=50, rotation=45, scale=0.5)(images, rng)   # most sources far outside
    assert np.all(np.isfinite(out)) and out.min() >= 0 and out.max() <= 1 + 1e-6
    assert np.mean(out == 0) > 0.5
    edge = RandomAffine(shift=0, rotation=0, scale=0)(np.ones((2, 4, 5), np.float32), rng)
    np.testing.assert_allclose(edge, 1, atol=1e-6)                     # borders are not darkened


# RandomInk and the 'robust' chain ---------------------------------------------------------------

def ink(**kw):
    off = dict(elastic=0, thickness=0, blur=0, contrast=0, noise=0)
    return RandomInk(**{**off, **kw})


def test_ink_with_every_knob_off_is_the_identity(images, rng):
    np.testing.assert_allclose(ink()(images, rng), images, atol=1e-6)


def test_ink_thickness_dilates_or_half_erodes_each_image(images, rng):
    out = ink(thickness=1)(images, rng)
    framed = np.pad(images, ((0, 0), (1, 1), (1, 1)))
    H, W = images.shape[1:]
    cross = np.stack([framed[:, 1 + dy:1 + dy + H, 1 + dx:1 + dx + W]
                      for dy, dx in ((0, 0), (-1, 0), (1, 0), (0, -1), (0, 1))])
    dilated, eroded = cross.max(axis=0), 0.5 * images + 0.5 * cross.min(axis=0)
    for o, d, e in zip(out, dilated, eroded):
        assert np.allclose(o, d, atol=1e-6) or np.allclose(o, e, atol=1e-6)
    assert out.sum() != images.sum()


def test_ink_blur_spreads_the_ink_and_keeps_its_total_and_fades_keep_the_range(images, rng):
    dot = np.zeros((1, 7, 7), np.float32)
    dot[0, 3, 3] = 1
    blurred = ink(blur=1)(dot, rng)[0]
    np.testing.assert_allclose(blurred[2:5, 2:5], np.outer([1, 2, 1], [1, 2, 1]) / 16, atol=1e-6)
    assert blurred.sum() == pytest.approx(1)
    faded = ink(contrast=0.5)(images, rng)
    assert faded.max() <= max(images.max(), 0.5 / 3) + 1e-6 and faded.min() >= 0
    noisy = ink(noise=0.5)(images, rng)
    assert noisy.min() >= 0 and noisy.max() <= 1 and not np.allclose(noisy, images)


def test_robust_chain_is_seeded_and_shaped(images):
    robust = augment.get("robust")
    a, b = robust(images, np.random.default_rng(5)), robust(images, np.random.default_rng(5))
    np.testing.assert_array_equal(a, b)
    assert a.shape == images.shape and a.dtype == images.dtype
    flat = images.reshape(len(images), -1)
    chained = augment.Chain(RandomAffine(shape=(9, 7)), RandomInk(shape=(9, 7)))
    assert chained(flat, np.random.default_rng(5)).shape == flat.shape
    assert robust.config()["steps"][1]["type"] == "ink"


@pytest.mark.parametrize("bad", [dict(elastic=-1), dict(thickness=2), dict(blur=-0.1), dict(contrast=1), dict(noise=-1)])
def test_bad_ink_settings_raise(bad):
    with pytest.raises(ConfigError):
        RandomInk(**bad)


def test_erasing_replaces_one_rectangle_of_the_chosen_share_of_images(rng):
    x = np.full((400, 12, 10), 2.0, dtype=np.float32)          # 2 is outside the noise's [0, 1)
    out = RandomErasing(p=0.5, area=(0.1, 0.3), ratio=0.5)(x, rng)
    changed = out != 2.0
    hit = changed.any(axis=(1, 2))
    assert 0.4 < hit.mean() < 0.6
    for mask in changed[hit]:
        rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
        assert mask[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1].all()            # one solid rectangle
        assert mask.sum() == len(rows) * len(cols)
        h, w = len(rows), len(cols)
        assert 0.1 * 120 - 12 <= h * w <= 0.3 * 120 + 12                          # area a·H·W, rounded sides
    assert out[changed].min() >= 0 and out[changed].max() < 1 and out.dtype == np.float32


def test_erasing_every_image_or_none_seeded_flat_rows_and_channels(rng):
    x = rng.random((30, 2, 8, 8))
    assert np.array_equal(RandomErasing(p=0)(x, rng), x)
    out = RandomErasing(p=1)(x, np.random.default_rng(3))
    diff = out != x
    assert diff.any(axis=(1, 2, 3)).all()
    np.testing.assert_array_equal(diff[:, 0], diff[:, 1])                       # the same rectangle in each channel
    np.testing.assert_array_equal(out, RandomErasing(p=1)(x, np.random.default_rng(3)))
    flat = x[:, 0].reshape(30, -1)
    assert RandomErasing(p=1, shape=(8, 8))(flat, rng).shape == flat.shape
    chain = get("shift-flip-erase")
    assert [s["type"] for s in chain.config()["steps"]] == ["affine", "erase"]
    for bad in (dict(p=2), dict(area=(0.5, 0.2)), dict(area=(0, 0.2)), dict(ratio=2)):
        with pytest.raises(ConfigError):
            RandomErasing(**bad)
    with pytest.raises(ConfigError, match="images"):
        RandomErasing()(flat, rng)
