"""numnet serve's HTTP API: same answers as model.predict / `numnet predict`, a 4xx with one
message for every kind of bad request (and the server answers the next one), no request lost
under load, slow clients do not block others, and the CLI starts and stops cleanly."""
import concurrent.futures
import io
import json
import signal
import socket
import subprocess
import sys

import numpy as np
import pytest

import numnet
from numnet.data.preprocess import to_mnist

from ..helpers import ENV, assert_one_line, run_cli
from .servemodel import SEVEN, drawing_model, raster, request, running_server


@pytest.fixture(scope="module")
def server():
    with running_server(drawing_model(), timeout=2.0) as s:
        yield s


@pytest.fixture(scope="module")
def digits(mnist):
    (_, _), (xt, yt) = mnist
    return xt[:100], yt[:100]


def png_bytes(img) -> bytes:
    PIL = pytest.importorskip("PIL.Image", reason="PNG uploads need Pillow")
    buf = io.BytesIO()
    PIL.fromarray(np.asarray(img, dtype=np.uint8)).save(buf, format="PNG")
    return buf.getvalue()


def post(server, body, **kw):
    return request(server.url + "api/predict", body, **kw)


def assert_alive(server):
    status, r, _ = post(server, {"pixels": raster(SEVEN).tolist(), "activations": False})
    assert status == 200 and r["prediction"] == 7


# the same answers as the library and `numnet predict` ------------------------------------------
def test_first_100_digits_match_model_predict_and_cli(server, digits, tmp_path):
    x, y = digits
    model = drawing_model()
    answers = [post(server, {"pixels": d.tolist()})[1] for d in x]
    prepared = np.stack([to_mnist(d) for d in x])             # the preparation `numnet predict` applies
    assert [a["prediction"] for a in answers] == model.predict(prepared).tolist()
    np.testing.assert_allclose([a["probabilities"] for a in answers], model.predict_proba(prepared), atol=1e-6)
    assert np.array_equal([a["preprocessed"] for a in answers], prepared)
    assert np.mean([a["prediction"] for a in answers] == y) > 0.8
    # each layer's activation is that layer's forward pass; the last one holds the logits
    model.eval()
    h = model.prepare(prepared[:1])
    for layer, act in zip(model.layers, answers[0]["activations"]):
        h = layer.forward(h)
        assert act["type"] == type(layer).__name__ and tuple(act["shape"]) == h.shape[1:]
        np.testing.assert_allclose(act["values"], h[0], atol=1e-3)
    # the same digits as PNG files through `numnet predict --json`
    PIL = pytest.importorskip("PIL.Image", reason="writing PNGs needs Pillow")
    paths = []
    for i, d in enumerate(x):
        paths.append(str(tmp_path / f"{i:03d}.png"))
        PIL.fromarray(d).save(paths[-1])
    model_path = model.save(tmp_path / "m.npz")
    code, out, err = run_cli("predict", model_path, *paths, "--json")
    assert code == 0, err
    cli = {p["file"]: p["prediction"] for p in json.loads(out)["predictions"]}
    assert [cli[p] for p in paths] == [a["prediction"] for a in answers]


def test_unprepared_pixels_and_uploads(server, digits):
    x, y = digits
    model = drawing_model()
    raw = [post(server, {"pixels": d.tolist(), "preprocess": False, "activations": False})[1] for d in x[:20]]
    assert [r["prediction"] for r in raw] == model.predict(x[:20]).tolist()
    assert "activations" not in raw[0] and np.array_equal(raw[0]["preprocessed"], x[0])
    for d in x[:5]:   # an image file body goes through load_digit, as `numnet predict`
        status, r, _ = post(server, png_bytes(d), content_type="image/png")
        assert status == 200 and r["prediction"] == int(model.predict(to_mnist(d)[None])[0])


def test_model_description_and_page(server):
    status, info, headers = request(server.url + "api/model")
    model = drawing_model()
    assert status == 200 and headers["Content-Type"] == "application/json"
    assert [l["type"] for l in info["layers"]] == [type(l).__name__ for l in model.layers]
    assert info["layers"][-1]["output_shape"] == [10] and info["num_parameters"] == model.num_parameters
    t = info["templates"]                        # tutorial 1's view: W1's rows as 28×28 images
    assert t["layer"] == 2 and t["units"] == 64 and np.array(t["weights"]).shape == (64, 28, 28)
    W = model.layers[2].W
    np.testing.assert_allclose(np.array(t["weights"]).reshape(64, 784) / 127 * t["scale"], W, atol=t["scale"] / 127)
    status, page, headers = request(server.url)
    assert status == 200 and b'<canvas id="pad"' in page and b"/static/app.js" in page
    assert "default-src 'self'" in headers["Content-Security-Policy"]
    for name in ("app.js", "style.css"):
        status, body, _ = request(server.url + "static/" + name)
        assert status == 200 and len(body) > 500
    assert b"http" not in request(server.url + "static/app.js")[1]      # nothing fetched from elsewhere


