"""Inference: what ``predict`` runs, and the fast paths beside the plain forward pass.

May import: data (image files), kernels, functional, errors — it sits beneath the model, which
runs it, so it reads models by duck typing and imports no model.

* :mod:`.chunks` — ``outputs(model, x)``: the forward pass in evaluation mode, chunk by chunk;
* :mod:`.frozen` — ``Frozen(model)``, what ``model.freeze()`` returns: an inference snapshot with
  an MLP's input scaling folded into its first Dense;
* :mod:`.predictor` — ``Predictor``: images, files and pixel lists in, predictions out.
"""
from .chunks import ACTIVATION_BUDGET, chunk_rows, outputs
from .frozen import Frozen, folded_input_layer
from .predictor import Predictor, RequestError

__all__ = ["ACTIVATION_BUDGET", "Frozen", "Predictor", "RequestError", "chunk_rows", "folded_input_layer", "outputs"]
