"""An inference-only snapshot of a model: ``model.freeze()``.

``model.predict`` must stay right whatever happened to the model since the last call (a training
step, a loaded state, a weight set by hand), so it can precompute nothing. A frozen snapshot copies
the layers once and precomputes what a served model asks for again and again:

* for an MLP on uint8 pixels, the input scaling, the standardisation and the first Dense folded
  into one affine map, z = W'·pixel + b' (``folded_input_layer``), its W'ᵀ kept as
  rows: with the numba engine a few images at a time add up only the rows of their non-zero
  pixels (a digit is about 80% blank paper), and a ReLU's zeros are skipped alike;
* every Dense's Wᵀ contiguous, and a Dense followed by a ReLU as one step, ReLU(x·Wᵀ + b).

Same values as ``model.predict`` up to float rounding (tests/inference/test_frozen.py). A snapshot: training
the model afterwards does not change it (freeze again).
"""
from __future__ import annotations

import copy
import math
import threading

import numpy as np

from ..functional import PIXEL_SCALE, to_float
from ..kernels import engine

#: up to this many rows, a Dense step adds rows of Wᵀ for the non-zero inputs (numba engine);
#: from there on one GEMM over the whole batch is faster
FEW_ROWS = 16


class Frozen:
    """Inference on a copy of ``model`` (see the module's docstring): ``forward`` (logits),
    ``predict``, ``predict_proba``, with the model's input conventions (uint8 pixels or floats)."""

    def __init__(self, model, snapshot: bool = True):
        # snapshot=False: the model's own layers and arrays, for one ``predict`` call (chunks.outputs)
        self.layers = copy.deepcopy(model.layers) if snapshot else model.layers
        for layer in self.layers:
            layer.training = False
        own = np.ascontiguousarray if snapshot else (lambda a: a)
        self.loss, self.dtype, self.input_shape = model.loss, model.dtype, model.input_shape
        self.binary = model.binary
        self._labels, self._probabilities = model.loss.predicted_labels, model.loss.probabilities
        folded = folded_input_layer(self)
        self.steps, start = [], 0
        if folded is not None:
            i, W_folded, b_folded = folded
            self.pixels = W_folded.shape[1]
            self.flattens = i > 1                 # Flatten layers in front: any sample shape of that size
            relu = _is_relu(self.layers, i + 1)
            self.steps.append(("dense", own(W_folded.T), b_folded, relu))
            start = i + 1 + relu
        self.folded = folded is not None
        for k in range(start, len(self.layers)):
            layer = self.layers[k]
            if type(layer).__name__ == "Dense":
                self.steps.append(("dense", own(layer.W.T), layer.b, _is_relu(self.layers, k + 1)))
            elif not (_is_relu(self.layers, k) and k > start and self.steps[-1][0] == "dense" and self.steps[-1][3]):
                self.steps.append(("layer", layer))
        self.start = start
        self._dense_only = all(step[0] == "dense" for step in self.steps)
        self._lock = threading.Lock()
        self._chain = None            # an MLP: every step in one compiled call for a few rows
        if snapshot and self.folded and self._dense_only:
            Wts, bs, relus = zip(*(step[1:] for step in self.steps))
            self._chain = (np.concatenate([Wt.reshape(-1) for Wt in Wts]), np.concatenate(bs),
                           np.array([Wts[0].shape[0]] + [Wt.shape[1] for Wt in Wts], dtype=np.int64),
                           np.array(relus, dtype=np.bool_))

    def forward(self, x):
        """The logits (the last layer's output) for the batch ``x``, in the model's dtype. Threads may
        call it at once: Dense steps keep no state, and copied layers (which cache what their
        backward would need) run one call at a time."""
        x = np.asarray(x)
        if self.folded and x.dtype == np.uint8 and (x.ndim == 2 or self.flattens and x.ndim > 2) \
                and math.prod(x.shape[1:]) == self.pixels:
            h = x.reshape(len(x), self.pixels)
            if self._chain is not None and 0 < len(x) <= FEW_ROWS:
                jit = engine.jit()
                if jit is not None:
                    return jit.dense_chain_skipping_zeros(h if h.flags.c_contiguous else h.copy(), *self._chain)
            if self._dense_only:
                return self._run(h, self.steps)
            with self._lock:
                return self._run(h, self.steps)
        with self._lock:                       # floats (or an odd shape): the copied layers as they are
            h = to_float(x, self.dtype)
            for layer in self.layers[:self.start]:
                h = layer.forward(h)
            return self._run(h, self.steps[1:] if self.folded else self.steps)

    @staticmethod
    def _run(h, steps):
        for step in steps:
            h = _dense(h, *step[1:]) if step[0] == "dense" else step[1].forward(h)
        return h

    def predict(self, x, batch_size: int = 10000):
        """Class ids (N,): as ``Sequential.predict``."""
        if len(x) <= batch_size:
            return self._labels(self.forward(x))
        return np.concatenate([self._labels(self.forward(xb)) for xb in _chunks(x, batch_size)])

    def predict_proba(self, x, batch_size: int = 10000):
        """Class probabilities (N, K): as ``Sequential.predict_proba``."""
        if len(x) <= batch_size:
            return self._probabilities(self.forward(x))
        return np.concatenate([self._probabilities(self.forward(xb)) for xb in _chunks(x, batch_size)])


