import gzip
import struct

import numpy as np
import pytest

from numnet import DatasetError
from numnet.data.idx import read_idx, write_idx


@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64])
@pytest.mark.parametrize("name", ["a.idx", "a.idx.gz"])
def test_round_trip(tmp_path, rng, dtype, name):
    arr = (rng.standard_normal((3, 4, 5)) * 50).astype(dtype)
    path = tmp_path / name
    write_idx(path, arr)
    back = read_idx(path)
    assert back.dtype == np.dtype(dtype) and back.shape == (3, 4, 5)
    np.testing.assert_array_equal(back, arr)


def test_gzip_detected_by_content_not_name(tmp_path):
    arr = np.arange(12, dtype=np.uint8).reshape(3, 4)
    write_idx(tmp_path / "x", arr, compress=True)
    np.testing.assert_array_equal(read_idx(tmp_path / "x"), arr)


def raw(tmp_path, data, gz=False):
    path = tmp_path / ("f.gz" if gz else "f")
    path.write_bytes(gzip.compress(data) if gz else data)
    return path


@pytest.mark.parametrize("gz", [False, True])
@pytest.mark.parametrize("data, problem", [
    (b"", "truncated header"),
    (b"\x00\x00", "truncated header"),
    (b"\x01\x02\x08\x01" + struct.pack(">I", 1) + b"x", "bad magic"),
    (b"\x00\x00\x07\x01" + struct.pack(">I", 1) + b"x", "dtype code"),
    (b"\x00\x00\x08\x00", "dimensions"),
    (b"\x00\x00\x08\x09", "dimensions"),
    (b"\x00\x00\x08\x03" + struct.pack(">I", 2), "dimension sizes missing"),
    (b"\x00\x00\x08\x02" + struct.pack(">II", 2, 3) + b"12345", "needs 6|disagrees|truncated"),
    (b"\x00\x00\x08\x01" + struct.pack(">I", 2) + b"123", "needs 2|disagrees|trailing"),
    (b"\x00\x00\x08\x03" + struct.pack(">III", 2**32 - 1, 2**32 - 1, 2**32 - 1) + b"x", "more than the limit"),
    (b"\x00\x00\x0e\x02" + struct.pack(">II", 60000, 60000) + b"x", "more than the limit"),
])
def test_malformed_files_raise_dataset_error(tmp_path, data, problem, gz):
    path = raw(tmp_path, data, gz)
    with pytest.raises(DatasetError, match=problem) as info:
        read_idx(path)
    msg = str(info.value)
    assert str(path) in msg and "\n" not in msg


def test_absurd_gzip_payload_is_refused_before_allocation(tmp_path):
    # header declares 0.9 GB of uint8 (under the limit) but the file is tiny: deflate cannot expand
    # a few dozen bytes that far, so nothing large is allocated
    data = b"\x00\x00\x08\x03" + struct.pack(">III", 1000, 1000, 900) + b"abc"
    path = raw(tmp_path, data, gz=True)
    with pytest.raises(DatasetError, match="can hold"):
        read_idx(path)


def test_not_gzip_garbage_and_missing(tmp_path):
    path = tmp_path / "g.gz"
    path.write_bytes(b"\x1f\x8b" + b"garbage" * 10)
    with pytest.raises(DatasetError):
        read_idx(path)
    with pytest.raises(DatasetError, match="no such file"):
        read_idx(tmp_path / "missing")


def test_limit_is_configurable(tmp_path):
    write_idx(tmp_path / "a", np.zeros((10, 10), np.uint8))
    with pytest.raises(DatasetError, match="limit"):
        read_idx(tmp_path / "a", max_bytes=50)
