"""Data augmentation on a whole batch at once, for ``Sequential.fit(augment=...)``.

``RandomAffine(...)(x, rng)`` moves every image of the batch by its own random shift, rotation and
scaling, with one vectorised bilinear resample for the batch (no loop over images);
``RandomInk(...)(x, rng)`` changes what photos and scans change in a digit's strokes (elastic
wobble, thickness, blur, faded ink, noise); ``RandomErasing(...)(x, rng)`` hides a random rectangle
of some images under noise. All the randomness comes from the ``rng`` passed in
(``fit`` passes its seeded generator), so the same seed gives the same augmented batches.
"""
from __future__ import annotations

import numpy as np

from ..errors import ConfigError


class RandomAffine:
    """Random affine transform per image, about the image centre c, then bilinear resampling.

    For output pixel p (row, column) the value is read at the source point
        q = c + A⁻¹·(p − c − t),   A = s·R(θ)
    with θ ~ U(−rotation, rotation) degrees, s ~ U(1 − scale, 1 + scale), t ~ U(−shift, shift)²
    pixels. With ``flip`` = f, each image is also mirrored left-right with probability f (the source
    column becomes c_x − (q_x − c_x)): for clothes (Fashion-MNIST), not for digits.
    Bilinear interpolation between the four pixels around q; outside the image counts as 0
    (background). Images are the last two axes: (N, H, W) or (N, C, H, W); ``shape`` = (H, W)
    reshapes flat rows (N, H·W).
    """

    def __init__(self, shift: float = 2.0, rotation: float = 10.0, scale: float = 0.1, flip: float = 0.0,
                 shape=None):
        self.shift, self.rotation, self.scale, self.flip = float(shift), float(rotation), float(scale), float(flip)
        if min(self.shift, self.rotation, self.scale) < 0 or self.scale >= 1 or not 0 <= self.flip <= 1:
            raise ConfigError(f"invalid augmentation: shift {shift}, rotation {rotation}, scale {scale}, flip {flip}")
        self.shape = tuple(shape) if shape is not None else None

    def __call__(self, x, rng):
        in_shape = x.shape
        if self.shape is not None:
            x = x.reshape((len(x), -1) + self.shape)
        elif x.ndim < 3:
            raise ConfigError(f"augmentation needs images (N, H, W), got shape {x.shape}; give shape=(H, W)")
        N, (H, W) = len(x), x.shape[-2:]
        dtype = x.dtype if x.dtype in (np.float32, np.float64) else np.float32
        theta = np.deg2rad(rng.uniform(-self.rotation, self.rotation, N))
        s = rng.uniform(1 - self.scale, 1 + self.scale, N)
        t = rng.uniform(-self.shift, self.shift, (N, 2))
        # A⁻¹ = R(−θ)/s, per image: rows of the 2×2 inverse
        cos, sin = np.cos(theta) / s, np.sin(theta) / s
        cy, cx = (H - 1) / 2, (W - 1) / 2
        rows, cols = np.mgrid[0:H, 0:W]
        dy = (rows.ravel() - cy)[None, :] - t[:, :1]             # (N, H·W): p − c − t
        dx = (cols.ravel() - cx)[None, :] - t[:, 1:]
        qy = (cy + cos[:, None] * dy - sin[:, None] * dx).astype(dtype)
        qx = cx + sin[:, None] * dy + cos[:, None] * dx
        if self.flip:
            mirror = rng.random(N) < self.flip
            qx[mirror] = 2 * cx - qx[mirror]
        qx = qx.astype(dtype)
        return resample(x, qy, qx).reshape(in_shape)

    def config(self):
        return {"type": "affine", "shift": self.shift, "rotation": self.rotation, "scale": self.scale,
                "flip": self.flip}


def resample(x, qy, qx):
    """Bilinear reading of each image of x (…, H, W) at the source points (qy, qx), each (N, H·W):
    the value between the four pixels around q, outside the image 0 (background). Returns (…, H·W)."""
    H, W = x.shape[-2:]
    dtype = qy.dtype
    # read from a copy framed by zeros (one row/column before, two after), with q clipped to
    # [−1, H] × [−1, W] (farther points read only the frame)
    np.clip(qy, -1, H, out=qy)
    np.clip(qx, -1, W, out=qx)
    y0, x0 = np.floor(qy), np.floor(qx)
    wy, wx = qy - y0, qx - x0
    Wp = W + 3
    idx0 = (y0.astype(np.intp) + 1) * Wp + (x0.astype(np.intp) + 1)   # top-left corner in the frame
    framed = np.zeros(x.shape[:-2] + (H + 3, Wp), dtype=dtype)
    framed[..., 1:H + 1, 1:W + 1] = x
    flat = framed.reshape(x.shape[:-2] + ((H + 3) * Wp,))           # (N, [C,] (H+3)·(W+3))
    out = np.zeros(x.shape[:-2] + (H * W,), dtype=dtype)
    for offset, w in ((0, (1 - wy) * (1 - wx)), (1, (1 - wy) * wx), (Wp, wy * (1 - wx)), (Wp + 1, wy * wx)):
        idx, w = idx0 + offset, w.astype(dtype)
        if flat.ndim == 3:
            idx, w = idx[:, None, :], w[:, None, :]
        out += np.take_along_axis(flat, idx, axis=-1) * w
    return out


