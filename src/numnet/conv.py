"""Moved: the convolution and pooling layers live in ``numnet.layers.conv`` and ``numnet.layers.pool``
(this module keeps old imports working)."""
from .layers.conv import Conv2D
from .layers.pool import AvgPool2D, GlobalAvgPool2D, MaxPool2D
from .layers.shape import Reshape

__all__ = ["AvgPool2D", "Conv2D", "GlobalAvgPool2D", "MaxPool2D", "Reshape"]
