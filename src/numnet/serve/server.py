"""A local web page and HTTP API around a :class:`~numnet.inference.predictor.Predictor`: ``numnet serve``.

The standard library's ``http.server`` with ``ThreadingHTTPServer`` (a thread per connection):
no dependency, and plenty for one person's page on their own machine. Routes:

* ``GET /`` the page; ``GET /static/NAME`` its script and style (shipped in ``numnet/web``);
* ``GET /api/model`` → :meth:`Predictor.describe`;
* ``POST /api/predict`` with ``application/json`` ``{"pixels": [[...]], "preprocess": true,
  "activations": true}``, or with an image file as the body (``image/*`` or
  ``application/octet-stream``) → ``{"prediction", "probabilities", "preprocessed", "activations"}``.

Robustness: a body over ``max_body`` bytes is refused with 413 from its Content-Length, before any
of it is read; bad JSON, shapes or values get 400; a wrong path 404, a wrong method 405, an unknown
content type 415; every error is ``{"error": message}``. Sockets time out after ``timeout``
seconds, so a slow or half-sent request ties up only its own thread; an unexpected exception
becomes a 500 for that request, and the server keeps serving.
"""
from __future__ import annotations

import json
import os
import socket
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from ..errors import NumnetError
from ..inference.predictor import RequestError

#: where the page's files are (package data)
WEB_DIR = os.path.join(os.path.dirname(__file__), "web")
STATIC_TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
                ".css": "text/css; charset=utf-8", ".png": "image/png", ".svg": "image/svg+xml"}
#: largest request body accepted (bytes)
MAX_BODY = 4 * 1024 * 1024
#: seconds a connection may stay silent (while sending its request, or idle between requests)
TIMEOUT = 10.0
#: the page may load only its own files and talk only to this server
SECURITY_HEADERS = {"Content-Security-Policy": "default-src 'self'; img-src 'self' data: blob:; "
                                               "style-src 'self'; script-src 'self'; object-src 'none'",
                    "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer",
                    "Cache-Control": "no-store"}


def _static_files() -> dict:
    """{URL path: file path} for the page's files: a fixed list, so no path from a request ever
    reaches the file system."""
    files = {"/": os.path.join(WEB_DIR, "index.html")}
    for name in sorted(os.listdir(WEB_DIR)) if os.path.isdir(WEB_DIR) else ():
        if os.path.splitext(name)[1] in STATIC_TYPES and not name.startswith("."):
            files["/static/" + name] = os.path.join(WEB_DIR, name)
    return files


