"""The ``numnet`` command. Thin: parse options, call the library, print.

Exit status: 0 success, 1 a check that ran and failed, 2 bad input or usage (one line on stderr).
Each subcommand is a module here (found automatically) with ``add_parser(subparsers)`` and
``run(args) -> int``; the modules import NumPy and the library inside ``run`` so that
``numnet --help`` stays fast.
"""
from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys

#: the order of commands in --help; any other command module found here follows them
ORDER = ["train", "evaluate", "predict", "gradcheck", "explain", "report"]
HELPERS = {"common", "progress"}


def command_names():
    found = {m.name for m in pkgutil.iter_modules(__path__)} - HELPERS
    return [n for n in ORDER if n in found] + sorted(found - set(ORDER))


class ArgumentParser(argparse.ArgumentParser):
    """argparse, but a usage error is one line on stderr and exit status 2."""

    def error(self, message):
        sys.stderr.write(f"{self.prog}: error: {message}\n")
        sys.exit(2)


def build_parser() -> ArgumentParser:
    from numnet import __version__

    parser = ArgumentParser(prog="numnet", description="Neural networks from scratch in NumPy.")
    parser.add_argument("--version", action="version", version=f"numnet {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=ArgumentParser)
    for name in command_names():
        importlib.import_module(f"numnet.cli.{name}").add_parser(sub)
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    from numnet.errors import NumnetError

    try:
        return int(args.run(args) or 0)
    except NumnetError as e:
        sys.stderr.write(f"numnet {args.command}: error: {e}\n")
        return 2
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        return 130
