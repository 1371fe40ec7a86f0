"""Every model kind through every command (issue 24): a binary MLP, the perceptron, an MLP, a CNN, the
three recurrent networks, a ViT and a transferred model, each through ``evaluate``, ``predict``,
``explain``, ``report``, ``summary``, ``export`` and ``serve``. Every cell succeeds (exit 0) or says in
one line why the pairing makes no sense (exit 2); none prints a traceback.

The models are trained once per module, tiny (300 images, 1 epoch), in-process (``numnet.cli.main``)."""
import json

import pytest

import numnet

from ..helpers import assert_one_line

#: kind -> ``numnet train`` options (``{dir}`` is the folder of the models, for --init-from)
KINDS = {
    "binary": ["--hidden", "16", "--binary", "7"],
    "perceptron": ["--model", "perceptron", "--binary", "7"],
    "mlp": ["--hidden", "16"],
    "cnn": ["--arch", "conv(4,5)-relu-pool(2)-flatten-dense(10)"],
    "rnn": ["--arch", "rnn(8)-dense(10)"],
    "lstm": ["--arch", "lstm(8)-dense(10)"],
    "gru": ["--arch", "gru(8)-dense(10)"],
    "vit": ["--arch", "patch(7,16)-pos-block(2,32)-ln-cls-dense(10)"],
    "transferred": ["--hidden", "16", "--init-from", "{dir}/mlp.npz", "--new-head"],
}
COMMANDS = ["evaluate", "predict", "explain", "report", "summary", "export", "serve"]
#: cells that may refuse (exit 2, one line), with the words their line must hold; today every cell works
#: (the perceptron's step exports to ONNX as a comparison)
REFUSALS: dict = {}


def in_process(capsys, *args):
    """(exit status, stdout, stderr) of ``numnet ARGS`` run in this process."""
    from numnet.cli import main

    capsys.readouterr()
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """model(kind) -> path of its model file, trained on first use (a transferred model trains the MLP first);
    a kind that fails to train fails its own cells only."""
    from numnet.cli import main

    folder, paths = tmp_path_factory.mktemp("matrix"), {}

    def model(kind):
        if kind not in paths:
            if kind == "transferred":
                model("mlp")
            path = folder / f"{kind}.npz"
            code = main(["train", "--limit", "300", "--epochs", "1", "--save", str(path), "--json"]
                        + [o.replace("{dir}", str(folder)) for o in KINDS[kind]])
            paths[kind] = path if code == 0 else None
        assert paths[kind] is not None, f"numnet train {' '.join(KINDS[kind])} --save failed"
        return paths[kind]
    return model


@pytest.fixture(scope="module")
def digit_png(tmp_path_factory, mnist):
    """A PNG of the first test digit (a 7), written with Pillow."""
    Image = pytest.importorskip("PIL.Image", reason="writing PNGs needs Pillow")
    path = tmp_path_factory.mktemp("png") / "seven.png"
    Image.fromarray(mnist[1][0][0]).save(path)
    return path


def serve(path):
    """Load ``path`` as ``numnet serve`` does, start the server on a free port, describe the model
    and predict one drawing; (exit status, stdout, stderr) as the command would give them."""
    from ..serve.servemodel import SEVEN, raster, request, running_server

    try:
        model = numnet.load(path)
        with running_server(model) as server:
            status, described, _ = request(server.url + "api/model")
            assert status == 200, described
            status, answer, _ = request(server.url + "api/predict", {"pixels": raster(SEVEN).tolist()})
            assert status == 200, answer
            assert 0 <= answer["prediction"] < len(answer["probabilities"])
    except numnet.NumnetError as e:
        return e.exit_status, "", f"error: {e}\n"
    return 0, json.dumps(answer), ""


def run_cell(capsys, kind, command, path, png, tmp_path):
    if command == "serve":
        return serve(path)
    args = {"evaluate": [path, "--json"], "predict": [path, png, "--json"], "explain": [path],
            "report": [path, "--out", tmp_path / "report", "--json"], "summary": [path, "--json"],
            "export": [path, tmp_path / "model.onnx", "--json"]}[command]
    return in_process(capsys, command, *args)


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("kind", list(KINDS))
def test_cell(models, digit_png, capsys, tmp_path, kind, command):
    code, out, err = run_cell(capsys, kind, command, models(kind), digit_png, tmp_path)
    assert "Traceback" not in err
    if (kind, command) in REFUSALS and code == 2:
        assert_one_line(code, err, *REFUSALS[kind, command])
        return
    assert code == 0, f"{kind} × {command}: {err}"
    if command in ("evaluate", "predict", "report", "summary", "export"):
        json.loads(out)