class Handler(BaseHTTPRequestHandler):
    """One request; ``self.server`` is a :class:`Server`."""

    protocol_version = "HTTP/1.1"
    default_request_version = "HTTP/1.0"   # unreadable request lines get status lines and headers too
    server_version = "numnet"
    timeout = TIMEOUT            # socket timeout of the connection (StreamRequestHandler sets it)

    # dispatch -----------------------------------------------------------------------------
    def do_GET(self):
        self._answer(self._get)

    def do_POST(self):
        self._answer(self._post)

    def do_PUT(self):
        self._answer(self._other)

    do_DELETE = do_PATCH = do_PUT

    def _answer(self, route):
        try:
            status, body, content_type = route(self._path())
        except RequestError as e:
            status, body, content_type = e.status, {"error": str(e)}, None
        except NumnetError as e:                   # ImageError: no ink, not an image...
            status, body, content_type = 400, {"error": str(e)}, None
        except (socket.timeout, ConnectionError):
            self.close_connection = True           # the client went silent or away: nobody to answer
            return
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
        if path in self.server.static:
            with open(self.server.static[path], "rb") as f:
                return 200, f.read(), STATIC_TYPES[os.path.splitext(self.server.static[path])[1]]
        if path == "/api/predict":
            raise RequestError("use POST for /api/predict", status=405)
        raise RequestError(f"not found: {path[:100]}", status=404)

    def _post(self, path):
        if path != "/api/predict":
            if path == "/api/model" or path in self.server.static:
                raise RequestError(f"use GET for {path}", status=405)
            raise RequestError(f"not found: {path[:100]}", status=404)
        content_type = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        body = self._body()
        predictor = self.server.predictor
        if content_type in ("application/json", "text/json"):
            request = self._json(body)
            options = {k: request.get(k, True) for k in ("preprocess", "activations")}
            for key, value in options.items():
                if not isinstance(value, bool):
                    raise RequestError(f"'{key}' must be true or false")
            if "pixels" not in request:
                raise RequestError("the JSON object needs a 'pixels' key: rows of grey levels 0..255")
            return 200, predictor.predict_pixels(request["pixels"], **options), None
        if content_type.startswith("image/") or content_type == "application/octet-stream":
            return 200, predictor.predict_file(body), None
        raise RequestError(f"unsupported content type {content_type or '(none)'!r}: send application/json "
                           "{\"pixels\": [[...]]} or an image file (image/png, image/jpeg...)", status=415)

    def _other(self, path):
        raise RequestError(f"method {self.command} not allowed", status=405)

    # reading and writing ------------------------------------------------------------------
    def _body(self) -> bytes:
        """The request body, refused (413) from its announced length before reading any of it."""
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
        if len(data) < n:
            self.close_connection = True
            raise ConnectionError("body cut short")
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
            body = json.dumps(body, separators=(",", ":"), allow_nan=False).encode()
            content_type = "application/json"
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            for key, value in SECURITY_HEADERS.items():
                self.send_header(key, value)
            if self.close_connection:
                self.send_header("Connection", "close")
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)
        except (socket.timeout, ConnectionError):
            self.close_connection = True

    def send_error(self, code, message=None, explain=None):
        """Errors http.server finds itself (bad request line, headers too long...): JSON too."""
        self.close_connection = True
        try:
            self._send(int(code), {"error": message or HTTPStatus(code).phrase})
        except ValueError:
            self._send(400, {"error": message or "bad request"})

    def log_message(self, format, *args):
        self.server.report("request", f"{self.address_string()} {format % args}")


class Server(ThreadingHTTPServer):
    """``ThreadingHTTPServer`` holding the predictor; ``on_event(kind, text)`` receives the
    request log and errors (the library never prints)."""

    daemon_threads = True        # Ctrl-C does not wait for open connections
    allow_reuse_address = True
    request_queue_size = 128     # listen backlog (socketserver's 5 drops connections under bursts: 1 s SYN retries)

    def __init__(self, address, predictor, max_body: int = MAX_BODY, timeout: float = TIMEOUT, on_event=None):
        self.predictor, self.max_body, self.on_event = predictor, max_body, on_event
        self.model_info = predictor.describe()
        self.static = _static_files()
        super().__init__(address, type("Handler", (Handler,), {"timeout": timeout}))

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        host = "127.0.0.1" if host in ("0.0.0.0", "") else host
        return f"http://{'[' + host + ']' if ':' in host else host}:{port}/"

    def report(self, kind: str, text: str):
        if self.on_event is not None:
            self.on_event(kind, text)

    def handle_error(self, request, client_address):
        """An exception outside the handler's own catch (e.g. a reset while reading the request
        line): report it in one line instead of printing a traceback."""
        import sys

        e = sys.exc_info()[1]
        if not isinstance(e, (socket.timeout, ConnectionError)):
            self.report("error", f"{client_address[0]}: {type(e).__name__}: {e}")


def make_server(predictor, host: str = "127.0.0.1", port: int = 8000, **options) -> Server:
    """A bound :class:`Server` (``port=0``: any free port; see ``.url``). Call ``serve_forever()``
    (or :func:`start_in_thread`) and ``shutdown()`` / ``server_close()``. Raises NumnetError when
    the address cannot be bound."""
    try:
        return Server((host, port), predictor, **options)
    except OSError as e:
        raise NumnetError(f"cannot listen on {host}:{port} ({e.strerror or e})") from None


def start_in_thread(server: Server) -> threading.Thread:
    """Serve from a daemon thread (tests, notebooks); stop with ``server.shutdown()``."""
    thread = threading.Thread(target=server.serve_forever, name="numnet-serve", daemon=True)
    thread.start()
    return thread
