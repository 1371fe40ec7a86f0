"""The presets of the sequence layers train, save and load in a fresh process; transfer learning
(copy_weights, freeze) and the Restricted optimizer (gradient clipping, frozen layers)."""
import json
import subprocess
import sys

import numpy as np
import pytest

import numnet
from numnet.architectures import PRESETS, build
from numnet.errors import ConfigError
from numnet.train import transfer

from ..helpers import ENV, make_folder, run_cli


@pytest.mark.parametrize("name", ["rnn", "lstm", "gru", "vit"])
def test_presets_build_and_step(name, rng):
    model = numnet.Sequential(build(PRESETS[name]["spec"]))
    x, y = rng.integers(0, 256, (8, 28, 28), dtype=np.uint8), rng.integers(0, 10, 8)
    before = model.flat_params.copy()
    model.fit(x, y, epochs=1, batch_size=8, optimizer=transfer.Restricted(numnet.Adam(1e-3), model, 1.0))
    assert not np.array_equal(before, model.flat_params)


ROUND_TRIP = """
import json, sys
import numpy as np
import numnet.train.transfer
from numnet.cli import main
model = numnet.train.transfer.load(sys.argv[1])
x = np.load(sys.argv[2])
print(json.dumps({"proba": model.predict_proba(x).tolist(), "types": [type(l).__name__ for l in model.layers]}))
sys.exit(main(["evaluate", sys.argv[1], "--json", "--data-dir", sys.argv[3]]))
"""


@pytest.mark.parametrize("spec", ["standardize-rnn(5,seq)-lstm(4)-dense(10)", "gru(6)-dense(10)",
                                  "patch(7,8)-pos-block(2,16)-ln-cls-dense(10)",
                                  "patch(14,8,cls=0)-attn(2)-ln-gelu-meantokens-dense(10)"])
def test_save_and_load_in_a_fresh_process(spec, tmp_path, mnist):
    (x_train, y_train), _ = mnist
    model = numnet.Sequential(build(spec), seed=1)
    model.fit(x_train[:64], y_train[:64], epochs=1, batch_size=32)
    path, xpath = tmp_path / "m.npz", tmp_path / "x.npy"
    model.save(path)
    np.save(xpath, x_train[:5])
    make_folder(tmp_path / "data", n_test=40)
    proc = subprocess.run([sys.executable, "-c", ROUND_TRIP, str(path), str(xpath), str(tmp_path / "data")], capture_output=True, text=True,
                          env=ENV, timeout=300)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.strip().splitlines()
    first, evaluation = json.loads(lines[0]), json.loads("\n".join(lines[1:]))
    np.testing.assert_allclose(first["proba"], model.predict_proba(x_train[:5]), rtol=1e-5, atol=1e-7)
    assert first["types"] == [type(layer).__name__ for layer in model.layers]
    assert 0 <= evaluation["accuracy"] <= 1 and len(evaluation["confusion_matrix"]) == 10


def _trained(spec, mnist, seed=0, **kw):
    (x, y), _ = mnist
    model = numnet.Sequential(build(spec, **kw), seed=seed)
    model.fit(x[:200], y[:200], epochs=1, batch_size=50)
    return model


def test_copy_weights_and_new_head(mnist):
    source = _trained("conv(2,5)-pool(2)-relu-flatten-dense(8)-relu-dense(10)", mnist)
    target = numnet.Sequential(build("conv(2,5)-pool(2)-relu-flatten-dense(8)-relu-dense(3)", num_classes=3), seed=5)
    head = target.layers[-1].W.copy()
    report = transfer.copy_weights(source, target)
    assert report["new_head"] == len(target.layers) - 1
    np.testing.assert_array_equal(target.layers[1].W, source.layers[1].W)
    np.testing.assert_array_equal(target.layers[-3].W, source.layers[-3].W)
    np.testing.assert_array_equal(target.layers[-1].W, head)                  # another class count: a new head
    same = numnet.Sequential(build("conv(2,5)-pool(2)-relu-flatten-dense(8)-relu-dense(10)"), seed=5)
    assert transfer.copy_weights(source, same)["new_head"] is None
    np.testing.assert_array_equal(same.flat_params, source.flat_params)
    assert transfer.copy_weights(source, same, head=False)["new_head"] == len(same.layers) - 1


@pytest.mark.parametrize("spec, message", [("conv(3,5)-pool(2)-relu-flatten-dense(8)-relu-dense(10)", "shape"),
                                           ("conv(2,5)-pool(2)-relu-flatten-dense(10)", "layers"),
                                           ("conv(2,5)-pool(2)-tanh-flatten-dense(8)-relu-dense(10)", "ReLU")])
def test_copy_weights_mismatch_is_a_clear_error(spec, message, mnist):
    source = _trained("conv(2,5)-pool(2)-relu-flatten-dense(8)-relu-dense(10)", mnist)
    with pytest.raises(ConfigError, match=message):
        transfer.copy_weights(source, numnet.Sequential(build(spec)))


