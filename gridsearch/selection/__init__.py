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

from typing import TYPE_CHECKING

from gridsearch._lazy import attach

if TYPE_CHECKING:  # the names as an editor and a type checker see them; loaded lazily below
    from gridsearch.selection._decision import (
        P_BEST_METHOD as P_BEST_METHOD,
        Decision as Decision,
        Standing as Standing,
        p_best as p_best,
    )
    from gridsearch.selection._kn import (
        Forecast as Forecast,
        eta as eta,
        forecast as forecast,
        h2 as h2,
        half_width as half_width,
        pair_variances as pair_variances,
    )
    from gridsearch.selection._ladder import (
        DEFAULT_Z as DEFAULT_Z,
        Agreement as Agreement,
        Ladder as Ladder,
        RungResult as RungResult,
        Stability as Stability,
        agreement as agreement,
        carry as carry,
        epsilon as epsilon,
        ladder as ladder,
        stability as stability,
        standard_error as standard_error,
    )
    from gridsearch.selection._pareto import dominates as dominates, front as front
    from gridsearch.selection._race import (
        DEFAULT_CONFIDENCE as DEFAULT_CONFIDENCE,
        DEFAULT_MAX_SEEDS as DEFAULT_MAX_SEEDS,
        DEFAULT_N0 as DEFAULT_N0,
        Race as Race,
        SelectionError as SelectionError,
        race as race,
    )
    from gridsearch.selection._rule import (
        SHOWN_TIES as SHOWN_TIES,
        Ranked as Ranked,
        Selection as Selection,
        network as network,
        rank as rank,
        select as select,
    )

__getattr__, __dir__, __all__ = attach(__name__, {
    "_rule": ["Ranked", "Selection", "network", "rank", "select", "SHOWN_TIES"],
    "_pareto": ["dominates", "front"],
    "_race": ["Race", "race", "SelectionError", "DEFAULT_N0", "DEFAULT_MAX_SEEDS",
              "DEFAULT_CONFIDENCE"],
    "_decision": ["Decision", "Standing", "p_best", "P_BEST_METHOD"],
    "_kn": ["Forecast", "eta", "h2", "half_width", "forecast", "pair_variances"],
    "_ladder": ["RungResult", "Stability", "Agreement", "Ladder", "carry", "stability",
                "agreement", "ladder", "epsilon", "standard_error", "DEFAULT_Z"],
})
