"""Item 11 of issue 26: a deadline per request (not per read), a cap on connections, one memory
budget, HEAD answered. The load numbers (1,000 slow sockets, 20 huge uploads, 20 drawings at once)
come from ``benchmarks/serve_load.py``; these are the fast checks of each mechanism."""
import http.client
import io
import socket
import time

import numpy as np
import pytest

from .servemodel import SEVEN, drawing_model, raster, request, running_server

DRAWING = {"pixels": raster(SEVEN)[::3, ::3].tolist(), "activations": False}


def assert_alive(server, timeout=10):
    start = time.monotonic()
    status, r, _ = request(server.url + "api/predict", DRAWING, timeout=timeout)
    assert status == 200 and r["prediction"] == 7
    return time.monotonic() - start


def read_all(sock) -> bytes:
    chunks = []
    while chunk := sock.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


def test_head_is_answered_like_get_without_a_body():
    with running_server(drawing_model()) as server:
        for path in ("/", "/api/model", "/static/app.js"):
            with socket.create_connection(server.server_address[:2], timeout=30) as sock:
                sock.sendall(f"HEAD {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
                answer = read_all(sock)
            head, _, body = answer.partition(b"\r\n\r\n")
            assert head.startswith(b"HTTP/1.1 200") and body == b"", answer[:200]
            length = int([h for h in head.split(b"\r\n") if h.lower().startswith(b"content-length:")][0].split(b":")[1])
            status, got, _ = request(server.url + path.lstrip("/"))
            assert status == 200 and length == len(got if isinstance(got, bytes) else request_bytes(server, path))


def request_bytes(server, path):
    conn = http.client.HTTPConnection(*server.server_address[:2], timeout=30)
    conn.request("GET", path)
    data = conn.getresponse().read()
    conn.close()
    return data


def test_a_dripping_client_is_closed_at_the_request_deadline():
    """One byte every 0.2 s never trips a 1 s timeout per read; the request as a whole must arrive
    within 1 s, so the server answers 408 and closes the connection soon after."""
    with running_server(drawing_model(), timeout=1.0) as server:
        sock = socket.create_connection(server.server_address[:2], timeout=10)
        start = time.monotonic()
        answer = b""
        try:
            sock.sendall(b"POST /api/predict HTTP/1.1\r\n")
            sock.settimeout(0.2)
            for i in range(40):                                   # up to 8 s of dripping
                try:
                    sock.send(b"X-Drip: %d\r\n" % i)
                    chunk = sock.recv(65536)
                    answer += chunk
                    if not chunk:
                        break
                except socket.timeout:
                    continue
                except OSError:                                   # reset after the close: also the end
                    break
        finally:
            sock.close()
        elapsed = time.monotonic() - start
        assert elapsed < 4, f"the dripping connection was kept {elapsed:.1f} s"
        assert answer.startswith(b"HTTP/1.1 408") and b'"error"' in answer
        assert_alive(server)


def test_a_normal_request_is_answered_with_50_slow_sockets_open():
    with running_server(drawing_model(), timeout=5.0) as server:
        slow = []
        try:
            for _ in range(50):
                s = socket.create_connection(server.server_address[:2], timeout=10)
                s.sendall(b"POST /api/predict HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"pix")
                slow.append(s)
            for _ in range(3):
                assert assert_alive(server) < 3
        finally:
            for s in slow:
                s.close()


def test_connections_over_the_cap_get_503_at_once():
    with running_server(drawing_model(), max_connections=4) as server:
        idle = [socket.create_connection(server.server_address[:2], timeout=10) for _ in range(4)]
        try:
            time.sleep(0.3)                                        # the front has accepted them
            with socket.create_connection(server.server_address[:2], timeout=10) as extra:
                extra.sendall(b"GET /api/model HTTP/1.1\r\nHost: x\r\n\r\n")
                answer = read_all(extra)
            assert answer.startswith(b"HTTP/1.1 503") and b"too many connections" in answer
        finally:
            for s in idle:
                s.close()
        time.sleep(0.3)
        assert_alive(server)


def big_png(side) -> bytes:
    PIL = pytest.importorskip("PIL.Image", reason="PNG uploads need Pillow")
    img = np.full((side, side), 255, dtype=np.uint8)
    img[side // 4: side // 4 + side // 20, side // 4: 3 * side // 4] = 0
    buf = io.BytesIO()
    PIL.fromarray(img).save(buf, format="PNG")
    return buf.getvalue()


def test_memory_budget_refuses_what_never_fits_and_what_does_not_fit_now():
    with running_server(drawing_model(), memory_budget=96 << 20) as server:
        png = big_png(2500)                                       # ~6 Mpx: about 230 MiB to prepare
        status, r, _ = request(server.url + "api/predict", png, content_type="image/png")
        assert status == 413 and "memory budget" in r["error"] and "2500×2500" in r["error"]
        budget = server.budget
        assert budget.reserve(budget.total)                       # others hold the whole budget
        try:
            start = time.monotonic()
            status, r, headers = request(server.url + "api/predict", DRAWING)
            assert status == 503 and "busy" in r["error"] and headers["Retry-After"] == "1"
            assert time.monotonic() - start < 5
        finally:
            budget.release(budget.total)
        assert_alive(server)
        assert budget.used == 0 and 0 < budget.peak <= budget.total   # every request gave its share back


def test_an_announced_body_over_the_budget_is_refused_before_it_is_read():
    with running_server(drawing_model(), memory_budget=1 << 20) as server:
        head = (b"POST /api/predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                b"Content-Length: 2000000\r\n\r\n")
        with socket.create_connection(server.server_address[:2], timeout=10) as sock:
            sock.sendall(head)                                    # no byte of the body follows
            answer = read_all(sock)
        assert answer.startswith(b"HTTP/1.1 503") and b"busy" in answer
        assert server.budget.used == 0
