"""One complete HTTP request (bytes) → one complete response (bytes): the routes of ``numnet serve``.

The server's front (:mod:`numnet.serve.server`) reads a request in full, within its deadline,
before a worker thread hands it here; so nothing in this module waits on a client. The standard
library's ``BaseHTTPRequestHandler`` parses the request line and headers from memory and answers
what it finds malformed itself (400, 414, 431, 501) — as JSON, like every other error.

Routes: ``GET``/``HEAD /`` the page and ``/static/NAME`` its files; ``GET``/``HEAD /api/model``;
``GET /api/strings?lang=zh-CN`` the page's words in a language (:mod:`numnet.serve.strings`);
``POST /api/predict`` with JSON ``{"pixels": [[...]], "preprocess": true, "activations": true}`` or
an image file as the body. Every body goes through :func:`numnet.files.json_text`: an answer
holding NaN or ±∞ becomes a 500 whose body names the number, never a dropped connection.
"""
from __future__ import annotations

import io
import json
import os
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs

from ..errors import NonFiniteError, NumnetError
from ..files import json_text
from ..inference.predictor import MAX_PIXELS, RequestError
from .budget import BUDGET_WAIT, image_memory, json_memory
from .strings import choose_language, page_strings

#: where the page's files are (package data)
WEB_DIR = os.path.join(os.path.dirname(__file__), "web")
STATIC_TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
                ".css": "text/css; charset=utf-8", ".png": "image/png", ".svg": "image/svg+xml"}
#: the page may load only its own files and talk only to this server
SECURITY_HEADERS = {"Content-Security-Policy": "default-src 'self'; img-src 'self' data: blob:; "
                                               "style-src 'self'; script-src 'self'; object-src 'none'",
                    "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer",
                    "Cache-Control": "no-store"}


def static_files() -> dict:
    """{URL path: file contents} for the page's files: a fixed list read once, so no path from a
    request ever reaches the file system."""
    files = {"/": os.path.join(WEB_DIR, "index.html")}
    for name in sorted(os.listdir(WEB_DIR)) if os.path.isdir(WEB_DIR) else ():
        if os.path.splitext(name)[1] in STATIC_TYPES and not name.startswith("."):
            files["/static/" + name] = os.path.join(WEB_DIR, name)
    out = {}
    for url, path in files.items():
        with open(path, "rb") as f:
            out[url] = (f.read(), STATIC_TYPES[os.path.splitext(path)[1]])
    return out


def error_response(status: int, message: str, close: bool = True) -> bytes:
    """A complete JSON error response, for answers the front gives without a handler (503, 408, 431)."""
    body = json_text({"error": message}, compact=True).encode()
    head = [f"HTTP/1.1 {status} {HTTPStatus(status).phrase}", "Server: numnet", "Content-Type: application/json",
            f"Content-Length: {len(body)}", *(f"{k}: {v}" for k, v in SECURITY_HEADERS.items())]
    if status == 503:
        head.append("Retry-After: 1")
    if close:
        head.append("Connection: close")
    return ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body


