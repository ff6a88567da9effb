"""Kim & Nelson's fully sequential procedure "KN": its constants, and what a given δ will cost.

Kim, S.-H. and Nelson, B. L. (2001), "A fully sequential procedure for indifference-zone selection
in simulation", ACM TOMACS 11(3), 251–273 — with c = 1, as in the paper's procedure KN:

* k systems, each observed n0 ≥ 2 times in a first stage; observation r of every system uses the
  same random numbers (here: the same seed), so S²_il is the sample variance of the n0 paired
  differences X_ir − X_lr (n0 − 1 degrees of freedom).
* η = ½·[(2α / (k − 1))^(−2 / (n0 − 1)) − 1] and h² = 2·η·(n0 − 1).
* After r observations of every survivor, i stays only if X̄_i(r) ≥ X̄_l(r) − W_il(r) for every
  survivor l ≠ i, where W_il(r) = max(0, (δ / 2r)·(h²·S²_il / δ² − r)).
* W_il(r) is 0 once r > N_il = ⌊h²·S²_il / δ²⌋, so the procedure ends by r = max N_il + 1 (at the
  latest), where it keeps the largest mean.

Pure numpy; see docs/design.md §9.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


def eta(alpha: float, k: int, n0: int) -> float:
    """KN's η for k ≥ 2 systems, error probability α and first-stage size n0."""
    return 0.5 * ((2.0 * alpha / (k - 1)) ** (-2.0 / (n0 - 1)) - 1.0)


def h2(alpha: float, k: int, n0: int) -> float:
    """KN's h² = 2η(n0 − 1); 0 with one system (nothing to compare)."""
    return 0.0 if k < 2 else 2.0 * eta(alpha, k, n0) * (n0 - 1)


def half_width(delta: float, h_squared: float, s2: np.ndarray | float, r: int) -> np.ndarray | float:
    """W_il(r) = max(0, (δ / 2r)·(h²·S²_il / δ² − r)), elementwise over an array of S²_il."""
    return np.maximum(0.0, (delta / (2.0 * r)) * (h_squared * np.asarray(s2) / delta ** 2 - r))


def last_round(delta: float, h_squared: float, s2_max: float, n0: int) -> int:
    """The number of observations per survivor by which KN has ended: max N_il + 1 (≥ n0)."""
    bound = h_squared * s2_max / delta ** 2
    if not math.isfinite(bound) or bound > 1e15:
        return 10 ** 15
    return max(n0, math.floor(bound) + 1)


def pair_variances(first_stage: np.ndarray) -> np.ndarray:
    """S²_il for every pair: the sample variances (ddof 1) of the paired differences of the rows
    of a k × n0 array (row i = system i, column r = seed r). Zero on the diagonal."""
    x = np.asarray(first_stage, dtype=float)
    d = x[:, None, :] - x[None, :, :]
    return d.var(axis=2, ddof=1)


