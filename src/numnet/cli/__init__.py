"""The ``numnet`` command. Thin: parse options, call the library, print.

Exit status: 0 success, 1 a check that ran and failed, 2 bad input or usage (one line on stderr).
Each subcommand is a module here (found automatically) with ``add_parser(subparsers)`` and
``run(args) -> int``; the modules import NumPy and the library inside ``run`` so that
``numnet --help`` stays fast.

``--lang zh-CN`` (before or after the command) or ``NUMNET_LANG=zh-CN``: the language of what a
learner reads (:mod:`numnet.views.lang`); set here once, before the command runs.

May import: everything (it is the top floor); it holds no math, only parsing and rendering.
"""
import os
import signal
import sys


def _interrupted_early(signum, frame):
    """Ctrl-C while the command is still starting (importing): one line, exit status 130."""
    os.write(2, b"interrupted\n")
    os._exit(130)


try:     # first thing (no `from __future__`: importing it takes milliseconds): main() puts Python's handler back
    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        signal.signal(signal.SIGINT, _interrupted_early)
except ValueError:                                         # imported outside the main thread
    pass

import _thread  # noqa: E402
import argparse  # noqa: E402  (after the handler: these imports are part of the start-up it covers)
import importlib  # noqa: E402
import pkgutil  # noqa: E402

#: the order of commands in --help; any other command module found here follows them
ORDER = ["train", "evaluate", "predict", "gradcheck", "explain", "report"]
HELPERS = {"common", "progress", "train_options", "train_perceptron"}


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
    lang = {"metavar": "LANG", "help": "headings and notes in en or zh-CN (default: $NUMNET_LANG, else en)"}
    parser.add_argument("--lang", **lang)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=ArgumentParser)
    for name in command_names():
        importlib.import_module(f"numnet.cli.{name}").add_parser(sub)
    for command in sub.choices.values():          # also after the command: numnet explain --lang zh-CN m.npz
        command.add_argument("--lang", default=argparse.SUPPRESS, **lang)
    return parser


def _set_language(parser, lang) -> None:
    """Speak ``lang`` (``--lang``, else $NUMNET_LANG; nothing given: English); an unknown one is a usage error.
    For this command only: a second main() in the same process (tests, notebooks) starts again from the default."""
    lang = lang or os.environ.get("NUMNET_LANG")
    if lang or "numnet.views.lang" in sys.modules:        # else English is in force: skip the import (fast --help)
        from numnet.views.lang import LANGUAGES, set_language

        if lang and lang not in LANGUAGES:
            parser.error(f"unknown language {lang!r} (--lang or NUMNET_LANG: choose from {', '.join(LANGUAGES)})")
        set_language(lang)


#: Ctrl-C presses seen since main() took over from the start-up handler
_interrupts: list = []


def _interrupt(signum, frame):
    """Ctrl-C from main() on: KeyboardInterrupt, remembered. One that lands inside an extension
    module's import (NumPy's, numba's) comes out as an ImportError or another exception instead;
    main() still answers it with 'interrupted' and 130, never a traceback."""
    _interrupts.append(signum)
    raise KeyboardInterrupt


def _unraisable(unraisable, python_hook=sys.unraisablehook):
    """A Ctrl-C that landed where Python can only print an exception and drop it (a weakref callback
    or a __del__, such as the import system's module-lock callback): sent again a millisecond later,
    from another thread, so that it surfaces from the code that runs next instead of being lost
    while the command goes on."""
    if isinstance(unraisable.exc_value, KeyboardInterrupt):     # (raised here, it would be dropped again)
        import threading

        threading.Timer(0.001, _thread.interrupt_main, (signal.SIGINT,)).start()
    else:
        python_hook(unraisable)


def main(argv=None) -> int:
    """Run one command: its exit status (0, 1, 2; 130 after Ctrl-C; 141 when stdout was closed
    before the command's output ended: the work is done, the rest of the output dropped)."""
    try:
        if signal.getsignal(signal.SIGINT) is _interrupted_early:
            signal.signal(signal.SIGINT, _interrupt)   # from here on: KeyboardInterrupt
            sys.unraisablehook = _unraisable
        parser = build_parser()
        args = parser.parse_args(argv)
        _set_language(parser, args.lang)
        if args.command is None:
            parser.print_help(sys.stderr)
            return 2
        from numnet.errors import NumnetError

        from . import common

        try:
            status = int(args.run(args) or 0)
        except NumnetError as e:
            sys.stderr.write(f"numnet {args.command}: error: {e}\n")
            return e.exit_status
        return 141 if status == 0 and common.stdout_closed else status     # the work done, its output cut
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        return 130
    except BrokenPipeError:                  # the reader of stdout went away (e.g. `| head -1`)
        from .common import silence_stdout

        silence_stdout()
        return 141                           # 128 + SIGPIPE, as the shell reports a killed writer
    except Exception:
        if _interrupts:                      # an interrupt that surfaced as another exception
            sys.stderr.write("interrupted\n")
            return 130
        raise