class RandomInk:
    """What a photo or a scan does to a digit's strokes, per image of a batch of ink-on-black images
    in [0, 1] (MNIST's convention, what ``numnet predict`` prepares), (N, H, W):

    * elastic wobble: every pixel read from p + d(p), d a smooth random field (N(0, elastic²) pixel
      displacements on a 4×4 grid, interpolated bilinearly);
    * stroke thickness: with probability ``thickness`` a 3×3 grey dilation (a broad pen), or a
      half-strength erosion (a fine pen);
    * blur: with probability ``blur``, the [1, 2, 1]/4 kernel along both axes (defocus);
    * faded ink: x ← x·c + b·(1 − x), c ~ U(1 − contrast, 1), b ~ U(0, contrast/3);
    * noise: + N(0, σ²), σ ~ U(0, noise), clipped to [0, 1].
    ``shape`` = (H, W) reshapes flat rows (N, H·W).
    """

    def __init__(self, elastic: float = 1.0, thickness: float = 0.5, blur: float = 0.3, contrast: float = 0.3,
                 noise: float = 0.05, shape=None):
        self.elastic, self.thickness, self.blur = float(elastic), float(thickness), float(blur)
        self.contrast, self.noise = float(contrast), float(noise)
        if (min(self.elastic, self.noise) < 0 or not 0 <= self.thickness <= 1 or not 0 <= self.blur <= 1
                or not 0 <= self.contrast < 1):
            raise ConfigError(f"invalid ink augmentation: elastic {elastic}, thickness {thickness}, blur {blur}, "
                              f"contrast {contrast}, noise {noise}")
        self.shape = tuple(shape) if shape is not None else None

    def __call__(self, x, rng):
        in_shape = x.shape
        x = x.reshape((len(x),) + self.shape) if self.shape is not None else x
        if x.ndim != 3:
            raise ConfigError(f"ink augmentation needs grey images (N, H, W), got shape {x.shape}; give shape=(H, W)")
        N, H, W = x.shape
        dtype = x.dtype if x.dtype in (np.float32, np.float64) else np.float32
        # elastic: a 4×4 grid of displacements, interpolated: d = R_y·g·R_xᵀ
        g = rng.normal(0, self.elastic, (N, 2, 4, 4))
        Ry, Rx = _interpolation(H, 4), _interpolation(W, 4)
        d = np.einsum("hi,ncij,wj->nchw", Ry, g, Rx)
        rows, cols = np.mgrid[0:H, 0:W]
        qy = (rows + d[:, 0]).reshape(N, -1).astype(dtype)
        qx = (cols + d[:, 1]).reshape(N, -1).astype(dtype)
        x = resample(x.astype(dtype, copy=False), qy, qx).reshape(N, H, W)
        # thickness: dilate (a broad pen) or half-erode (a fine pen), by image
        which = rng.random(N)
        framed = np.pad(x, ((0, 0), (1, 1), (1, 1)))
        cross = [framed[:, 1 + dy:1 + dy + H, 1 + dx:1 + dx + W] for dy, dx in ((0, 0), (-1, 0), (1, 0), (0, -1), (0, 1))]
        broad = which < self.thickness / 2
        fine = (which >= self.thickness / 2) & (which < self.thickness)
        x = np.where(broad[:, None, None], np.max(cross, axis=0), x)
        x = np.where(fine[:, None, None], 0.5 * x + 0.5 * np.min(cross, axis=0), x)
        # blur: [1, 2, 1]/4 along both axes
        soft = rng.random(N) < self.blur
        framed = np.pad(x, ((0, 0), (1, 1), (1, 1)))
        rowsum = framed[:, :, :-2] + 2 * framed[:, :, 1:-1] + framed[:, :, 2:]
        blurred = (rowsum[:, :-2] + 2 * rowsum[:, 1:-1] + rowsum[:, 2:]) / 16
        x = np.where(soft[:, None, None], blurred, x)
        # faded ink on a lighter background, then sensor noise
        c = rng.uniform(1 - self.contrast, 1, (N, 1, 1))
        b = rng.uniform(0, self.contrast / 3, (N, 1, 1))
        x = x * c + b * (1 - x)
        x = x + rng.normal(0, 1, x.shape) * rng.uniform(0, self.noise, (N, 1, 1))
        return np.clip(x, 0, 1).astype(dtype, copy=False).reshape(in_shape)

    def config(self):
        return {"type": "ink", "elastic": self.elastic, "thickness": self.thickness, "blur": self.blur,
                "contrast": self.contrast, "noise": self.noise}


