"""Options and output helpers shared by the subcommands."""
from __future__ import annotations

import argparse
import math
import os
import sys

from numnet.files import json_text, nulls_for_nonfinite


def _option_type(convert, accept, expected: str, name: str):
    """An argparse ``type``: ``convert(text)``, refused with 'expected <expected>' unless
    ``accept(value)`` (a comparison that is false for nan, so nan is refused too)."""
    def parse(text):
        try:
            value = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}") from None
        if not accept(value):
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}")
        return value
    parse.__name__ = name
    return parse


positive_int = _option_type(int, lambda v: v >= 1, "a positive integer", "positive_int")
#: a seed for ``numpy.random.default_rng``: an integer ≥ 0
seed_int = _option_type(int, lambda v: v >= 0, "a non-negative integer", "seed_int")
#: a finite number in [0, 1] (an accuracy); 'nan' and 'inf' are refused
fraction = _option_type(float, lambda v: 0 <= v <= 1, "a number between 0 and 1", "fraction")
#: a number strictly between 0 and 1 (a moving average's decay)
open_fraction = _option_type(float, lambda v: 0 < v < 1, "a number strictly between 0 and 1", "open_fraction")
#: a positive number (inf is let through: --lr inf is the issue's divergence test)
positive_float = _option_type(float, lambda v: v > 0, "a positive number", "positive_float")
#: a finite number ≥ 0 (a weight decay): 'nan' and 'inf' are refused, not left to diverge
non_negative_float = _option_type(float, lambda v: 0 <= v < math.inf, "a finite number >= 0", "non_negative_float")


def _library_type(check, name: str):
    """An argparse ``type`` from a library function that raises ConfigError for a bad value (its
    message becomes the usage error); the library is imported when an option is given."""
    def parse(text):
        from numnet.errors import ConfigError

        try:
            check(text)
        except ConfigError as e:
            raise argparse.ArgumentTypeError(str(e)) from None
        return text
    parse.__name__ = name
    return parse


def _sizes(text):
    from numnet.architectures import parse_sizes

    return parse_sizes(text)


def _init(text):
    from numnet import init

    return init.get(text)


#: hidden widths '64,32' (architectures.parse_sizes: no empty width, no empty list)
layer_widths = _library_type(_sizes, "layer_widths")
#: an initialiser name (numnet.init.get: he, lecun, xavier, normal:STD with a finite STD ≥ 0)
init_name = _library_type(_init, "init_name")


def add_network_options(p):
    """--hidden and --activation: the MLP to build (shared by train and gradcheck)."""
    p.add_argument("--hidden", type=layer_widths, default="25,25", metavar="SIZES",
                   help="hidden layer widths, comma-separated (default 25,25: tutorial 1's 784-25-25-10)")
    p.add_argument("--activation", default="relu", choices=["relu", "sigmoid", "tanh", "step", "sign"],
                   help="hidden activation (default relu); step (tutorial 4) and sign (tutorial 5) have a zero "
                        "derivative almost everywhere, so backprop cannot train through them")


def add_data_option(p):
    p.add_argument("--data-dir", metavar="DIR",
                   help="folder with the four MNIST-style IDX files (default: the bundled MNIST)")


def add_json_option(p):
    p.add_argument("--json", action="store_true",
                   help="print one JSON object on stdout; human output goes to stderr")


#: set once stdout is found closed (a reader such as `head -1` went away): ``numnet.cli.main`` then
#: exits 141 (128 + SIGPIPE, as the shell reports such a writer) after the command has done its work
stdout_closed = False


def silence_stdout():
    """After a broken pipe: point stdout at /dev/null, so later writes and the flush at exit are quiet,
    and remember it (:data:`stdout_closed`)."""
    global stdout_closed
    stdout_closed = True
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass


