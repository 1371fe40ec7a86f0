"""The `numnet serve` cases of the probe (benchmarks/probe.py), issue 26 items 10-12: the server runs as the
child (its peak memory measured); a driver thread reads its URL, sends raw requests over sockets and
notes each missing or wrong answer; then Ctrl-C (SIGINT) must stop it."""
from __future__ import annotations

import json
import os
import re
import select
import signal
import socket
import threading
import time

import numpy as np
import probe_crafts as craft
from probe import Case, GiB


def _port(proc, timeout=60.0):
    """The port from serve's first stdout line ("numnet serve: http://127.0.0.1:PORT/ ...")."""
    ready, _, _ = select.select([proc.stdout], [], [], timeout)
    line = proc.stdout.readline().decode(errors="replace") if ready else ""
    m = re.search(r":(\d+)/", line)
    if not m:
        raise RuntimeError(f"serve printed no URL within {timeout:.0f} s: {line!r}")
    return int(m.group(1))


def request(port, raw: bytes, timeout=10.0):
    """Send ``raw``; (status or None, headers dict, body bytes). None: closed or timed out without an answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(raw)
        data, deadline = b"", time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                chunk = s.recv(65536)
            except (TimeoutError, ConnectionError):
                break
            if not chunk:
                break
            data += chunk
            head, sep, body = data.partition(b"\r\n\r\n")
            if sep:
                m = re.search(rb"content-length:\s*(\d+)", head, re.I)
                if m and len(body) >= int(m.group(1)) or raw.startswith(b"HEAD"):
                    break
    head, _, body = data.partition(b"\r\n\r\n")
    m = re.match(rb"HTTP/1\.[01] (\d{3})", head)
    headers = dict(line.split(": ", 1) for line in head.decode(errors="replace").split("\r\n")[1:] if ": " in line)
    return (int(m.group(1)) if m else None), headers, body


def post(path, body: bytes, content_type="application/json", extra=""):
    return (f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: {content_type}\r\nContent-Length: {len(body)}\r\n"
            f"{extra}Connection: close\r\n\r\n").encode() + body


def get(path, method="GET"):
    return f"{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode()


DRAWING = json.dumps({"pixels": [[255 if 8 < i < 20 and 12 < j < 16 else 0 for j in range(28)]
                                 for i in range(28)]}).encode()


def expect(result, what, got, allowed, body=None):
    """Note a wrong answer: ``got`` (status or None) not in ``allowed``, or a body that is not strict JSON."""
    if got is None:
        result.notes.append(("wrong result", f"{what}: no answer (connection closed or timed out)"))
    elif got not in allowed:
        result.notes.append(("wrong result", f"{what}: HTTP {got}, expected {sorted(allowed)}"))
    elif body:
        try:
            json.loads(body, parse_constant=lambda c: (_ for _ in ()).throw(ValueError(c)))
        except ValueError as e:
            result.notes.append(("wrong result", f"{what}: body is not strict JSON ({e})"[:200]))


def stop(proc, result):
    os.killpg(proc.pid, signal.SIGINT)


def driven(scenario):
    """A driver: wait for the URL, run ``scenario(port, ctx, result)``, then Ctrl-C."""
    def driver(proc, ctx, result):
        try:
            scenario(_port(proc), ctx, result)
        finally:
            stop(proc, result)
    return driver


# scenarios ------------------------------------------------------------------------------------
def malformed(port, ctx, result):
    cases = [
        ("GET /", get("/"), {200}, False),
        ("HEAD /", get("/", "HEAD"), {200}, False),
        ("HEAD /api/model", get("/api/model", "HEAD"), {200}, False),
        ("garbage request line", b"\x00\x01\xff GARBAGE\r\n\r\n", {400}, True),
        ("HTTP/0.9 style", b"GET /\r\n\r\n", {400, 200, 505}, False),
        ("unknown path", get("/../../etc/passwd"), {404, 400}, True),
        ("bad JSON", post("/api/predict", b"{\"pixels\": [[1,2"), {400}, True),
        ("NaN pixels", post("/api/predict", b'{"pixels": [[NaN, 1], [1, 1]]}'), {400}, True),
        ("huge pixel value", post("/api/predict", b'{"pixels": [[1e309, 1], [1, 1]]}'), {400}, True),
        ("nested JSON", post("/api/predict", b"[" * 100000 + b"]" * 100000), {400, 413}, True),
        ("negative Content-Length", post("/api/predict", b"", extra="").replace(b"Content-Length: 0",
                                                                              b"Content-Length: -5"), {400}, True),
        ("oversize upload announced", post("/api/predict", b"", "image/png").replace(
            b"Content-Length: 0", b"Content-Length: 100000000"), {413}, True),
        ("chunked body", post("/api/predict", b"5\r\nhello\r\n0\r\n\r\n", "image/png",
                              "Transfer-Encoding: chunked\r\n"), {411, 400}, True),
        ("wrong type", post("/api/predict", b"abc", "text/plain"), {415}, True),
        ("not an image", post("/api/predict", b"\x89PNG\r\n\x1a\nnope", "image/png"), {400}, True),
        ("PNG header 100000x100000", post("/api/predict", _png_header_bytes(ctx), "image/png"), {400, 413}, True),
        ("long header line", b"GET / HTTP/1.1\r\nX: " + b"a" * 200000 + b"\r\n\r\n", {400, 431}, True),
        ("drawing", post("/api/predict", DRAWING), {200}, True),
    ]
    for what, raw, allowed, is_json in cases:
        status, _, body = request(port, raw)
        expect(result, what, status, allowed, body if is_json and status is not None else None)
        if what.startswith("HEAD") and body:
            result.notes.append(("wrong result", f"{what}: a body of {len(body)} bytes"))


def _png_header_bytes(ctx):
    path = craft.png_header_only(ctx / "bomb.png")
    return path.read_bytes()


def nan_predict(port, ctx, result):
    status, _, body = request(port, post("/api/predict", DRAWING), timeout=20)
    expect(result, "prediction by a model with huge weights", status, {500, 200, 422}, body)


def infinite_history(port, ctx, result):
    status, _, body = request(port, get("/api/model"), timeout=20)
    expect(result, "GET /api/model of a history with Infinity", status, {200, 500}, body)
    status, _, body = request(port, get("/"), timeout=20)
    expect(result, "GET / of that model", status, {200})


def slow_drip(port, ctx, result, limit=40.0):
    """One byte a second: the server must close the connection within ``limit`` s (a request deadline)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    start, text = time.monotonic(), b"GET /api/model HTTP/1.1\r\nX-Slow: " + b"a" * 1000
    try:
        for byte in text:
            if time.monotonic() - start > limit:
                result.notes.append(("hang", f"a connection dripping a byte a second still open after {limit:.0f} s"))
                return
            try:
                s.sendall(bytes([byte]))
            except OSError:
                return
            r, _, _ = select.select([s], [], [], 1.0)
            if r and not s.recv(100):
                return
    finally:
        s.close()