def folded_input_layer(model):
    """For inference on uint8 pixels: (i, W', b') where layers[i] is a Dense behind a Standardize
    (only Flatten before it), else None. The three affine maps x = pixel/255, x̂ = (x − μ)/σ and
    z = W·x̂ + b fold into one, z = W'·pixel + b' with W' = W/(255σ), b' = b − W·(μ/σ): a batch
    then needs one conversion to float and one GEMM instead of four passes over its pixels
    (predicting 10,000 images with 784-256-256-10 gets 25-40% faster). Same values as the
    layer-by-layer forward up to float rounding (tests/test_model.py)."""
    for i, layer in enumerate(model.layers):
        if not type(layer).__name__ == "Flatten":
            break
    else:
        return None
    std = model.layers[i]
    dense = model.layers[i + 1] if i + 1 < len(model.layers) else None
    if not (type(std).__name__ == "Standardize" and std.adapted and type(dense).__name__ == "Dense"
            and std.mean.shape == (dense.in_features,)):
        return None
    inv_std = 1 / float(std.std)
    W = dense.W.astype(np.float64)
    W_folded = (W * (PIXEL_SCALE * inv_std)).astype(model.dtype)
    b_folded = (dense.b - W @ (std.mean.reshape(-1) * inv_std)).astype(model.dtype)
    return i + 1, W_folded, b_folded


def _is_relu(layers, k):
    return k < len(layers) and type(layers[k]).__name__ == "ReLU"


def _chunks(x, batch_size):
    x = np.asarray(x)
    return [x[s:s + batch_size] for s in range(0, max(len(x), 1), batch_size)]


def _dense(x, Wt, b, relu):
    """z = x·Wt + b (then ReLU): x (N, K) rows, Wt (K, O)."""
    if x.ndim != 2 or x.shape[1] != Wt.shape[0]:
        raise ValueError(f"a Dense step expects rows of {Wt.shape[0]} values, got shape {x.shape}")
    jit = engine.jit()
    if jit is not None and len(x) <= FEW_ROWS and Wt.flags.c_contiguous:
        out = np.empty((len(x), Wt.shape[1]), dtype=Wt.dtype)
        jit.affine_skipping_zeros(np.ascontiguousarray(x), Wt, b, relu, out)
        return out
    z = x.astype(Wt.dtype, copy=False) @ Wt
    if relu and jit is not None:
        jit.bias_relu(z, b)
        return z
    z += b
    return np.maximum(z, 0, out=z) if relu else z
