"""Choosing under noise: the one selection rule every output uses, ranking and selection with an
indifference zone, Pareto fronts, and the fidelity ladder's rule (which points climb, whether a
rung keeps the previous rung's top group, Kendall's τ between rungs).

KN, Kim & Nelson's fully sequential procedure (ACM TOMACS 11(3), 2001), with common random numbers
(seed r is the same seed for every candidate): every candidate gets n0 seeds, then one more seed
per survivor per round, and a candidate leaves as soon as the data say it cannot be the best.
P(correct selection) ≥ confidence whenever the best is at least δ ahead (docs/design.md §9).
Pure: numpy and the standard library; importing it loads neither torch nor optuna.

    >>> from gridsearch.selection import race
    >>> d = race(lambda c, s: ..., ["a", "b", "c"], delta=0.01)
    >>> d.winner, d.survivors, d.runs, d["a"].mean, d.text()
"""

from gridsearch._lazy import attach

__getattr__, __dir__, __all__ = attach(__name__, {
    "_rule": ["Ranked", "Selection", "key", "network", "rank", "select", "SHOWN_TIES"],
    "_pareto": ["dominates", "front"],
    "_race": ["Race", "race", "SelectionError", "DEFAULT_N0", "DEFAULT_MAX_SEEDS",
              "DEFAULT_CONFIDENCE"],
    "_decision": ["Decision", "Standing", "p_best", "P_BEST_METHOD"],
    "_kn": ["Forecast", "eta", "h2", "half_width", "forecast", "pair_variances"],
    "_ladder": ["RungResult", "Stability", "Agreement", "Ladder", "carry", "stability",
                "agreement", "ladder", "epsilon", "standard_error", "DEFAULT_Z"],
})
