"""Datasets: MNIST bundled inside the package (works offline), or any folder in MNIST's naming.

MNIST: Yann LeCun, Corinna Cortes, Christopher J.C. Burges - http://yann.lecun.com/exdb/mnist/
License: CC BY-SA 3.0. The four official files ship in ``numnet/data/mnist``.
"""
from __future__ import annotations

import functools
import hashlib
import os
import struct

import numpy as np

from ..errors import DatasetError
from .idx import MAX_PAYLOAD_BYTES, payload_bytes, read_idx

BUNDLED_MNIST = os.path.join(os.path.dirname(__file__), "mnist")

#: the four files of an MNIST-style folder, by role
FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}

#: SHA-256 of the *decompressed* official MNIST files (the digests public loaders pin)
MNIST_SHA256 = {
    "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
    "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
}


def _find(data_dir: str, stem: str) -> str:
    """The file for ``stem`` in ``data_dir``: raw or gzipped, '-idx3-' or '.idx3-' spelling."""
    alt = stem.replace("-idx", ".idx")
    for name in (stem, stem + ".gz", alt, alt + ".gz"):
        path = os.path.join(data_dir, name)
        if os.path.lexists(path):
            return path               # read_idx refuses a FIFO, a device or a folder by this name
    raise DatasetError(f"{data_dir}: missing {stem} (or {stem}.gz)")


def _check_pair(images: np.ndarray, labels: np.ndarray, where: str) -> None:
    if images.ndim != 3 or labels.ndim != 1:
        raise DatasetError(f"{where}: expected images (N, H, W) and labels (N,), got {images.shape} and {labels.shape}")
    if len(images) != len(labels):
        raise DatasetError(f"{where}: {len(images)} images but {len(labels)} labels")
    if images.dtype != np.uint8 or labels.dtype != np.uint8:
        raise DatasetError(f"{where}: expected uint8 images and labels, got {images.dtype} and {labels.dtype}")


@functools.lru_cache(maxsize=4)
def _load_folder(data_dir: str, verify: bool):
    if not os.path.isdir(data_dir):
        raise DatasetError(f"{data_dir}: no such data folder")
    paths = {role: _find(data_dir, stem) for role, stem in FILES.items()}
    total = sum(payload_bytes(path) for path in paths.values())      # from the headers, before any data
    if total > MAX_PAYLOAD_BYTES:
        raise DatasetError(f"{data_dir}: its files declare {total:,} bytes of data, more than the limit of "
                           f"{MAX_PAYLOAD_BYTES:,} ({MAX_PAYLOAD_BYTES / 2**30:g} GiB) a data set may take in memory")
    arrays = {}
    for role, stem in FILES.items():
        arr = read_idx(paths[role])
        if verify and _idx_sha256(arr) != MNIST_SHA256[stem]:
            raise DatasetError(f"{data_dir}/{stem}: SHA-256 mismatch, the bundled MNIST is damaged; reinstall numnet")
        arr.flags.writeable = False  # cached and shared between callers
        arrays[role] = arr
    _check_pair(arrays["train_images"], arrays["train_labels"], data_dir + " (train)")
    _check_pair(arrays["test_images"], arrays["test_labels"], data_dir + " (test)")
    return (arrays["train_images"], arrays["train_labels"]), (arrays["test_images"], arrays["test_labels"])


def _idx_sha256(arr: np.ndarray) -> str:
    """SHA-256 of the decompressed IDX file that ``arr`` was read from (uint8 arrays), without
    copying the payload."""
    h = hashlib.sha256(bytes([0, 0, 0x08, arr.ndim]) + struct.pack(f">{arr.ndim}I", *arr.shape))
    h.update(np.ascontiguousarray(arr).data)
    return h.hexdigest()


def num_classes(y) -> int:
    """The class count of integer labels 0..K−1: K = largest label + 1 (0 for no labels)."""
    y = np.asarray(y)
    return int(y.max()) + 1 if y.size else 0


def check_labels(y, num_classes: int, where: str = "labels") -> None:
    """Raise :class:`DatasetError` unless every label is an integer in [0, num_classes)
    (a label −1 or 10 for 10 classes would be read as another class or crash later)."""
    y = np.asarray(y)
    if y.size == 0:
        return
    if y.dtype.kind not in "iu":
        if y.dtype.kind != "f" or not np.all(np.isfinite(y)) or not np.all(y == np.round(y)):
            raise DatasetError(f"{where}: labels must be integers, got {y.dtype}")
    lo, hi = y.min(), y.max()
    if lo < 0 or hi >= num_classes:
        bad = lo if lo < 0 else hi
        raise DatasetError(f"{where}: label {bad:g} is outside 0..{num_classes - 1} ({num_classes} classes)")


def binary_labels(y, digit: int) -> np.ndarray:
    """The labels of the yes/no task "is it the digit D?" (``numnet train --binary D``): 1 where the
    label is ``digit``, else 0."""
    return (np.asarray(y) == digit).astype(np.int64)


def load_mnist(data_dir: str | os.PathLike | None = None):
    """Load MNIST-style data: ``(x_train, y_train), (x_test, y_test)`` as read-only uint8 arrays.

    Shapes (bundled MNIST): x_train (60000, 28, 28), y_train (60000,), x_test (10000, 28, 28),
    y_test (10000,). With ``data_dir`` it reads any folder holding the four files in MNIST's
    naming, gzipped or not (e.g. Fashion-MNIST in /usr/share/datasets/fashion-mnist), whose headers
    declare at most :data:`~numnet.data.idx.MAX_PAYLOAD_BYTES` (1 GiB) of data in all; a FIFO, device
    or folder in a file's place is refused, not opened.
    The bundled copy is checked against the official SHA-256 digests (about 40 ms).
    """
    if data_dir is None:
        return _load_folder(BUNDLED_MNIST, True)
    return _load_folder(os.path.abspath(os.fspath(data_dir)), False)