@dataclass(frozen=True)
class Forecast:
    """What a decision at this δ is expected to cost, from the first stage's variances.

    ``sigma`` is the typical standard deviation of a paired difference between two candidates (the
    median over all pairs of √S²_il). A contender exactly δ behind the best is expected to be
    eliminated after about ``seeds_close`` = h²·σ² / (3δ²) seeds: the paired sum drifts by δ per
    seed and meets KN's triangular boundary (intercept h²S²/2δ, slope −δ/2) at r = h²S² / (3δ²)
    (a drift approximation; benchmarks/race_simulation.py compares it with simulated races). A
    near-tie (a gap well below δ) runs to KN's end, ``seeds_bound`` = max N_il + 1. With
    ``max_seeds`` below ``seeds_close`` the race will mostly end undecided at the cap;
    ``delta_reachable`` is the smallest δ whose ``seeds_close`` fits within ``max_seeds``.
    """

    delta: float
    confidence: float
    n0: int
    max_seeds: int
    h2: float
    sigma: float
    sigma_max: float
    seeds_close: int
    seeds_bound: int
    delta_reachable: float
    floored: int = 0                 # pairs whose S² was raised to quantum²/6
    zero: int = 0                    # pairs with S² exactly 0 and no floor (no quantum given)

    @property
    def reachable(self) -> bool:
        """max_seeds reaches the seeds a contender δ behind is expected to need."""
        return self.seeds_close <= self.max_seeds

    @property
    def certain(self) -> bool:
        """max_seeds reaches KN's end: the race cannot stop undecided at the cap."""
        return self.seeds_bound <= self.max_seeds

    def warning(self) -> str:
        """What the first stage's variances say about KN's normal assumption ("" if nothing)."""
        if self.floored:
            return (f"warning: {self.floored} pair(s) differ by (nearly) a constant over the "
                    f"first stage, below the results' resolution: their paired variance is "
                    f"floored at its rounding error (quantum²/6), not taken as 0")
        if self.zero:
            return (f"warning: {self.zero} pair(s) have paired variance 0 (a constant "
                    f"difference): KN eliminates them with no protection; results are "
                    f"quantised? give the race a quantum")
        return ""

    def text(self) -> str:
        """One sentence for the study to print after the first stage."""
        head = (f"σ of differences ≈ {_num(self.sigma)}: δ = {_num(self.delta)} needs about "
                f"{self.seeds_close:,} seeds per contender (a point δ behind the best; KN ends by "
                f"{self.seeds_bound:,} at the latest)")
        if self.warning():
            head = f"{head} ({self.warning()})"
        if not self.reachable:
            return (f"{head}; max_seeds = {self.max_seeds} cannot reach it: raise fidelity to "
                    f"cut σ, or δ (δ ≥ {_num(self.delta_reachable)} fits in {self.max_seeds} seeds)")
        if not self.certain:
            return (f"{head}; max_seeds = {self.max_seeds} reaches it, but near-ties may end "
                    f"undecided at the cap")
        return f"{head}; max_seeds = {self.max_seeds} reaches it"

    def as_dict(self) -> dict[str, float | int | bool | str]:
        return {"delta": self.delta, "confidence": self.confidence, "n0": self.n0,
                "max_seeds": self.max_seeds, "h2": self.h2, "sigma": self.sigma,
                "sigma_max": self.sigma_max, "seeds_close": self.seeds_close,
                "seeds_bound": self.seeds_bound, "delta_reachable": self.delta_reachable,
                "reachable": self.reachable, "certain": self.certain, "floored": self.floored,
                "text": self.text()}


def forecast(s2: np.ndarray, *, delta: float, confidence: float, n0: int, max_seeds: int,
             floored: int = 0, quantum: float | None = None) -> Forecast:
    """The :class:`Forecast` from the k × k matrix of first-stage S²_il (k ≥ 1); ``floored``:
    pairs already raised to the quantisation floor (``quantum``)."""
    k = s2.shape[0]
    h_squared = h2(1.0 - confidence, k, n0)
    upper = s2[np.triu_indices(k, 1)]
    if upper.size == 0:
        upper = np.zeros(1)
    sigma, sigma_max = float(np.sqrt(np.median(upper))), float(np.sqrt(upper.max()))
    close = h_squared * sigma ** 2 / (3.0 * delta ** 2)
    seeds_close = max(n0, math.ceil(close)) if math.isfinite(close) and close < 1e15 else 10 ** 15
    delta_reachable = sigma * math.sqrt(h_squared / (3.0 * max_seeds)) if h_squared > 0 else 0.0
    zero = int((upper == 0).sum()) if quantum is None else 0
    seeds_bound = last_round(delta, h_squared, float(upper.max()), n0)
    return Forecast(delta, confidence, n0, max_seeds, h_squared, sigma, sigma_max, seeds_close,
                    seeds_bound, delta_reachable, floored, zero)


def _num(x: float) -> str:
    """0.010, 0.25, 0.0004: three decimals unless the number is smaller than that."""
    return f"{x:.3f}" if abs(x) >= 0.001 or x == 0 else f"{x:.2g}"
