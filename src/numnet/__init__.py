"""numnet: neural networks from scratch in NumPy, readable as the math.

    import numnet
    (x_train, y_train), (x_test, y_test) = numnet.load_mnist()
    model = numnet.Sequential(numnet.mlp(hidden=(25, 25)))
    model.fit(x_train, y_train, epochs=2, batch_size=100, optimizer=numnet.Adam(1e-3))
    loss, acc = model.evaluate(x_test, y_test)

Names are imported on first use (PEP 562), so ``numnet --help`` does not pay for NumPy.

The house, floor by floor (each imports only from the floors beneath it; ``.importlinter`` holds it):

    cli                          the numnet command
    serve, integrations          the web page; scikit-learn and Optuna
    api                          numnet.Sequential (fit, save, summary), numnet.load, numnet.ensemble
    views                        gradcheck, explain, examples, metrics, evaluation, report, summary, figures, lang
    train                        the loop, callbacks, gradients, parallel, transfer
    io                           save/load (.npz + JSON), ONNX
    architectures                presets, the --arch grammar, shapes and sizes
    model, perceptron            the container Sequential; the perceptron of tutorial 4
    inference                    chunked and frozen inference, the predictor
    layers, losses, optim, schedules   the math of learning
    kernels, data, init          fast paths; datasets and images; initialisers
    functional, files            pure functions; what numnet writes (output files, JSON)
    errors                       the errors a user can cause
"""
import importlib
import importlib.abc
import importlib.util
import sys

__version__ = "0.1.0"

#: public name -> the module that defines it
_EXPORTS = {
    "api": ["Sequential", "ensemble", "load"],
    "architectures": ["mlp"],
    "data.datasets": ["load_mnist"],
    "data.augment": ["RandomAffine"],
    "data.imagefile": ["ImageError"],
    "errors": ["ConfigError", "DatasetError", "ExportError", "ModelFileError", "NumnetError", "OutputError"],
    "views.gradcheck": ["check_gradients"],
    "train.gradients": ["numerical_gradient"],
    "layers": ["AvgPool2D", "BatchNorm", "Conv2D", "Dense", "Dropout", "Flatten", "GlobalAvgPool2D", "Layer",
               "MaxPool2D", "Parameter", "ReLU", "Reshape", "Sigmoid", "Sign", "Softmax", "Standardize", "Step",
               "Tanh", "RNN", "LSTM", "GRU", "LayerNorm", "GELU", "MultiHeadSelfAttention", "PositionalEmbedding",
               "PatchEmbedding", "TokenPool", "TransformerEncoderBlock", "Ensemble", "Mirror", "Shift"],
    "perceptron": ["Perceptron"],
    "losses": ["MAE", "MSE", "BinaryCrossEntropy", "LogSoftmaxNLL", "NLLLoss", "SoftmaxCrossEntropy", "rmse"],
    "train.options": ["fit"],
    "train.callbacks": ["Diverged", "EarlyStopping", "StopTraining"],
    "train.averaging": ["EMA"],
    "io.serialize": ["save"],
    "optim": ["SGD", "Adam", "AdamW", "Momentum"],
}
_WHERE = {name: module for module, names in _EXPORTS.items() for name in names}

#: modules that moved into the packages, old name -> where they live now. ``import numnet.serialize``
#: and ``from numnet.training import fit`` keep working: the old name is the same module object.
MOVED = {
    "conv": "layers", "regularization": "layers", "sequence_arch": "architectures.sequence",
    "datasets": "data.datasets", "idx": "data.idx", "augment": "data.augment", "preprocess": "data.preprocess",
    "imagefile": "data.imagefile",
    "training": "train.options", "callbacks": "train.callbacks", "gradients": "train.gradients",
    "parallel": "train.parallel", "transfer": "train.transfer",
    "predictor": "inference.predictor", "frozen": "inference.frozen",
    "serialize": "io.serialize", "onnx_export": "io.onnx_export", "onnx_sequence": "io.onnx_sequence",
    "gradcheck": "views.gradcheck", "explain": "views.explain", "metrics": "views.metrics",
    "evaluation": "views.evaluation", "report": "views.report", "summary": "views.summary",
    "seedplots": "views.figures",
    "sklearn": "integrations.sklearn", "sweep": "integrations.sweep",
}
_PACKAGES = {"api", "architectures", "cli", "data", "errors", "functional", "inference", "init", "integrations", "io",
             "kernels", "layers", "losses", "model", "optim", "perceptron", "schedules", "serve", "train", "views"}

__all__ = sorted(_WHERE) + ["schedules"]


class _MovedModules(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Finds ``numnet.<old name>`` of :data:`MOVED` and hands back the module at its new place."""

    def find_spec(self, fullname, path=None, target=None):
        package, _, old = fullname.partition(".")
        if package == __name__ and old in MOVED:
            return importlib.util.spec_from_loader(fullname, self)
        return None

    def create_module(self, spec):
        module = importlib.import_module(f"{__name__}.{MOVED[spec.name.partition('.')[2]]}")
        spec.loader_state = module.__spec__          # the import machinery sets __spec__ to the alias's
        return module

    def exec_module(self, module):
        """The module ran at its new place already; it keeps its own spec (so ``importlib.reload`` works)."""
        module.__spec__ = module.__spec__.loader_state


sys.meta_path.append(_MovedModules())


def __getattr__(name):
    if name in _WHERE:
        value = getattr(importlib.import_module(f"{__name__}.{_WHERE[name]}"), name)
    elif name in _PACKAGES or name in MOVED:
        value = importlib.import_module(f"{__name__}.{name}")
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))
