"""The IDX file format of MNIST (http://yann.lecun.com/exdb/mnist/), read and written safely.

Layout (big-endian)::

    magic  = 0x00 0x00 <dtype code> <ndim>
    dims   = ndim x uint32
    data   = prod(dims) items of the dtype, row-major

MNIST images have magic 2051 (uint8, 3 dims), labels 2049 (uint8, 1 dim). Files may be gzipped.
The reader checks the header, the declared size and the real payload length *before* allocating
the array, so a malformed, truncated or hostile file raises :class:`DatasetError`, never a
MemoryError or a hang.
"""
from __future__ import annotations

import gzip
import os
import struct
import zlib

import numpy as np

from .errors import DatasetError

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


def _is_gzip(path: str) -> bool:
    with open(path, "rb") as f:
        return f.read(2) == b"\x1f\x8b"


def _gzip_isize(path: str) -> int:
    """Uncompressed size modulo 2**32, from the gzip trailer (last 4 bytes)."""
    with open(path, "rb") as f:
        f.seek(-4, os.SEEK_END)
        return struct.unpack("<I", f.read(4))[0]


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
            # check the real payload length before allocating anything
            if gz:
                if _gzip_isize(path) != (header + n_bytes) % (1 << 32):
                    raise fail(f"payload length disagrees with the header {dims} (truncated or padded file)")
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
    """Write ``array`` as an IDX file; gzipped when ``compress`` (default: path ends in .gz)."""
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
    opener = gzip.open if compress else open
    tmp = path + ".part"
    with opener(tmp, "wb") as f:
        f.write(header)
        f.write(payload)
    os.replace(tmp, path)
