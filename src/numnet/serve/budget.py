"""The server's one memory budget: every request reserves, before it allocates, the bytes it will need.

What a request costs is estimated from what is known before the work starts:

* its body, from the ``Content-Length`` header, before a byte of the body is buffered;
* an uploaded image, from the file's header (width, height, mode), before a pixel is decoded:
  :func:`numnet.data.imagefile.working_memory`, the same estimate ``numnet predict`` checks;
* a JSON body, from its length: the parsed lists and the preprocessing of at most that many pixels.

A request whose estimate is larger than the whole budget can never run: 413. One that does not
fit beside the requests in flight waits briefly for them to finish, then gets 503 ("busy, retry").
So the server's memory stays near its baseline plus the budget whatever arrives at once.
"""
from __future__ import annotations

import io
import threading
import warnings

from ..data.imagefile import FORMATS, WORK_SIZE, working_memory

#: bytes all requests in flight may hold together (bodies, decoded images, preprocessing)
MEMORY_BUDGET = 640 << 20
#: seconds a request waits for others to release their share before it is answered 503
BUDGET_WAIT = 1.0
#: bytes json.loads and parse_pixels hold per byte of a pixels body (8 measured with tracemalloc)
_JSON_BYTES_PER_BYTE = 16
#: bytes to_mnist needs per pixel of an image at most WORK_SIZE on its longer side (120-180 measured);
#: a larger one is first shrunk to that (its float copies: 16 B per pixel)
_PREPARE_BYTES_PER_PIXEL = 200


class MemoryBudget:
    """``total`` bytes shared by the requests in flight: :meth:`reserve` before allocating,
    :meth:`release` after (or ``with budget.hold(n):``)."""

    def __init__(self, total: int = MEMORY_BUDGET):
        self.total, self.used, self.peak = int(total), 0, 0
        self._free = threading.Condition()

    def reserve(self, n: int, wait: float = 0.0) -> bool:
        """Take ``n`` bytes if they fit within ``wait`` seconds; False (nothing taken) otherwise."""
        n = int(n)
        with self._free:
            if not self._free.wait_for(lambda: self.used + n <= self.total, timeout=wait):
                return False
            self.used += n
            self.peak = max(self.peak, self.used)
            return True

    def release(self, n: int):
        with self._free:
            self.used -= int(n)
            self._free.notify_all()


def image_memory(data: bytes):
    """(bytes needed to read and prepare an uploaded image, (width, height, mode)) from its header
    alone, or (None, None) when Pillow does not recognise it (the full read then says why)."""
    try:
        from PIL import Image
    except ImportError:
        return None, None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(io.BytesIO(data), formats=FORMATS) as im:
                (w, h), mode, jpeg = im.size, im.mode, im.format == "JPEG"
    except Exception:                  # not an image, or a header Pillow refuses: predict_file explains
        return None, None
    return working_memory(w, h, mode, jpeg) + len(data), (w, h, mode)


def json_memory(n_bytes: int, max_pixels: int) -> int:
    """Upper estimate of the bytes a JSON pixels body of ``n_bytes`` needs: the parsed lists, then
    the preprocessing of the at most ``n_bytes / 2`` pixels it can hold ("0," per pixel)."""
    pixels = max(1, min(n_bytes // 2, max_pixels))
    return _JSON_BYTES_PER_BYTE * n_bytes + 16 * pixels + _PREPARE_BYTES_PER_PIXEL * min(pixels, WORK_SIZE ** 2)
