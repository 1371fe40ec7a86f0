"""Options and output helpers shared by the subcommands."""
from __future__ import annotations

import argparse
import json
import os
import sys


def positive_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def positive_float(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
    return value


def add_network_options(p):
    """--hidden and --activation: the MLP to build (shared by train and gradcheck)."""
    p.add_argument("--hidden", default="25,25", metavar="SIZES",
                   help="hidden layer widths, comma-separated (default 25,25: seed 000's 784-25-25-10)")
    p.add_argument("--activation", default="relu", choices=["relu", "sigmoid", "tanh", "step", "sign"],
                   help="hidden activation (default relu); step (seed 003) and sign (seed 004) have a zero "
                        "derivative almost everywhere, so backprop cannot train through them")


def add_data_option(p):
    p.add_argument("--data-dir", metavar="DIR",
                   help="folder with the four MNIST-style IDX files (default: the bundled MNIST)")


def add_json_option(p):
    p.add_argument("--json", action="store_true",
                   help="print one JSON object on stdout; human output goes to stderr")


class Output:
    """Human output to stdout, or to stderr when --json is given (stdout then holds only JSON)."""

    def __init__(self, as_json: bool):
        self.as_json = as_json
        self.human = sys.stderr if as_json else sys.stdout

    def say(self, text=""):
        print(text, file=self.human, flush=True)

    def warn(self, text):
        print(f"warning: {text}", file=sys.stderr, flush=True)

    def emit(self, obj):
        if self.as_json:
            json.dump(obj, sys.stdout)
            sys.stdout.write("\n")
            sys.stdout.flush()

    @property
    def show_progress(self) -> bool:
        return not self.as_json and sys.stderr.isatty()


def check_writable(path: str):
    """Fail early (before any training) when ``path`` cannot be written."""
    from numnet.errors import ConfigError

    directory = os.path.dirname(os.path.abspath(path)) or "."
    if os.path.isdir(path):
        raise ConfigError(f"--save {path}: is a directory")
    if not os.path.isdir(directory):
        raise ConfigError(f"--save {path}: folder {directory} does not exist")
    if not os.access(directory, os.W_OK):
        raise ConfigError(f"--save {path}: folder {directory} is not writable")
