"""Normalisation: Standardize (the inputs, fitted once on the training data) and batch
normalisation (every batch, with running statistics for evaluation)."""
from __future__ import annotations

import numpy as np

from ..errors import ConfigError
from ..functional import PIXEL_SCALE, to_float, whole
from ..kernels import engine, sum_rows
from .base import Layer


class Standardize(Layer):
    """Per-feature centring and one global scale, fitted on the training data:

    x̂ = (x − μ) / σ,   μ = mean of each input feature (pixel),
                        σ = √(mean over features of Var[x_j])  (one number)
    backward: dx = grad / σ.   No trainable parameters; μ and σ are saved with the model.

    ``fit`` calls :meth:`adapt` on the training inputs the first time it trains. x̂ made from uint8
    pixels has the layer's ``dtype`` (a ``Sequential`` sets its own).
    Centring each pixel makes the first layer's optimisation better conditioned (tutorial 1's
    "normalise the inputs"): it is worth about 0.8 points of accuracy after 2 epochs of
    784-25-25-10, compared with the global (x − 0.1307)/0.3081.
    """

    buffer_names = ("mean", "std")
    equations = {"forward": "{y} = ({x} − μ) / σ", "backward": "∂L/∂{x} = ∂L/∂{y} / σ"}
    symbol = "x̂"

    def __init__(self, shape=None):
        self.shape = tuple(whole(s, "shape") for s in shape) if shape is not None else None
        self.adapted = shape is not None

    def array_shapes(self):
        return {"mean": self.shape or (1,), "std": ()}

    def init_buffers(self):
        self.mean = np.zeros(self.shape or (1,), dtype=np.float64)
        self.std = np.ones((), dtype=np.float64)

    def state_loaded(self):
        """After μ and σ were set (a model file, another model): σ must be a positive number
        (σ = 0 would divide by zero); a fitted layer takes μ's shape."""
        if not (np.ndim(self.std) == 0 and np.isfinite(self.std) and self.std > 0):
            raise ConfigError(f"Standardize needs a positive σ, got {self.std!r}")
        self.shape = tuple(self.mean.shape) if self.adapted else None
        self._cache = None

    def adapt(self, batches):
        """Fit μ and σ from an iterable of input batches (N, ...); per-batch sums in the batch's
        dtype, accumulated in float64."""
        n, total, total_sq = 0, np.float64(0), np.float64(0)
        for x in batches:
            if x.dtype.kind in "biu":
                x = x.astype(np.float64)                                # integer sums of squares overflow
            n += len(x)
            total = total + x.sum(axis=0)
            total_sq = total_sq + np.einsum("n...,n...->...", x, x)     # Σ x², without an x² array
        self.mean = total / n
        self.std = np.asarray(np.sqrt(max(float(np.mean(total_sq / n - self.mean ** 2)), 1e-12)))
        self.shape, self.adapted = self.mean.shape, True
        self._cache = None

    def _constants(self, dtype):
        cache = getattr(self, "_cache", None)
        if cache is None or cache[0].dtype != dtype:
            self._cache = cache = (self.mean.astype(dtype), dtype.type(1 / self.std))
        return cache

    def forward(self, x):
        """x̂ = (x − μ)/σ. uint8 pixels p (handed over unconverted by the training loop) are scaled
        first, x = p/255, in the model's dtype: with numba one pass for both."""
        if x.dtype == np.uint8:
            return self._forward_pixels(x)
        mean, inv_std = self._constants(x.dtype)
        self.inv_std = inv_std
        out = x - mean
        out *= inv_std
        return out

    def _forward_pixels(self, p):
        jit = engine.jit()
        rows = p.reshape(len(p), -1) if len(p) else None
        if jit is None or rows is None or not rows.flags.c_contiguous or self.mean.size != rows.shape[1]:
            return self.forward(to_float(p, self.dtype))
        mean, inv_std = self._constants(self.dtype)
        self.inv_std = inv_std
        out = np.empty(rows.shape, dtype=self.dtype)
        jit.standardize_pixels(rows, self.dtype.type(PIXEL_SCALE), mean.reshape(-1), inv_std, out)
        return out.reshape(p.shape)

    def backward(self, grad):
        if not self.input_grad:
            return None
        return grad * self.inv_std

    def describe(self, x, y):
        return {"note": f"μ per pixel (mean {float(np.mean(self.mean)):.4f}), σ = {float(self.std):.4f}"}

    def config(self):
        return {"type": "Standardize", "shape": list(self.shape) if self.shape else None}


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

    Every sum over the batch goes through :meth:`batch_sum`, which returns its arguments: the
    batch is all there is. (Data-parallel training, ``numnet.train.parallel``, replaces it on each
    worker's twin by a sum over every worker's part, as PyTorch's SyncBatchNorm does.)
    """

    param_names = ("gamma", "beta")
    buffer_names = ("running_mean", "running_var")
    per_sample = False      # the statistics come from the whole batch
    equations = {"forward": "{y} = γ ⊙ ({x} − μ) / √(σ² + ε) + β   (μ, σ²: running statistics when evaluating)",
                 "backward": "∂L/∂γ = Σ ∂L/∂{y} ⊙ x̂,   ∂L/∂β = Σ ∂L/∂{y},   "
                             "∂L/∂{x} = γ/(M·√(σ² + ε))·(M·∂L/∂{y} − ∂L/∂β − x̂ ⊙ ∂L/∂γ)",
                 "shapes": "{x} → {y}   with gamma {gamma}, beta {beta}",
                 "backward_shapes": "Σ {dy} ⊙ {xhat} → {dgamma},   Σ {dy} → {dbeta},   {dy} → {dx}"}
    #: evaluation: μ, σ² are the running statistics, constants of the pass, so backward is one product
    eval_equations = (
        [("{y} = γ ⊙ ({x} − running_mean) / √(running_var + ε) + β   (evaluation: running statistics)",
          "{gamma} ⊙ ({x} − {running_mean}) / √({running_var} + ε) + {beta} → {y}")],
        [("∂L/∂γ = Σ ∂L/∂{y} ⊙ x̂", "Σ {dy} ⊙ {xhat} → {dgamma}"), ("∂L/∂β = Σ ∂L/∂{y}", "Σ {dy} → {dbeta}"),
         ("∂L/∂{x} = γ / √(running_var + ε) ⊙ ∂L/∂{y}   (evaluation: the statistics are constants)",
          "{gamma} / √({running_var} + ε) ⊙ {dy} → {dx}")])

    def __init__(self, num_features: int, momentum: float = 0.1, eps: float = 1e-5, dtype=np.float32):
        self.num_features = whole(num_features, "num_features")
        if self.num_features < 1:
            raise ConfigError(f"BatchNorm needs a positive number of features, got {num_features}")
        self.momentum, self.eps, self.dtype = float(momentum), float(eps), np.dtype(dtype)

    def takes(self, input_shape):
        """Features (F,) or feature maps (F, H, W), F = num_features."""
        return len(input_shape) in (1, 3) and input_shape[0] == self.num_features

    def array_shapes(self):
        C = (self.num_features,)
        return {"gamma": C, "beta": C, "running_mean": C, "running_var": C}

    def init_params(self, rng):
        self.gamma[...] = 1
        self.beta[...] = 0

    def init_buffers(self):
        self.running_mean = np.zeros(self.num_features, dtype=np.float64)
        self.running_var = np.ones(self.num_features, dtype=np.float64)

    @staticmethod
    def batch_sum(*partial_sums):
        """Σ over the whole batch of per-channel sums taken over this layer's input: here, the sums
        themselves (see the class docstring)."""
        return partial_sums

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

    def forward(self, x):
        if x.shape[1] != self.num_features:
            raise ConfigError(f"BatchNorm({self.num_features}) got {x.shape[1]} channels")
        self.x_shape = x.shape
        x2 = self._rows(x)                                              # (M, C)
        dtype = x2.dtype
        kernels = engine.compiled("norm")                               # one pass each for xc and Σ xc², and y
        if self.training:
            total, M = self.batch_sum(sum_rows(x2).astype(np.float64), len(x2))
            self.M = M = int(M)                                         # values per channel
            mu = (total / M).astype(dtype)                              # μ
            if kernels is not None:
                xc, square_sum = np.empty(x2.shape, dtype=dtype), np.empty(x2.shape[1])
                kernels.centre_and_square(x2, mu, xc, square_sum)
            else:
                xc = x2 - mu                                            # x − μ
                square_sum = np.einsum("mc,mc->c", xc, xc)
            var, = self.batch_sum(square_sum)
            var = var / M                                               # σ² (biased)
            inv_std = 1 / np.sqrt(var + self.eps)
            m = self.momentum
            self.running_mean = (1 - m) * self.running_mean + m * mu.astype(np.float64)
            self.running_var = (1 - m) * self.running_var + m * var.astype(np.float64) * (M / max(M - 1, 1))
        else:
            inv_std = 1 / np.sqrt(self.running_var + self.eps)
            if kernels is not None and not self.explaining:             # evaluation: y in one pass, xc not kept
                self.inv_std, self.xc, self.x2 = inv_std.astype(dtype, copy=False), None, x2
                y = np.empty(x2.shape, dtype=dtype)
                kernels.centre_scale_shift(x2, self.running_mean.astype(dtype), self.gamma * self.inv_std,
                                           self.beta, y)
                return self._unrows(y, x.shape)
            xc = x2 - self.running_mean.astype(dtype)
        self.inv_std = inv_std.astype(dtype, copy=False)                # 1 / √(σ² + ε)
        self.xc = xc                                                    # x̂ = xc · inv_std, formed when needed
        if kernels is not None:
            y = np.empty(x2.shape, dtype=dtype)
            kernels.scale_shift(xc, self.gamma * self.inv_std, self.beta, y)
        else:
            y = xc * (self.gamma * self.inv_std)                        # y = γ ⊙ x̂ + β
            y += self.beta
        return self._unrows(y, x.shape)

    def explain_lines(self, phase):
        return super().explain_lines(phase) if self.training else self.eval_equations[phase == "backward"]

    def explain_arrays(self):
        """x̂ of the sample, shaped as its input."""
        return {"xhat": self._unrows(self.x_hat, self.x_shape)[0]} if self.__dict__.get("xc") is not None else {}

    @property
    def x_hat(self):
        """x̂ = (x − μ) / √(σ² + ε) of the last forward pass, (M, C)."""
        return self.xc * self.inv_std

    def backward(self, grad):
        dy = self._rows(grad, getattr(self, "_order", None))
        xc, inv_std = self.xc, self.inv_std
        if xc is None:                                                  # the evaluation's one-pass forward
            xc = self.x2 - self.running_mean.astype(self.x2.dtype)
        kernels = engine.compiled("norm")
        if kernels is not None:                                         # Σ dy and Σ dy ⊙ xc in one pass
            total, dot = np.empty(dy.shape[1]), np.empty(dy.shape[1])
            kernels.sum_and_dot(dy, xc, total, dot)
            self.dbeta[...] = total
            np.multiply(dot, inv_std, out=self.dgamma)
        else:
            sum_rows(dy, out=self.dbeta)                                # dβ = Σ dy
            np.multiply(np.einsum("mc,mc->c", dy, xc), inv_std, out=self.dgamma)   # dγ = Σ dy ⊙ x̂
        if not self.input_grad:
            return None
        k = self.gamma * inv_std                                        # γ / √(σ² + ε)
        if not self.training:
            return self._unrows(dy * k, self.x_shape)
        # dx = k/M · (M·dy − dβ − x̂ ⊙ dγ) = k·dy − (k·dγ·inv_std/M) ⊙ xc − k·dβ/M
        # (dβ, dγ of the whole batch; self.dbeta, self.dgamma keep this worker's part)
        dbeta, dgamma = self.batch_sum(self.dbeta, self.dgamma)
        a, b = k * dgamma * inv_std / self.M, k * dbeta / self.M
        if kernels is not None:
            dx = np.empty(dy.shape, dtype=dy.dtype)
            kernels.batch_norm_dx(dy, xc, k, a, b, dx)
        else:
            dx = dy * k
            dx -= xc * a
            dx -= b
        return self._unrows(dx, self.x_shape)

    def config(self):
        return {"type": "BatchNorm", "num_features": self.num_features, "momentum": self.momentum, "eps": self.eps}
