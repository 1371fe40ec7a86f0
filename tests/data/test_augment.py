"""Batch augmentation: RandomAffine's geometry, mirrors and seeding."""
import numpy as np
import pytest

import numnet
from numnet import ConfigError
from numnet.data.augment import RandomAffine, get


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
