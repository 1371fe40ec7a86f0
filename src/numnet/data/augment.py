"""Data augmentation on a whole batch at once, for ``Sequential.fit(augment=...)``.

``RandomAffine(...)(x, rng)`` moves every image of the batch by its own random shift, rotation and
scaling, with one vectorised bilinear resample for the batch (no loop over images). All the
randomness comes from the ``rng`` passed in (``fit`` passes its seeded generator), so the same seed
gives the same augmented batches.
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
        # outside the image counts as 0: read from a copy framed by zeros (one row/column before,
        # two after), with q clipped to [−1, H] × [−1, W] (farther points read only the frame)
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
        return out.reshape(in_shape)

    def config(self):
        return {"type": "affine", "shift": self.shift, "rotation": self.rotation, "scale": self.scale,
                "flip": self.flip}


#: the named augmentations of ``--augment``
NAMED = {
    "shift": dict(shift=2, rotation=0, scale=0),                # ±2 px shifts only
    "affine": dict(shift=2, rotation=10, scale=0.1),            # shifts, ±10°, ±10% scale (digits)
    "shift-flip": dict(shift=2, rotation=0, scale=0, flip=0.5),  # shifts and left-right mirrors (clothes)
}


def get(name):
    """'none' -> None, or one of NAMED: 'shift', 'affine', 'shift-flip'."""
    if name in (None, "none"):
        return None
    if callable(name):
        return name
    if name in NAMED:
        return RandomAffine(**NAMED[name])
    raise ConfigError(f"unknown augmentation {name!r} (choose from none, {', '.join(NAMED)})")
