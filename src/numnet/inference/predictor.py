"""One digit in, everything the network does with it out: what ``numnet serve`` answers.

:class:`Predictor` wraps a loaded model for a web page or a script. An input is either

* a grey image as nested lists of numbers (``pixels``: rows of equal length, 0 = paper,
  255 = ink, as a canvas gives), checked by :func:`parse_pixels`, or
* an image file (PNG, JPEG, BMP, GIF), decoded by :func:`numnet.data.preprocess.load_digit`,

and both go through the same MNIST preparation as ``numnet predict``
(:func:`numnet.data.preprocess.to_mnist`: crop to the ink, longer side 20 px, centre of mass at
(14, 14)). The 28×28 result x (uint8) then walks through ``model.layers`` one forward pass at a
time, in evaluation mode, so every layer's output a_i = layer_i(a_{i−1}) (a_0 = x / 255) can be
shown; the last one holds the logits z and p = softmax(z) are the ten probabilities (for a binary
model, [1 − σ(z), σ(z)]). This is the computation ``model.predict`` does, so the predictions agree.

Layers cache what their backward pass needs, so one model must not run two forward passes at
once: a lock serialises the (short) forward walk; the preprocessing, the slow part, runs
outside it.
"""
from __future__ import annotations

import json
import os
import tempfile
import threading

import numpy as np

from ..data.preprocess import ImageError, load_digit, to_mnist
from ..errors import ConfigError, NumnetError

#: largest side of a pixel array, and largest number of pixels in one
MAX_SIDE = 2048
MAX_PIXELS = 1_000_000
#: largest image file (bytes) and the largest decoded image (pixels) accepted by :meth:`Predictor.predict_file`
MAX_FILE_BYTES = 4 * 1024 * 1024
MAX_FILE_PIXELS = 25_000_000
#: first Dense layers with at most this many units get their weight templates in :meth:`Predictor.describe`
MAX_TEMPLATES = 256


