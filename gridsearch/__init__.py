"""gridsearch: search EfficientNet-style compound-scaling coefficients, then scale with them.

The workflow, one step per subpackage::

    config  → scaling (grid, rounding, budget)  → models (the baseline)  → measure (fvcore)
            → training (proxy)  → study (Optuna trials, storage)  → family (freeze, scale, export)
            → viz (report, dashboard);  cli is a thin layer over all of it.

Names below load lazily: ``import gridsearch`` imports neither torch nor optuna.
"""

from gridsearch._lazy import attach

__version__ = "0.1.0"

__getattr__, __dir__, __all__ = attach(__name__, {
    "config": ["StudyConfig", "load_config"],
    "errors": ["ConfigError", "DataError", "GridsearchError", "ModelError", "StorageError",
               "TrainingError"],
    "study._search": ["Search"],
    "family._freeze": ["Frozen", "freeze"],
    "family._scale": ["Family", "scale"],
    "family._export": ["load"],
    "family._compare": ["Compare"],
    "measure._candidate": ["Candidate", "Realiser"],
    "measure._complexity": ["Complexity", "ComplexityCounter"],
    "measure._members": ["Scaler"],
    "scaling._space": ["Point"],
    "selection._race": ["race"],
})
