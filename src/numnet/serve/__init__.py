"""``numnet serve``: a local HTTP server and the draw-a-digit web page (``serve/web/``).

May import: inference (the predictor), errors.
"""
from .server import Server, make_server, start_in_thread

__all__ = ["Server", "make_server", "start_in_thread"]
