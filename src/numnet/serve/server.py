"""A local web page and HTTP API around a :class:`~numnet.inference.predictor.Predictor`: ``numnet serve``.

One thread (the front) owns every socket: a ``selectors`` loop accepts connections, reads each
request in full and writes each response, never blocking on a client. A complete request goes to
small pools of worker threads (:class:`~numnet.serve.handler.Handler`: routes, parsing, the model;
image uploads have a pool of their own, so a large photo never delays a drawing).
So a slow or silent client holds only a few kilobytes and a file descriptor, never a thread:

* **a deadline per request**, not per read: headers and body must arrive within ``timeout``
  seconds of the connection's start (or of the previous response); a client dripping a byte a
  second gets 408 and is closed at the deadline; an idle keep-alive connection is closed then;
* **a cap on connections** (``max_connections``): over it, a new connection gets 503 at once;
* **one memory budget** (:class:`~numnet.serve.budget.MemoryBudget`): a body is buffered only
  after its ``Content-Length`` has been reserved; decoding an image and preparing pixels reserve
  their estimate before they allocate; over the budget: 503 (busy) or 413 (never fits);
* the headers may take at most :data:`MAX_HEAD` bytes (431), the body ``max_body`` (413, answered
  from the header before any of the body is read).

Routes and answers are :mod:`numnet.serve.handler`'s. An unexpected exception becomes a 500 for
that request, and the server keeps serving.
"""
from __future__ import annotations

import concurrent.futures
import selectors
import socket
import threading
import time
from collections import deque

from ..errors import NumnetError
from ..files import nulls_for_nonfinite
from .budget import MEMORY_BUDGET, MemoryBudget
from .connection import CONTINUE, HEAD_END, MAX_HEAD, Connection, announced_body, descriptors
from .handler import Handler, error_response, static_files
from .strings import page_messages

#: largest request body accepted (bytes)
MAX_BODY = 4 * 1024 * 1024
#: seconds a request (headers and body) may take to arrive; also how long an idle connection stays open
TIMEOUT = 10.0
#: open connections served at once (more get 503); kept below the process's file descriptor limit
MAX_CONNECTIONS = 4096
#: worker threads for drawings and small requests, and for image uploads (seconds each for a large
#: photo): two pools, so that uploads never make a drawing wait behind them
WORKERS, IMAGE_WORKERS = 3, 2
#: requests in the hands of each pool (running or waiting) beyond which a new one gets 503 at once:
#: a crowd of uploads is told to come back rather than left waiting minutes
MAX_QUEUED, MAX_QUEUED_IMAGES = 256, 6
#: seconds a closed connection still reads (and drops) what its client sends, so that the client
#: reads the answer instead of a reset; at most LINGERING such connections beyond the cap
LINGER, LINGERING = 1.0, 256


