"""Item 12 of issue 26: the preparation the page and `numnet predict` apply (crop, strokes, 20×20 box,
centre of mass) must leave a digit that is already MNIST-shaped almost as it is, so the network
reads re-prepared MNIST digits as well as the originals."""
import numpy as np

from numnet.data.preprocess import to_mnist

from ..tinymodel import tiny_model


def test_preparing_mnist_test_digits_changes_little_and_keeps_accuracy(mnist):
    (_, _), (xt, yt) = mnist
    x, y = xt[:100], yt[:100]
    prepared = np.stack([to_mnist(d) for d in x])
    diff = np.abs(prepared.astype(np.float64) - x)
    assert diff.mean() < 3.0, diff.mean()                        # grey levels 0..255 (it was 7.6)
    per_digit = diff.mean(axis=(1, 2))
    # 9 in 10 digits keep their pixels (a thin stroke outside MNIST's usual range is still thickened,
    # and a centre of mass on a half pixel may round the other way: a one-pixel shift)
    assert np.percentile(per_digit, 90) < 5, np.percentile(per_digit, 90)     # it was 16
    for model in (tiny_model(), tiny_model(hidden=(16,))):
        raw, again = np.mean(model.predict(x) == y), np.mean(model.predict(prepared) == y)
        assert again >= raw - 0.01, (raw, again)


def test_a_digit_that_fits_the_box_passes_the_resampling_unchanged(mnist):
    """MNIST digit 1 is 20 px tall: scaling it "to 20 px" must not blur it."""
    (_, _), (xt, _) = mnist
    d = xt[1]
    prepared = to_mnist(d)
    rows = np.nonzero(prepared.any(axis=1))[0]
    assert rows[-1] - rows[0] + 1 == 20
    assert np.abs(prepared.astype(int) - d).max() <= 40        # only the faint edges' levels move a little
