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

#: step (seed 003) and sign (seed 004) are accepted, but their derivative is 0 almost everywhere:
#: backpropagation gets no gradient through them (the perceptron rule, numnet.Perceptron, needs none)
ACTIVATIONS = {"relu": ReLU, "sigmoid": Sigmoid, "tanh": Tanh, "step": Step, "sign": Sign}
ZERO_GRADIENT = ("step", "sign")
#: Xavier/Glorot for the saturating activations. For ReLU, He (N(0, 2/fan_in)) is the textbook
#: choice, but behind the Standardize layer LeCun's N(0, 1/fan_in) trains faster early on:
#: 784-25-25-10, Adam 1e-3, batch 100, 2 epochs, 8 seeds: He 95.24%, LeCun 95.56% mean test
#: accuracy; seed 002's 784-64-64-64-10 at batch 15: He 96.42%, LeCun 96.73% (3-4 seeds).
#: ``--init he`` (or init="he") selects He.
DEFAULT_INIT = {"relu": "lecun", "sigmoid": "xavier", "tanh": "xavier", "step": "xavier", "sign": "xavier"}


#: the largest network ``mlp`` and ``build`` make: trainable parameters in all (training holds about
#: five copies: values, gradients, Adam's two moments, a scratch array: 1 GB in float32 at the cap)
MAX_PARAMETERS = 50_000_000
#: the most values one sample may occupy in any layer's output, padded input or im2col windows
#: (16 MiB per sample in float32; MNIST's largest preset, cnn-best, needs 18,432)
MAX_VALUES_PER_SAMPLE = 1 << 22


def parse_sizes(text: str) -> tuple:
    """'64,64,64' -> (64, 64, 64); '' -> () (no hidden layer)."""
    try:
        sizes = tuple(int(s) for s in str(text).split(",") if s.strip())
    except ValueError:
        raise ConfigError(f"hidden sizes must be comma-separated integers, got {text!r}") from None
    if any(s < 1 for s in sizes):
        raise ConfigError(f"hidden sizes must be positive, got {text!r}")
    return sizes


def check_size(parameters: int, values_per_sample: int, what: str) -> None:
    """Refuse a network before anything is allocated: ``parameters`` trainable values in all, or
    ``values_per_sample`` values of one sample in one layer, over :data:`MAX_PARAMETERS` /
    :data:`MAX_VALUES_PER_SAMPLE`. Both are computed from the shapes alone."""
    if parameters > MAX_PARAMETERS:
        raise ConfigError(f"{what}: {parameters:,} parameters, more than the limit of {MAX_PARAMETERS:,}")
    if values_per_sample > MAX_VALUES_PER_SAMPLE:
        raise ConfigError(f"{what}: {values_per_sample:,} values per sample in one layer, more than the limit "
                          f"of {MAX_VALUES_PER_SAMPLE:,}")