def test_convolutional_model(mnist):
    from numnet.architectures import build

    (x, y), (xt, _) = mnist
    model = numnet.Sequential(build("conv(4,5)-bn-pool(2)-relu-flatten-dropout(0.5)-dense(10)"), seed=3)
    model.fit(x[:200], y[:200], epochs=1, batch_size=50, seed=0)      # BatchNorm's running statistics
    with running_server(model) as s:
        answers = [post(s, {"pixels": xt[0].tolist(), "preprocess": False})[1] for _ in range(2)]
        assert answers[0] == answers[1]                                # evaluation mode: no dropout
        assert answers[0]["prediction"] == int(model.predict(xt[:1])[0])
        np.testing.assert_allclose(answers[0]["probabilities"], model.predict_proba(xt[:1])[0], atol=1e-6)
        assert [a["shape"] for a in answers[0]["activations"]][:4] == [[1, 28, 28], [4, 24, 24], [4, 24, 24], [4, 12, 12]]
        info = request(s.url + "api/model")[1]
        assert "templates" not in info and info["num_parameters"] == model.num_parameters


# bad requests -----------------------------------------------------------------------------------
BAD = {
    "malformed JSON": (b'{"pixels": [[0, 1]', 400),
    "not an object": (b"[[0, 255]]", 400),
    "no pixels key": (b'{"image": [[0]]}', 400),
    "pixels not a list": (b'{"pixels": "abc"}', 400),
    "empty pixels": (b'{"pixels": []}', 400),
    "empty row": (b'{"pixels": [[]]}', 400),
    "rows not lists": (b'{"pixels": [1, 2, 3]}', 400),
    "ragged rows": (b'{"pixels": [[0, 1], [0]]}', 400),
    "a string": (b'{"pixels": [[0, "255"]]}', 400),
    "a boolean": (b'{"pixels": [[0, true]]}', 400),
    "null": (b'{"pixels": [[0, null]]}', 400),
    "nested deeper": (b'{"pixels": [[[0]]]}', 400),
    "NaN": (b'{"pixels": [[0, NaN]]}', 400),
    "Infinity": (b'{"pixels": [[0, -Infinity]]}', 400),
    "overflowing float": (b'{"pixels": [[0, 1e999]]}', 400),
    "huge integer": (b'{"pixels": [[0, ' + b"9" * 400 + b"]]}", 400),
    "negative": (b'{"pixels": [[0, -1]]}', 400),
    "over 255": (b'{"pixels": [[0, 256]]}', 400),
    "huge width": (b'{"pixels": [[' + b"0," * 3000 + b"0]]}", 400),
    "too many pixels": (b'{"pixels": [' + b",".join([b"[" + b"0," * 999 + b"0]"] * 1001) + b"]}", 400),
    "nested too deeply": (b'{"pixels": ' + b"[" * 100000 + b"]" * 100000 + b"}", 400),
    "not UTF-8": (b'{"pixels": "\xff\xfe"}', 400),
    "bad option": (b'{"pixels": [[0]], "preprocess": "no"}', 400),
    "raw but not 28x28": (b'{"pixels": [[0, 255]], "preprocess": false}', 400),
    "blank image": (json.dumps({"pixels": [[0] * 50] * 50}).encode(), 400),
    "not an image file": (b"GIF89a this is not really a gif", 400),
    "empty image file": (b"", 400),
    "unknown content type": (b"pixels=1", 415),
}


@pytest.mark.parametrize("kind", list(BAD))
def test_bad_request_gets_4xx_with_one_message(server, kind):
    body, expected = BAD[kind]
    content_type = {"not an image file": "image/gif", "empty image file": "application/octet-stream",
                    "unknown content type": "application/x-www-form-urlencoded"}.get(kind, "application/json")
    status, r, _ = post(server, body, content_type=content_type)
    assert status == expected and set(r) == {"error"} and isinstance(r["error"], str) and r["error"]
    assert "\n" not in r["error"] and len(r["error"]) < 300
    assert_alive(server)


@pytest.mark.parametrize("method, path, expected", [
    ("GET", "nope", 404), ("GET", "api/predict", 405), ("PUT", "api/predict", 405), ("DELETE", "", 405),
    ("POST", "api/model", 405), ("POST", "elsewhere", 404), ("GET", "static/../serve.py", 404),
    ("GET", "static/missing.js", 404)])
def test_wrong_route_or_method(server, method, path, expected):
    status, r, _ = request(server.url + path, b"{}" if method != "GET" else None, method=method)
    assert status == expected and set(r) == {"error"}
    assert_alive(server)


