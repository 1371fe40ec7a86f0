"""Moved: Dropout lives in ``numnet.layers.dropout``, BatchNorm in ``numnet.layers.norm``
(this module keeps old imports working)."""
from .layers.dropout import Dropout
from .layers.norm import BatchNorm

__all__ = ["BatchNorm", "Dropout"]
