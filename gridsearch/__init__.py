"""gridsearch: search EfficientNet-style compound-scaling coefficients, then scale with them.

The workflow, one step per subpackage::

    config  → scaling (Spec, grid, rounding, strategies)  → models (the baseline)
            → measure (Realiser: fvcore counts, the budget)  → training (proxy)
            → study (store, plans, the loop, the trial record)  → selection (the rule, races)
            → family (freeze, scale, export, compare)  → viz (report, dashboard)
    cli is a thin layer over all of it.

Names below load lazily: ``import gridsearch`` imports neither torch nor optuna.
"""

from typing import TYPE_CHECKING

from gridsearch._lazy import attach

if TYPE_CHECKING:  # the names as an editor and a type checker see them; loaded lazily below
    from gridsearch.config import StudyConfig as StudyConfig, load_config as load_config
    from gridsearch.errors import (
        ConfigError as ConfigError,
        DataError as DataError,
        GridsearchError as GridsearchError,
        ModelError as ModelError,
        StorageError as StorageError,
        TrainingError as TrainingError,
    )
    from gridsearch.family import (
        Compare as Compare,
        Family as Family,
        Frozen as Frozen,
        freeze as freeze,
        load as load,
        scale as scale,
    )
    from gridsearch.measure import (
        Complexity as Complexity,
        ComplexityCounter as ComplexityCounter,
        Measured as Measured,
        Realiser as Realiser,
    )
    from gridsearch.scaling import Point as Point, Spec as Spec, Strategy as Strategy
    from gridsearch.selection import Race as Race, Selection as Selection, race as race, select as select
    from gridsearch.study import Search as Search, TrialRecord as TrialRecord
    from gridsearch.training import TrainContext as TrainContext

__version__ = "0.2.0"

__getattr__, __dir__, __all__ = attach(__name__, {
    "config": ["StudyConfig", "load_config"],
    "errors": ["ConfigError", "DataError", "GridsearchError", "ModelError", "StorageError",
               "TrainingError"],
    "study": ["Search", "TrialRecord"],
    "training": ["TrainContext"],
    "family": ["Family", "Frozen", "Compare", "freeze", "scale", "load"],
    "measure": ["Measured", "Realiser", "Complexity", "ComplexityCounter"],
    "scaling": ["Point", "Spec", "Strategy"],
    "selection": ["Selection", "select", "race", "Race"],
})