def raw_exchange(server, data: bytes, read_timeout=20.0) -> bytes:
    """Send ``data`` on a fresh connection and read until the server closes it."""
    with socket.create_connection(server.server_address[:2], timeout=read_timeout) as sock:
        sock.sendall(data)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def test_oversize_body_refused_before_reading(server):
    # the headers announce 10 MB and no byte of the body is sent: the answer must still come
    head = (b"POST /api/predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 10000000\r\n\r\n")
    answer = raw_exchange(server, head)
    assert answer.startswith(b"HTTP/1.1 413") and b'"error"' in answer
    assert_alive(server)


@pytest.mark.parametrize("head, status", [
    (b"POST /api/predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\r\n", b"411"),
    (b"POST /api/predict HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", b"411"),
    (b"POST /api/predict HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n", b"400"),
    (b"GARBAGE\r\n\r\n", b"400"),
    (b"GET / HTTP/1.1\r\n" + b"X-Long: " + b"a" * 70000 + b"\r\n\r\n", b"431"),
])
def test_broken_http_gets_an_answer(server, head, status):
    assert raw_exchange(server, head).split(b"\r\n", 1)[0].split(b" ")[1] == status
    assert_alive(server)


def test_half_sent_and_silent_requests_do_not_block_others(server):
    """Connections that stop mid-request hold only their own thread; the server drops them after
    its socket timeout (2 s here)."""
    stalled = []
    for head in (b"POST /api/predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                 b"Content-Length: 1000\r\n\r\n{\"pixels\": [[0,", b"GET /api/mod", b""):
        sock = socket.create_connection(server.server_address[:2], timeout=30)
        sock.sendall(head)
        stalled.append(sock)
    try:
        for _ in range(3):
            assert_alive(server)          # answered while the three connections hang
        for sock in stalled:              # then the server gives up on them and closes them
            while sock.recv(65536):
                pass
    finally:
        for sock in stalled:
            sock.close()


def test_an_internal_error_fails_one_request_only(server, monkeypatch):
    events = []
    monkeypatch.setattr(server, "on_event", lambda kind, text: events.append((kind, text)))

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(server.predictor, "predict_pixels", broken)
    status, r, _ = post(server, {"pixels": [[0, 255]]})
    assert status == 500 and r == {"error": "internal error (RuntimeError)"}
    assert ("error", "RuntimeError: boom") in events
    monkeypatch.undo()
    assert_alive(server)


def test_load_500_requests_from_8_threads_none_lost(server, digits):
    x, _ = digits
    expected = drawing_model().predict(x).tolist()

    def one(i):   # the 28×28 digits as they are (MNIST's preparation is the slow part, ~25 ms each)
        status, r, _ = post(server, {"pixels": x[i % 100].tolist(), "preprocess": False, "activations": i % 2 == 0})
        return status, r.get("prediction")

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        results = list(pool.map(one, range(500)))
    assert len(results) == 500
    assert all(status == 200 for status, _ in results)
    assert [p for _, p in results] == [expected[i % 100] for i in range(500)]


# the command --------------------------------------------------------------------------------------
def test_cli_serves_and_stops_on_ctrl_c(tmp_path):
    path = drawing_model().save(tmp_path / "m.npz")
    proc = subprocess.Popen([sys.executable, "-m", "numnet", "serve", path, "--port", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV)
    try:
        line = proc.stdout.readline()
        assert line.startswith("numnet serve: http://127.0.0.1:"), line + proc.stderr.read()
        url = line.split()[2]
        status, info, _ = request(url + "api/model")
        assert status == 200 and info["name"] == path
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


@pytest.mark.parametrize("args, problem", [
    (["serve", "/nonexistent/m.npz"], "no such model file"),
    (["serve", "--port", "70000"], "port number"),
])
def test_cli_bad_input_is_one_line_and_status_2(args, problem):
    code, _, err = run_cli(*args, timeout=60)
    assert_one_line(code, err, problem)


def test_cli_port_in_use(tmp_path, server):
    path = drawing_model().save(tmp_path / "m.npz")
    port = str(server.server_address[1])
    code, _, err = run_cli("serve", path, "--port", port, timeout=60)
    assert code == 2 and "cannot listen" in err and "Traceback" not in err


def test_cli_without_model_trains_the_default_network_and_ctrl_c_stops_it():
    proc = subprocess.Popen([sys.executable, "-m", "numnet", "serve", "--port", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV)
    try:
        line = proc.stderr.readline()
        assert "no model given: training the default network (784-25-25-10" in line
        proc.send_signal(signal.SIGINT)               # while it trains
        assert proc.wait(timeout=60) == 0
        assert "stopped" in proc.stderr.read() and proc.stdout.read() == ""
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