def mlp(hidden=(25, 25), activation: str = "relu", in_features: int = 784, num_classes: int = 10,
        init: str | None = None) -> list:
    """Flatten, Standardize, then Dense + activation per hidden size, then Dense to the logits.

    The default is seed 000's network: 784-25-25-10 with ReLU.
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
#: presets of ``numnet train --model``: a layer spec (see ``build``) and the training recipe that
#: goes with it (what ``numnet train`` uses for options not given on the command line).
#: A max pool and a ReLU commute exactly (max is monotone), so "pool(2)-relu" is the same network as
#: the usual "relu-pool(2)", with the ReLU on a quarter of the values.
PRESETS = {
    "mlp": {"spec": None, "recipe": {"optimizer": "adam", "lr": 1e-3, "epochs": 5, "batch_size": 100}},
    "lenet5": {"spec": "conv(6,5,padding=2)-pool(2)-relu-conv(16,5)-pool(2)-relu-flatten-dense(120)-relu-"
                       "dense(84)-relu-dense(10)",
               "recipe": {"optimizer": "adam", "lr": 2e-3, "epochs": 5, "batch_size": 64, "schedule": "onecycle"}},
    "cnn": {"spec": "conv(32,5)-pool(2)-relu-conv(64,5)-pool(2)-relu-flatten-dense(128)-relu-dense(10)",
            "recipe": {"optimizer": "adam", "lr": 2e-3, "epochs": 2, "batch_size": 64, "schedule": "onecycle"}},
    "cnn-best": {"spec": "conv(32,5)-bn-pool(2)-relu-conv(64,5)-bn-pool(2)-relu-flatten-dense(256)-bn-relu-"
                         "dropout(0.4)-dense(10)",
                 "recipe": {"optimizer": "adamw", "lr": 3e-3, "weight_decay": 0.01, "epochs": 15,
                            "batch_size": 128, "schedule": "onecycle", "augment": "affine"}},
}
PRESETS.update(_sequence_presets)            # rnn, lstm, gru, vit (numnet.sequence_arch)


def build(spec: str, input_shape=(28, 28), num_classes: int | None = 10, init: str | None = None) -> list:
    """Layers from a readable spec, e.g.
    ``"conv(32,5)-relu-pool(2)-conv(64,5)-relu-pool(2)-flatten-dense(128)-relu-dropout(0.5)-dense(10)"``.

    Tokens, joined by '-': conv(out, k[, stride[, padding]]) (or stride=/padding=), pool(k[, stride])
    (max; also maxpool), avgpool(k[, stride]), gap (global average pool), flatten, dense(n),
    relu, sigmoid, tanh, step, sign, dropout(p), bn (batch norm), standardize. ``init``: the dense
    layers' initialiser (default he). Input sizes are inferred from
    ``input_shape`` (one sample's); a 2-D image gets one channel; dense after an image flattens it.
    Raises ConfigError for an unknown token, bad arguments (sizes must be integers), a kernel larger
    than its input, a network over :data:`MAX_PARAMETERS` parameters or over
    :data:`MAX_VALUES_PER_SAMPLE` values per sample in a layer (checked from the shapes, before any
    layer is allocated), or a last layer that does not output ``num_classes`` values (not checked
    when ``num_classes`` is None).
    """

    if not isinstance(spec, str) or not spec.strip():
        raise ConfigError("empty architecture spec")
    shape = tuple(int(s) for s in input_shape)
    layers, parameters = [], 0

    def image():
        nonlocal shape
        if len(shape) == 2:
            layers.append(Reshape((1,) + shape))
            shape = (1,) + shape
        if len(shape) != 3:
            raise ConfigError(f"{token!r} needs an image input, but the input here has shape {shape}")

    def budget(new_parameters, values):
        """Check the running totals before the next layer is allocated."""
        nonlocal parameters
        parameters += new_parameters
        check_size(parameters, values, f"layer {token!r}")

    def add(layer):
        nonlocal shape
        layers.append(layer)
        shape = tuple(layer.output_shape(shape))
        if min(shape) < 1:
            raise ConfigError(f"{token!r}: the window does not fit its input (output shape {shape})")
        budget(0, math.prod(shape))

    for token in (t.strip() for t in spec.lower().split("-")):
        m = re.fullmatch(r"([a-z_]+[0-9]*d?)\s*(?:\((.*)\))?", token)
        if not m:
            raise ConfigError(f"cannot read layer {token!r} in architecture {spec!r}")
        recurrent_or_attention = sequence_layers(m.group(1), m.group(2) or "", shape, token)
        if recurrent_or_attention is not None:
            for layer in recurrent_or_attention:
                add(layer)
            continue
        name, pos, kw = m.group(1), *layer_args(m.group(2) or "", token)
        try:
            if name in ("conv", "conv2d"):
                image()
                if not 2 <= len(pos) + len(kw) <= 4 or len(pos) < 2 or set(kw) - set(CONV_KEYS):
                    raise ConfigError(f"{token!r}: expected conv(out_channels, kernel[, stride[, padding]])")
                extra = dict(zip(("stride", "padding"), pos[2:]))
                extra.update({CONV_KEYS[k]: v for k, v in kw.items()})
                out_channels, k = layer_ints(token, pos[:2], ("out_channels", "kernel"))
                stride, = layer_ints(token, [extra.get("stride", 1)], ("stride",))
                padding, = layer_ints(token, [extra.get("padding", 0)], ("padding",), minimum=0)
                c, h, w = shape
                hp, wp = h + 2 * padding, w + 2 * padding
                ho, wo = max(0, (hp - k) // stride + 1), max(0, (wp - k) // stride + 1)
                budget(out_channels * c * k * k + out_channels,
                       max(c * hp * wp, ho * wo * c * k * k, out_channels * ho * wo))
                add(Conv2D(c, out_channels, k, **extra))
            elif name in ("pool", "maxpool", "avgpool"):
                image()
                if not 1 <= len(pos) <= 2 or kw:
                    raise ConfigError(f"{token!r}: expected {name}(kernel[, stride])")
                layer_ints(token, pos, ("kernel", "stride"))
                add((AvgPool2D if name == "avgpool" else MaxPool2D)(*pos))
            elif name in ("gap", "globalavgpool"):
                image()
                add(GlobalAvgPool2D())
            elif name == "flatten":
                add(Flatten())
            elif name in ("dense", "fc", "linear"):
                if len(pos) != 1 or kw:
                    raise ConfigError(f"{token!r}: expected dense(out_features)")
                n, = layer_ints(token, pos, ("out_features",))
                if len(shape) != 1:
                    add(Flatten())
                budget(shape[0] * n + n, n)
                add(Dense(shape[0], n, init=init or "he"))
            elif name in ACTIVATIONS and not pos and not kw:
                add(ACTIVATIONS[name]())
            elif name == "dropout":
                add(Dropout(*pos, **kw) if pos or kw else Dropout())
            elif name in ("bn", "batchnorm"):
                budget(2 * shape[0], math.prod(shape))
                add(BatchNorm(shape[0], *pos, **kw))
            elif name == "standardize" and not pos and not kw:
                add(Standardize())
            else:
                raise ConfigError(f"unknown layer {token!r} (conv, pool, avgpool, gap, flatten, dense, relu, sigmoid, "
                                  "tanh, step, sign, dropout, bn, standardize)")
        except TypeError as e:
            raise ConfigError(f"{token!r}: bad arguments ({e})") from None
        except (ValueError, OverflowError) as e:
            raise ConfigError(f"{token!r}: {e}") from None
    if num_classes is not None and shape != (num_classes,):
        raise ConfigError(f"the network outputs shape {shape}, but there are {num_classes} classes: "
                          f"end with dense({num_classes})")
    return layers


def output_shape(layers, input_shape):
    """One sample's output shape after ``layers`` (from each layer's ``output_shape``), or None
    where a layer cannot say."""
    shape = tuple(input_shape)
    try:
        for layer in layers:
            shape = tuple(int(s) for s in layer.output_shape(shape))
    except Exception:          # a layer whose shape rule does not apply here: the caller decides
        return None
    return shape


def preset(name: str):
    """(spec, recipe) of a ``--model`` preset; spec None for the MLP (built by :func:`mlp`)."""
    if name not in PRESETS:
        raise ConfigError(f"unknown model {name!r} (choose from {', '.join(PRESETS)})")
    return PRESETS[name]["spec"], dict(PRESETS[name]["recipe"])
