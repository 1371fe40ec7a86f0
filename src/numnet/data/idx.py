"""The IDX file format of MNIST (http://yann.lecun.com/exdb/mnist/), read and written safely.

Layout (big-endian)::

    magic  = 0x00 0x00 <dtype code> <ndim>
    dims   = ndim x uint32
    data   = prod(dims) items of the dtype, row-major

MNIST images have magic 2051 (uint8, 3 dims), labels 2049 (uint8, 1 dim). Files may be gzipped,
in one gzip member or several (``cat a.gz b.gz`` is valid gzip). The reader checks the header and
the declared size *before* allocating the array: against the file's length for a raw file, and for
a gzipped one against the most its compressed length can hold (deflate expands at most
:data:`MAX_GZIP_RATIO`-fold); the payload is then read in place and must end exactly where the
header says. A malformed, truncated or hostile file raises :class:`DatasetError`, never a
MemoryError or a hang.
"""
from __future__ import annotations

import contextlib
import gzip
import math
import os
import struct
import zlib

import numpy as np

from ..errors import DatasetError
from ..files import special_file, write_file

# dtype code -> big-endian numpy dtype, as in the IDX specification
IDX_DTYPES = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_CODES = {dt.newbyteorder("="): code for code, dt in IDX_DTYPES.items()}

#: the most bytes of data numnet reads from IDX files: one file, and a data folder's four files together
#: (``numnet.load_mnist``), from their headers before any payload is read: 1 GiB. MNIST's training
#: images are 47 MB, EMNIST's largest split (byclass) 547 MB; a hostile header declaring millions of
#: blank images (2 GB from a 2 MB gzip) is refused, not read
MAX_PAYLOAD_BYTES = 1 << 30
#: deflate's largest expansion: a 258-byte match per (at least) 2 bits, about 1032:1
MAX_GZIP_RATIO = 1032
#: the payload is read in pieces of this many bytes (GzipFile.readinto of the whole would first build
#: a bytes object of the same size: twice the data set's memory at the peak)
_READ_BYTES = 1 << 20


def _is_gzip(path: str) -> bool:
    with open(path, "rb") as f:
        return f.read(2) == b"\x1f\x8b"


def _fail(path):
    return lambda problem: DatasetError(f"{path}: {problem}")


def _open(path, fail):
    """The opened file (gunzipped when gzipped) after refusing a FIFO, a device or a folder."""
    kind = special_file(path)           # before open: a FIFO's open would wait for a writer forever
    if kind:
        raise fail(f"is {kind}, not a data file")
    if not os.path.isfile(path):
        raise fail("no such file")
    return gzip.open(path, "rb") if _is_gzip(path) else open(path, "rb")


def _header(f, fail):
    """(dims, dtype, header bytes) from the magic number and dimension sizes at the start of ``f``."""
    magic = f.read(4)
    if len(magic) < 4:
        raise fail("truncated header (file shorter than the 4-byte magic number)")
    if magic[0] != 0 or magic[1] != 0:
        raise fail(f"not an IDX file (bad magic number 0x{magic.hex()})")
    code, ndim = magic[2], magic[3]
    if code not in IDX_DTYPES:
        raise fail(f"unknown IDX dtype code 0x{code:02x}")
    if not 1 <= ndim <= 4:
        raise fail(f"unsupported number of dimensions {ndim} (1 to 4 allowed)")
    raw_dims = f.read(4 * ndim)
    if len(raw_dims) < 4 * ndim:
        raise fail("truncated header (dimension sizes missing)")
    return struct.unpack(f">{ndim}I", raw_dims), IDX_DTYPES[code], 4 + 4 * ndim


def payload_bytes(path) -> int:
    """The bytes of data an IDX file's header declares (raw or gzipped), reading the header only."""
    path = os.fspath(path)
    fail = _fail(path)
    try:
        with _open(path, fail) as f:
            dims, dtype, _ = _header(f, fail)
    except (OSError, EOFError, zlib.error) as e:
        raise fail(f"unreadable ({e.__class__.__name__}: {e})") from None
    return math.prod(dims) * dtype.itemsize


def read_idx(path, max_bytes: int = MAX_PAYLOAD_BYTES) -> np.ndarray:
    """Read an IDX file (raw or gzipped) into a native-endian array of the declared shape.

    Raises :class:`DatasetError` naming the file and the problem when it is not a regular file, or
    its magic number, dtype code, number of dimensions or payload length is wrong, or its header
    declares more than ``max_bytes`` of data.
    """
    path = os.fspath(path)
    fail = _fail(path)
    try:
        with _open(path, fail) as f:
            gz = isinstance(f, gzip.GzipFile)
            dims, dtype, header = _header(f, fail)
            n_bytes = math.prod(dims) * dtype.itemsize
            if n_bytes > max_bytes:
                raise fail(f"header declares {n_bytes:,} bytes of data {dims}, more than the limit of {max_bytes:,} "
                           f"({max_bytes / 2**30:g} GiB)")
            # check the declared length against the file before allocating anything
            if gz:
                room = MAX_GZIP_RATIO * os.path.getsize(path)
                if header + n_bytes > room:
                    raise fail(f"header declares {n_bytes} bytes of data {dims}, more than a gzip file of "
                               f"{os.path.getsize(path)} bytes can hold (truncated file?)")
            else:
                actual = os.path.getsize(path) - header
                if actual != n_bytes:
                    raise fail(f"payload is {actual} bytes but the header {dims} needs {n_bytes}")
            data = np.empty(n_bytes, dtype=np.uint8)     # read in place, piece by piece: no second copy
            view, got = memoryview(data), 0
            while got < n_bytes:
                n = f.readinto(view[got:got + _READ_BYTES])
                if not n:
                    break
                got += n
            if got != n_bytes:
                raise fail(f"truncated payload: {got} of {n_bytes} bytes")
            if f.read(1):
                raise fail("trailing bytes after the payload")
    except DatasetError:
        raise
    except (OSError, EOFError, zlib.error) as e:
        raise fail(f"unreadable ({e.__class__.__name__}: {e})") from None
    return data.view(dtype).reshape(dims).astype(dtype.newbyteorder("="), copy=False)


def write_idx(path, array: np.ndarray, compress: bool | None = None) -> None:
    """Write ``array`` as an IDX file, gzipped when ``compress`` (default: path ends in .gz), by the
    output-file policy (:func:`numnet.files.write_file`)."""
    path = os.fspath(path)
    array = np.asarray(array)
    code = _CODES.get(array.dtype.newbyteorder("="))
    if code is None:
        raise DatasetError(f"{path}: dtype {array.dtype} cannot be stored in IDX")
    if not 1 <= array.ndim <= 4:
        raise DatasetError(f"{path}: IDX stores 1 to 4 dimensions, not {array.ndim}")
    if compress is None:
        compress = path.endswith(".gz")
    header = bytes([0, 0, code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    payload = np.ascontiguousarray(array, dtype=IDX_DTYPES[code]).tobytes()

    def fill(f):
        with gzip.GzipFile(filename="", mode="wb", fileobj=f) if compress else contextlib.nullcontext(f) as out:
            out.write(header)
            out.write(payload)

    write_file(path, fill, "IDX file")
