"""Issue 13, fuzzing (hypothesis, bounded example counts): random and mutated IDX files and image
files. The property: a correct load or a clean numnet error (DatasetError, ImageError), never
another exception, and within a deadline."""
import gzip
import io
import struct
import zlib

import numpy as np
import pytest

hypothesis = pytest.importorskip("hypothesis", reason="the fuzz tests use hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from numnet.data.idx import IDX_DTYPES, read_idx, write_idx  # noqa: E402
from numnet.errors import DatasetError  # noqa: E402

FUZZ = settings(max_examples=100, deadline=5000, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


def parse_idx(raw: bytes):
    """An independent reading of IDX bytes: the array, or None when they are not a valid file."""
    if len(raw) < 4 or raw[0] or raw[1] or raw[2] not in IDX_DTYPES or not 1 <= raw[3] <= 4:
        return None
    ndim, dtype = raw[3], IDX_DTYPES[raw[2]]
    if len(raw) < 4 + 4 * ndim:
        return None
    dims = struct.unpack(f">{ndim}I", raw[4:4 + 4 * ndim])
    payload = raw[4 + 4 * ndim:]
    if len(payload) != int(np.prod(dims, dtype=object)) * dtype.itemsize:
        return None
    return np.frombuffer(payload, dtype=dtype).reshape(dims).astype(dtype.newbyteorder("="))


def gzip_members(raw: bytes, cuts) -> bytes:
    """``raw`` as several concatenated gzip members, split at ``cuts`` (valid gzip)."""
    points = sorted({min(max(c, 0), len(raw)) for c in cuts} | {0, len(raw)})
    return b"".join(gzip.compress(raw[a:b]) for a, b in zip(points, points[1:]))


def check_idx(tmp_path, data: bytes, raw: bytes | None):
    """read_idx on ``data`` (the file) agrees with parse_idx on ``raw`` (its decompressed bytes,
    None when they cannot be had)."""
    path = tmp_path / "f"
    path.write_bytes(data)
    expected = parse_idx(raw) if raw is not None else None
    try:
        got = read_idx(path)
    except DatasetError as e:
        assert str(path) in str(e) and "\n" not in str(e)
        assert expected is None or expected.nbytes > 1 << 20, f"valid file refused: {e}"
        return
    assert expected is not None, "invalid file accepted"
    assert got.dtype == expected.dtype and got.shape == expected.shape
    np.testing.assert_array_equal(got, expected)


def gunzip(data: bytes):
    try:
        return gzip.decompress(data)
    except (OSError, EOFError, zlib.error):
        return None


@FUZZ
@given(data=st.binary(max_size=300), gz=st.booleans())
def test_random_bytes(tmp_path, data, gz):
    check_idx(tmp_path, gzip.compress(data) if gz else data, data)


@st.composite
def idx_files(draw):
    """Bytes of a valid IDX file: a random small array of a random IDX dtype."""
    code = draw(st.sampled_from(sorted(IDX_DTYPES)))
    shape = tuple(draw(st.lists(st.integers(0, 5), min_size=1, max_size=4)))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    arr = (rng.standard_normal(shape) * 100).astype(IDX_DTYPES[code].newbyteorder("="))
    header = bytes([0, 0, code, len(shape)]) + struct.pack(f">{len(shape)}I", *shape)
    return header + arr.astype(IDX_DTYPES[code]).tobytes()


mutations = st.lists(st.tuples(st.sampled_from(["flip", "cut", "insert", "append", "dim"]),
                               st.integers(0, 400), st.integers(0, 255)), max_size=3)


def mutate(raw: bytes, ops) -> bytes:
    b = bytearray(raw)
    for op, pos, value in ops:
        if op == "flip" and b:
            b[pos % len(b)] ^= value or 1
        elif op == "cut":
            del b[pos % (len(b) + 1):]
        elif op == "insert":
            b.insert(pos % (len(b) + 1), value)
        elif op == "append":
            b += bytes([value]) * (pos % 9)
        elif op == "dim" and len(b) >= 8:              # a dimension made huge or different
            b[4:8] = struct.pack(">I", (value << 24) | pos)
    return bytes(b)


@FUZZ
@given(raw=idx_files(), ops=mutations, gz=st.booleans())
def test_mutated_files(tmp_path, raw, ops, gz):
    bad = mutate(raw, ops)
    check_idx(tmp_path, gzip.compress(bad) if gz else bad, bad)


@FUZZ
@given(raw=idx_files(), ops=mutations)
def test_mutated_gzip_streams(tmp_path, raw, ops):
    data = mutate(gzip.compress(raw), ops)
    check_idx(tmp_path, data, gunzip(data))


@FUZZ
@given(raw=idx_files(), cuts=st.lists(st.integers(0, 300), max_size=4))
def test_several_gzip_members_load(tmp_path, raw, cuts):
    data = gzip_members(raw, cuts)
    path = tmp_path / "f.gz"
    path.write_bytes(data)
    np.testing.assert_array_equal(read_idx(path), parse_idx(raw))


def test_multi_member_mnist_style_file(tmp_path):
    """``cat a.gz b.gz``: header in one member, the images in two more."""
    images = np.random.default_rng(0).integers(0, 256, (50, 28, 28), dtype=np.uint8)
    write_idx(tmp_path / "one.gz", images)
    raw = gzip.decompress((tmp_path / "one.gz").read_bytes())
    (tmp_path / "three.gz").write_bytes(gzip_members(raw, [16, 16 + 20 * 784]))
    np.testing.assert_array_equal(read_idx(tmp_path / "three.gz"), images)


# images -------------------------------------------------------------------------------------------
Image = pytest.importorskip("PIL.Image", reason="reading images needs Pillow")
from numnet.data.imagefile import ImageError  # noqa: E402
from numnet.data.preprocess import load_digit, read_image  # noqa: E402


def encoded(fmt: str, mode: str = "L", size=(24, 20)) -> bytes:
    rng = np.random.default_rng(0)
    a = rng.integers(0, 256, (size[1], size[0], len(mode) if mode != "P" else 1), dtype=np.uint8)
    im = Image.fromarray(a[..., 0] if a.shape[2] == 1 else a, "L" if mode == "P" else mode)
    if mode == "P":
        im = im.convert("P")
    buf = io.BytesIO()
    im.save(buf, format=fmt)
    return buf.getvalue()


SAMPLES = [encoded("PNG"), encoded("PNG", "RGBA"), encoded("JPEG"), encoded("BMP", "RGB"), encoded("GIF", "P"),
           encoded("PNG", "LA")]


def check_image(tmp_path, data: bytes):
    path = tmp_path / "x.img"
    path.write_bytes(data)
    try:
        gray = read_image(path)
    except ImageError as e:
        assert "\n" not in str(e)
        return
    assert gray.ndim == 2 and gray.dtype == np.float64 and 0 <= gray.min() and gray.max() <= 1
    if gray.size > 250_000:            # within the limits, but seconds of preprocessing: reading is the test
        return
    try:
        digit = load_digit(path)
    except ImageError:
        return
    assert digit.shape == (28, 28) and digit.dtype == np.uint8


@FUZZ
@given(sample=st.sampled_from(SAMPLES), ops=st.lists(st.tuples(st.sampled_from(["flip", "cut", "insert", "append"]),
                                                                st.integers(0, 80), st.integers(0, 255)), max_size=4))
def test_mutated_image_headers(tmp_path, sample, ops):
    check_image(tmp_path, mutate(sample, ops))


@FUZZ
@given(width=st.integers(0, 2**31 - 1), height=st.integers(0, 2**31 - 1), color=st.sampled_from([0, 2, 3, 4, 6]))
def test_png_header_sizes(tmp_path, width, height, color):
    """Any width × height in a well-formed PNG header (valid CRC): refused or read, never a crash."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, color, 0, 0, 0)

    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    check_image(tmp_path, b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 99))
                + chunk(b"IEND", b""))


@FUZZ
@given(width=st.integers(-2**31, 2**31 - 1), height=st.integers(-2**31, 2**31 - 1))
def test_bmp_header_sizes(tmp_path, width, height):
    bmp = bytearray(encoded("BMP", "RGB"))
    bmp[18:26] = struct.pack("<ii", width, height)
    check_image(tmp_path, bytes(bmp))


@FUZZ
@given(width=st.integers(0, 65535), height=st.integers(0, 65535))
def test_gif_header_sizes(tmp_path, width, height):
    gif = bytearray(encoded("GIF", "P"))
    gif[6:10] = struct.pack("<HH", width, height)
    check_image(tmp_path, bytes(gif))
