"""Sequential: a stack of layers trained by backpropagation, saved as one .npz file.

Storage: every parameter of every layer is a view into one contiguous buffer
(``flat_params``) and every gradient a view into another (``flat_grads``), so an optimizer
step is a few vectorised operations on two arrays, whatever the number of layers.
"""
from __future__ import annotations

import math

import numpy as np

from . import layers as layers_mod
from . import losses
from .errors import ConfigError
from .functional import PIXEL_SCALE, softmax, to_float
from .layers.base import Parameter

FORMAT = "numnet-model"
FORMAT_VERSION = 1


class Sequential:
    """Layers applied in order; the loss sits on top of the last layer's output.

    ``dtype``: float32 (default) or float64 for every parameter and activation.
    ``seed``: initialises all parameters from ``numpy.random.default_rng(seed)``;
    ``seed=None`` keeps the layers' current values (used when loading a file).
    """

    def __init__(self, layers, loss="cross_entropy", dtype=np.float32, seed: int | None = 0):
        self.layers = list(layers)
        self.loss = losses.get(loss)
        self.dtype = np.dtype(dtype)
        if self.dtype not in (np.float32, np.float64):
            raise ConfigError(f"dtype must be float32 or float64, not {self.dtype}")
        self.history: list[dict] = []
        self.info: dict = {}   # training configuration and anything else worth saving
        self.input_shape = None
        self._build(seed)

    def _build(self, seed):
        rng = np.random.default_rng(seed) if seed is not None else None
        total = sum(int(np.prod(s)) for layer in self.layers for s in layer.param_shapes().values())
        self.flat_params = np.zeros(total, dtype=self.dtype)
        self.flat_grads = np.zeros(total, dtype=self.dtype)
        for layer, params, grads in zip(self.layers, self._views(self.flat_params), self._views(self.flat_grads)):
            layer.bind(params, grads)
            if rng is not None:
                layer.init_params(rng)

    def _views(self, flat):
        """For each layer, {name: view of ``flat``} shaped like its parameters, in order."""
        offset = 0
        for layer in self.layers:
            views = {}
            for name, shape in layer.param_shapes().items():
                size = int(np.prod(shape))
                views[name] = flat[offset:offset + size].reshape(shape)
                offset += size
            yield views

    # the network ----------------------------------------------------------------------------
    def forward(self, x):
        """Output of the last layer (logits for a classifier), batch first."""
        for layer in self.layers:
            x = layer.forward(x)
        return x

    def backward(self, grad):
        """Backpropagate dL/d(output) through every layer; returns dL/d(input).

        Stops early (returning None) at a layer whose ``input_grad`` is False: ``fit`` sets it on
        the first layer with parameters, since nobody needs dL/dx of the images.
        """
        for layer in reversed(self.layers):
            grad = layer.backward(grad)
            if grad is None:
                break
        return grad

    def parameters(self) -> list:
        """[Parameter] of every layer, named 'k.W' (parameter W of layer k): value and grad are the
        layers' own arrays, views into ``flat_params`` and ``flat_grads``."""
        return [Parameter(layer, n, f"{i}.{n}") for i, layer in enumerate(self.layers) for n in layer.param_names]

    def named_parameters(self):
        """[(name, array)] for every parameter, e.g. ('1.W', W of layer 1)."""
        return [(f"{i}.{n}", p) for i, layer in enumerate(self.layers) for n, p in layer.params.items()]

    def named_gradients(self):
        return [(f"{i}.{n}", g) for i, layer in enumerate(self.layers) for n, g in layer.grads.items()]

    @property
    def num_parameters(self) -> int:
        return self.flat_params.size

    def train(self, mode: bool = True):
        """Training mode (dropout active, batch statistics) or evaluation mode (``mode=False``)."""
        for layer in self.layers:
            layer.training = mode
        return self

    def eval(self):
        return self.train(False)

    def prepare(self, x):
        """Model input from user data: uint8 pixels become x = pixel / 255, floats the model's dtype."""
        return to_float(x, self.dtype)

    # training -----------------------------------------------------------------------------------
    def adapt(self, x, chunk: int = 4096):
        """Fit data-dependent layers (``Standardize``) in front of the first trainable layer."""
        for i, layer in enumerate(self.layers):
            if layer.param_names:
                break
            if hasattr(layer, "adapt") and not layer.adapted:
                def batches(before=self.layers[:i]):
                    for start in range(0, len(x), chunk):
                        h = self.prepare(x[start:start + chunk])
                        for prev in before:
                            h = prev.forward(h)
                        yield h
                layer.adapt(batches())

    def fit(self, x, y, **options):
        """Train the model: see :func:`numnet.training.fit` for the options (epochs, batch_size,
        optimizer, validation_data, seed, progress, callbacks, augment, schedule, gradient, workers).
        Returns the history, one dict per epoch."""
        from .training import fit

        return fit(self, x, y, **options)

    # inference --------------------------------------------------------------------------------
    #: inference chunks hold at most this many values of the largest activation (32 MiB in float32)
    activation_budget = 1 << 23

    def _chunk_rows(self, sample_shape, batch_size):
        """Rows per inference chunk: ``batch_size``, or fewer where a sample's largest activation is
        big. A CNN's first feature maps for 10,000 images would take 0.7 GB, and the passes over them
        would cost more than the convolutions (evaluating MNIST's test set with the `cnn` preset:
        3.5 s in one chunk, 1 s in chunks of 455 images)."""
        shape, largest = tuple(sample_shape), math.prod(sample_shape)
        try:
            for layer in self.layers:
                shape = tuple(layer.output_shape(shape))
                largest = max(largest, math.prod(shape))
        except (ConfigError, ValueError, TypeError, IndexError):
            return batch_size          # the forward pass will say what is wrong with the input
        return max(1, min(batch_size, self.activation_budget // max(largest, 1)))

    def _outputs(self, x, batch_size=10000):
        self.eval()
        x = np.asarray(x)
        if len(x) > 256:                  # small inputs go in one piece (and skip the shape walk's ~30 µs)
            batch_size = self._chunk_rows(x.shape[1:], batch_size)
        # folding costs about a third of a millisecond, repaid from about 300 images on
        folded = self._folded_input_layer() if x.dtype == np.uint8 and len(x) >= 1024 else None
        for start in range(0, len(x), batch_size):
            xb = x[start:start + batch_size]
            yield start, self.forward(self.prepare(xb)) if folded is None else self._forward_folded(xb, *folded)

    def _folded_input_layer(self):
        """For inference on uint8 pixels: (i, W', b') where layers[i] is a Dense behind a Standardize
        (only Flatten before it), else None. The three affine maps x = pixel/255, x̂ = (x − μ)/σ and
        z = W·x̂ + b fold into one, z = W'·pixel + b' with W' = W/(255σ), b' = b − W·(μ/σ): a batch
        then needs one conversion to float and one GEMM instead of four passes over its pixels
        (predicting 10,000 images with 784-256-256-10 gets 25-40% faster). Same values as the
        layer-by-layer forward up to float rounding (tests/test_model.py)."""
        for i, layer in enumerate(self.layers):
            if not isinstance(layer, layers_mod.Flatten):
                break
        else:
            return None
        std = self.layers[i]
        dense = self.layers[i + 1] if i + 1 < len(self.layers) else None
        if not (isinstance(std, layers_mod.Standardize) and std.adapted and isinstance(dense, layers_mod.Dense)
                and std.mean.shape == (dense.in_features,)):
            return None
        inv_std = 1 / float(std.std)
        W = dense.W.astype(np.float64)
        W_folded = (W * (PIXEL_SCALE * inv_std)).astype(self.dtype)
        b_folded = (dense.b - W @ (std.mean.reshape(-1) * inv_std)).astype(self.dtype)
        return i + 1, W_folded, b_folded

    def _forward_folded(self, x, i, W_folded, b_folded):
        h = x
        for layer in self.layers[:i - 1]:          # the Flattens
            h = layer.forward(h)
        if h.ndim != 2 or h.shape[1] != W_folded.shape[1]:
            return self.forward(self.prepare(x))     # not the rows the Dense expects: the plain path decides
        z = h.astype(self.dtype) @ W_folded.T
        z += b_folded
        for layer in self.layers[i + 1:]:
            z = layer.forward(z)
        return z

    def evaluate(self, x, y, batch_size: int = 10000):
        """(mean loss, accuracy) over the whole set, in evaluation mode."""
        y = np.asarray(y)
        loss_sum, correct = 0.0, 0
        for start, out in self._outputs(x, batch_size):
            yb = y[start:start + len(out)]
            loss_sum += self.loss.forward(out, yb) * len(out)
            if yb.ndim == 1:
                correct += int(np.count_nonzero(out.argmax(axis=1) == yb))
        return loss_sum / len(x), correct / len(x)

    def predict_proba(self, x, batch_size: int = 10000):
        """Class probabilities (N, K): softmax of the logits."""
        return np.concatenate([softmax(out) for _, out in self._outputs(x, batch_size)])

    def predict(self, x, batch_size: int = 10000):
        """Predicted class ids (N,): argmax of the logits."""
        return np.concatenate([out.argmax(axis=1) for _, out in self._outputs(x, batch_size)])

    # persistence ------------------------------------------------------------------------------
    def config(self) -> dict:
        return {"format": FORMAT, "version": FORMAT_VERSION, "dtype": self.dtype.name,
                "layers": [layer.config() for layer in self.layers], "loss": self.loss.config(),
                "input_shape": list(self.input_shape) if self.input_shape is not None else None,
                "history": self.history, "info": self.info}

    def save(self, path) -> str:
        """Write the model to ``path`` (.npz: arrays + a JSON entry ``__config__``), atomically."""
        from .serialize import save

        return save(self, path)

    def summary(self, input_shape=None) -> str:
        """Keras-style table of layers, output shapes and parameter counts (see ``numnet.summary``)."""
        from .summary import summary

        return summary(self, input_shape)

    def __repr__(self):
        inner = ",\n  ".join(repr(layer) for layer in self.layers)
        return f"Sequential([\n  {inner}\n], loss={type(self.loss).__name__}, dtype={self.dtype.name})"



def load(path) -> Sequential:
    """Load a model saved by :meth:`Sequential.save` (see :func:`numnet.serialize.load`)."""
    from .serialize import load as load_file

    return load_file(path)