class RequestError(NumnetError):
    """A request that cannot be answered; ``status`` is the HTTP status (4xx) to answer with."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


def parse_pixels(pixels) -> np.ndarray:
    """Nested lists (H rows of W numbers, each in [0, 255]) → (H, W) uint8 (values rounded).

    Raises :class:`RequestError` (400) for anything else: not a list of lists, rows of different
    lengths, an empty image, a side over MAX_SIDE or more than MAX_PIXELS pixels, a value that is
    not a number (strings, booleans, null, nested lists), NaN, ±infinity or out of range. Sizes
    are checked before anything is converted.
    """
    if not isinstance(pixels, list) or not pixels:
        raise RequestError("'pixels' must be a non-empty list of rows (lists of numbers)")
    if not all(isinstance(row, list) for row in pixels):
        raise RequestError("'pixels' must be a list of rows, each a list of numbers")
    h, w = len(pixels), len(pixels[0])
    if w == 0:
        raise RequestError("'pixels' rows must not be empty")
    if h > MAX_SIDE or w > MAX_SIDE or h * w > MAX_PIXELS:
        raise RequestError(f"image too large ({h}×{w}; at most {MAX_SIDE} per side and {MAX_PIXELS:,} pixels)")
    for i, row in enumerate(pixels):
        if len(row) != w:
            raise RequestError(f"'pixels' rows must have equal lengths (row 0 has {w}, row {i} has {len(row)})")
        if not _NUMBER_TYPES.issuperset(map(type, row)):         # a C-speed scan of each row's types
            _check_row(i, row)
    try:
        a = np.array(pixels, dtype=np.float64)
    except OverflowError:                                          # an integer beyond float64
        a = None
    if a is None or not ((a >= 0) & (a <= 255)).all():            # the comparisons are false for NaN
        for i, row in enumerate(pixels):
            _check_row(i, row)
    return np.rint(a).astype(np.uint8)


_NUMBER_TYPES = frozenset((int, float))


def _check_row(i: int, row: list):
    """Raise RequestError naming the first value of row ``i`` that is not a number in 0..255."""
    for v in row:
        if type(v) not in _NUMBER_TYPES:
            raise RequestError(f"'pixels' row {i}: {_short(v)} is not a number")
        if not 0 <= v <= 255:       # also false for NaN
            raise RequestError(f"'pixels' row {i}: {_short(v)} is outside 0..255")


def _short(value) -> str:
    text = json.dumps(value) if not isinstance(value, int) or abs(value) < 10 ** 30 else "a huge integer"
    return text if len(text) <= 30 else text[:27] + "..."


def _rounded(a) -> list:
    """Array → nested lists of floats with 4 decimals (enough for a heatmap, a third of the JSON)."""
    return np.round(np.asarray(a, dtype=np.float64), 4).tolist()


class Predictor:
    """A model ready to answer: ``predict_pixels``, ``predict_file``, ``describe``.

    The model takes 28×28 digit images: its ``input_shape`` (or (28, 28) when unknown) must hold
    784 values; inputs are given to it in that shape.
    """

    def __init__(self, model, name: str = "model"):
        self.model, self.name = model, name
        self.input_shape = tuple(model.input_shape or (28, 28))
        if int(np.prod(self.input_shape)) != 28 * 28:
            raise ConfigError(f"{name}: the model takes inputs of shape {self.input_shape}, not 28×28 digit images")
        self._lock = threading.Lock()
        model.eval()
        blank = self._walk(np.zeros((28, 28), dtype=np.uint8))
        self.output_shapes = [tuple(a.shape) for a in blank]
        if len(self.output_shapes[-1]) != 1:
            raise ConfigError(f"{name}: the last layer outputs shape {self.output_shapes[-1]}, not class scores")
        self.num_classes = self.output_shapes[-1][0]

    # the forward walk ---------------------------------------------------------------------
    def _walk(self, image: np.ndarray) -> list:
        """Each layer's output for one 28×28 uint8 image (batch axis dropped), in order."""
        x = self.model.prepare(image.reshape((1,) + self.input_shape))
        outputs = []
        with self._lock:
            self.model.eval()
            for layer in self.model.layers:
                x = layer.forward(x)
                outputs.append(np.array(x[0], dtype=np.float64))
        return outputs

    def predict_image(self, image: np.ndarray, activations: bool = True) -> dict:
        """A prepared 28×28 uint8 image → {prediction, probabilities, preprocessed, activations}."""
        outputs = self._walk(image)
        last = outputs[-1][None, :]
        p = self.model.probabilities(last)[0]                 # softmax(z), or [1 − σ(z), σ(z)] for a binary model
        result = {"prediction": int(self.model.predicted_labels(last)[0]), "probabilities": [float(v) for v in p],
                  "preprocessed": np.asarray(image).astype(int).tolist()}
        if activations:
            result["activations"] = [{"layer": i, "type": type(layer).__name__, "shape": list(a.shape),
                                      "values": _rounded(a)}
                                     for i, (layer, a) in enumerate(zip(self.model.layers, outputs))]
        return result

    def predict_pixels(self, pixels, preprocess: bool = True, activations: bool = True) -> dict:
        """Nested lists of grey levels (0 = paper, 255 = ink) → :meth:`predict_image`'s answer.

        ``preprocess=False`` takes the pixels as the network's 28×28 input as they are (an MNIST
        image); otherwise they go through :func:`~numnet.data.preprocess.to_mnist`, as a file would.
        """
        gray = parse_pixels(pixels)
        if not preprocess:
            if gray.shape != (28, 28):
                raise RequestError(f"with \"preprocess\": false the pixels must be 28×28, not {gray.shape[0]}×{gray.shape[1]}")
            return self.predict_image(gray, activations)
        return self.predict_image(to_mnist(gray), activations)

    def predict_file(self, data: bytes, activations: bool = True) -> dict:
        """An image file's bytes → :meth:`predict_image`'s answer, through ``numnet predict``'s
        :func:`~numnet.data.preprocess.load_digit` (the bytes are written to a private temporary file)."""
        if not data:
            raise RequestError("empty image file")
        if len(data) > MAX_FILE_BYTES:
            raise RequestError(f"image file too large ({len(data):,} bytes)", status=413)
        fd, path = tempfile.mkstemp(prefix="numnet-upload-")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            image = load_digit(path, max_pixels=MAX_FILE_PIXELS)
        finally:
            os.unlink(path)
        return self.predict_image(image, activations)

    # the model ----------------------------------------------------------------------------
    def describe(self) -> dict:
        """The architecture and training information, JSON-ready.

        ``layers``: index, type, constructor config, output shape and parameter count of each.
        ``templates``: for an MLP (the first layer with weights is a Dense reading the flattened
        image), that layer's weight rows W[j] reshaped to 28×28, scaled by max |W| into −127..127:
        the pattern each hidden unit j of tutorial 1's z1 = W1·x + b1 looks for; absent otherwise.
        """
        model = self.model
        layers = []
        for i, (layer, shape) in enumerate(zip(model.layers, self.output_shapes)):
            n = sum(int(np.prod(p.shape)) for p in layer.params.values())
            layers.append({"index": i, "type": type(layer).__name__, "config": layer.config(),
                           "output_shape": list(shape), "parameters": n})
        history = list(model.history or [])
        last = history[-1] if history else {}
        out = {"name": self.name, "input_shape": list(self.input_shape), "num_classes": self.num_classes,
               "num_parameters": sum(layer["parameters"] for layer in layers), "dtype": str(model.dtype), "layers": layers,
               "info": model.info, "epochs_trained": len(history),
               "test_accuracy": last.get("val_accuracy", last.get("test_accuracy")), "history": history}
        templates = self._templates()
        if templates is not None:
            out["templates"] = templates
        return out

    def _templates(self):
        for i, layer in enumerate(self.model.layers):
            if not layer.params:
                continue
            W = getattr(layer, "W", None)
            if type(layer).__name__ != "Dense" or W is None or W.ndim != 2 or W.shape[1] != 784 \
                    or W.shape[0] > MAX_TEMPLATES:
                return None
            W = np.asarray(W, dtype=np.float64)
            scale = float(np.abs(W).max()) or 1.0
            q = np.rint(W / scale * 127).astype(int).reshape(-1, 28, 28)
            return {"layer": i, "scale": scale, "units": len(W), "weights": q.tolist()}
        return None


__all__ = ["Predictor", "RequestError", "parse_pixels", "ImageError", "MAX_SIDE", "MAX_PIXELS", "MAX_FILE_BYTES"]
