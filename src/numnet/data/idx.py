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
import os
import struct
import zlib

import numpy as np

from ..errors import DatasetError
from ..files import write_file

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

#: refuse files that declare more than this many payload bytes (MNIST train images: 47 MB)
MAX_PAYLOAD_BYTES = 1 << 31
#: deflate's largest expansion: a 258-byte match per (at least) 2 bits, about 1032:1
MAX_GZIP_RATIO = 1032


def _is_gzip(path: str) -> bool:
    with open(path, "rb") as f:
        return f.read(2) == b"\x1f\x8b"


def read_idx(path, max_bytes: int = MAX_PAYLOAD_BYTES) -> np.ndarray:
    """Read an IDX file (raw or gzipped) into a native-endian array of the declared shape.

    Raises :class:`DatasetError` naming the file and the problem when the magic number, dtype
    code, number of dimensions or payload length is wrong.
    """
    path = os.fspath(path)

    def fail(problem: str) -> DatasetError:
        return DatasetError(f"{path}: {problem}")

    try:
        if not os.path.isfile(path):
            raise fail("no such file")
        gz = _is_gzip(path)
        opener = gzip.open if gz else open
        with opener(path, "rb") as f:
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
            dims = struct.unpack(f">{ndim}I", raw_dims)
            dtype = IDX_DTYPES[code]
            n_items = 1
            for d in dims:
                n_items *= d
            n_bytes = n_items * dtype.itemsize
            if n_bytes > max_bytes:
                raise fail(f"header declares {n_bytes} bytes of data {dims}, more than the limit {max_bytes}")
            header = 4 + 4 * ndim
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
            data = np.empty(n_bytes, dtype=np.uint8)     # read in place: no second copy
            got = f.readinto(memoryview(data))
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
