"""Image files → grayscale arrays in [0, 1], read safely (the first step of :mod:`numnet.data.preprocess`).

Pillow decodes the file (PNG, JPEG, BMP, GIF); everything after that is NumPy. Before a single
pixel is decoded, the header's size and mode are checked against three limits, so one hostile or
absurd file costs milliseconds and a few kilobytes, never gigabytes:

- at most :data:`MAX_PIXELS` pixels;
- an aspect ratio of at most :data:`MAX_ASPECT` : 1 (a 1×400,000 PNG of 469 bytes is no digit);
- at most :data:`MEMORY_BUDGET` bytes of working memory for reading *and* preprocessing it, as
  estimated by :func:`working_memory` from the width, height and mode alone.
"""
from __future__ import annotations

import os
import struct
import warnings

import numpy as np

from ..errors import NumnetError
from ..files import special_file

#: formats read by :func:`read_image`
FORMATS = ("PNG", "JPEG", "BMP", "GIF")
#: largest image accepted (pixels); checked from the header, before anything is decoded
MAX_PIXELS = 40_000_000
#: longest side / shortest side accepted
MAX_ASPECT = 100
#: working memory one image may need (read + preprocess), estimated from its header: 1 GiB
MEMORY_BUDGET = 1 << 30
#: images are first reduced so that their longer side is at most this many pixels
WORK_SIZE = 512

#: bytes per pixel while decoding and converting to float64 gray (measured with ru_maxrss through
#: read_image: 12 B/px for L and RGB PNGs, 62 for RGBA), then in to_mnist before the first shrink
#: (its float64 copy and the clipped copy: 16 B/px)
_GRAY_BYTES = {"alpha": 64, "int": 24, "plain": 12}
_TO_MNIST_BYTES = 16
#: to_mnist's fixed cost once the image is at most WORK_SIZE on its longer side (42 MB measured)
_FIXED_BYTES = 64 << 20


class ImageError(NumnetError):
    """An image file that cannot be read, is not an image, is too large, or shows no digit."""


