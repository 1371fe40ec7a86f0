"""Ready-made networks, built from the options of ``numnet train``."""
from __future__ import annotations

import math
import re

from ..errors import ConfigError
from ..layers import (
    AvgPool2D,
    BatchNorm,
    Conv2D,
    Dense,
    Dropout,
    Flatten,
    GlobalAvgPool2D,
    MaxPool2D,
    ReLU,
    Reshape,
    Sigmoid,
    Sign,
    Standardize,
    Step,
    Tanh,
)
from .parse import CONV_KEYS, layer_args, layer_ints
from .sequence import PRESETS as _sequence_presets
from .sequence import sequence_layers
from .sizes import Budget, check_size

#: step (tutorial 4) and sign (tutorial 5) are accepted, but their derivative is 0 almost everywhere:
#: backpropagation gets no gradient through them (the perceptron rule, numnet.Perceptron, needs none)
ACTIVATIONS = {"relu": ReLU, "sigmoid": Sigmoid, "tanh": Tanh, "step": Step, "sign": Sign}
ZERO_GRADIENT = ("step", "sign")
#: Xavier/Glorot for the saturating activations. For ReLU, He (N(0, 2/fan_in)) is the textbook
#: choice, but behind the Standardize layer LeCun's N(0, 1/fan_in) trains faster early on:
#: 784-25-25-10, Adam 1e-3, batch 100, 2 epochs, 8 seeds: He 95.24%, LeCun 95.56% mean test
#: accuracy; tutorial 3's 784-64-64-64-10 at batch 15: He 96.42%, LeCun 96.73% (3-4 seeds).
#: ``--init he`` (or init="he") selects He.
DEFAULT_INIT = {"relu": "lecun", "sigmoid": "xavier", "tanh": "xavier", "step": "xavier", "sign": "xavier"}


def parse_sizes(text: str) -> tuple:
    """'64,64,64' -> (64, 64, 64). Every comma-separated part is a width: an empty text or part
    ('', '16,,16') is refused, not read as fewer layers (no hidden layer: the layers as ``--arch``)."""
    try:
        sizes = tuple(int(s) for s in str(text).split(","))
    except ValueError:
        raise ConfigError(f"hidden sizes must be comma-separated integers, got {text!r}") from None
    if any(s < 1 for s in sizes):
        raise ConfigError(f"hidden sizes must be positive, got {text!r}")
    return sizes


def mlp(hidden=(25, 25), activation: str = "relu", in_features: int = 784, num_classes: int = 10,
        init: str | None = None) -> list:
    """Flatten, Standardize, then Dense + activation per hidden size, then Dense to the logits.

    The default is tutorial 1's network: 784-25-25-10 with ReLU.
    """
    act = ACTIVATIONS.get(activation)
    if act is None:
        raise ConfigError(f"unknown activation {activation!r} (choose from {', '.join(ACTIVATIONS)})")
    widths = (int(in_features), *hidden, int(num_classes))
    if min(widths) < 1:
        raise ConfigError(f"layer sizes must be positive, got {'-'.join(map(str, widths))}")
    check_size(sum(a * b + b for a, b in zip(widths, widths[1:])), max(widths), "-".join(map(str, widths)))
    init = init or DEFAULT_INIT[activation]
    layers, fan_in = [Flatten(), Standardize()], in_features
    for width in hidden:
        layers += [Dense(fan_in, width, init=init), act()]
        fan_in = width
    layers.append(Dense(fan_in, num_classes, init=init))
    return layers


# convolutional networks ------------------------------------------------------------------------
#: issue 27's record network: two 3×3 convolutions before each pooling (VGG-style), batch norm
RECORD_NET = ("conv(32,3)-bn-relu-conv(32,3)-bn-relu-pool(2)-conv(64,3)-bn-relu-conv(64,3)-bn-relu-pool(2)-"
              "flatten-dense(256)-bn-relu-dropout(0.4)-dense(10)")
