"""Errors a user can cause. The CLI turns each into one line on stderr and its ``exit_status``
(2: bad input; 1: a result that cannot be trusted, such as a non-finite number)."""


class NumnetError(Exception):
    """Base class of every error caused by bad input (files, options, shapes)."""

    #: the CLI's exit status for this error (DESIGN.md: 2 bad input or usage)
    exit_status = 2


class DatasetError(NumnetError):
    """A data file or folder is missing, malformed, truncated or of the wrong kind."""


class ModelFileError(NumnetError):
    """A saved model file is missing, corrupt, foreign, or disagrees with its architecture."""


class ConfigError(NumnetError):
    """An option or architecture description is invalid (unknown name, non-positive size...)."""


class ExportError(NumnetError):
    """The model cannot be exported (unsupported layer, unknown input shape...)."""


class OutputError(NumnetError):
    """A file cannot be written where asked: a folder, a special file, a read-only file, an input of
    the command, a missing or full folder (the policy in :mod:`numnet.files`)."""


class NonFiniteError(NumnetError):
    """A result holds NaN or an infinite number (a model with huge weights, a run that diverged):
    the work ran but its numbers cannot be trusted, so the CLI exits 1 and serve answers 500."""

    exit_status = 1
