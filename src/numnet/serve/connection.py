"""One client connection as the front sees it, what it reads from a request's head, and how many
descriptors the process may hold for connections.

The front (:mod:`numnet.serve.server`) reads only enough of HTTP to know where a request ends:
the blank line after the headers, then ``Content-Length`` bytes. Everything else (the request
line, header syntax, methods, routes) is the handler's, on the complete request.
"""
from __future__ import annotations

import re
import resource

#: largest request line + headers (bytes)
MAX_HEAD = 64 * 1024
#: the blank line that ends the headers
HEAD_END = re.compile(rb"\r?\n\r?\n")
#: what a client that sent "Expect: 100-continue" waits for before its body
CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"


class Connection:
    """One client socket and where its request stands: ``reading`` (headers, then ``need`` bytes in
    all), ``working`` (a worker has it), ``writing`` (``out`` left to send), ``closing`` (answered
    and shut for writing; what still arrives is dropped until the client closes or LINGER ends)."""

    __slots__ = ("address", "buffer", "close_after", "closed", "deadline", "events", "image", "need", "out",
                 "reserved", "scanned", "sock", "state")

    def __init__(self, sock, address, deadline):
        self.sock, self.address, self.deadline = sock, address, deadline
        self.buffer, self.state, self.need, self.reserved = bytearray(), "reading", None, 0
        self.out, self.close_after, self.scanned, self.closed, self.events = b"", False, 0, False, 0
        self.image = False                         # an image upload: the image workers' pool


def announced_body(head: bytes, max_body: int):
    """(bytes of body to read, whether the client waits for "100 Continue", whether the body is an
    image file) from the headers:
    None when the body is to be refused unread (chunked, no valid single Content-Length for a
    body, over ``max_body``): the handler then names the problem and the connection closes."""
    lengths, chunked, expect, image = [], False, False, False
    for line in head.split(b"\n")[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            lengths.append(value.strip())
        elif name == b"transfer-encoding":
            chunked = True
        elif name == b"expect":
            expect = value.strip().lower() == b"100-continue"
        elif name == b"content-type":
            kind = value.strip().lower()
            image = kind.startswith(b"image/") or kind.startswith(b"application/octet-stream")
    if chunked or len(lengths) > 1:
        return None, False, False
    if not lengths:
        return 0, False, False
    if not lengths[0].isdigit() or int(lengths[0]) > max_body:
        return None, False, False
    return int(lengths[0]), expect, image


def descriptors(wanted: int) -> int:
    """File descriptors this process may open: the soft limit, raised towards ``wanted`` (within
    the hard limit) when it is lower, as servers do (a default of 1,024 would cap the connections)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if 0 <= soft < wanted:
        target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError):
            pass
    return soft if soft >= 0 else wanted
