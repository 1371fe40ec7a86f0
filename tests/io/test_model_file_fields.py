"""Issue 26 item 14: a model file whose history or info holds the wrong types (strings for numbers,
``info.run`` that is not a dict) is refused where it is read, in one line, by every command; it does not
crash ``report`` or ``explain`` halfway."""
import io
import json
import zipfile

import numpy as np
import pytest

import numnet
from numnet.errors import ModelFileError
from tests.helpers import assert_one_line, run_cli
from tests.tinymodel import tiny_model


def rewrite_config(src, dst, change):
    """A copy of model file ``src`` at ``dst`` with ``change(config)`` applied to its JSON entry."""
    with zipfile.ZipFile(src) as zf:
        entries = {i.filename: zf.read(i) for i in zf.infolist()}
    cfg = json.loads(str(np.lib.format.read_array(io.BytesIO(entries["__config__.npy"]))))
    change(cfg)
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, np.array(json.dumps(cfg)))
    entries["__config__.npy"] = buffer.getvalue()
    with zipfile.ZipFile(dst, "w") as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return dst


def _set(path, value):
    def change(cfg):
        *parents, last = path
        target = cfg
        for key in parents:
            target = target[key]
        target[last] = value
    return change


BAD = {
    "history loss a string": (["history", 0, "train_loss"], "abc"),
    "history epoch a string": (["history", 1, "epoch"], "1"),
    "history entry a string": (["history", 0], "epoch 0"),
    "info.run a string": (["info", "run"], "x"),
    "info.optimizer a string": (["info", "optimizer"], "adam"),
    "info.optimizer.lr a string": (["info", "optimizer", "lr"], "fast"),
}


@pytest.fixture(scope="module")
def good(tmp_path_factory):
    path = tmp_path_factory.mktemp("fields") / "good.npz"
    model = tiny_model()
    model.info["run"] = {"val_split": None}
    model.save(path)
    return path


@pytest.mark.parametrize("case", BAD)
def test_load_refuses_mistyped_fields(good, tmp_path, case):
    bad = rewrite_config(good, tmp_path / "bad.npz", _set(*BAD[case]))
    field = BAD[case][0][0]
    with pytest.raises(ModelFileError, match=f"invalid config entry: {field}"):
        numnet.load(bad)


def test_the_good_file_loads(good):
    assert numnet.load(good).history


@pytest.mark.parametrize("command, case", [("report", "history loss a string"), ("report", "history epoch a string"),
                                           ("explain", "info.run a string"), ("explain", "info.optimizer.lr a string")])
def test_commands_say_one_line(good, tmp_path, command, case):
    bad = rewrite_config(good, tmp_path / "bad.npz", _set(*BAD[case]))
    extra = ["--out", tmp_path / "report"] if command == "report" else []
    code, _, err = run_cli(command, bad, *extra)
    assert_one_line(code, err, "invalid config entry")
