"""Items 8 and 9 of issue 26. Item 8: what numnet reads must be a regular file; a FIFO (whose open
waits for a writer forever), a device or a folder in its place is refused in one line, before it is
opened: an image given to ``predict`` (the other images still get their predictions), a data file in
``--data-dir``, a sweep's journal. Item 9: a data set is held to ``MAX_PAYLOAD_BYTES`` (1 GiB) from its
headers, and read without a second copy of its payload."""
import gzip
import json
import os
import resource
import struct
import tracemalloc

import numpy as np
import pytest

from numnet.data.datasets import FILES
from numnet.data.idx import MAX_PAYLOAD_BYTES, read_idx, write_idx
from numnet.errors import DatasetError

from ..helpers import assert_one_line, make_folder, run_cli
from ..tinymodel import saved_tiny_model


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    return saved_tiny_model(tmp_path_factory)


@pytest.fixture
def digit(tmp_path, mnist):
    from PIL import Image
    _, (x, _) = mnist
    path = tmp_path / "digit.png"
    Image.fromarray(255 - x[0]).save(path)                    # dark ink on white paper, as photographed
    return path


def test_predict_refuses_a_fifo_without_waiting(model, tmp_path):
    fifo = tmp_path / "photo.png"
    os.mkfifo(fifo)
    code, _, err = run_cli("predict", model, fifo, timeout=30)          # before: waits forever
    assert_one_line(code, err, "photo.png", "FIFO")


def test_a_fifo_among_good_images_does_not_hold_up_the_others(model, tmp_path, digit):
    fifo = tmp_path / "pipe.png"
    os.mkfifo(fifo)
    code, out, err = run_cli("predict", model, digit, fifo, "--json", timeout=30)
    result = json.loads(out)
    assert [p["file"] for p in result["predictions"]] == [str(digit)]
    assert [e["file"] for e in result["errors"]] == [str(fifo)] and "FIFO" in result["errors"][0]["error"]
    assert code == 2 and "Traceback" not in err


def test_a_device_or_a_folder_is_not_an_image(model, tmp_path):
    code, _, err = run_cli("predict", model, "/dev/zero", timeout=30)   # a device never ends
    assert_one_line(code, err, "character device")
    code, _, err = run_cli("predict", model, tmp_path, timeout=30)
    assert_one_line(code, err, "directory")


def test_data_dir_with_a_fifo_in_a_files_place(model, tmp_path):
    folder = tmp_path / "data"
    make_folder(folder)
    os.unlink(folder / (FILES["test_images"] + ".gz"))
    os.mkfifo(folder / FILES["test_images"])
    code, _, err = run_cli("evaluate", model, "--data-dir", folder, timeout=30)
    assert_one_line(code, err, FILES["test_images"], "FIFO")             # before: "missing ..."
    with pytest.raises(DatasetError, match="FIFO"):
        read_idx(folder / FILES["test_images"])


def test_sweep_refuses_a_fifo_as_its_journal(tmp_path):
    fifo = tmp_path / "study.journal"
    os.mkfifo(fifo)
    code, _, err = run_cli("sweep", "--trials", 1, "--storage", fifo, timeout=60)   # before: waits forever
    assert_one_line(code, err, "FIFO", "journal")


# item 9: data sets from their headers ------------------------------------------------------------
def blank_images_gz(path, n):
    """A gzipped IDX file declaring ``n`` blank 28×28 images, made of repeated gzip members of 16 MiB
    of zeros (about 16 KB each, within deflate's 1032:1): 2.6M images take 2 MB, written in
    milliseconds."""
    zeros = gzip.compress(bytes(1 << 24), compresslevel=9)
    payload = n * 784
    with open(path, "wb") as f:
        f.write(gzip.compress(bytes([0, 0, 8, 3]) + struct.pack(">3I", n, 28, 28)))
        f.writelines([zeros] * (payload >> 24))
        f.write(gzip.compress(bytes(payload & ((1 << 24) - 1))))
    return path


def test_a_test_set_declaring_millions_of_images_is_refused_from_its_header(model, tmp_path):
    folder = tmp_path / "big"
    make_folder(folder)
    blank_images_gz(folder / (FILES["test_images"] + ".gz"), 2_600_000)          # 2.04 GB from 2 MB
    write_idx(folder / (FILES["test_labels"] + ".gz"), np.zeros(2_600_000, np.uint8))

    def cap():                          # before: evaluate read it all and peaked at 3.9 GB
        resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30))
    code, _, err = run_cli("evaluate", model, "--data-dir", folder, timeout=60, preexec_fn=cap)
    assert_one_line(code, err, "2,041,", "1 GiB")
    assert MAX_PAYLOAD_BYTES == 1 << 30


def test_a_gzipped_file_is_read_without_a_second_copy(tmp_path):
    n = 60_000                                                          # 47 MB, as MNIST's training images
    path = blank_images_gz(tmp_path / "x.gz", n)
    n_bytes = n * 784
    tracemalloc.start()
    try:
        images = read_idx(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert images.shape == (n, 28, 28) and not images.any()
    assert peak < n_bytes + (8 << 20), peak                              # before: twice the payload
