"""How well does `numnet predict` read digits written by other people on other scanners?

Held-out set: scikit-learn's ``load_digits()`` (UCI optdigits: 1,797 digits by 43 writers who are
not MNIST's, scanned by NIST's OCR forms, 32×32 bitmaps reduced to 8×8 counts of ink in 4×4
blocks). Each 8×8 digit is rendered as a photo/scan of ink on paper would look:

* upscaled smoothly (the 4×4 block counts back to a smooth density) to a 48-180 px digit, then cut
  at a random level, which gives crisp pen strokes of random thickness;
* dark ink (grey 0.0-0.35) on light paper (0.75-0.98) with a lighting gradient, Gaussian paper
  grain and a few specks;
* off-centre in a larger page of random aspect ratio;
* saved as PNG or JPEG (quality 70-95).

Then the files go through the real command, ``numnet predict MODEL FILES... --json``, and the
predictions are compared with the labels. Needs Pillow (``pip install -e ".[dev]"``) and scikit-learn (``pip install scikit-learn``).

    python benchmarks/predict_real_digits.py                      # trains `numnet train`'s default MLP
    python benchmarks/predict_real_digits.py --model model.npz --limit 500 --keep renders/

The 8×8 source images are coarse (each source pixel becomes a 6-22 px block), so the rendered
strokes are smoother and blobbier than real pen strokes: the figure measures the preprocessing
(polarity, noise, cropping, size and stroke normalisation, centring) against a different
population of writers, not the classifier on crisp handwriting.
"""
from __future__ import annotations

import argparse
import os
import sys

import numpy as np
from digit_pages import default_model, report, score, work_folder, write_page


def render(digit8: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One 8×8 optdigits image (0..16) → a uint8 grayscale page with dark ink on light paper."""
    from numnet.data.preprocess import resize

    size = int(rng.integers(48, 181))                      # digit height in pixels
    density = resize(digit8 / 16.0, size, size)            # smooth ink density
    density /= max(density.max(), 1e-9)
    cut = rng.uniform(0.35, 0.6)                            # pen thickness: lower cut, thicker strokes
    edge = 0.04
    ink = np.clip((density - cut) / edge + 0.5, 0, 1)       # crisp stroke with a 1-2 px soft edge
    # page: 1.2-2.2× the digit, random aspect, digit placed off-centre
    ph = int(size * rng.uniform(1.2, 2.2))
    pw = int(size * rng.uniform(1.2, 2.2))
    top = int(rng.integers(0, ph - size + 1))
    left = int(rng.integers(0, pw - size + 1))
    mask = np.zeros((ph, pw))
    mask[top:top + size, left:left + size] = ink
    paper = rng.uniform(0.75, 0.98)
    yy, xx = np.mgrid[0:ph, 0:pw]
    light = 1 + rng.uniform(-0.06, 0.06) * (yy / ph - 0.5) + rng.uniform(-0.06, 0.06) * (xx / pw - 0.5)
    ink_tone = rng.uniform(0.0, 0.35)
    page = (paper * (1 - mask) + ink_tone * mask) * light
    page += rng.normal(0, rng.uniform(0.005, 0.04), page.shape)           # paper grain / sensor noise
    for _ in range(int(rng.integers(0, 6))):                               # specks of dust
        y, x = int(rng.integers(0, ph - 2)), int(rng.integers(0, pw - 2))
        page[y:y + 2, x:x + 2] = ink_tone + 0.2
    return np.clip(np.round(page * 255), 0, 255).astype(np.uint8)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", help="a model saved by `numnet train --save` (default: train numnet train's default)")
    ap.add_argument("--skip", type=int, default=0, metavar="N", help="leave out the first N digits")
    ap.add_argument("--limit", type=int, help="use N digits only")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--keep", metavar="DIR", help="write the rendered images (and what the network saw) here")
    ap.add_argument("--json", action="store_true", help="print the result as JSON")
    args = ap.parse_args(argv)

    from sklearn.datasets import load_digits

    digits = load_digits()
    images, labels = digits.images[args.skip:], digits.target[args.skip:]
    if args.limit:
        images, labels = images[:args.limit], labels[:args.limit]
    rng = np.random.default_rng([args.seed, args.skip])

    work = work_folder(args.keep, "numnet-real-digits-")
    model_path = default_model(work, args.model)
    files = [write_page(render(img, rng), os.path.join(work, f"{i:04d}_{label}"), rng)
             for i, (img, label) in enumerate(zip(images, labels))]
    summary = score(model_path, files, labels, args.keep)
    report(summary, args.json, "rendered optdigits images", work, args.keep)
    return 0


if __name__ == "__main__":
    sys.exit(main())