class Output:
    """Human output to stdout, or to stderr when --json is given (stdout then holds only JSON).

    A closed stdout (``numnet train | head -1``) does not stop the command: the rest of its output
    is dropped (``say``, ``emit`` and the tables of :meth:`console`) and the work (e.g. saving the
    model) goes on; the command then exits 141 unless it failed otherwise.

    ``emit`` holds the command's result: with --json it is printed by the one JSON writer, without
    it checked by the same writer, so a non-finite number (``loss nan`` of a model with huge weights)
    ends as NonFiniteError (exit 1) on both paths.
    """

    def __init__(self, as_json: bool):
        self.as_json = as_json
        self.human = sys.stderr if as_json else sys.stdout
        self.closed = False

    def _write(self, stream, text):
        if self.closed and stream is sys.stdout:
            return
        try:
            stream.write(text)
            stream.flush()
        except BrokenPipeError:
            if stream is sys.stdout:
                self.closed = True
                silence_stdout()

    def say(self, text=""):
        self._write(self.human, f"{text}\n")

    def warn(self, text):
        self._write(sys.stderr, f"warning: {text}\n")

    def error(self, line):
        self._write(sys.stderr, f"{line}\n")

    def emit(self, obj):
        text = json_text(obj)                             # NonFiniteError for a NaN or an infinity
        if self.as_json:
            self._write(sys.stdout, text + "\n")

    def console(self):
        """A rich Console on the human stream (tables, rules) that treats a closed stdout as ``say``
        does, where rich's own would exit with status 1 (gradcheck's FAIL)."""
        from rich.console import Console

        output = self

        class Quiet(Console):
            def on_broken_pipe(self):
                self.quiet = True                         # drop the rest of this console's output
                if self.file is sys.stdout:
                    output.closed = True
                    silence_stdout()

        return Quiet(file=self.human, highlight=False)

    @property
    def show_progress(self) -> bool:
        return not self.as_json and sys.stderr.isatty()


def report_divergence(out, error: str, history: list, seconds: float, epochs) -> int:
    """A run whose numbers stopped being finite: said in one line, JSON with its history's nulls
    said on purpose, nothing saved; exit status 1."""
    out.warn(error)
    out.emit({"diverged": True, "error": error, "test_accuracy": None, "test_loss": None, "train_seconds": seconds,
              "epochs": epochs, "model_path": None, "history": nulls_for_nonfinite(history)})
    return 1


def layer_sizes(layers, outputs: int) -> str:
    """'784-25-25-10': the inputs of each Dense, then the outputs (how the tutorials name an MLP)."""
    from numnet.layers import Dense

    return "-".join(str(layer.in_features) for layer in layers if isinstance(layer, Dense)) + f"-{outputs}"


def data_name(data_dir) -> str:
    """How messages name a data set: its folder, or "the bundled MNIST"."""
    return data_dir or "the bundled MNIST"


def load_data(data_dir, need_train: bool = True):
    """``load_mnist(data_dir)``, refusing empty sets: ((x_train, y_train), (x_test, y_test))."""
    import numnet
    from numnet.errors import DatasetError

    (x_train, y_train), (x_test, y_test) = numnet.load_mnist(data_dir)
    where = data_name(data_dir)
    if need_train and len(x_train) == 0:
        raise DatasetError(f"{where}: the training set is empty (0 samples)")
    if len(x_test) == 0:
        raise DatasetError(f"{where}: the test set is empty (0 samples)")
    return (x_train, y_train), (x_test, y_test)


def check_model_data(model, x, y, where: str):
    """A saved model against a labelled set: the input shape and the class count must fit."""
    from numnet.architectures import output_shape
    from numnet.data.datasets import check_labels
    from numnet.errors import DatasetError

    sample = tuple(x.shape[1:])
    shape = tuple(model.input_shape) if model.input_shape is not None else sample
    if math.prod(shape) != math.prod(sample):
        raise DatasetError(f"{where}: images of shape {sample}, but the model takes inputs of shape {shape}")
    out = output_shape(model.layers, shape)
    if out is not None and len(out) == 1 and out[0] > 1:
        check_labels(y, out[0], where)
