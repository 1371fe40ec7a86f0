"""A second outside benchmark for `numnet predict`: digits drawn by a synthetic pen and photographed.

No MNIST image is used. Each digit is a few strokes through control points (two or three ways of
writing most digits: a 1 with or without its flag, an open or a closed 4, a 7 with or without its
bar...), then, all drawn from a seeded generator:

* the writer: control points jittered, slant (shear), rotation, width-to-height ratio, a
  Catmull-Rom curve through the points, a pen 4-14% of the digit's height whose pressure varies
  along the stroke;
* the photograph: paper tone and ink tone, a lighting gradient and a soft shadow, a slight
  perspective (the phone not parallel to the page), defocus blur, sensor noise, the digit
  off-centre on a page of random size, saved as PNG or JPEG (quality 40-95).

Then the files go through ``numnet predict MODEL FILES... --json`` and are scored per class.

    python benchmarks/pen_digits.py --model model.npz               # 1,000 digits, seed 0
    python benchmarks/pen_digits.py --model model.npz --keep pen/   # keep the images to look at
"""
from __future__ import annotations

import argparse
import os
import sys

import numpy as np
from digit_pages import default_model, report, score, work_folder, write_page

# each digit: its ways of writing, each a list of strokes, each stroke control points (x, y) in a
# unit box, y downwards
STROKES = {
    0: [[[(0.5, 0.0), (0.15, 0.2), (0.12, 0.7), (0.5, 1.0), (0.85, 0.7), (0.85, 0.25), (0.5, 0.0), (0.4, 0.08)]]],
    1: [[[(0.5, 0.0), (0.5, 1.0)]],
        [[(0.25, 0.25), (0.55, 0.0), (0.55, 1.0)]],
        [[(0.3, 0.22), (0.55, 0.0), (0.55, 1.0)], [(0.3, 1.0), (0.8, 1.0)]]],
    2: [[[(0.15, 0.25), (0.35, 0.03), (0.65, 0.0), (0.85, 0.2), (0.75, 0.45), (0.45, 0.7), (0.12, 1.0),
          (0.5, 0.97), (0.9, 1.0)]],
        [[(0.2, 0.2), (0.5, 0.0), (0.8, 0.15), (0.8, 0.4), (0.15, 0.98), (0.35, 0.85), (0.6, 0.9), (0.9, 1.0)]]],
    3: [[[(0.15, 0.12), (0.45, 0.0), (0.8, 0.12), (0.75, 0.35), (0.42, 0.48), (0.8, 0.6), (0.85, 0.85),
          (0.5, 1.0), (0.12, 0.88)]],
        [[(0.15, 0.05), (0.85, 0.05), (0.45, 0.42), (0.8, 0.58), (0.82, 0.85), (0.5, 1.0), (0.15, 0.88)]]],
    4: [[[(0.62, 0.0), (0.1, 0.68), (0.92, 0.68)], [(0.7, 0.3), (0.7, 1.0)]],
        [[(0.2, 0.0), (0.15, 0.58), (0.88, 0.58)], [(0.72, 0.0), (0.72, 1.0)]]],
    5: [[[(0.82, 0.02), (0.25, 0.02), (0.2, 0.45), (0.55, 0.36), (0.85, 0.55), (0.85, 0.82), (0.55, 1.0),
          (0.15, 0.9)]],
        [[(0.25, 0.02), (0.2, 0.45), (0.55, 0.36), (0.85, 0.55), (0.85, 0.82), (0.55, 1.0), (0.15, 0.9)],
         [(0.25, 0.03), (0.85, 0.0)]]],
    6: [[[(0.75, 0.02), (0.4, 0.2), (0.18, 0.55), (0.25, 0.88), (0.5, 1.0), (0.8, 0.85), (0.78, 0.6),
          (0.5, 0.48), (0.22, 0.65)]]],
    7: [[[(0.1, 0.04), (0.9, 0.04), (0.4, 1.0)]],
        [[(0.1, 0.04), (0.9, 0.04), (0.4, 1.0)], [(0.35, 0.52), (0.78, 0.5)]],
        [[(0.1, 0.15), (0.15, 0.04), (0.9, 0.04), (0.55, 0.5), (0.45, 1.0)]]],
    8: [[[(0.55, 0.45), (0.22, 0.28), (0.32, 0.03), (0.7, 0.04), (0.78, 0.27), (0.5, 0.5), (0.16, 0.73),
          (0.3, 0.98), (0.7, 0.98), (0.85, 0.72), (0.5, 0.5), (0.25, 0.3)]]],
    9: [[[(0.8, 0.22), (0.55, 0.0), (0.2, 0.12), (0.22, 0.4), (0.55, 0.45), (0.8, 0.22), (0.78, 0.6),
          (0.7, 1.0)]],
        [[(0.78, 0.2), (0.5, 0.02), (0.2, 0.18), (0.3, 0.42), (0.6, 0.4), (0.8, 0.2), (0.8, 1.0)]]],
}