#: presets of ``numnet train --model``: a layer spec (see ``build``; None: the MLP of ``mlp``), the
#: network options it takes (``--hidden``, ``--activation``, ``--init``: given to a preset that does
#: not take them, they are refused, not ignored) and the training recipe that goes with it (what
#: ``numnet train`` uses for options not given on the command line; ``numnet.train.recipe.Recipe``).
#: A max pool and a ReLU commute exactly (max is monotone), so "pool(2)-relu" is the same network as
#: the usual "relu-pool(2)", with the ReLU on a quarter of the values.
PRESETS = {
    "mlp": {"spec": None, "options": ("hidden", "activation", "init"),
            "recipe": {"optimizer": "adam", "lr": 1e-3, "epochs": 5, "batch_size": 100}},
    "lenet5": {"spec": "conv(6,5,padding=2)-pool(2)-relu-conv(16,5)-pool(2)-relu-flatten-dense(120)-relu-"
                       "dense(84)-relu-dense(10)",
               "options": ("init",),
               "recipe": {"optimizer": "adam", "lr": 2e-3, "epochs": 5, "batch_size": 64, "schedule": "onecycle"}},
    "cnn": {"spec": "conv(32,5)-pool(2)-relu-conv(64,5)-pool(2)-relu-flatten-dense(128)-relu-dense(10)",
            "options": ("init",),
            "recipe": {"optimizer": "adam", "lr": 2e-3, "epochs": 2, "batch_size": 64, "schedule": "onecycle"}},
    "cnn-best": {"spec": "conv(32,5)-bn-pool(2)-relu-conv(64,5)-bn-pool(2)-relu-flatten-dense(256)-bn-relu-"
                         "dropout(0.4)-dense(10)",
                 "options": ("init",),
                 "recipe": {"optimizer": "adamw", "lr": 3e-3, "weight_decay": 0.01, "epochs": 15,
                            "batch_size": 128, "schedule": "onecycle", "augment": "affine"}},
    # issue 27's MNIST record: the record network, affine augmentation, one-cycle AdamW and a moving
    # average of the weights (EMA)
    "record": {"spec": RECORD_NET,
               "options": ("init",),
               "recipe": {"optimizer": "adamw", "lr": 3e-3, "weight_decay": 0.01, "epochs": 12, "batch_size": 128,
                          "schedule": "onecycle", "augment": "affine", "ema": 0.999}},
    # the same network for clothes (Fashion-MNIST, issue 27's second record): shifts and left-right
    # mirrors, and 32 epochs (clothes keep gaining from epochs where digits stop)
    "record-fashion": {"spec": RECORD_NET,
                       "options": ("init",),
                       "recipe": {"optimizer": "adamw", "lr": 3e-3, "weight_decay": 0.01, "epochs": 32,
                                  "batch_size": 128, "schedule": "onecycle", "augment": "shift-flip", "ema": 0.999}},
}
PRESETS.update(_sequence_presets)            # rnn, lstm, gru, vit (numnet.architectures.sequence)


def build(spec: str, input_shape=(28, 28), num_classes: int | None = 10, init: str | None = None) -> list:
    """Layers from a readable spec, e.g.
    ``"conv(32,5)-relu-pool(2)-conv(64,5)-relu-pool(2)-flatten-dense(128)-relu-dropout(0.5)-dense(10)"``.

    Tokens, joined by '-': conv(out, k[, stride[, padding]]) (or stride=/padding=), pool(k[, stride])
    (max; also maxpool), avgpool(k[, stride]), gap (global average pool), flatten, dense(n),
    relu, sigmoid, tanh, step, sign, dropout(p), bn (batch norm), standardize. ``init``: the dense
    layers' initialiser (default he). Input sizes are inferred from
    ``input_shape`` (one sample's); a 2-D image gets one channel; dense after an image flattens it.
    Raises ConfigError for an unknown token, bad arguments (sizes must be integers), a kernel larger
    than its input, a network over ``MAX_PARAMETERS`` parameters or over ``MAX_VALUES_PER_SAMPLE``
    values per sample in a layer (:class:`.sizes.Budget`: the walk of :mod:`.sizes` over each token's
    layers as they are made, recurrent and attention layers included), or a last layer that does not
    output ``num_classes`` values (not checked when ``num_classes`` is None).
    """

    if not isinstance(spec, str) or not spec.strip():
        raise ConfigError("empty architecture spec")
    budget = Budget(input_shape)
    layers = []
    for token in (t.strip() for t in spec.lower().split("-")):
        m = re.fullmatch(r"([a-z_]+[0-9]*d?)\s*(?:\((.*)\))?", token)
        if not m:
            raise ConfigError(f"cannot read layer {token!r} in architecture {spec!r}")
        what = f"layer {token!r}"
        new = sequence_layers(m.group(1), m.group(2) or "", budget.shape, token)
        if new is None:
            new = _image_layers(m.group(1), m.group(2) or "", budget.shape, token, init)
        layers += budget.add(new, what)            # the walk: shapes, parameters, values per sample
    if num_classes is not None and budget.shape != (num_classes,):
        raise ConfigError(f"the network outputs shape {budget.shape}, but there are {num_classes} classes: "
                          f"end with dense({num_classes})")
    return layers


