"""Dropout and batch normalisation: layers that behave differently in training and evaluation
(``Sequential.train()`` / ``.eval()``; ``fit`` trains, ``evaluate``/``predict`` evaluate)."""
from __future__ import annotations

import numpy as np

from .errors import ConfigError
from .layers import REGISTRY, Layer


class Dropout(Layer):
    """Inverted dropout, as ``nn.Dropout(p)``.

    training:   y = x ⊙ m / (1 − p),  m_i ~ Bernoulli(1 − p) drawn afresh for every batch
    evaluation: y = x  (the 1/(1 − p) during training keeps E[y] = x, so nothing to rescale)
    backward:   dx = grad ⊙ m / (1 − p)   (identity in evaluation)

    The masks come from a seeded ``numpy.random.Generator``: ``Dropout(p, seed)`` on its own; in a
    ``Sequential``, from a generator seeded by the model's seed (``init_params``), so the same seed
    gives the same masks. ``self.mask`` holds the last mask, scaled (m / (1 − p)).
    """

    def __init__(self, p: float = 0.5, seed: int = 0):
        self.p = float(p)
        if not 0 <= self.p < 1:
            raise ConfigError(f"dropout probability must be in [0, 1), got {p}")
        self.seed = int(seed)
        self.rng = np.random.default_rng(self.seed)
        self.mask = None

    def init_params(self, rng):
        self.rng = np.random.default_rng(int(rng.integers(2 ** 63)))

    def replica(self):
        twin = super().replica()
        twin.rng = np.random.default_rng(int(self.rng.integers(2 ** 63)))   # its own masks, seeded
        return twin

    def forward(self, x):
        if not self.training or self.p == 0:
            self.mask = None
            return x
        dtype = x.dtype if x.dtype in (np.float32, np.float64) else np.float64
        keep = self.rng.random(x.shape, dtype=dtype) >= self.p
        self.mask = np.multiply(keep, 1 / (1 - self.p), dtype=dtype)
        return x * self.mask

    def backward(self, grad):
        if self.mask is None:
            return grad
        return grad * self.mask

    def config(self):
        return {"type": "Dropout", "p": self.p, "seed": self.seed}


