"""What the tests share: this tree's ``src`` for subprocesses (``SRC``, ``ENV``, ``run_cli``), the one
check of backward passes against central differences (``check_backward`` and its two shapes,
``check_layer`` and ``check_model``) and a folder of MNIST-style data files (``make_folder``).
The pytest fixtures (``rng``, ``mnist``) are in ``conftest.py``."""
import errno
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

import numnet
from numnet import numerical_gradient
from numnet.data.datasets import FILES
from numnet.data.idx import write_idx

#: this tree's ``src``, first on the PYTHONPATH of every subprocess, so that they run the code under test
SRC = str(Path(__file__).resolve().parents[1] / "src")
ENV = {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", "")}


def run_cli(*args, timeout=300, env=ENV, **kwargs):
    """``python -m numnet ARGS`` in a subprocess with this tree's src: (exit status, stdout, stderr)."""
    proc = subprocess.run([sys.executable, "-m", "numnet", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, env=env, **kwargs)
    return proc.returncode, proc.stdout, proc.stderr


def full_disk_in(monkeypatch, folder):
    """Every file numnet flushes under ``folder`` fails as on a full disk (ENOSPC)."""
    real_fsync, folder = os.fsync, os.path.realpath(folder)

    def fsync(fd):
        if os.readlink(f"/proc/self/fd/{fd}").startswith(folder + os.sep):
            raise OSError(errno.ENOSPC, "No space left on device")
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)


def trained_recipe(folder, *options) -> dict:
    """The recipe a small ``numnet train --limit 600 --epochs 1 OPTIONS`` run saves with its model."""
    path = os.path.join(folder, "m.npz")
    code, _, err = run_cli("train", "--limit", "600", "--epochs", "1", *options, "--json", "--save", path)
    assert code == 0, err
    return numnet.load(path).info["run"]["recipe"]


def assert_one_line(code, err, *needles):
    """Bad input: exit status 2 and one line on stderr (no traceback) that names each of ``needles``."""
    assert code == 2, err
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1, err
    for needle in needles:
        assert needle in err, err


# gradients ------------------------------------------------------------------------------------
def check_backward(loss, backward, arrays, rtol=1e-6, atol=0.0, h=1e-5):
    """Analytic gradients against central differences of the scalar ``loss()`` (float64).

    ``arrays``: {name: array} that ``loss()`` reads (the input, the parameters); ``backward()``, run
    after ``loss()``, returns {name: dL/d array} for the same names. Each entry must satisfy
    |analytic − numeric| ≤ atol + rtol · max(|analytic|, |numeric|) (with atol = 0: relative error < rtol).
    """
    loss()
    analytic = {name: np.array(g, dtype=np.float64) for name, g in backward().items()}
    for name, a in arrays.items():
        assert analytic[name].shape == a.shape, name
        numeric = numerical_gradient(loss, a, h=h)
        scale = np.maximum(np.maximum(np.abs(analytic[name]), np.abs(numeric)), 1e-12)
        excess = np.abs(analytic[name] - numeric) - atol - rtol * scale
        assert excess.max() <= 0, f"{name}: max |analytic − numeric| = {np.abs(analytic[name] - numeric).max():.3g}"


def check_layer(layer, x, rng, **tolerances):
    """One layer's dL/dx and parameter gradients for L = Σ layer(x) ⊙ G, G random."""
    G = rng.standard_normal(layer.forward(x).shape)
    check_backward(lambda: float(np.sum(layer.forward(x) * G)), lambda: {"x": layer.backward(G), **layer.grads},
                   {"x": x, **layer.params}, **tolerances)


def check_model(model, x, y, **tolerances):
    """A model's dL/dx and the gradients of all its parameters for L = model.loss(model(x), y)."""
    check_backward(lambda: model.loss.forward(model.forward(x), y),
                   lambda: {"x": model.backward(model.loss.backward()), **dict(model.named_gradients())},
                   {"x": x, **dict(model.named_parameters())}, **tolerances)


# data -----------------------------------------------------------------------------------------
def make_folder(path, n_train=12, n_test=5, size=28, gz=True, classes=None, train_labels=None, test_labels=None):
    """An MNIST-style folder of random images (seed 0): labels as given, else cycling through
    ``classes`` if given, else random digits. Returns the arrays written, by role."""
    rng = np.random.default_rng(0)

    def labels(n, given):
        if given is not None:
            return np.asarray(given, dtype=np.uint8)
        return (np.arange(n) % classes).astype(np.uint8) if classes else rng.integers(0, 10, n, dtype=np.uint8)

    os.makedirs(path, exist_ok=True)
    arrays = {"train_images": rng.integers(0, 256, (n_train, size, size), dtype=np.uint8)}
    arrays["train_labels"] = labels(n_train, train_labels)
    arrays["test_images"] = rng.integers(0, 256, (n_test, size, size), dtype=np.uint8)
    arrays["test_labels"] = labels(n_test, test_labels)
    for role, arr in arrays.items():
        write_idx(os.path.join(path, FILES[role] + (".gz" if gz else "")), arr)
    return arrays
