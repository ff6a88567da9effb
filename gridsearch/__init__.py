"""gridsearch: search EfficientNet-style compound-scaling coefficients, then scale with them.

The workflow, one step per subpackage::

    config  → scaling (Spec, grid, rounding, strategies)  → models (the baseline)
            → measure (Realiser: fvcore counts, the budget)  → training (proxy)
            → study (store, plans, the loop, the trial record)  → selection (the rule, races)
            → family (freeze, scale, export, compare)  → viz (report, dashboard)
    cli is a thin layer over all of it.

Names below load lazily: ``import gridsearch`` imports neither torch nor optuna.
"""

from gridsearch._lazy import attach

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