class Handler(BaseHTTPRequestHandler):
    """Answers one request held in memory: ``Handler(data, client_address, server).response``
    (bytes) and ``.close_connection``; ``server`` is a :class:`~numnet.serve.server.Server`."""

    protocol_version = "HTTP/1.1"
    default_request_version = "HTTP/1.0"   # unreadable request lines get status lines and headers too
    server_version = "numnet"

    def __init__(self, data: bytes, client_address, server):        # no socket: the request is in memory
        self.server, self.client_address = server, client_address
        self.rfile, self.wfile = io.BytesIO(data), io.BytesIO()
        self.close_connection = True
        self.handle_one_request()
        self.response = self.wfile.getvalue()

    def handle_expect_100(self):
        return True                        # the front has sent "100 Continue" and read the whole body

    # dispatch -----------------------------------------------------------------------------
    def do_GET(self):
        self._answer(self._get)

    do_HEAD = do_GET                       # the same status and headers, no body (see _send)

    def do_POST(self):
        self._answer(self._post)

    def do_PUT(self):
        self._answer(self._other)

    do_DELETE = do_PATCH = do_OPTIONS = do_PUT

    def _answer(self, route):
        try:
            status, body, content_type = route(self._path())
        except RequestError as e:
            status, body, content_type = e.status, {"error": str(e)}, None
        except NumnetError as e:                   # ImageError: no ink, not an image...
            status, body, content_type = 400, {"error": str(e)}, None
        except MemoryError:
            status, body, content_type = 503, {"error": "out of memory for this request: try a smaller one"}, None
        except Exception as e:                     # a bug: this request fails, the server goes on
            self.server.report("error", f"{type(e).__name__}: {e}")
            status, body, content_type = 500, {"error": f"internal error ({type(e).__name__})"}, None
        self._send(status, body, content_type)

    def _path(self) -> str:
        return self.path.split("?", 1)[0].split("#", 1)[0]

    # routes -------------------------------------------------------------------------------
    def _get(self, path):
        if path == "/api/model":
            return 200, self.server.model_info, None
        if path == "/api/strings":
            asked = parse_qs(self.path.partition("?")[2].partition("#")[0]).get("lang", [None])[0]
            lang = choose_language(asked, self.server.language, self.headers.get("Accept-Language"))
            return 200, page_strings(lang, self.server.page_messages), None
        if path in self.server.static:
            return (200, *self.server.static[path])
        if path == "/api/predict":
            raise RequestError("use POST for /api/predict", status=405)
        raise RequestError(f"not found: {path[:100]}", status=404)

    def _post(self, path):
        if path != "/api/predict":
            if path in ("/api/model", "/api/strings") or path in self.server.static:
                raise RequestError(f"use GET for {path}", status=405)
            raise RequestError(f"not found: {path[:100]}", status=404)
        content_type = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        body = self._body()
        if content_type in ("application/json", "text/json"):
            with self._memory(json_memory(len(body), MAX_PIXELS), "this request"):
                return 200, self._predict_json(self._json(body)), None
        if content_type.startswith("image/") or content_type == "application/octet-stream":
            need, size = image_memory(body)
            what = f"a {size[0]}×{size[1]} {size[2]} image" if size else "this image"
            with self._memory(need or len(body), what):
                return 200, self.server.predictor.predict_file(body), None
        raise RequestError(f"unsupported content type {content_type or '(none)'!r}: send application/json "
                           "{\"pixels\": [[...]]} or an image file (image/png, image/jpeg...)", status=415)

    def _predict_json(self, request: dict) -> dict:
        options = {k: request.get(k, True) for k in ("preprocess", "activations")}
        for key, value in options.items():
            if not isinstance(value, bool):
                raise RequestError(f"'{key}' must be true or false")
        if "pixels" not in request:
            raise RequestError("the JSON object needs a 'pixels' key: rows of grey levels 0..255")
        return self.server.predictor.predict_pixels(request["pixels"], **options)

    def _other(self, path):
        raise RequestError(f"method {self.command} not allowed", status=405)

    def _memory(self, need: int, what: str):
        """Hold ``need`` bytes of the server's memory budget while the work runs (413 if it can
        never fit, 503 if it does not fit now)."""
        budget = self.server.budget
        if need > budget.total:
            raise RequestError(f"{what} needs about {need / 2**20:,.0f} MiB to prepare, more than this server's "
                               f"memory budget ({budget.total / 2**20:,.0f} MiB)", status=413)
        if not budget.reserve(need, wait=BUDGET_WAIT):
            raise RequestError("the server is busy with other large requests: try again in a moment", status=503)
        return _Held(budget, need)

    # reading and writing ------------------------------------------------------------------
    def _body(self) -> bytes:
        """The request body. The front has read it in full, or, when the headers announce none it
        can accept (no or a bad Content-Length, chunked, too large), none of it: refused here."""
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            self.close_connection = True
            raise RequestError("chunked bodies are not accepted: send a Content-Length", status=411)
        length = self.headers.get("Content-Length")
        if length is None:
            self.close_connection = True
            raise RequestError("a Content-Length header is needed", status=411)
        try:
            n = int(length)
            if n < 0:
                raise ValueError
        except ValueError:
            self.close_connection = True
            raise RequestError("bad Content-Length header") from None
        if n > self.server.max_body:
            self.close_connection = True           # the unread body must not be taken for a request
            raise RequestError(f"request body too large ({n:,} bytes; at most {self.server.max_body:,})", status=413)
        data = self.rfile.read(n)
        if len(data) < n:                          # the front reads the whole body: cannot happen
            self.close_connection = True
            raise RequestError("body cut short")
        return data

    @staticmethod
    def _json(body: bytes) -> dict:
        def no_constants(name):
            raise ValueError(f"{name} is not a number here")

        try:
            request = json.loads(body.decode("utf-8"), parse_constant=no_constants)
        except UnicodeDecodeError:
            raise RequestError("the body is not UTF-8 text") from None
        except RecursionError:
            raise RequestError("malformed JSON (nested too deeply)") from None
        except ValueError as e:
            raise RequestError(f"malformed JSON ({e})") from None
        if not isinstance(request, dict):
            raise RequestError("the body must be a JSON object such as {\"pixels\": [[0, 255], [255, 0]]}")
        return request

    def _send(self, status: int, body, content_type=None):
        if content_type is None:
            try:
                body = json_text(body, compact=True).encode()
            except NonFiniteError as e:            # NaN or ±∞ in an answer: say so, as a 500 with a body
                self.server.report("error", str(e))
                status, body = 500, json_text({"error": f"the answer cannot be sent: {e}"}, compact=True).encode()
            content_type = "application/json"
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for key, value in SECURITY_HEADERS.items():
            self.send_header(key, value)
        if status == 503:
            self.send_header("Retry-After", "1")
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def send_error(self, code, message=None, explain=None):
        """Errors http.server finds itself (bad request line, headers too long...): JSON too."""
        self.close_connection = True
        try:
            self._send(int(code), {"error": message or HTTPStatus(code).phrase})
        except ValueError:
            self._send(400, {"error": message or "bad request"})

    def log_message(self, format, *args):
        self.server.report("request", f"{self.address_string()} {format % args}")


class _Held:
    """A reservation of the memory budget, given back when the ``with`` block ends."""

    def __init__(self, budget, n: int):
        self.budget, self.n = budget, n

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.budget.release(self.n)