class BatchNorm(Layer):
    """Batch normalisation per feature (N, C) or per channel (N, C, H, W), as ``nn.BatchNorm1d/2d``.

    training, with μ, σ² the mean and (biased) variance of each channel over the batch (and H, W):
        x̂ = (x − μ) / √(σ² + ε),   y = γ ⊙ x̂ + β
        running_mean ← (1 − m)·running_mean + m·μ
        running_var  ← (1 − m)·running_var  + m·σ²·M/(M − 1)     (unbiased; M values per channel)
    evaluation: the same with μ, σ² replaced by the running statistics.
    backward (training; sums over the M values of a channel):
        dβ = Σ dy,   dγ = Σ dy ⊙ x̂,   dx = γ / (M·√(σ² + ε)) · (M·dy − dβ − x̂ ⊙ dγ)
    backward (evaluation): dx = dy ⊙ γ / √(running_var + ε).
    γ (``gamma``, torch's ``weight``) starts at 1, β (``beta``, torch's ``bias``) at 0; the running
    statistics (float64) are saved with the model.
    """

    param_names = ("gamma", "beta")
    buffer_names = ("running_mean", "running_var")
    per_sample = False      # the statistics come from the whole batch: with fit(workers=k) the
    group = None            # workers add up their partial sums through ``group(rank, partial)``
    rank = 0

    def __init__(self, num_features: int, momentum: float = 0.1, eps: float = 1e-5, dtype=np.float32):
        self.num_features = int(num_features)
        if self.num_features < 1:
            raise ConfigError(f"BatchNorm needs a positive number of features, got {num_features}")
        self.momentum, self.eps = float(momentum), float(eps)
        self.gamma = np.ones(self.num_features, dtype=dtype)
        self.beta = np.zeros(self.num_features, dtype=dtype)
        self.dgamma, self.dbeta = np.zeros_like(self.gamma), np.zeros_like(self.beta)
        self.running_mean = np.zeros(self.num_features, dtype=np.float64)
        self.running_var = np.ones(self.num_features, dtype=np.float64)

    def init_params(self, rng):
        self.gamma[...] = 1
        self.beta[...] = 0

    def _rows(self, x, order=None):
        """x as an (M, C) matrix, its rows in ``order`` of the axes: by default (H, W, N), a view when
        x is spatial-major in memory, as convolutions hand it on, else (N, H, W); the backward pass
        uses the forward's order, so that dy's rows match x's."""
        if x.ndim == 2:
            return x
        if x.ndim != 4:
            raise ConfigError(f"BatchNorm expects (N, C) or (N, C, H, W) input, got shape {x.shape}")
        if order is None:
            order = (2, 3, 0, 1) if x.transpose(2, 3, 0, 1).flags.c_contiguous else (0, 2, 3, 1)
        self._order = order
        return x.transpose(order).reshape(-1, x.shape[1])

    def _unrows(self, y2, shape):
        """The inverse of ``_rows``: (M, C) back to ``shape``, in the memory layout ``_rows`` chose."""
        if len(shape) == 2:
            return y2
        order = self._order
        return y2.reshape([shape[i] for i in order]).transpose(np.argsort(order))

    def join(self, group, rank: int = 0):
        """Take batch statistics over all the workers of ``fit(workers=k)``: ``group(rank, a)`` returns
        the sum of every worker's ``a`` (None: this worker's batch alone, the default)."""
        self.group, self.rank = group, rank

    def _total(self, partial):
        """Σ over the workers' parts of the batch of a per-channel sum (the sum itself with one worker)."""
        return partial if self.group is None else self.group(self.rank, partial)

    def forward(self, x):
        if x.shape[1] != self.num_features:
            raise ConfigError(f"BatchNorm({self.num_features}) got {x.shape[1]} channels")
        self.x_shape = x.shape
        x2 = self._rows(x)
        dtype = x2.dtype
        if self.training:
            total = self._total(np.append(self._sum_rows(x2).astype(np.float64), len(x2)))   # Σx and M
            M = self.M = int(total[-1])                                 # values per channel, all workers
            mu = (total[:-1] / M).astype(dtype)                         # μ
            xc = x2 - mu                                                # x − μ
            var = self._total(np.einsum("mc,mc->c", xc, xc)) / M        # biased variance σ²
            inv_std = 1 / np.sqrt(var + self.eps)
            m = self.momentum
            self.running_mean = (1 - m) * self.running_mean + m * mu.astype(np.float64)
            self.running_var = (1 - m) * self.running_var + m * var.astype(np.float64) * (M / max(M - 1, 1))
        else:
            inv_std = 1 / np.sqrt(self.running_var + self.eps)
            xc = x2 - self.running_mean.astype(dtype)
        self.inv_std = inv_std.astype(dtype, copy=False)
        self.xc = xc                                                    # x̂ = xc · inv_std, formed when needed
        y = xc * (self.gamma * self.inv_std)                            # y = γ ⊙ x̂ + β
        y += self.beta
        return self._unrows(y, x.shape)

    @property
    def x_hat(self):
        """x̂ = (x − μ) / √(σ² + ε) of the last forward pass, (M, C)."""
        return self.xc * self.inv_std

    def backward(self, grad):
        dy = self._rows(grad, getattr(self, "_order", None))
        xc, inv_std = self.xc, self.inv_std
        self._sum_rows(dy, out=self.dbeta)                              # dβ = Σ dy
        np.multiply(np.einsum("mc,mc->c", dy, xc), inv_std, out=self.dgamma)   # dγ = Σ dy ⊙ x̂
        if not self.input_grad:
            return None
        k = self.gamma * inv_std                                        # γ / √(σ² + ε)
        dx = dy * k
        if self.training:
            # dx = k/M · (M·dy − dβ − x̂ ⊙ dγ) = k·dy − (k·dγ·inv_std/M) ⊙ xc − k·dβ/M
            # (dβ and dγ over the whole batch; self.dbeta, self.dgamma keep this worker's part, which
            # fit adds up with the other workers' like every parameter gradient)
            C, M = len(inv_std), self.M
            dbeta_dgamma = self._total(np.concatenate([self.dbeta, self.dgamma]))
            dbeta, dgamma = dbeta_dgamma[:C], dbeta_dgamma[C:]
            dx -= xc * (k * dgamma * inv_std / M)
            dx -= k * dbeta / M
        return self._unrows(dx, self.x_shape)

    def output_shape(self, input_shape):
        return input_shape

    def config(self):
        return {"type": "BatchNorm", "num_features": self.num_features, "momentum": self.momentum, "eps": self.eps}


REGISTRY.update({cls.__name__: cls for cls in (Dropout, BatchNorm)})