def working_memory(width: int, height: int, mode: str = "RGBA", jpeg: bool = False) -> int:
    """Upper estimate of the bytes that :func:`read_image` and ``to_mnist`` need for a
    ``width`` × ``height`` image of Pillow ``mode``: the pixels at each stage, plus the two
    anti-aliased resampling matrices (n_out × n_in float64 each, and their temporaries: 3 copies)
    that shrink the longer side to :data:`WORK_SIZE`. A JPEG over 2·WORK_SIZE is decoded at 1/4
    scale. Measured peaks lie 20-50% below this estimate."""
    w, h = int(width), int(height)
    if jpeg and max(w, h) > 2 * WORK_SIZE:
        w, h, mode = -(-w // 4), -(-h // 4), "L"
    pixels = w * h
    kind = ("alpha" if mode in ("RGBA", "LA", "PA", "P", "RGBa", "La") else
            "int" if mode in ("I", "I;16", "I;16B", "I;16L", "F") else "plain")
    total = pixels * (_GRAY_BYTES[kind] + _TO_MNIST_BYTES) + _FIXED_BYTES
    if max(w, h) > WORK_SIZE:
        f = WORK_SIZE / max(w, h)
        ho, wo = max(1, round(h * f)), max(1, round(w * f))
        total += 3 * 8 * (ho * h + wo * w) + 8 * ho * w
    return total


def check_header(width: int, height: int, mode: str, jpeg: bool = False, max_pixels: int = MAX_PIXELS,
                 max_bytes: int = MEMORY_BUDGET) -> None:
    """Raise :class:`ImageError` for an image that is empty, over ``max_pixels``, over
    :data:`MAX_ASPECT` : 1 or over ``max_bytes`` of working memory: from the header alone."""
    w, h = int(width), int(height)
    if w < 1 or h < 1:
        raise ImageError("empty image")
    if w * h > max_pixels:
        raise ImageError(f"image too large ({w}×{h} pixels, at most {max_pixels:,} accepted)")
    if max(w, h) > MAX_ASPECT * min(w, h):
        raise ImageError(f"image too narrow for a digit ({w}×{h} pixels, aspect ratio at most {MAX_ASPECT}:1)")
    need = working_memory(w, h, mode, jpeg)
    if need > max_bytes:
        raise ImageError(f"image too large to preprocess ({w}×{h} pixels, {mode}: about {need / 2**20:,.0f} MiB "
                         f"of working memory, at most {max_bytes / 2**20:,.0f} MiB allowed)")


def read_image(path, max_pixels: int = MAX_PIXELS, max_bytes: int = MEMORY_BUDGET) -> np.ndarray:
    """Decode an image file (PNG, JPEG, BMP, GIF) into a float64 grayscale array in [0, 1].

    The header is read first and the image is refused before decoding (:func:`check_header`)
    when it is over ``max_pixels``, narrower than 1 : :data:`MAX_ASPECT`, or would need more than
    ``max_bytes`` to read and preprocess (a decompression bomb cannot exhaust memory).
    Needs Pillow (``pip install 'numnet[image]'``).
    """
    try:
        from PIL import Image, ImageOps, UnidentifiedImageError
    except ImportError:
        raise ImageError("reading images needs Pillow: pip install 'numnet[image]' (or pip install pillow)") from None
    path = os.fspath(path)
    kind = special_file(path)               # before open: a FIFO's open would wait for a writer forever
    if kind:
        raise ImageError(f"is {kind}, not an image file")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path, formats=FORMATS) as im:
                w, h = im.size
                check_header(w, h, im.mode, im.format == "JPEG", max_pixels, max_bytes)
                if im.format == "JPEG" and max(w, h) > 2 * WORK_SIZE:
                    im.draft("L", (w // 4, h // 4))          # decode JPEG at reduced size
                im.seek(0)                                     # first frame of a GIF
                im.load()
                return _to_gray(ImageOps.exif_transpose(im))  # phone photos: upright as shot
    except ImageError:
        raise
    except FileNotFoundError:
        raise ImageError("no such file") from None
    except UnidentifiedImageError:
        raise ImageError(f"not an image, or not a {', '.join(FORMATS[:-1])} or {FORMATS[-1]} one") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageError("image too large (decompression bomb guard)") from None
    except PermissionError:
        raise ImageError("permission denied") from None
    except MemoryError:
        raise ImageError("out of memory while decoding the image") from None
    except (OSError, ValueError, SyntaxError, EOFError, IndexError, TypeError, KeyError, struct.error) as e:
        raise ImageError(f"cannot decode image ({e.__class__.__name__}: {e})") from None


def _to_gray(im) -> np.ndarray:
    """A decoded Pillow image → float64 luminance in [0, 1], alpha flattened onto the background
    that contrasts with the ink (so dark ink and light ink on transparency both work)."""
    if im.mode in ("I", "I;16", "I;16B", "I;16L", "F"):
        a = np.asarray(im, dtype=np.float64)
        lo, hi = float(a.min()), float(a.max())
        return (a - lo) / (hi - lo) if hi > lo else np.zeros_like(a)
    has_alpha = im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info)
    if not has_alpha:
        return np.asarray(im.convert("L"), dtype=np.float64) / 255
    rgba = np.asarray(im.convert("RGBA"), dtype=np.float64) / 255
    lum = rgba[..., :3] @ np.array([0.299, 0.587, 0.114])
    alpha = rgba[..., 3]
    if alpha.min() >= 1:
        return lum
    # ink = the opaque part; put it on white if it is dark, on black if it is light
    ink_level = float((lum * alpha).sum() / max(alpha.sum(), 1e-12))
    background = 1.0 if ink_level < 0.5 else 0.0
    return lum * alpha + background * (1 - alpha)