def _concurrent(port, raws, timeout=30.0):
    """Send each raw request on its own thread at once: [(status, seconds)]."""
    out = [None] * len(raws)

    def one(i):
        t = time.monotonic()
        try:
            status = request(port, raws[i], timeout)[0]
        except OSError:
            status = None
        out[i] = (status, time.monotonic() - t)
    threads = [threading.Thread(target=one, args=(i,)) for i in range(len(raws))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return out


def _p95(seconds):
    return float(np.percentile(seconds, 95)) * 1000


def slowloris_then_normal(sockets=1000, p95_ms=200):
    def scenario(port, ctx, result):
        held = []
        try:
            for _ in range(sockets):
                try:
                    s = socket.create_connection(("127.0.0.1", port), timeout=5)
                    s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")
                    held.append(s)
                except OSError:
                    break
            time.sleep(1)
            answers = _concurrent(port, [post("/api/predict", DRAWING)] * 20)
        finally:
            for s in held:
                s.close()
        failed = sum(a[0] != 200 for a in answers)
        if failed:
            result.notes.append(("wrong result", f"with {len(held)} slow sockets open, {failed} of 20 normal requests "
                                                 "failed"))
        elif _p95([a[1] for a in answers]) > p95_ms:
            result.notes.append(("wrong result", f"with {len(held)} slow sockets open, p95 "
                                                 f"{_p95([a[1] for a in answers]):.0f} ms > {p95_ms} ms"))
    return scenario


def big_uploads(count=20):
    def scenario(port, ctx, result):
        body = (ctx / "big.png").read_bytes()
        answers = _concurrent(port, [post("/api/predict", body, "image/png")] * count, timeout=60)
        bad = [a[0] for a in answers if a[0] is None or not (a[0] == 200 or 400 <= a[0] < 500 or a[0] == 503)]
        if bad:
            result.notes.append(("wrong result", f"{len(bad)} of {count} 4900×4900 uploads got {sorted(set(map(str, bad)))}"))
    return scenario


def drawings(count=20, p95_ms=150):
    def scenario(port, ctx, result):
        answers = _concurrent(port, [post("/api/predict", DRAWING)] * count)
        failed = sum(a[0] != 200 for a in answers)
        if failed:
            result.notes.append(("wrong result", f"{failed} of {count} concurrent drawings failed"))
        elif _p95([a[1] for a in answers]) > p95_ms:
            result.notes.append(("wrong result", f"{count} concurrent drawings: p95 {_p95([a[1] for a in answers]):.0f} "
                                                 f"ms > {p95_ms} ms"))
    return scenario


def mnist_preprocessing(port, ctx, result, n=30):
    """Item 12: the page's preprocessing of already-centred MNIST digits should change almost nothing."""
    images, _ = craft.mnist_test_digits(n)
    agree = 0
    for img in images:
        answers = []
        for pre in (True, False):
            body = json.dumps({"pixels": img.tolist(), "preprocess": pre, "activations": False}).encode()
            status, _, text = request(port, post("/api/predict", body), timeout=20)
            answers.append(json.loads(text)["prediction"] if status == 200 else None)
        agree += answers[0] is not None and answers[0] == answers[1]
    if agree < n - 1:
        result.notes.append(("wrong result", f"preprocessing MNIST test digits changed {n - agree} of {n} predictions"))


def _big_png(path, size=4900):
    from PIL import Image, ImageDraw
    img = Image.new("L", (size, size), 255)
    ImageDraw.Draw(img).line([(size * 0.3, size * 0.2), (size * 0.7, size * 0.2), (size * 0.45, size * 0.85)],
                             fill=0, width=size // 14)
    img.save(path, optimize=True)


def _infinity_history(ctx):
    def edit(cfg):
        cfg["history"][-1]["val_loss"] = float("inf")
    craft.edit_npz(ctx.models.path("m.npz"), ctx / "m.npz", config=edit)


def serve_case(name, items, scenario, setup=None, timeout=90, rss_limit=2 * GiB, needs=(), model="m.npz"):
    def prepare(ctx):
        if setup:
            setup(ctx)
        if not (ctx / model).exists():
            ctx.model(model)
    return Case(name, items, ("serve", model, "--port", "0"), prepare, {0, 130}, driver=driven(scenario),
                pipe_stdout=True, timeout=timeout, rss_limit=rss_limit, needs=needs, group=items)


SERVE_CASES = [
    serve_case("serve-malformed-requests", "11", malformed),
    serve_case("serve-nan-prediction", "10", nan_predict,
               setup=lambda c: craft.huge_weights(c.models.path("m.npz"), c / "huge.npz"), model="huge.npz"),
    serve_case("serve-infinite-history", "10", infinite_history, setup=_infinity_history),
    serve_case("serve-slow-drip", "11", slow_drip, timeout=90),
    serve_case("serve-1000-slowloris", "11", slowloris_then_normal(1000), timeout=120),
    serve_case("serve-50-slowloris", "11", slowloris_then_normal(50, p95_ms=1000)),
    serve_case("serve-20-big-uploads", "11", big_uploads(20), setup=lambda c: _big_png(c / "big.png"),
               rss_limit=1 * GiB, timeout=150, needs=("PIL",)),
    serve_case("serve-1-big-upload", "11", big_uploads(1), setup=lambda c: _big_png(c / "big.png"), rss_limit=1 * GiB,
               needs=("PIL",)),
    serve_case("serve-20-drawings", "11", drawings(20)),
    serve_case("serve-mnist-preprocessing", "12", mnist_preprocessing),
]
