"""Errors a user can act on. The CLI prints them as one line and exits with status 2."""


class GridsearchError(Exception):
    """Base class of every error caused by input the user controls."""


class ConfigError(GridsearchError):
    """A study config (or a command line) is invalid."""


class ModelError(GridsearchError):
    """A baseline cannot be found or built."""


class DataError(GridsearchError):
    """A dataset is missing or malformed."""


class StorageError(GridsearchError):
    """The study store cannot be reached or holds something inconsistent."""


class TrainingError(GridsearchError):
    """A proxy-training run failed (non-finite loss, out of memory, ...)."""
