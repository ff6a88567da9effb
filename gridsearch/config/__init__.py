"""Study configs: a TOML file → frozen dataclasses (the schema, each numeric key with its range)
→ semantic checks; where the storage URL comes from. Every problem is one
:class:`~gridsearch.errors.ConfigError` line naming the key. Light: no torch, no optuna."""

from gridsearch.config._load import fidelity_of, from_dict, load, validate, with_defaults
from gridsearch.config._schema import (
    AUGMENTS,
    BUDGET_MODES,
    BUILTIN_METRIC,
    CROPS,
    DATA_LAYOUTS,
    DATA_SOURCES,
    DIRECTIONS,
    EXTERNAL,
    GENERATED_SOURCES,
    MAX_IMAGES,
    MAX_INT,
    MAX_MULT,
    MAX_PIXELS,
    MAX_POINTS,
    MAX_SEED,
    MINIMIZABLE,
    OPTIMIZERS,
    PRECISIONS,
    SELECT_MODES,
    BudgetConfig,
    DataConfig,
    FidelityConfig,
    ModelConfig,
    ObjectivesConfig,
    RangeConfig,
    SearchConfig,
    SelectConfig,
    StudyConfig,
    TrainConfig,
    WorkersConfig,
    device_name,
    num,
    numeric_keys,
)
from gridsearch.config._storage import (
    STORAGE_ENV,
    STORAGE_FILE_ENV,
    StorageSource,
    read_storage_file,
    resolve_storage,
    storage_url,
)

load_config = load  # the name the top-level package exports

__all__ = ["AUGMENTS", "BUDGET_MODES", "BUILTIN_METRIC", "CROPS", "DATA_LAYOUTS", "DATA_SOURCES",
           "DIRECTIONS", "EXTERNAL", "FidelityConfig", "fidelity_of", "GENERATED_SOURCES", "MAX_IMAGES", "MAX_INT", "MAX_MULT", "MAX_PIXELS", "MAX_POINTS",
           "MAX_SEED", "MINIMIZABLE", "OPTIMIZERS", "PRECISIONS", "SELECT_MODES", "STORAGE_ENV",
           "STORAGE_FILE_ENV", "BudgetConfig", "DataConfig", "ModelConfig", "ObjectivesConfig",
           "RangeConfig", "SearchConfig", "SelectConfig", "StorageSource", "StudyConfig",
           "TrainConfig", "WorkersConfig", "device_name", "from_dict", "load", "load_config",
           "num", "numeric_keys", "read_storage_file", "resolve_storage", "storage_url",
           "validate", "with_defaults"]