def _image_layers(name: str, text: str, shape: tuple, token: str, init) -> list:
    """The layers of one token of the image grammar (all but :mod:`.sequence`'s) for one sample's
    input ``shape``."""
    pos, kw = layer_args(text, token)

    def image():
        if len(shape) == 2:
            return [Reshape((1,) + shape)], (1,) + shape
        if len(shape) != 3:
            raise ConfigError(f"{token!r} needs an image input, but the input here has shape {shape}")
        return [], shape

    try:
        if name in ("conv", "conv2d"):
            reshape, (c, _, _) = image()
            if not 2 <= len(pos) + len(kw) <= 4 or len(pos) < 2 or set(kw) - set(CONV_KEYS):
                raise ConfigError(f"{token!r}: expected conv(out_channels, kernel[, stride[, padding]])")
            extra = dict(zip(("stride", "padding"), pos[2:]))
            extra.update({CONV_KEYS[k]: v for k, v in kw.items()})
            out_channels, k = layer_ints(token, pos[:2], ("out_channels", "kernel"))
            stride, = layer_ints(token, [extra.get("stride", 1)], ("stride",))
            padding, = layer_ints(token, [extra.get("padding", 0)], ("padding",), minimum=0)
            return reshape + [Conv2D(c, out_channels, k, stride=stride, padding=padding)]
        if name in ("pool", "maxpool", "avgpool"):
            reshape, _ = image()
            if not 1 <= len(pos) <= 2 or kw:
                raise ConfigError(f"{token!r}: expected {name}(kernel[, stride])")
            layer_ints(token, pos, ("kernel", "stride"))
            return reshape + [(AvgPool2D if name == "avgpool" else MaxPool2D)(*pos)]
        if name in ("gap", "globalavgpool"):
            return image()[0] + [GlobalAvgPool2D()]
        if name == "flatten":
            return [Flatten()]
        if name in ("dense", "fc", "linear"):
            if len(pos) != 1 or kw:
                raise ConfigError(f"{token!r}: expected dense(out_features)")
            n, = layer_ints(token, pos, ("out_features",))
            return ([Flatten()] if len(shape) != 1 else []) + [Dense(math.prod(shape), n, init=init or "he")]
        if name in ACTIVATIONS and not pos and not kw:
            return [ACTIVATIONS[name]()]
        if name == "dropout":
            return [Dropout(*pos, **kw) if pos or kw else Dropout()]
        if name in ("bn", "batchnorm"):
            return [BatchNorm(shape[0], *pos, **kw)]
        if name == "standardize" and not pos and not kw:
            return [Standardize()]
    except TypeError as e:
        raise ConfigError(f"{token!r}: bad arguments ({e})") from None
    except (ValueError, OverflowError) as e:
        raise ConfigError(f"{token!r}: {e}") from None
    raise ConfigError(f"unknown layer {token!r} (conv, pool, avgpool, gap, flatten, dense, relu, sigmoid, "
                      "tanh, step, sign, dropout, bn, standardize)")


def preset(name: str):
    """(spec, recipe) of a ``--model`` preset; spec None for the MLP (built by :func:`mlp`)."""
    if name not in PRESETS:
        raise ConfigError(f"unknown model {name!r} (choose from {', '.join(PRESETS)})")
    return PRESETS[name]["spec"], dict(PRESETS[name]["recipe"])
