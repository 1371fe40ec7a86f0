"""Item 7 of issue 26: a model file is checked for what it will allocate before any command uses it.
``numnet.load`` walks the file's layers from its saved input shape against the size limits (a
crafted conv padding whose arrays are all consistent would need gigabytes a sample), and reads the
``__config__`` entry's .npy header before its text (a header declaring 1e11 characters)."""
import io
import json
import tracemalloc
import zipfile

import numpy as np
import pytest

import numnet
from numnet.architectures import build

from ..helpers import assert_one_line, run_cli


def rewrite_config(src, dst, config_entry: bytes):
    """A copy of the model file ``src`` with ``__config__.npy`` replaced by ``config_entry``."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for info in zin.infolist():
            zout.writestr(info.filename, config_entry if info.filename == "__config__.npy" else zin.read(info))
    return dst


def npy(value) -> bytes:
    buf = io.BytesIO()
    np.save(buf, value, allow_pickle=False)
    return buf.getvalue()


@pytest.fixture(scope="module")
def cnn(tmp_path_factory):
    """A small CNN (conv → relu → global average pool → dense: its arrays do not depend on the padding)
    saved with input shape 28×28, and its config."""
    model = numnet.Sequential(build("conv(2,3)-relu-gap-dense(10)"), seed=0)
    model.input_shape = (28, 28)
    path = tmp_path_factory.mktemp("budget") / "cnn.npz"
    model.save(path)
    return path, model.config()


def loads_refused(path, *needles):
    tracemalloc.start()
    try:
        with pytest.raises(numnet.ModelFileError) as info:
            numnet.load(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8 << 20, peak
    for needle in needles:
        assert needle in str(info.value)
    assert "\n" not in str(info.value)


def test_a_padding_that_needs_gigabytes_is_refused_at_load(cnn, tmp_path):
    path, cfg = cnn
    numnet.load(path)                                         # the honest file loads
    cfg = json.loads(json.dumps(cfg))
    conv = next(c for c in cfg["layers"] if c["type"] == "Conv2D")
    conv["padding"] = [3000, 3000]                            # 6026² windows of 3×3: 327M values a sample
    bad = rewrite_config(path, tmp_path / "pad.npz", npy(np.array(json.dumps(cfg))))
    loads_refused(bad, "Conv2D", "values per sample", "limit")
    for command in (["evaluate", bad], ["summary", bad], ["explain", bad]):
        code, _, err = run_cli(*command, timeout=60)         # before: 5 GB and a crash
        assert_one_line(code, err, "values per sample")


def test_a_padding_within_the_limits_still_loads(cnn, tmp_path):
    path, cfg = cnn
    cfg = json.loads(json.dumps(cfg))
    next(c for c in cfg["layers"] if c["type"] == "Conv2D")["padding"] = [20, 20]
    model = numnet.load(rewrite_config(path, tmp_path / "pad20.npz", npy(np.array(json.dumps(cfg)))))
    assert model.predict(np.zeros((3, 28, 28), np.uint8)).shape == (3,)


def test_a_config_header_declaring_1e11_characters_is_refused(cnn, tmp_path):
    path, _ = cnn
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<U1", "fortran_order": False, "shape": (10**11,)})
    bad = rewrite_config(path, tmp_path / "huge.npz", header.getvalue() + b"{\0\0\0" * 8)
    loads_refused(bad, "config entry", "(100000000000,)")
    for command in (["evaluate", bad], ["summary", bad]):
        code, _, err = run_cli(*command, timeout=60)         # before: a MemoryError traceback
        assert_one_line(code, err, "config entry")


@pytest.mark.parametrize("value", [np.array(["{}", "{}"]), np.zeros(3), np.array(b"{}")])
def test_a_config_that_is_not_one_string_is_refused(cnn, tmp_path, value):
    path, _ = cnn
    loads_refused(rewrite_config(path, tmp_path / "odd.npz", npy(value)), "config entry")
