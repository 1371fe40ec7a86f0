"""numnet: neural networks from scratch in NumPy, readable as the math.

    import numnet
    (x_train, y_train), (x_test, y_test) = numnet.load_mnist()
    model = numnet.Sequential(numnet.mlp(hidden=(25, 25)))
    model.fit(x_train, y_train, epochs=2, batch_size=100, optimizer=numnet.Adam(1e-3))
    loss, acc = model.evaluate(x_test, y_test)
"""
from .architectures import mlp
from .datasets import load_mnist
from .errors import ConfigError, DatasetError, ModelFileError, NumnetError
from .gradcheck import check_gradients, numerical_gradient
from .layers import Dense, Flatten, Layer, ReLU, Sigmoid, Softmax, Standardize, Step, Tanh
from .losses import MAE, MSE, BinaryCrossEntropy, LogSoftmaxNLL, NLLLoss, SoftmaxCrossEntropy, rmse
from .model import Sequential, load
from .optim import SGD, Adam, AdamW, Momentum
from . import schedules
from .augment import RandomAffine
from .conv import AvgPool2D, Conv2D, GlobalAvgPool2D, MaxPool2D, Reshape
from .regularization import BatchNorm, Dropout
from .preprocess import ImageError

__version__ = "0.1.0"

__all__ = [
    "Sequential", "load", "load_mnist", "mlp", "numerical_gradient", "check_gradients",
    "Layer", "Dense", "Flatten", "Standardize", "ReLU", "Sigmoid", "Tanh", "Step", "Softmax",
    "SoftmaxCrossEntropy", "LogSoftmaxNLL", "NLLLoss", "MSE", "MAE", "BinaryCrossEntropy", "rmse",
    "SGD", "Momentum", "Adam", "AdamW", "schedules", "RandomAffine",
    "Conv2D", "MaxPool2D", "AvgPool2D", "GlobalAvgPool2D", "Reshape", "Dropout", "BatchNorm",
    "NumnetError", "DatasetError", "ModelFileError", "ConfigError", "ImageError",
]
