"""Sequential: the container. Layers applied in order, the loss on top; forward, backward,
parameters, train/eval modes, evaluate and predict. Training (:func:`numnet.train.fit`), saving
(:func:`numnet.io.save`) and the summary table (:func:`numnet.views.summary`) are functions of their
packages that take a model; ``numnet.Sequential`` (:mod:`numnet.api`) adds them as methods.

Storage: every parameter of every layer is a view into one contiguous buffer
(``flat_params``) and every gradient a view into another (``flat_grads``), so an optimizer
step is a few vectorised operations on two arrays, whatever the number of layers.
"""
from __future__ import annotations

import math

import numpy as np

from . import losses
from .errors import ConfigError
from .functional import to_float, true_labels
from .inference.chunks import outputs
from .inference.frozen import Frozen
from .layers.dense import Dense

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
        self.optimizer = None        # the optimizer ``fit`` used last (saved with the model)
        self.training_state = None   # where the last ``fit`` stopped: epoch, step, generators (for resume)
        self._build(seed)

    def _build(self, seed):
        """Allocate the flat buffers from the layers' ``param_shapes()`` and bind every layer (and
        child) to its views; with a seed, initialise every layer and child in order from one generator."""
        rng = np.random.default_rng(seed) if seed is not None else None
        total = sum(math.prod(s) for layer in self.layers for s in layer.param_shapes().values())
        self.flat_params = np.zeros(total, dtype=self.dtype)
        self.flat_grads = np.zeros(total, dtype=self.dtype)
        for layer, params, grads in zip(self.layers, self._views(self.flat_params), self._views(self.flat_grads)):
            for _, sub in layer.named_layers():
                sub.dtype = self.dtype           # of what a layer makes itself (Standardize's x̂ from pixels)
            layer.bind(params, grads, fill=rng is None)
            if rng is not None:
                for _, sub in layer.named_layers():
                    sub.init_params(rng)

    def _views(self, flat):
        """For each layer, {dotted name: view of ``flat``} shaped like its parameters (children's
        included), in order."""
        offset = 0
        for layer in self.layers:
            views = {}
            for name, shape in layer.param_shapes().items():
                size = math.prod(shape)
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

    def named_layers(self) -> list:
        """[(dotted name, layer)] for every layer and child layer: '3' for layer 3, '3.attn' for its child."""
        return [pair for i, layer in enumerate(self.layers) for pair in layer.named_layers(str(i))]

    def parameters(self) -> list:
        """[Parameter] of every layer, named 'k.W' (parameter W of layer k) or 'k.attn.in_proj_weight'
        (of a child layer): value and grad are the layers' own arrays, views into ``flat_params`` and
        ``flat_grads``, in the buffers' order."""
        return [p for i, layer in enumerate(self.layers) for p in layer.parameters(str(i))]

    def named_parameters(self):
        """[(name, array)] for every parameter, e.g. ('1.W', W of layer 1)."""
        return [(p.qualname, p.value) for p in self.parameters()]

    def named_gradients(self):
        return [(p.qualname, p.grad) for p in self.parameters()]

    def named_buffers(self):
        """[(name, array)] for every buffer (saved state that is not trained, e.g. BatchNorm's
        running statistics), children's included: ('2.running_mean', ...)."""
        return [pair for i, layer in enumerate(self.layers) for pair in layer.named_buffers(str(i))]

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
            if layer.param_shapes():
                break
            if not layer.adapted:
                def batches(before=self.layers[:i]):
                    for start in range(0, len(x), chunk):
                        h = self.prepare(x[start:start + chunk])
                        for prev in before:
                            h = prev.forward(h)
                        yield h
                layer.adapt(batches())

    # inference --------------------------------------------------------------------------------
    @property
    def binary(self) -> bool:
        """A one-output classifier (``--binary D``): it answers "is it class 1?" with p — σ(z) with
        binary cross-entropy, the output itself with MSE or MAE (``Loss.link``) — and predicts 1 when
        p > 0.5."""
        return self.loss.link(self._out_width()) != "softmax"

    def _out_width(self):
        last = next((layer for layer in reversed(self.layers) if isinstance(layer, Dense)), None)
        return last.out_features if last is not None else None

    def probabilities(self, out):
        """Class probabilities (N, K) from the last layer's output: softmax of the logits, or for a
        binary model the two columns [1 − p, p] with p = σ(z) (the loss says which)."""
        return self.loss.probabilities(out)

    def predicted_labels(self, out):
        """Class ids (N,) from the last layer's output: argmax of the logits; for a binary model,
        1 where σ(z) > 0.5, i.e. z > 0."""
        return self.loss.predicted_labels(out)

    def evaluate(self, x, y, batch_size: int = 10000):
        """(mean loss, accuracy) over the whole set, in evaluation mode. ``y``: integer labels,
        one-hot rows (accuracy against their argmax) or, for a binary model, 0/1 targets."""
        y = np.asarray(y)
        labels = true_labels(y)
        loss_sum, correct = 0.0, 0
        for start, out in outputs(self, x, batch_size):
            yb = y[start:start + len(out)]
            loss_sum += self.loss.forward(out, yb) * len(out)
            if labels is not None:
                correct += int(np.count_nonzero(self.predicted_labels(out) == labels[start:start + len(out)]))
        return loss_sum / len(x), (correct / len(x) if labels is not None else None)

    def predict_proba(self, x, batch_size: int = 10000):
        """Class probabilities (N, K): softmax of the logits; for a binary model (N, 2), [1 − p, p]."""
        return np.concatenate([self.probabilities(out) for _, out in outputs(self, x, batch_size)])

    def predict(self, x, batch_size: int = 10000):
        """Predicted class ids (N,): argmax of the logits; for a binary model, σ(z) > 0.5."""
        return np.concatenate([self.predicted_labels(out) for _, out in outputs(self, x, batch_size)])

    def freeze(self):
        """An inference-only snapshot for serving (:class:`numnet.inference.Frozen`): the layers
        copied, an MLP's input scaling folded into its first Dense, Dense + ReLU fused; its ``predict``
        and ``predict_proba`` agree with this model's, and later training does not change it."""
        return Frozen(self)

    # persistence ------------------------------------------------------------------------------
    def config(self) -> dict:
        return {"format": FORMAT, "version": FORMAT_VERSION, "dtype": self.dtype.name,
                "layers": [layer.config() for layer in self.layers], "loss": self.loss.config(),
                "input_shape": list(self.input_shape) if self.input_shape is not None else None,
                "history": self.history, "info": self.info}

    def __repr__(self):
        inner = ",\n  ".join(repr(layer) for layer in self.layers)
        return f"Sequential([\n  {inner}\n], loss={type(self.loss).__name__}, dtype={self.dtype.name})"

