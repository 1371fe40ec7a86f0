"""Your own digit images → MNIST-style 28×28 inputs.

MNIST was made like this (LeCun et al.): white digits on black, each size-normalised to fit a
20×20 box keeping its aspect ratio (with anti-aliasing, so strokes get grey edges), then placed in
a 28×28 field so that the centre of mass of its pixels sits at the centre. :func:`to_mnist` does
the same to a photo or scan of a digit, in NumPy:

1. grayscale in [0, 1] (:func:`read_image`, in :mod:`numnet.data.imagefile`, decodes the file with Pillow,
   the only step that does not use NumPy; alpha is flattened onto a contrasting background);
2. polarity and paper: the corners are paper, the ink is the far tail of the histogram from them
   (or, when unclear, the minority); dark ink on light paper is inverted so that ink is bright, as
   in MNIST. The paper's level is subtracted: a constant, or a smooth quadratic surface fitted
   under the ink when the lighting of a photo varies across it;
3. paper noise: Otsu's threshold splits paper from ink; pixels below it become 0, ink is rescaled
   so that the stroke's typical level is 1; specks (connected pieces with little ink) and pieces
   along the border (scanner edges) are dropped;
4. crop to the ink's bounding box;
5. stroke width: MNIST strokes are about 1/10 of the digit's height; a thin pen on a large scan
   would fade to faint grey lines at 20 px, so strokes outside the range MNIST's own digits span
   are thickened (or thinned) towards its median; strokes inside it are left as drawn;
6. scale the longer side to 20 px, keeping the aspect ratio (anti-aliased resampling; a digit
   that already fits the box, such as an MNIST digit, passes through unchanged);
7. paste into 28×28 so that the centre of mass lands on pixel (14, 14), where MNIST's is.
"""
from __future__ import annotations

import functools

import numpy as np

# reading files lives in numnet.data.imagefile; these names are re-exported for numnet.data.preprocess users
from .imagefile import FORMATS, MAX_ASPECT, MAX_PIXELS, MEMORY_BUDGET, WORK_SIZE, ImageError, read_image, working_memory  # noqa: F401

#: the box the digit is scaled into, the field it is placed in, and where its centre of mass goes
BOX, FIELD, CENTRE = 20, 28, 14.0
#: the scale at which strokes are measured and adjusted: the digit's longer side, in pixels
STROKE_SCALE = 80
#: stroke width / longer side of the digit: MNIST's median, measured through this pipeline (8.0 px at 80 px)
STROKE_RATIO = 0.100
#: MNIST's own digits span this range of stroke ratios (1st-99th percentiles of 3,000 training
#: digits through this pipeline): strokes inside it are left as drawn, only those outside are adjusted
STROKE_RANGE = (0.063, 0.194)


# resampling ---------------------------------------------------------------------------------
def resample_matrix(n_in: int, n_out: int) -> np.ndarray:
    """(n_out, n_in) weights of anti-aliased linear resampling (a triangle filter stretched to the
    output pixel's footprint when shrinking, as Pillow's BILINEAR): ``out = R @ in``."""
    scale = n_out / n_in
    support = max(1.0, 1.0 / scale)                    # filter half-width, in input pixels
    centres = (np.arange(n_out) + 0.5) / scale         # output pixel centres, in input coordinates
    dist = np.abs((np.arange(n_in) + 0.5)[None, :] - centres[:, None]) / support
    w = np.clip(1 - dist, 0, None)
    w /= w.sum(axis=1, keepdims=True)
    return w


def resize(img: np.ndarray, height: int, width: int) -> np.ndarray:
    """Resize a 2-D array with :func:`resample_matrix` along each axis."""
    return resample_matrix(img.shape[0], height) @ img @ resample_matrix(img.shape[1], width).T


@functools.lru_cache(maxsize=4)
def _bin_edges(bins: int) -> np.ndarray:
    edges = np.linspace(0.0, 1.0, bins + 1)
    edges.flags.writeable = False
    return edges