class RandomErasing:
    """Random erasing (Zhong et al., 2020): with probability ``p`` an image gets one rectangle of
    random pixels, so the network cannot lean on any single part of it (a sleeve, a collar).

    The rectangle's area is a·H·W with a ~ U(area), its aspect ratio (height/width) r with
    log r ~ U(log ratio, −log ratio): h = round(√(a·H·W·r)), w = round(√(a·H·W / r)) (cut to the
    image), placed uniformly where it fits; inside it each pixel is U(0, 1). Images are the last two
    axes: (N, H, W) or (N, C, H, W); ``shape`` = (H, W) reshapes flat rows (N, H·W).
    """

    def __init__(self, p: float = 0.5, area=(0.02, 0.4), ratio: float = 0.3, shape=None):
        self.p, self.area, self.ratio = float(p), tuple(float(a) for a in area), float(ratio)
        if not 0 <= self.p <= 1 or not 0 < self.area[0] <= self.area[1] <= 1 or not 0 < self.ratio <= 1:
            raise ConfigError(f"invalid erasing: p {p}, area {area}, ratio {ratio}")
        self.shape = tuple(shape) if shape is not None else None

    def __call__(self, x, rng):
        in_shape = x.shape
        x = x.reshape((len(x), -1) + self.shape) if self.shape is not None else x
        if x.ndim < 3:
            raise ConfigError(f"erasing needs images (N, H, W), got shape {x.shape}; give shape=(H, W)")
        N, (H, W) = len(x), x.shape[-2:]
        dtype = x.dtype if x.dtype in (np.float32, np.float64) else np.float32
        a = rng.uniform(*self.area, N) * H * W
        r = np.exp(rng.uniform(np.log(self.ratio), -np.log(self.ratio), N))
        h = np.clip(np.rint(np.sqrt(a * r)), 1, H).astype(np.intp)
        w = np.clip(np.rint(np.sqrt(a / r)), 1, W).astype(np.intp)
        top = (rng.random(N) * (H - h + 1)).astype(np.intp)
        left = (rng.random(N) * (W - w + 1)).astype(np.intp)
        erased = rng.random(N) < self.p
        rows, cols = np.arange(H), np.arange(W)
        in_rows = (rows >= top[:, None]) & (rows < (top + h)[:, None])          # (N, H)
        in_cols = (cols >= left[:, None]) & (cols < (left + w)[:, None])        # (N, W)
        mask = erased[:, None, None] & in_rows[:, :, None] & in_cols[:, None, :]
        mask = mask.reshape((N,) + (1,) * (x.ndim - 3) + (H, W))
        noise = rng.random(x.shape, dtype=np.float32).astype(dtype, copy=False)
        return np.where(mask, noise, x).astype(dtype, copy=False).reshape(in_shape)

    def config(self):
        return {"type": "erase", "p": self.p, "area": list(self.area), "ratio": self.ratio}


def _interpolation(size: int, knots: int) -> np.ndarray:
    """(size, knots): row i holds the bilinear weights of the ``knots`` evenly spaced grid values at
    pixel i (the grid spans the image from its first pixel to its last)."""
    at = np.linspace(0, knots - 1, size)
    lo = np.minimum(np.floor(at).astype(int), knots - 2)
    w = at - lo
    R = np.zeros((size, knots))
    R[np.arange(size), lo] = 1 - w
    R[np.arange(size), lo + 1] = w
    return R


class Chain:
    """Augmentations applied in turn, each drawing from the same generator."""

    def __init__(self, *steps):
        self.steps = steps

    def __call__(self, x, rng):
        for step in self.steps:
            x = step(x, rng)
        return x

    def config(self):
        return {"type": "chain", "steps": [step.config() for step in self.steps]}


#: the named augmentations of ``--augment``
NAMED = {
    "shift": dict(shift=2, rotation=0, scale=0),                # ±2 px shifts only
    "affine": dict(shift=2, rotation=10, scale=0.1),            # shifts, ±10°, ±10% scale (digits)
    "shift-flip": dict(shift=2, rotation=0, scale=0, flip=0.5),  # shifts and left-right mirrors (clothes)
}
#: shifts and mirrors, then random erasing (clothes)
ERASE = dict(p=0.5, area=(0.02, 0.4), ratio=0.3)
#: photos and scans of handwriting: a wider affine range, then the ink's changes (RandomInk)
ROBUST = dict(shift=2, rotation=12, scale=0.15)


def get(name):
    """'none' -> None, one of NAMED ('shift', 'affine', 'shift-flip'), 'shift-flip-erase' (shift-flip, then
    :class:`RandomErasing`: clothes) or 'robust' (a wider affine range and :class:`RandomInk`: digits from
    photos and scans)."""
    if name in (None, "none"):
        return None
    if callable(name):
        return name
    if name in NAMED:
        return RandomAffine(**NAMED[name])
    if name == "shift-flip-erase":
        return Chain(RandomAffine(**NAMED["shift-flip"]), RandomErasing(**ERASE))
    if name == "robust":
        return Chain(RandomAffine(**ROBUST), RandomInk())
    raise ConfigError(f"unknown augmentation {name!r} (choose from none, {', '.join(NAMED)}, shift-flip-erase, robust)")
