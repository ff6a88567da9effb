"""The FLOPs budget check on the *measured* network, with an optional resolution repair.

Logic over a measuring callback ``flops_at(resolution) -> Complexity``, so it can be driven by fvcore
(the real thing, :class:`gridsearch.measure.Realiser`) or by a formula in tests.

* ``reject``: the candidate is feasible when measured FLOPs / baseline FLOPs is within
  ``tolerance`` of ``target``; otherwise it is recorded as infeasible and not trained.
* ``repair``: α and β are kept, the resolution is solved (hence an *effective* γ) so the measured
  ratio lands as close to ``target`` as an integer resolution allows; infeasible only when even the
  base resolution (γ = 1) overshoots, or no integer resolution lands within the tolerance.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from gridsearch.measure._complexity import Complexity
from gridsearch.scaling import within

MODES = ("reject", "repair")


@dataclass(frozen=True)
class Verdict:
    """The budget check's answer (whether the network was repaired is its
    :class:`~gridsearch.measure.Measured`'s to say: it knows the nominal resolution)."""

    feasible: bool
    complexity: Complexity  # measured at the (possibly repaired) resolution
    ratio: float            # measured FLOPs / baseline FLOPs
    target: float
    reason: str = ""

    @property
    def resolution(self) -> int:
        return self.complexity.resolution

    @property
    def deviation(self) -> float:
        """Relative deviation of the measured ratio from the target."""
        return self.ratio / self.target - 1.0


def check(flops_at: Callable[[int], Complexity], baseline_flops: int, nominal_resolution: int,
          base_resolution: int, target: float, tolerance: float, mode: str = "reject",
          grows: bool = True, max_steps: int = 12) -> Verdict:
    """Measure at the nominal resolution; in ``repair`` mode, solve the resolution if needed.

    The repaired resolution keeps the direction of the scaling: for a network that ``grows`` it stays
    at or above ``base_resolution`` (γ ≥ 1 at φ > 0), else at or below it.  A target of 1 is the
    baseline itself: nothing to repair.
    """
    if mode not in MODES:
        raise ValueError(f"budget mode must be one of {MODES}, got {mode!r}")

    def ratio_of(c: Complexity) -> float:
        return c.flops / baseline_flops

    def verdict(c: Complexity, ok: bool, reason: str = "") -> Verdict:
        return Verdict(ok, c, ratio_of(c), target, reason)

    nominal = flops_at(nominal_resolution)
    if within(ratio_of(nominal), target, tolerance):
        return verdict(nominal, True)
    if mode == "reject" or target == 1.0:
        side = "over" if ratio_of(nominal) > target else "under"
        return verdict(nominal, False, f"measured FLOPs ratio {ratio_of(nominal):.3f} {side}shoots "
                                       f"target {target:g} by more than {tolerance:.0%}")

    lo, hi = (base_resolution, None) if grows else (1, base_resolution)
    measured = {nominal_resolution: nominal}

    def at(r: int) -> float:
        if r not in measured:
            measured[r] = flops_at(r)
        return ratio_of(measured[r])

    # 1. Bracket the target: FLOPs grow about as r², so step by √(target / ratio).
    below = above = None
    r = nominal_resolution
    for _ in range(max_steps):
        ratio = at(r)
        if ratio < target:
            below = r if below is None else max(below, r)
        else:
            above = r if above is None else min(above, r)
        if below is not None and above is not None:
            break
        nxt = round(r * math.sqrt(target / ratio))
        nxt = nxt + (1 if ratio < target else -1) if nxt == r else nxt
        nxt = max(lo, nxt if hi is None else min(hi, nxt))
        if nxt == r:  # pinned at a bound
            break
        r = nxt
    # 2. FLOPs are monotone in r: bisect down to adjacent integers.
    if below is not None and above is not None:
        while above - below > 1:
            mid = (below + above) // 2
            if at(mid) < target:
                below = mid
            else:
                above = mid
    best = min(measured.values(), key=lambda c: (abs(ratio_of(c) - target), c.resolution))
    if within(ratio_of(best), target, tolerance):
        return verdict(best, True)
    if best.resolution == base_resolution:
        side = "over" if ratio_of(best) > target else "under"
        reason = (f"{side}shoots even at γ = 1: measured ratio {ratio_of(best):.3f} at "
                  f"resolution {base_resolution}, target {target:g}")
    else:
        reason = (f"no integer resolution lands within {tolerance:.0%} of target {target:g} "
                  f"(closest {ratio_of(best):.3f} at {best.resolution})")
    return verdict(best, False, reason)