def catmull_rom(points: np.ndarray, per_segment: int = 24) -> np.ndarray:
    """A smooth curve through ``points`` (K, 2): centripetal-free uniform Catmull-Rom, the end points
    repeated so that the curve starts and ends at them."""
    p = np.vstack([points[:1], points, points[-1:]])
    t = np.linspace(0, 1, per_segment, endpoint=False)[:, None]
    out = []
    for i in range(1, len(p) - 2):
        p0, p1, p2, p3 = p[i - 1], p[i], p[i + 1], p[i + 2]
        out.append(0.5 * (2 * p1 + (-p0 + p2) * t + (2 * p0 - 5 * p1 + 4 * p2 - p3) * t ** 2
                          + (-p0 + 3 * p1 - 3 * p2 + p3) * t ** 3))
    out.append(p[-2:-1])
    return np.vstack(out)


def write(digit: int, rng: np.random.Generator, size: int) -> np.ndarray:
    """The ink (size × size floats in [0, 1]) of one handwritten ``digit``, a digit ``size`` px high."""
    from PIL import Image, ImageDraw

    ways = STROKES[digit]
    strokes = ways[int(rng.integers(len(ways)))]
    slant, angle = rng.uniform(-0.35, 0.2), rng.uniform(-0.15, 0.15)
    width = rng.uniform(0.55, 1.0) if digit != 1 else rng.uniform(0.3, 1.0)
    c, s = np.cos(angle), np.sin(angle)
    pen = size * rng.uniform(0.04, 0.14)
    scale = 4                                                    # drawn 4× larger, then reduced: smooth edges
    canvas = Image.new("L", (size * scale, size * scale), 0)
    draw = ImageDraw.Draw(canvas)
    for stroke in strokes:
        pts = np.asarray(stroke, dtype=float) + rng.normal(0, 0.03, (len(stroke), 2))
        pts -= 0.5
        pts[:, 0] = pts[:, 0] * width - slant * pts[:, 1]
        pts = pts @ np.array([[c, -s], [s, c]])
        curve = (catmull_rom(pts) * 0.8 + 0.5) * size * scale
        pressure = 1 + 0.3 * np.sin(np.linspace(0, rng.uniform(2, 7), len(curve)) + rng.uniform(0, 6))
        for (x, y), k in zip(curve, pressure):
            r = pen * scale * k / 2
            draw.ellipse((x - r, y - r, x + r, y + r), fill=255)
    return np.asarray(canvas.resize((size, size), Image.BILINEAR), dtype=np.float64) / 255


def photograph(ink: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The ink on paper as a phone or scanner sees it: a uint8 grey page."""
    from PIL import Image, ImageFilter

    size = len(ink)
    ph, pw = int(size * rng.uniform(1.3, 2.2)), int(size * rng.uniform(1.3, 2.2))
    top, left = int(rng.integers(0, ph - size + 1)), int(rng.integers(0, pw - size + 1))
    mask = np.zeros((ph, pw))
    mask[top:top + size, left:left + size] = ink
    # a slight perspective: the page's corners moved by up to 6% of its size
    d = rng.uniform(-0.06, 0.06, 8) * np.array([pw, ph] * 4)
    quad = (0 + d[0], 0 + d[1], 0 + d[2], ph + d[3], pw + d[4], ph + d[5], pw + d[6], 0 + d[7])
    warped = Image.fromarray((mask * 255).astype(np.uint8)).transform((pw, ph), Image.QUAD, quad, Image.BILINEAR)
    mask = np.asarray(warped, dtype=np.float64) / 255
    paper, ink_tone = rng.uniform(0.7, 0.97), rng.uniform(0.0, 0.35)
    yy, xx = np.mgrid[0:ph, 0:pw] / np.array([ph, pw])[:, None, None]
    light = 1 + rng.uniform(-0.12, 0.12) * (yy - 0.5) + rng.uniform(-0.12, 0.12) * (xx - 0.5)
    if rng.random() < 0.4:                                       # a soft shadow across part of the page
        edge = rng.uniform(0.2, 0.8)
        light *= 1 - rng.uniform(0.08, 0.25) / (1 + np.exp(-(xx * np.cos(edge * 6) + yy * np.sin(edge * 6) - edge) * 12))
    page = (paper * (1 - mask) + ink_tone * mask) * light
    blur = rng.uniform(0, 1.6) * size / 100
    img = Image.fromarray(np.clip(page * 255, 0, 255).astype(np.uint8))
    if blur > 0.2:
        img = img.filter(ImageFilter.GaussianBlur(blur))
    page = np.asarray(img, dtype=np.float64) / 255 + rng.normal(0, rng.uniform(0.005, 0.04), (ph, pw))
    return np.clip(np.round(page * 255), 0, 255).astype(np.uint8)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", help="a model saved by `numnet train --save` (default: train numnet train's default)")
    ap.add_argument("--count", type=int, default=1000, help="digits to draw (default 1000, 100 of each)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--keep", metavar="DIR", help="write the images (and what the network saw) here")
    ap.add_argument("--json", action="store_true", help="print the result as JSON")
    args = ap.parse_args(argv)

    rng = np.random.default_rng(args.seed)
    work = work_folder(args.keep, "numnet-pen-digits-")
    model_path = default_model(work, args.model)
    labels = [i % 10 for i in range(args.count)]
    files = [write_page(photograph(write(d, rng, int(rng.integers(40, 161))), rng), os.path.join(work, f"{i:04d}_{d}"),
                        rng, jpeg_quality=(40, 96)) for i, d in enumerate(labels)]
    summary = score(model_path, files, labels, args.keep)
    summary["seed"] = args.seed
    report(summary, args.json, "photographed pen-stroke digits", work, args.keep)
    return 0


if __name__ == "__main__":
    sys.exit(main())
