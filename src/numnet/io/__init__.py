"""Files a model leaves in: numnet's own ``.npz`` + JSON format (no pickle) and ONNX.

May import: architectures, model, layers, optim, functional, errors.

* :mod:`.serialize` — ``save(model, path)`` (atomic) and ``load(path)`` (every size checked first);
* :mod:`.onnx_export` and :mod:`.onnx_sequence` — ``export(model, path)`` to an ONNX graph.
"""
from .serialize import load, save

__all__ = ["load", "save"]