def otsu_threshold(values: np.ndarray, bins: int = 256) -> float:
    """Otsu's threshold: the level that maximises the between-class variance of the histogram."""
    v = np.asarray(values, dtype=np.float64).ravel()
    v = v[(v >= 0) & (v <= 1)]
    # np.histogram(v, bins, range=(0, 1)), counted with bincount (ten times faster on small images)
    hist = np.bincount(np.minimum((v * bins).astype(np.intp), bins - 1), minlength=bins)
    edges = _bin_edges(bins)
    p = hist / max(hist.sum(), 1)
    levels = (edges[:-1] + edges[1:]) / 2
    w0 = np.cumsum(p)
    mu = np.cumsum(p * levels)
    with np.errstate(divide="ignore", invalid="ignore"):
        between = (mu[-1] * w0 - mu) ** 2 / (w0 * (1 - w0))
    between[~np.isfinite(between)] = -1
    return float(edges[int(np.argmax(between)) + 1])


def separability(values: np.ndarray, bins: int = 256) -> float:
    """Otsu's criterion η = σ²_between / σ²_total at his threshold: 1 for two clean levels (ink and
    paper), near 0.6-0.8 for a blurred or noisy pair, lower when there is no clear split."""
    v = np.asarray(values, dtype=np.float64).ravel()
    lo, hi = float(v.min()), float(v.max())
    if hi - lo < 0.02:                          # flat: no ink to separate
        return 0.0
    v = (v - lo) / (hi - lo)
    t = otsu_threshold(v, bins)
    a, b = v[v <= t], v[v > t]
    if not len(a) or not len(b):
        return 0.0
    wa, wb = len(a) / len(v), len(b) / len(v)
    return float(wa * wb * (a.mean() - b.mean()) ** 2 / max(v.var(), 1e-12))


# morphology ---------------------------------------------------------------------------------
def _shift_max(a: np.ndarray, offsets, fill=0) -> np.ndarray:
    """max over the shifted copies a[y+dy, x+dx] for (dy, dx) in offsets (out of range: fill)."""
    h, w = a.shape
    pad = max(max(abs(dy), abs(dx)) for dy, dx in offsets)
    p = np.pad(a, pad, constant_values=fill)
    out = None
    for dy, dx in offsets:
        view = p[pad + dy:pad + dy + h, pad + dx:pad + dx + w]
        out = view.copy() if out is None else np.maximum(out, view)
    return out


def _disk(radius: int):
    r = int(radius)
    return [(dy, dx) for dy in range(-r, r + 1) for dx in range(-r, r + 1) if dy * dy + dx * dx <= r * r + r]


def dilate(a: np.ndarray, radius: int) -> np.ndarray:
    """Grey-level dilation by a disk: each pixel becomes the max of its neighbourhood."""
    return a if radius < 1 else _shift_max(a, _disk(radius))


def erode(a: np.ndarray, radius: int) -> np.ndarray:
    return a if radius < 1 else -_shift_max(-a, _disk(radius), fill=0)


def label_components(mask: np.ndarray, max_iter: int = 10000) -> np.ndarray:
    """8-connected components of a boolean mask: labels ≥ 1 on the mask, 0 elsewhere.

    Each ink pixel starts with its own label (index + 1) and repeatedly takes the largest label in
    its 3×3 neighbourhood; pointer jumping (a label l looks up the label that pixel l − 1 has
    reached) makes it converge in a few rounds.
    """
    h, w = mask.shape
    m = mask.ravel()
    flat = np.where(m, np.arange(1, h * w + 1), 0)
    neighbours = [(dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1)]
    for _ in range(max_iter):
        new = _shift_max(flat.reshape(h, w), neighbours).ravel() * m
        for _ in range(4):
            new = np.where(m, new[new - 1], 0)
        if np.array_equal(new, flat):
            break
        flat = new
    return flat.reshape(h, w)


def stroke_width(ink: np.ndarray) -> float:
    """Mean stroke width of a boolean ink mask: 2·area / perimeter (a long stroke of width w and
    length L has area w·L and perimeter ≈ 2L)."""
    area = int(ink.sum())
    if area == 0:
        return 0.0
    p = np.pad(ink, 1)
    # boundary edges between ink and paper, horizontally and vertically
    perimeter = int(np.count_nonzero(p[1:, :] != p[:-1, :]) + np.count_nonzero(p[:, 1:] != p[:, :-1]))
    return 2.0 * area / max(perimeter, 1)


