"""numnet summary: a saved model's layers, output shapes and parameter counts, as Keras prints them."""
from __future__ import annotations

import argparse

from .common import Output, add_json_option


def shape_arg(text):
    try:
        shape = tuple(int(s) for s in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated positive integers, got {text!r}") from None
    if not shape or min(shape) < 1:
        raise argparse.ArgumentTypeError(f"expected comma-separated positive integers, got {text!r}")
    return shape


def add_parser(sub):
    p = sub.add_parser("summary", help="table of a model's layers, output shapes and parameter counts",
                       description="Print a saved model's layers with their output shapes and parameter "
                                   "counts, and the total (as Keras's model.summary()).")
    p.add_argument("model", metavar="MODEL", help="model file from `numnet train --save model.npz`")
    p.add_argument("--input-shape", type=shape_arg, metavar="DIMS",
                   help="one sample's input shape, e.g. 28,28 (default: the shape the model was trained on)")
    add_json_option(p)
    p.set_defaults(run=run)


def run(args) -> int:
    import numnet
    from numnet.views.summary import summary, summary_dict

    out = Output(args.json)
    model = numnet.load(args.model)
    out.say(summary(model, args.input_shape))
    out.emit(summary_dict(model, args.input_shape))
    return 0
