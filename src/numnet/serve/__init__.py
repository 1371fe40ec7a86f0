"""``numnet serve``: a local HTTP server and the draw-a-digit web page (``serve/web/``).

``server`` (the front: one selector thread owns every socket; request deadlines, a connection cap),
``connection`` (what the front knows of a connection and of a request's head),
``handler`` (a complete request in memory → its response: the routes), ``budget`` (the one memory
budget requests reserve from before they allocate).

May import: inference (the predictor), data (image header estimates), files (the JSON writer), errors.
"""
from .server import Server, make_server, start_in_thread

__all__ = ["Server", "make_server", "start_in_thread"]