# the pipeline -------------------------------------------------------------------------------
def to_mnist(gray, return_steps: bool = False):
    """A grayscale digit image (2-D, values in [0, 1], or uint8) → 28×28 uint8, white on black.

    Raises :class:`ImageError` when no ink stands out from the paper.
    ``return_steps=True`` also returns a dict with the intermediate arrays and numbers.
    """
    x = np.asarray(gray)
    if x.ndim != 2 or x.size == 0:
        raise ImageError(f"expected a 2-D grayscale image, got shape {x.shape}")
    x = x.astype(np.float64) / 255 if x.dtype == np.uint8 else np.clip(x.astype(np.float64), 0, 1)
    steps = {}
    # 0. bound the work: shrink large images (anti-aliased, which also averages paper grain)
    h, w = x.shape
    if max(h, w) > WORK_SIZE:
        f = WORK_SIZE / max(h, w)
        x = resize(x, max(1, round(h * f)), max(1, round(w * f)))
    # 1-2. paper and polarity. The corners of a picture of a digit are paper; the ink is the tail
    #    of the histogram far from them (dark ink on light paper is inverted so that ink is bright,
    #    as in MNIST). When that is unclear, the ink is the minority. Then the paper's level is
    #    subtracted: a constant, or a smooth surface where lighting varies across a photo (if that
    #    separates paper from ink better).
    h, w = x.shape
    c = max(1, min(h, w) // 10)
    corners = np.concatenate([x[:c, :c].ravel(), x[:c, -c:].ravel(), x[-c:, :c].ravel(), x[-c:, -c:].ravel()])
    paper_level = float(np.median(corners))
    lo, hi = np.percentile(x, [0.2, 99.8])
    below, above = paper_level - lo, hi - paper_level
    if abs(below - above) >= 0.1:
        inverted = below > above
        x, _, background_range = _remove_paper(1 - x if inverted else x)
    else:
        light_ink, dark_ink = _remove_paper(x), _remove_paper(1 - x)
        inverted = dark_ink[1] < light_ink[1]
        x, _, background_range = dark_ink if inverted else light_ink
    steps["inverted"], steps["background_range"] = inverted, background_range
    top = float(x.max())
    if top < 0.08:
        raise ImageError("no ink found (the image is nearly uniform)")
    x = x / top
    # Otsu's threshold; when the ink is a tiny share of the image (a thin pen on a large page)
    # it can fall inside the paper's noise, so it is kept above the paper's level + 5 σ
    median = float(np.median(x))
    sigma = 1.4826 * float(np.median(np.abs(x - median)))
    t = max(otsu_threshold(x), min(median + 5 * sigma, 0.5))
    ink_mask = x > t
    paper_px = x[~ink_mask]
    noise = 1.4826 * float(np.median(np.abs(paper_px - np.median(paper_px)))) if paper_px.size else 0.0
    ink_level = float(np.median(x[ink_mask])) if ink_mask.any() else 0.0
    if ink_mask.mean() > 0.75 or ink_level - float(np.median(paper_px) if paper_px.size else 0) < max(6 * noise, 0.15):
        raise ImageError("no ink found (nothing stands out from the paper)")
    # the paper's level + 3 σ of its noise is cut (a clean image keeps its grey anti-aliased edges);
    # only pixels next to the ink survive the speck filter below, so a low cut lets no paper in
    lo = min(t, float(np.median(paper_px) if paper_px.size else 0) + 3 * noise)
    v = np.clip((x - lo) / max(ink_level - lo, 1e-6), 0, 1)
    # 3. specks: keep connected pieces that hold a fair share of the ink
    keep = _main_components(ink_mask, v)
    v = v * dilate(keep.astype(np.float64), 1)
    if not v.any():
        raise ImageError("no ink found")
    steps["threshold"], steps["noise"] = t, noise
    steps["clean"] = v
    # 4. crop to the ink
    rows, cols = np.nonzero(v.any(axis=1))[0], np.nonzero(v.any(axis=0))[0]
    v = v[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]
    # 5. strokes: measured at STROKE_SCALE px; outside MNIST's range, brought towards its median
    v, width = _normalise_strokes(v)
    steps["stroke_width"] = width
    # 6. longer side → 20 px, aspect ratio kept
    h, w = v.shape
    f = BOX / max(h, w)
    small = resize(v, max(1, round(h * f)), max(1, round(w * f)))
    small /= max(float(small.max()), 1e-12)
    steps["box"] = small
    # 7. centre of mass → (14, 14) of the 28×28 field (kept entirely inside the field)
    out = place_by_centre_of_mass(small)
    steps["field"] = out
    img = np.round(out * 255).astype(np.uint8)
    return (img, steps) if return_steps else img


def _remove_paper(x: np.ndarray):
    """(x − paper level clipped at 0, fraction of the image above Otsu's threshold after that,
    range of the subtracted level) for ink brighter than paper."""
    paper = x[x <= otsu_threshold(x)]
    background = float(np.median(paper if paper.size else x))
    surface, _, _ = _paper_surface(x)
    if surface is not None:
        # the surface wins if paper and ink separate better after it, or as well while far less
        # of the image lands on the ink side (Otsu then splits light from shadow, not ink from paper)
        sep_surface, sep_constant = separability(x - surface), separability(x)
        if sep_surface > sep_constant + 0.02 or (sep_surface > sep_constant - 0.03 and
                                                 _ink_fraction(x - surface) < _ink_fraction(x - background) - 0.15):
            background = surface
    y = np.clip(x - background, 0, None)
    return y, _ink_fraction(y), float(np.ptp(background))


def _ink_fraction(y: np.ndarray) -> float:
    """Share of the image above Otsu's threshold (after scaling to [0, 1])."""
    y = np.clip(y, 0, None)
    top = float(y.max())
    return float((y > otsu_threshold(y / top) * top).mean()) if top > 0 else 1.0


def _paper_surface(x: np.ndarray, blocks: int = 12):
    """(surface, spread of the paper tiles around it, fraction of tiles kept as paper), or
    (None, 0, 0) when the image is too small or mostly ink."""
    h, w = x.shape
    size = max(2, int(np.ceil(max(h, w) / blocks)))
    gh, gw = h // size, w // size
    if gh < 3 or gw < 3:
        return None, 0.0, 0.0
    tiles = x[:gh * size, :gw * size].reshape(gh, size, gw, size).transpose(0, 2, 1, 3).reshape(gh, gw, -1)
    level = np.percentile(tiles, 20, axis=2).ravel()
    ty, tx = np.meshgrid((np.arange(gh) + 0.5) * size / h * 2 - 1, (np.arange(gw) + 0.5) * size / w * 2 - 1,
                         indexing="ij")

    def design(yy, xx):
        return np.stack([np.ones_like(yy), yy, xx, yy * yy, yy * xx, xx * xx], axis=-1)

    A = design(ty.ravel(), tx.ravel())
    keep = np.ones(len(level), dtype=bool)
    for _ in range(6):
        coef, *_ = np.linalg.lstsq(A[keep], level[keep], rcond=None)
        resid = level - A @ coef
        spread = 1.4826 * float(np.median(np.abs(resid[keep]))) + 0.01
        new = resid < 2.5 * spread              # tiles far above the surface hold ink
        if keep.sum() < 8 or np.array_equal(new, keep):
            break
        keep = new
    if keep.mean() < 0.4:                       # mostly ink: no trustworthy surface
        return None, 0.0, float(keep.mean())
    yy, xx = np.meshgrid(np.arange(h) / h * 2 - 1 + 1 / h, np.arange(w) / w * 2 - 1 + 1 / w, indexing="ij")
    return design(yy, xx) @ coef, spread, float(keep.mean())


def _main_components(mask: np.ndarray, v: np.ndarray) -> np.ndarray:
    """The part of ``mask`` that belongs to the digit: connected pieces with ≥ 5 % of the ink;
    pieces touching the border (scanner edges, shadows) are dropped when enough ink lies inside."""
    h, w = mask.shape
    f = max(1, int(np.ceil(max(h, w) / 128)))           # label on a coarse grid (max-pooled mask)
    hh, ww = -(-h // f), -(-w // f)
    coarse = np.pad(mask, ((0, hh * f - h), (0, ww * f - w))).reshape(hh, f, ww, f).any(axis=(1, 3))
    labels = label_components(coarse)
    full = np.repeat(np.repeat(labels, f, axis=0), f, axis=1)[:h, :w] * mask
    mass = np.bincount(full.ravel(), weights=v.ravel(), minlength=labels.size + 1)
    mass[0] = 0
    total = mass.sum()
    if total <= 0:
        return mask
    edge = np.zeros_like(labels, dtype=bool)
    edge[0, :] = edge[-1, :] = edge[:, 0] = edge[:, -1] = True
    touching = np.zeros(len(mass), dtype=bool)
    touching[labels[edge & coarse]] = True
    good = mass >= 0.05 * total
    inside = good & ~touching
    if mass[inside].sum() >= 0.3 * total:
        good = inside
    good[0] = False
    return good[full]


def _normalise_strokes(v: np.ndarray):
    """Measure the stroke width of the cropped digit with its longer side at STROKE_SCALE px;
    when the width is outside STROKE_RANGE (as a share of that side), dilate or erode it there
    towards STROKE_RATIO · STROKE_SCALE and return that adjusted image; otherwise return ``v``
    itself (no resampling round trip to blur it). Returns (image, width in px at STROKE_SCALE)."""
    h, w = v.shape
    f = STROKE_SCALE / max(h, w)
    big = resize(v, max(1, round(h * f)), max(1, round(w * f)))
    big = np.pad(big, 2)
    width = stroke_width(big > 0.5)
    lo, hi = (r * STROKE_SCALE for r in STROKE_RANGE)
    target = STROKE_RATIO * STROKE_SCALE
    if lo <= width <= hi or width == 0:
        return v, width
    if width < lo:
        big = dilate(big, max(1, int(round((target - width) / 2))))
    else:
        thinner = erode(big, max(1, int(round((width - target) / 2))))
        if (thinner > 0.5).sum() <= 0.3 * (big > 0.5).sum():
            return v, width                     # eroding would wipe the digit out: keep it as drawn
        big = thinner
    rows, cols = np.nonzero(big.max(axis=1) > 0.02)[0], np.nonzero(big.max(axis=0) > 0.02)[0]
    if not len(rows):
        raise ImageError("no ink found")
    return big[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1], width


def place_by_centre_of_mass(small: np.ndarray, field: int = FIELD, centre: float = CENTRE) -> np.ndarray:
    """Paste ``small`` into a field×field zero image, shifted by whole pixels so that its centre of
    mass is as close as possible to (centre, centre) while every pixel stays inside."""
    h, w = small.shape
    mass = small.sum()
    cy = (small.sum(axis=1) @ np.arange(h)) / mass
    cx = (small.sum(axis=0) @ np.arange(w)) / mass
    top = int(np.clip(round(centre - cy), 0, field - h))
    left = int(np.clip(round(centre - cx), 0, field - w))
    out = np.zeros((field, field))
    out[top:top + h, left:left + w] = small
    return out


def centre_of_mass(img: np.ndarray):
    """(row, column) centre of mass of a 2-D array's values."""
    img = np.asarray(img, dtype=np.float64)
    mass = img.sum()
    return (float(img.sum(axis=1) @ np.arange(img.shape[0]) / mass),
            float(img.sum(axis=0) @ np.arange(img.shape[1]) / mass))


def load_digit(path, max_pixels: int = MAX_PIXELS, max_bytes: int = MEMORY_BUDGET) -> np.ndarray:
    """:func:`read_image` then :func:`to_mnist`: a file → 28×28 uint8 as the network expects.
    Images whose preprocessing would need more than ``max_bytes`` are refused from their header."""
    return to_mnist(read_image(path, max_pixels, max_bytes))
