"""Errors a user can cause. The CLI turns each into one line on stderr and exit status 2."""


class NumnetError(Exception):
    """Base class of every error caused by bad input (files, options, shapes)."""


class DatasetError(NumnetError):
    """A data file or folder is missing, malformed, truncated or of the wrong kind."""


class ModelFileError(NumnetError):
    """A saved model file is missing, corrupt, foreign, or disagrees with its architecture."""


class ConfigError(NumnetError):
    """An option or architecture description is invalid (unknown name, non-positive size...)."""


class ExportError(NumnetError):
    """The model cannot be exported (unsupported layer, unknown input shape, unwritable target...)."""
