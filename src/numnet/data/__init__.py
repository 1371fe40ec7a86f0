"""Data: datasets (the bundled MNIST, any MNIST-style folder), the IDX format, augmentation, and image
files turned into MNIST-like digits.

May import: functional, errors. The MNIST files themselves lie in ``data/mnist/``.

* :mod:`.datasets` — ``load_mnist``, label checks, "is it a D?" labels;
* :mod:`.idx` — read and write IDX files;
* :mod:`.augment` — random shifts and affine maps of a batch;
* :mod:`.imagefile`, :mod:`.preprocess` — read an image file safely and make it look like MNIST.
"""
from .augment import RandomAffine
from .datasets import binary_labels, check_labels, load_mnist, num_classes
from .idx import read_idx, write_idx
from .imagefile import ImageError

__all__ = ["ImageError", "RandomAffine", "binary_labels", "check_labels", "load_mnist", "num_classes", "read_idx",
           "write_idx"]
