"""Choosing under noise: the selection rule every output uses, ranking and selection by a
sequential race (Kim & Nelson's KN procedure) and Pareto fronts.  Pure: numpy at most, no torch,
no Optuna."""

from gridsearch._lazy import attach

__getattr__, __dir__, __all__ = attach(__name__, {
    "_rule": ["Ranked", "Selection", "key", "rank", "select", "SHOWN_TIES"],
    "_pareto": ["dominates", "front"],
})
