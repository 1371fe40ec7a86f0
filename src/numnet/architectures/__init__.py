"""Architectures: the presets of ``numnet train --model``, the ``--arch`` grammar, and the shapes and
sizes of a network computed from its description before anything is allocated.

May import: layers, functional, errors (and nothing above: no model, no training).

* :mod:`.grammar` — ``build("conv(32,5)-relu-pool(2)-dense(10)")``, ``mlp``, ``preset``, the presets;
* :mod:`.sizes` — the size limits (parameters, values per sample, bytes of a batch) checked on the
  walk of :mod:`numnet.layers.sizes`: the budget ``build`` checks, and ``load`` and ``fit``;
* :mod:`.sequence` — the tokens of recurrent and attention layers (``lstm(128)``, ``patch(7,64)``, ...);
* :mod:`.parse` — the numbers between a token's parentheses.
"""
from .grammar import ACTIVATIONS, DEFAULT_INIT, PRESETS, ZERO_GRADIENT, build, mlp, parse_sizes, preset
from .sizes import MAX_BATCH_BYTES, MAX_PARAMETERS, MAX_VALUES_PER_SAMPLE, check_batch, check_size, output_shape, walk

__all__ = ["ACTIVATIONS", "DEFAULT_INIT", "MAX_BATCH_BYTES", "MAX_PARAMETERS", "MAX_VALUES_PER_SAMPLE", "PRESETS",
           "ZERO_GRADIENT", "build", "check_batch", "check_size", "mlp", "output_shape", "parse_sizes", "preset",
           "walk"]