class Server:
    """The server: bound on creation, serving in :meth:`serve_forever` until :meth:`shutdown`.
    ``on_event(kind, text)`` receives the request log and errors (the library never prints)."""

    def __init__(self, address, predictor, max_body: int = MAX_BODY, timeout: float = TIMEOUT, on_event=None,
                 max_connections: int = MAX_CONNECTIONS, memory_budget: int = MEMORY_BUDGET, workers: int = WORKERS,
                 image_workers: int = IMAGE_WORKERS, language: str | None = None):
        self.predictor, self.max_body, self.timeout, self.on_event = predictor, int(max_body), float(timeout), on_event
        self.max_connections = max(1, min(int(max_connections), descriptors(int(max_connections) + LINGERING + 64)
                                          - LINGERING - 64))
        self.budget = MemoryBudget(memory_budget)
        self.model_info = _model_info(predictor)
        self.static = static_files()
        self.language, self.page_messages = language, page_messages()    # None: the browser's Accept-Language
        family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        self.socket = socket.socket(family, socket.SOCK_STREAM)
        try:
            self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            self.socket.bind(address)
            self.socket.listen(1024)
        except OSError:
            self.socket.close()
            raise
        self.socket.setblocking(False)
        self.server_address = self.socket.getsockname()
        self._selector = selectors.DefaultSelector()
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._done = deque()                       # (connection, response, close) from the workers
        self._pools = [concurrent.futures.ThreadPoolExecutor(max(1, int(n)), thread_name_prefix=f"numnet-serve-{kind}")
                       for n, kind in ((workers, "request"), (image_workers, "image"))]
        self._queued, self._closing = [0, 0], 0           # requests in each pool; lingering connections
        self._connections = set()
        self._stop = threading.Event()
        self._stopped = threading.Event()
        self._stopped.set()

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        host = "127.0.0.1" if host in ("0.0.0.0", "") else "::1" if host == "::" else host
        return f"http://{'[' + host + ']' if ':' in host else host}:{port}/"

    @property
    def connections(self) -> int:
        """Connections open and not yet answered for good (lingering ones are not counted)."""
        return len(self._connections) - self._closing

    def report(self, kind: str, text: str):
        if self.on_event is not None:
            self.on_event(kind, text)

    # the loop ---------------------------------------------------------------------------------
    def serve_forever(self, poll_interval: float = 0.5):
        """Serve until :meth:`shutdown` (from another thread) or KeyboardInterrupt."""
        self._stop.clear()
        self._stopped.clear()
        sel = self._selector
        sel.register(self.socket, selectors.EVENT_READ, "accept")
        sel.register(self._wake_r, selectors.EVENT_READ, "wake")
        next_sweep = 0.0
        try:
            while not self._stop.is_set():
                for key, events in sel.select(timeout=min(poll_interval, 0.25)):
                    if key.data == "accept":
                        self._accept()
                    elif key.data == "wake":
                        self._drain_wake()
                    elif events & selectors.EVENT_WRITE:
                        self._write(key.data)
                    else:
                        self._read(key.data)
                self._finish_done()
                now = time.monotonic()
                if now >= next_sweep:
                    self._sweep(now)
                    next_sweep = now + 0.1
        finally:
            for sock in (self.socket, self._wake_r):
                try:
                    sel.unregister(sock)
                except (KeyError, ValueError):
                    pass
            self._stopped.set()

    def shutdown(self):
        """Stop :meth:`serve_forever` and wait for it to return."""
        self._stop.set()
        self._wake()
        self._stopped.wait()

    def server_close(self):
        """Close the listening socket, every connection and the worker pool."""
        for conn in list(self._connections):
            self._close(conn, linger=False)
        for pool in self._pools:
            pool.shutdown(wait=False, cancel_futures=True)
        for sock in (self.socket, self._wake_r, self._wake_w):
            sock.close()
        self._selector.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.server_close()

    # connections ------------------------------------------------------------------------------
    def _accept(self):
        for _ in range(256):
            try:
                sock, address = self.socket.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as e:                   # out of file descriptors, or the client gave up
                self.report("error", f"accept: {e}")
                return
            sock.setblocking(False)
            if self.connections >= self.max_connections:
                if self._closing >= LINGERING:
                    sock.close()                   # a flood: no answer at all rather than more descriptors
                    continue
                conn = Connection(sock, address, 0)
                self._connections.add(conn)
                try:
                    sock.send(error_response(503, f"too many connections (at most {self.max_connections}): "
                                                  "try again in a moment"))
                except OSError:
                    pass
                self._close(conn)
                continue
            conn = Connection(sock, address, time.monotonic() + self.timeout)
            self._connections.add(conn)
            self._watch(conn, selectors.EVENT_READ)

    def _watch(self, conn: Connection, events: int):
        """Wait for ``events`` on ``conn`` (0: none, while a worker has it)."""
        if events == conn.events:
            return
        if not events:
            self._selector.unregister(conn.sock)
        elif conn.events:
            self._selector.modify(conn.sock, events, conn)
        else:
            self._selector.register(conn.sock, events, conn)
        conn.events = events

    def _close(self, conn: Connection, linger: bool = True):
        """Shut ``conn`` for writing (its answer goes out first), then, with ``linger``, drop what
        its client still sends for up to LINGER seconds before closing (a close with unread
        input would reset the connection and the client could lose the answer)."""
        if conn.closed:
            return
        self._release(conn)
        if linger and conn.state != "closing":
            try:
                conn.sock.shutdown(socket.SHUT_WR)
            except OSError:
                pass
            else:
                conn.state, conn.deadline, conn.buffer = "closing", time.monotonic() + LINGER, bytearray()
                self._closing += 1
                self._watch(conn, selectors.EVENT_READ)
                return
        if conn.state == "closing":
            self._closing -= 1
        conn.closed = True
        self._connections.discard(conn)
        if conn.events:
            self._watch(conn, 0)
        conn.sock.close()

    def _release(self, conn: Connection):
        if conn.reserved:
            self.budget.release(conn.reserved)
            conn.reserved = 0

    def _sweep(self, now: float):
        """Close connections past their deadline: 408 to one that had started a request."""
        for conn in [c for c in self._connections if c.state != "working" and c.deadline <= now]:
            if conn.state == "closing":
                self._close(conn, linger=False)
                continue
            if conn.state == "reading" and conn.buffer:
                self.report("request", f"{conn.address[0]} request not complete within {self.timeout:g} s: 408")
                try:
                    conn.sock.send(error_response(408, f"the request did not arrive within {self.timeout:g} s"))
                except OSError:
                    pass
            self._close(conn)

    # reading ----------------------------------------------------------------------------------
    def _read(self, conn: Connection):
        try:
            data = conn.sock.recv(65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:                               # the client has gone (or finished after our answer)
            self._close(conn, linger=False)
            return
        if conn.state == "closing":
            return                                 # dropped: the answer has been given
        conn.buffer += data
        self._parse(conn)

    def _parse(self, conn: Connection):
        """Look at what ``conn`` has buffered: hand a complete request to a worker, reserve the
        announced body, or refuse what cannot be accepted."""
        if conn.need is None:
            while conn.buffer[:1] in (b"\r", b"\n"):   # blank lines before a request are ignored (RFC 9112)
                del conn.buffer[:1]
            match = HEAD_END.search(conn.buffer, max(0, conn.scanned - 3))
            if match is None:
                conn.scanned = len(conn.buffer)
                if len(conn.buffer) > MAX_HEAD:
                    self._refuse(conn, 431, f"request headers too large (at most {MAX_HEAD:,} bytes)")
                return
            head_length = match.end()
            if head_length > MAX_HEAD:
                self._refuse(conn, 431, f"request headers too large (at most {MAX_HEAD:,} bytes)")
                return
            body, expect, conn.image = announced_body(bytes(conn.buffer[:head_length]), self.max_body)
            if body and not self.budget.reserve(body):
                self._refuse(conn, 503, "the server is busy with other large requests: try again in a moment")
                return
            conn.close_after = body is None         # a body the handler refuses unread: answer, then close
            conn.reserved, conn.need = body or 0, head_length + (body or 0)
            if expect and len(conn.buffer) < conn.need:
                try:
                    conn.sock.send(CONTINUE)
                except OSError:
                    pass
        if len(conn.buffer) < conn.need:
            return
        request = bytes(conn.buffer[:conn.need])
        del conn.buffer[:conn.need]
        conn.need, conn.scanned, conn.state = None, 0, "working"
        self._watch(conn, 0)
        pool = 1 if conn.image else 0
        if self._queued[pool] >= (MAX_QUEUED_IMAGES if pool else MAX_QUEUED):
            self._release(conn)
            self._respond(conn, error_response(503, "the server is busy: try again in a moment"), True)
            return
        self._queued[pool] += 1
        self._pools[pool].submit(self._work, conn, request)

    def _refuse(self, conn: Connection, status: int, message: str):
        self.report("request", f"{conn.address[0]} refused: {status} {message}")
        conn.buffer.clear()
        self._respond(conn, error_response(status, message), True)

    # working (in a worker thread) -----------------------------------------------------------
    def _work(self, conn: Connection, request: bytes):
        try:
            handler = Handler(request, conn.address, self)
            response, close = handler.response, handler.close_connection or conn.close_after
        except Exception as e:                     # the handler's own catch failed: still answer
            self.report("error", f"{type(e).__name__}: {e}")
            response, close = error_response(500, f"internal error ({type(e).__name__})"), True
        finally:
            self._release(conn)
        self._done.append((conn, response or error_response(400, "bad request"), close))
        self._wake()

    def _wake(self):
        try:
            self._wake_w.send(b"x")
        except (BlockingIOError, OSError):
            pass                                   # already woken (the pipe is full) or closed

    def _drain_wake(self):
        try:
            while self._wake_r.recv(4096):
                pass
        except (BlockingIOError, InterruptedError, OSError):
            pass

    def _finish_done(self):
        while self._done:
            conn, response, close = self._done.popleft()
            self._queued[1 if conn.image else 0] -= 1
            if not conn.closed:
                self._respond(conn, response, close)

    # writing ----------------------------------------------------------------------------------
    def _respond(self, conn: Connection, response: bytes, close: bool):
        conn.state, conn.out, conn.close_after = "writing", memoryview(response), close
        conn.deadline = time.monotonic() + self.timeout
        self._watch(conn, selectors.EVENT_WRITE)
        self._write(conn)

    def _write(self, conn: Connection):
        try:
            sent = conn.sock.send(conn.out)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            self._close(conn, linger=False)
            return
        conn.out = conn.out[sent:]
        if conn.out:
            return
        if conn.close_after:
            self._close(conn)
            return
        conn.state, conn.deadline, conn.out = "reading", time.monotonic() + self.timeout, b""
        self._watch(conn, selectors.EVENT_READ)
        if conn.buffer:                            # a pipelined request already waiting
            self._parse(conn)


def _model_info(predictor) -> dict:
    """``predictor.describe()`` for ``GET /api/model``. The training history says a diverged epoch's
    NaN or ∞ as null (reported on purpose, so the page still loads); any other non-finite number
    is left for the JSON writer to refuse: a 500 whose body names it."""
    info = predictor.describe()
    for key in ("history", "test_accuracy"):
        info[key] = nulls_for_nonfinite(info.get(key))
    return info


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


__all__ = ["Server", "make_server", "start_in_thread", "MAX_BODY", "MAX_HEAD", "TIMEOUT", "MAX_CONNECTIONS"]