def test_freeze_keeps_frozen_layers_fixed_even_with_weight_decay(mnist):
    (x, y), _ = mnist
    model = numnet.Sequential(build("conv(2,5)-pool(2)-relu-flatten-dense(8)-relu-dense(10)"), seed=0)
    assert transfer.freeze(model, 2) == [1, 5]     # Reshape, Conv2D, MaxPool2D, ReLU, Flatten, Dense, ReLU, Dense
    before = model.flat_params.copy()
    opt = transfer.Restricted(numnet.AdamW(1e-2, weight_decay=0.1), model)
    model.fit(x[:100], y[:100], epochs=1, batch_size=50, optimizer=opt)
    frozen = model.layers[1].W.size + model.layers[1].b.size + model.layers[5].W.size + model.layers[5].b.size
    np.testing.assert_array_equal(model.flat_params[:frozen], before[:frozen])
    assert not np.array_equal(model.flat_params[frozen:], before[frozen:])
    transfer.unfreeze(model)
    assert all(getattr(layer, "trainable", True) and layer.input_grad for layer in model.layers)
    with pytest.raises(ConfigError):
        transfer.freeze(model, 4)


def test_clip_grad_norm(rng):
    a, b = rng.standard_normal(5), rng.standard_normal((2, 3))
    norm = np.sqrt((a ** 2).sum() + (b ** 2).sum())
    assert transfer.clip_grad_norm([a, b], 1.0) == pytest.approx(norm)
    assert np.sqrt((a ** 2).sum() + (b ** 2).sum()) == pytest.approx(1.0, rel=1e-5)
    c = np.array([0.3, 0.4])
    transfer.clip_grad_norm([c], 1.0)
    np.testing.assert_array_equal(c, [0.3, 0.4])                 # below the limit: unchanged


def test_clipped_step_matches_pytorch(rng):
    torch = pytest.importorskip("torch", reason="PyTorch is the oracle for clip_grad_norm_")
    model = numnet.Sequential(build("lstm(4)-dense(10)", input_shape=(3, 2)), dtype=np.float64, seed=0)
    params = model.flat_params.copy()
    grads = rng.standard_normal(params.size) * 10
    model.flat_grads[...] = grads
    opt = transfer.Restricted(numnet.SGD(0.1), model, clip_norm=0.5)
    opt.step([model.flat_params], [model.flat_grads])
    p = torch.tensor(params, requires_grad=True)
    p.grad = torch.tensor(grads)
    torch.nn.utils.clip_grad_norm_([p], 0.5)
    with torch.no_grad():
        p -= 0.1 * p.grad
    np.testing.assert_allclose(model.flat_params, p.detach().numpy(), rtol=1e-12)
    assert opt.config()["clip_norm"] == 0.5 and opt.lr == 0.1


def test_cli_init_from_and_freeze(tmp_path):
    spec = "conv(2,5)-pool(2)-relu-flatten-dense(10)"
    src = tmp_path / "src.npz"
    make_folder(tmp_path / "data", n_train=200, n_test=20)
    common = ["train", "--arch", spec, "--epochs", "1", "--json", "--data-dir", tmp_path / "data"]
    code, _, err = run_cli(*common, "--save", src)
    assert code == 0, err
    out = tmp_path / "out.npz"
    code, _, err = run_cli(*common, "--init-from", src, "--freeze", "1", "--new-head", "--clip-norm", "1", "--save", out)
    assert code == 0, err
    a, b = transfer.load(src), transfer.load(out)
    np.testing.assert_array_equal(a.layers[1].W, b.layers[1].W)                # the frozen conv
    assert b.info["optimizer"]["clip_norm"] == 1.0
    code, _, err = run_cli(*common, "--arch", "conv(3,5)-pool(2)-relu-flatten-dense(10)", "--init-from", src)
    assert code == 2 and "shape" in err and "Traceback" not in err


@pytest.mark.parametrize("spec", ["lstm(4,seq)-gru(3)-dense(10)", "patch(14,8)-pos-block(2,8)-ln-cls-dense(10)"])
def test_two_workers_train_like_one(spec, rng):
    """Each layer's ``replica`` keeps its own caches (the block rebuilds its parts): fit(workers=2) takes
    the same steps as one worker, up to float rounding."""
    x, y = rng.standard_normal((16, 28, 28)), rng.integers(0, 10, 16)
    models = [numnet.Sequential(build(spec), dtype=np.float64, seed=3) for _ in range(2)]
    for model, workers in zip(models, (1, 2)):
        model.fit(x, y, epochs=2, batch_size=8, workers=workers, seed=0)
    np.testing.assert_allclose(models[1].flat_params, models[0].flat_params, rtol=1e-9, atol=1e-10)


@pytest.mark.parametrize("spec", ["lstm(6)-dense(10)", "patch(7,8)-pos-block(2,16)-ln-cls-dense(10)"])
def test_explain_and_report_run_on_the_new_layers(spec, tmp_path, mnist, capsys):
    from numnet.cli import main
    (x, y), _ = mnist
    model = numnet.Sequential(build(spec), seed=0)
    model.fit(x[:64], y[:64], epochs=1, batch_size=32)
    path = tmp_path / "m.npz"
    model.save(path)
    make_folder(tmp_path / "data", n_test=20)
    assert main(["explain", str(path)]) == 0
    assert main(["report", str(path), "--out", str(tmp_path / "report"), "--data-dir", str(tmp_path / "data")]) == 0
    assert (tmp_path / "report" / "index.html").exists()
    assert type(model.layers[0]).__name__ in capsys.readouterr().out + (tmp_path / "report" / "index.html").read_text()
