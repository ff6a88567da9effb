"""gridsearch: search EfficientNet-style compound-scaling coefficients, then scale with them."""

from . import config, models
from .candidate import Candidate, Realiser
from .complexity import Complexity, ComplexityCounter
from .export import load
from .errors import ConfigError, DataError, GridsearchError, ModelError, StorageError, TrainingError
from .search import Search
from .space import Point

__version__ = "0.1.0"

__all__ = ["Candidate", "Complexity", "ComplexityCounter", "ConfigError", "DataError",
           "GridsearchError", "ModelError", "Point", "Realiser", "Search", "StorageError",
           "TrainingError", "config", "load", "models"]
