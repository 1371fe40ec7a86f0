"""The hostile files of the probe (benchmarks/probe.py): crafted models, IDX sets, images, special files.
NumPy, zlib and Pillow only: no numnet import, so a broken numnet cannot break the crafting."""
from __future__ import annotations

import gzip
import json
import os
import shutil
import stat
import struct
import zipfile
import zlib
from pathlib import Path

import numpy as np
from probe import IS_ROOT, chown_away

MNIST = Path(__file__).resolve().parents[1] / "src" / "numnet" / "data" / "mnist"
STEMS = {"train_images": "train-images-idx3-ubyte", "train_labels": "train-labels-idx1-ubyte",
         "test_images": "t10k-images-idx3-ubyte", "test_labels": "t10k-labels-idx1-ubyte"}


# models ---------------------------------------------------------------------------------------
def edit_npz(src, dst, config=None, arrays=None):
    """Copy a model with its JSON config and/or arrays edited (``config(cfg)``, ``arrays(dict)`` in place)."""
    with np.load(src, allow_pickle=False) as z:
        entries = {k: z[k] for k in z.files}
    cfg = json.loads(str(entries.pop("__config__")))
    if config:
        config(cfg)
    if arrays:
        arrays(entries)
    with open(dst, "wb") as f:
        np.savez(f, **entries, __config__=np.array(json.dumps(cfg)))
    return dst


def huge_weights(src, dst, value=1e38):
    def scale(entries):
        for k in entries:
            if k.endswith(".W"):
                entries[k] = np.full_like(entries[k], value)
    return edit_npz(src, dst, arrays=scale)


def npy_header_entry(shape, descr="<U1") -> bytes:
    """The bytes of a .npy whose header declares ``shape`` but which holds almost nothing."""
    header = repr({"descr": descr, "fortran_order": False, "shape": shape}).encode()
    header += b" " * (63 - (10 + len(header)) % 64) + b"\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header + b"\x00" * 16


def npz_with_entry(src, dst, name, data: bytes):
    """``src`` with entry ``name`` replaced by raw ``data``."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for item in zin.infolist():
            if item.filename != name:
                zout.writestr(item, zin.read(item.filename))
        zout.writestr(name, data)
    return dst


def flip_middle(src, dst):
    data = bytearray(Path(src).read_bytes())
    for i in range(len(data) // 3, len(data) // 3 + 64):
        data[i] ^= 0xFF
    Path(dst).write_bytes(bytes(data))
    return dst


# data sets ------------------------------------------------------------------------------------
def idx_bytes(arr: np.ndarray) -> bytes:
    return struct.pack(">BBBB", 0, 0, 0x08, arr.ndim) + struct.pack(f">{arr.ndim}I", *arr.shape) + arr.tobytes()


def write_set(folder, n_train=60, n_test=20, size=28, classes=10, images=None):
    """An MNIST-style folder (gzipped IDX) of random images."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    arrays = {"train_images": rng.integers(0, 256, (n_train, size, size), dtype=np.uint8),
              "train_labels": (np.arange(n_train) % classes).astype(np.uint8),
              "test_images": rng.integers(0, 256, (n_test, size, size), dtype=np.uint8),
              "test_labels": (np.arange(n_test) % classes).astype(np.uint8)}
    arrays.update(images or {})
    for role, arr in arrays.items():
        with gzip.open(folder / (STEMS[role] + ".gz"), "wb", compresslevel=1) as f:
            f.write(idx_bytes(arr))
    return folder


def bundled_train(folder):
    """The bundled MNIST training files copied into ``folder``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for role in ("train_images", "train_labels"):
        shutil.copyfile(MNIST / (STEMS[role] + ".gz"), folder / (STEMS[role] + ".gz"))
    return folder


def huge_count_idx(path, count=10**9):
    """An IDX image file whose header declares ``count`` 28×28 images and holds one."""
    Path(path).write_bytes(struct.pack(">BBBBIII", 0, 0, 8, 3, count, 28, 28) + bytes(784))


def blank_gz_set(folder, count=2_600_000, cache=None):
    """A test set of ``count`` blank 28×28 images, gzipped to about 2 MB (issue 26 item 9)."""
    folder = Path(folder)
    bundled_train(folder)
    images, labels = folder / (STEMS["test_images"] + ".gz"), folder / (STEMS["test_labels"] + ".gz")
    if cache and Path(cache, images.name).exists():
        shutil.copyfile(Path(cache, images.name), images)
        shutil.copyfile(Path(cache, labels.name), labels)
        return folder
    zero = bytes(784 * 10000)
    with gzip.open(images, "wb", compresslevel=9) as f:
        f.write(struct.pack(">BBBBIII", 0, 0, 8, 3, count, 28, 28))
        for start in range(0, count, 10000):
            f.write(zero[: 784 * min(10000, count - start)])
    with gzip.open(labels, "wb", compresslevel=9) as f:
        f.write(struct.pack(">BBBBI", 0, 0, 8, 1, count) + bytes(count))
    if cache:
        Path(cache).mkdir(parents=True, exist_ok=True)
        shutil.copyfile(images, Path(cache, images.name))
        shutil.copyfile(labels, Path(cache, labels.name))
    return folder


def mnist_test_digits(n=30):
    """The first ``n`` bundled MNIST test digits and labels (uint8)."""
    with gzip.open(MNIST / (STEMS["test_images"] + ".gz")) as f:
        images = np.frombuffer(f.read(16 + 784 * n)[16:], np.uint8).reshape(n, 28, 28)
    with gzip.open(MNIST / (STEMS["test_labels"] + ".gz")) as f:
        labels = np.frombuffer(f.read(8 + n)[8:], np.uint8)
    return images, labels


# images ---------------------------------------------------------------------------------------
def digit_png(path, size=(200, 200), digit=None):
    """A dark '7'-like stroke on light paper (Pillow), as a photo of a handwritten digit."""
    from PIL import Image, ImageDraw
    img = Image.new("L", size, 255)
    w, h = size
    draw = ImageDraw.Draw(img)
    draw.line([(w * 0.25, h * 0.2), (w * 0.75, h * 0.2), (w * 0.45, h * 0.85)], fill=0, width=max(3, w // 12))
    img.save(path)
    return path


def png_header_only(path, width=100_000, height=100_000):
    """A PNG whose IHDR declares width × height grey pixels but whose data is a few bytes."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    Path(path).write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
                           + chunk(b"IEND", b""))
    return path


# special files --------------------------------------------------------------------------------
def fifo(path):
    os.mkfifo(path)
    return path


def symlink_loop(path):
    os.symlink(os.path.basename(path), path)
    return path


def full_device(path):
    """A character device like /dev/full at ``path`` (as root: a node of our own, so that a rename
    over it cannot touch the real /dev/full); as a user, a link to /dev/full, which a user cannot replace."""
    if IS_ROOT:
        os.mknod(path, stat.S_IFCHR | 0o666, os.makedev(1, 7))
    else:
        os.symlink("/dev/full", path)
    return path


def unreadable(path, data=b"x" * 100):
    Path(path).write_bytes(data)
    os.chmod(path, 0)
    chown_away(path)
    return path


def read_only(path):
    """Make ``path`` (file or folder) read-only for the child (see probe.in_userns)."""
    os.chmod(path, 0o555 if Path(path).is_dir() else 0o444)
    chown_away(path)
    return path
