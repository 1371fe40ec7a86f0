import gzip
import hashlib
import os
import shutil

import numpy as np
import pytest

import numnet
from numnet import DatasetError
from numnet.data.datasets import BUNDLED_MNIST, FILES, MNIST_SHA256, _load_folder
from numnet.data.idx import write_idx


def test_bundled_mnist_shapes(mnist):
    (x_train, y_train), (x_test, y_test) = mnist
    assert x_train.shape == (60000, 28, 28) and x_train.dtype == np.uint8
    assert y_train.shape == (60000,) and y_train.dtype == np.uint8
    assert x_test.shape == (10000, 28, 28) and y_test.shape == (10000,)
    assert set(np.unique(y_train)) == set(range(10))
    # the well-known first labels of MNIST
    assert list(y_train[:5]) == [5, 0, 4, 1, 9] and list(y_test[:3]) == [7, 2, 1]


def test_bundled_digests_match_the_shared_sums():
    with open(os.path.join(BUNDLED_MNIST, "SHA256SUMS")) as f:
        sums = dict(line.split()[::-1] for line in f if line.strip())
    assert sums == MNIST_SHA256
    for name, digest in MNIST_SHA256.items():
        with gzip.open(os.path.join(BUNDLED_MNIST, name + ".gz")) as f:
            assert hashlib.sha256(f.read()).hexdigest() == digest


def make_folder(path, n_train=12, n_test=5, gz=True, rng=None):
    rng = rng or np.random.default_rng(0)
    os.makedirs(path, exist_ok=True)
    arrays = {
        "train_images": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "train_labels": rng.integers(0, 10, n_train, dtype=np.uint8),
        "test_images": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "test_labels": rng.integers(0, 10, n_test, dtype=np.uint8),
    }
    for role, arr in arrays.items():
        write_idx(os.path.join(path, FILES[role] + (".gz" if gz else "")), arr)
    return arrays


@pytest.mark.parametrize("gz", [True, False])
def test_data_dir(tmp_path, gz):
    arrays = make_folder(tmp_path / "d", gz=gz)
    (xt, yt), (xs, ys) = numnet.load_mnist(tmp_path / "d")
    np.testing.assert_array_equal(xt, arrays["train_images"])
    np.testing.assert_array_equal(ys, arrays["test_labels"])


def test_missing_folder_and_file(tmp_path):
    with pytest.raises(DatasetError, match="no such data folder"):
        numnet.load_mnist(tmp_path / "nope")
    make_folder(tmp_path / "d")
    os.remove(tmp_path / "d" / "t10k-labels-idx1-ubyte.gz")
    _load_folder.cache_clear()
    with pytest.raises(DatasetError, match="missing t10k-labels"):
        numnet.load_mnist(tmp_path / "d")


def test_count_mismatch(tmp_path):
    make_folder(tmp_path / "d")
    write_idx(tmp_path / "d" / "train-labels-idx1-ubyte.gz", np.zeros(3, np.uint8))
    with pytest.raises(DatasetError, match="12 images but 3 labels"):
        numnet.load_mnist(tmp_path / "d")


def test_damaged_bundle_is_caught(tmp_path, monkeypatch):
    d = tmp_path / "bundle"
    shutil.copytree(BUNDLED_MNIST, d)
    (xt, yt), _ = numnet.load_mnist()
    labels = np.array(yt)
    labels[0] = (labels[0] + 1) % 10  # one flipped label, still a valid IDX file
    write_idx(d / "train-labels-idx1-ubyte.gz", labels)
    with pytest.raises(DatasetError, match="SHA-256 mismatch"):
        _load_folder(str(d), True)
