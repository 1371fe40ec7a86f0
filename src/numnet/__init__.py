"""numnet: neural networks from scratch in NumPy, readable as the math.

    import numnet
    (x_train, y_train), (x_test, y_test) = numnet.load_mnist()
    model = numnet.Sequential(numnet.mlp(hidden=(25, 25)))
    model.fit(x_train, y_train, epochs=2, batch_size=100, optimizer=numnet.Adam(1e-3))
    loss, acc = model.evaluate(x_test, y_test)

Names are imported on first use (PEP 562), so ``numnet --help`` does not pay for NumPy.
"""
import importlib

__version__ = "0.1.0"

#: public name -> the module that defines it
_EXPORTS = {
    "architectures": ["mlp"],
    "datasets": ["load_mnist"],
    "errors": ["ConfigError", "DatasetError", "ModelFileError", "NumnetError"],
    "gradcheck": ["check_gradients"],
    "gradients": ["numerical_gradient"],
    "layers": ["AvgPool2D", "BatchNorm", "Conv2D", "Dense", "Dropout", "Flatten", "GlobalAvgPool2D", "Layer",
               "MaxPool2D", "Parameter", "ReLU", "Reshape", "Sigmoid", "Sign", "Softmax", "Standardize", "Step",
               "Tanh", "RNN", "LSTM", "GRU", "LayerNorm", "GELU", "MultiHeadSelfAttention", "PositionalEmbedding",
               "PatchEmbedding", "TokenPool", "TokenDense", "TransformerEncoderBlock"],
    "perceptron": ["Perceptron"],
    "losses": ["MAE", "MSE", "BinaryCrossEntropy", "LogSoftmaxNLL", "NLLLoss", "SoftmaxCrossEntropy", "rmse"],
    "model": ["Sequential"],
    "serialize": ["load"],
    "training": ["Diverged", "StopTraining"],
    "callbacks": ["EarlyStopping"],
    "optim": ["SGD", "Adam", "AdamW", "Momentum"],
    "augment": ["RandomAffine"],
    "preprocess": ["ImageError"],
}
_WHERE = {name: module for module, names in _EXPORTS.items() for name in names}
_SUBMODULES = set(_EXPORTS) | {"init", "metrics", "idx", "schedules", "explain", "report", "evaluation", "cli",
                               "functional", "kernels", "parallel", "conv", "regularization", "summary",
                               "onnx_export", "training", "gradients", "serialize", "sklearn", "sweep",
                               "callbacks", "inference", "predictor", "serve", "perceptron", "transfer",
                               "sequence_arch"}

__all__ = sorted(_WHERE) + ["schedules"]


def __getattr__(name):
    if name in _WHERE:
        value = getattr(importlib.import_module(f"{__name__}.{_WHERE[name]}"), name)
    elif name in _SUBMODULES:
        value = importlib.import_module(f"{__name__}.{name}")
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))
