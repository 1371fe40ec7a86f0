"""Model files that lie: every one is refused with one ModelFileError, quickly, before anything
big is allocated; random mutations of a real file load correctly or fail the same clean way."""
import io
import json
import time
import tracemalloc
import zipfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import numnet
from numnet.io.serialize import arrays


def write(path, cfg, entries):
    """A .npz written by hand: __config__ (JSON text) and the given arrays."""
    with zipfile.ZipFile(path, "w") as zf:
        for key, value in {"__config__": np.array(json.dumps(cfg) if not isinstance(cfg, str) else cfg),
                           **entries}.items():
            buf = io.BytesIO()
            np.lib.format.write_array(buf, np.asarray(value), allow_pickle=False)
            zf.writestr(key + ".npy", buf.getvalue())
    return path


@pytest.fixture(scope="module")
def good(tmp_path_factory, mnist):
    (x, y), _ = mnist
    model = numnet.Sequential(numnet.mlp((8,)), seed=0)
    model.fit(x[:200], y[:200], epochs=1, batch_size=50)
    path = tmp_path_factory.mktemp("good") / "m.npz"
    model.save(path)
    cfg = model.config()
    return path, cfg, {k: v.copy() for k, v in arrays(model).items()}


def refused(path, *needles, budget_mb=50, seconds=5):
    tracemalloc.start()
    start = time.perf_counter()
    with pytest.raises(numnet.ModelFileError) as e:
        numnet.load(path)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert time.perf_counter() - start < seconds and peak < budget_mb * 2 ** 20, (time.perf_counter() - start, peak)
    message = str(e.value)
    assert "\n" not in message
    for needle in needles:
        assert needle in message, message
    return message


def test_a_huge_declared_dense_is_refused_before_allocation(tmp_path, good):
    _, cfg, entries = good
    cfg = json.loads(json.dumps(cfg))
    cfg["layers"][2].update(in_features=20000, out_features=20000)
    refused(write(tmp_path / "big.npz", cfg, entries), "declares")
    cfg["layers"][2].update(in_features=100000, out_features=100000)
    refused(write(tmp_path / "bigger.npz", cfg, entries), "declares")


def test_a_thousand_dense_layers_are_refused_before_allocation(tmp_path, good):
    _, cfg, entries = good
    cfg = json.loads(json.dumps(cfg))
    cfg["layers"] = [{"type": "Dense", "in_features": 784, "out_features": 784}] * 1000
    refused(write(tmp_path / "deep.npz", cfg, entries), "declares")


def test_a_huge_standardize_is_refused(tmp_path, good):
    _, cfg, entries = good
    cfg = json.loads(json.dumps(cfg))
    cfg["layers"][1]["shape"] = [10 ** 9]
    refused(write(tmp_path / "std.npz", cfg, entries), "declares")


def test_an_npy_header_that_claims_a_huge_shape_is_refused(tmp_path, good):
    path, cfg, entries = good
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f4", "fortran_order": False, "shape": (10 ** 11,)})
    data = tmp_path / "claims.npz"
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(data, "w") as dst:
        for item in src.infolist():
            content = src.read(item)
            if item.filename == "2.W.npy":
                content = b"\x93NUMPY\x01\x00" + header.getvalue()[8:] + b"\0" * 64
            dst.writestr(item.filename, content)
    refused(data, "2.W", "shape")


def test_a_float64_array_in_a_float32_model_names_its_dtype(tmp_path, good):
    _, cfg, entries = good
    entries = dict(entries, **{"2.W": entries["2.W"].astype(np.float64)})
    refused(write(tmp_path / "f64.npz", cfg, entries), "2.W", "dtype float64")


def test_a_zero_sigma_is_refused(tmp_path, good):
    _, cfg, entries = good
    refused(write(tmp_path / "std0.npz", cfg, dict(entries, **{"1.std": np.zeros(())})), "positive σ")


def test_a_very_deep_config_is_refused(tmp_path, good):
    deep = '{"a": ' * 100_000 + "1" + "}" * 100_000
    refused(write(tmp_path / "deep.npz", deep, {}), "config")


@pytest.mark.parametrize("key, value", [("history", 5), ("input_shape", "28"), ("info", [1]),
                                        ("input_shape", [28, -1]), ("layers", {"a": 1}), ("dtype", "int8")])
def test_config_fields_of_the_wrong_type_are_refused(tmp_path, good, key, value):
    _, cfg, entries = good
    cfg = dict(json.loads(json.dumps(cfg)), **{key: value})
    refused(write(tmp_path / "bad.npz", cfg, entries), key)


@pytest.mark.parametrize("value", [25.7, "25", True, float("inf")])
def test_non_integer_sizes_are_refused_not_truncated(tmp_path, good, value):
    _, cfg, entries = good
    cfg = json.loads(json.dumps(cfg))
    cfg["layers"][2]["out_features"] = value
    refused(write(tmp_path / "frac.npz", cfg, entries), "out_features")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_mutated_model_files_load_or_fail_cleanly(tmp_path_factory, good, data):
    """Random byte flips, truncations and JSON edits: a correct load or one ModelFileError."""
    path, cfg, entries = good
    raw = bytearray(path.read_bytes())
    kind = data.draw(st.sampled_from(["flip", "truncate", "json"]))
    target = tmp_path_factory.mktemp("fuzz") / "m.npz"
    if kind == "flip":
        for _ in range(data.draw(st.integers(1, 8))):
            i = data.draw(st.integers(0, len(raw) - 1))
            raw[i] = data.draw(st.integers(0, 255))
        target.write_bytes(bytes(raw))
    elif kind == "truncate":
        target.write_bytes(bytes(raw[:data.draw(st.integers(0, len(raw) - 1))]))
    else:
        mutated = json.loads(json.dumps(cfg))
        layer = data.draw(st.integers(0, len(mutated["layers"]) - 1))
        field = data.draw(st.sampled_from(sorted(mutated["layers"][layer])))
        mutated["layers"][layer][field] = data.draw(st.one_of(
            st.integers(-10 ** 12, 10 ** 12), st.floats(allow_nan=True), st.text(max_size=5), st.none(),
            st.lists(st.integers(-3, 10 ** 6), max_size=4)))
        write(target, mutated, entries)
    try:
        model = numnet.load(target)
    except numnet.ModelFileError as e:
        assert "\n" not in str(e)
    else:
        assert np.isfinite(model.flat_params).all()


def _patch_sizes(raw: bytearray, size: int, skip=b"__config__.npy"):
    """Rewrite the uncompressed size in every central-directory header (except ``skip``'s)."""
    import struct

    i = raw.find(b"PK\x01\x02")
    while i != -1:
        name_len = struct.unpack_from("<H", raw, i + 28)[0]
        if raw[i + 46:i + 46 + name_len] != skip:
            struct.pack_into("<I", raw, i + 24, size)
        i = raw.find(b"PK\x01\x02", i + 4)
    return raw


def test_zip_entries_that_lie_about_their_size_do_not_buy_a_bigger_model(tmp_path, good):
    """The size check counts what the arrays' zip entries say they hold; the file writes those
    numbers itself, so they are held to its bytes: a 2 KB file that claims 100 MB arrays and
    declares a 4000x4000 Dense is refused before the Dense is built."""
    _, cfg, entries = good
    cfg = json.loads(json.dumps(cfg))
    cfg["layers"][2].update(in_features=4000, out_features=4000)
    path = write(tmp_path / "liar.npz", cfg, entries)
    path.write_bytes(bytes(_patch_sizes(bytearray(path.read_bytes()), 100_000_000)))
    refused(path, "entry", budget_mb=20)
