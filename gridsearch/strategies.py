"""Scaling strategies for the compound-vs-single-dimension comparison: pure math, no torch.

A strategy maps one knob ``s`` (a nominal FLOPs multiplier) to the multipliers of depth, width and
resolution: d = s^e_d, w = s^e_w, r = s^e_r, with e_d + 2·e_w + 2·e_r = 1 so FLOPs ∝ d·w²·r² ≈ s.
Rounding (repeats, channels, pixels) moves the measured FLOPs away from ``s``, so :func:`solve`
searches the knob against a *measuring* callback until the measured FLOPs ratio hits a target.

Add a strategy by registering it::

    register(Strategy("fast", "dWr, width share a = 0.8", depth=0.1, width=0.4, resolution=0.1))
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

from .scaling import round_resolution


@dataclass(frozen=True)
class Setting:
    """Multipliers relative to the baseline, and the integer resolution they give."""

    depth_mult: float
    width_mult: float
    resolution: int


@dataclass(frozen=True)
class Strategy:
    name: str
    description: str
    depth: float        # exponent of s in the depth multiplier
    width: float        # exponent of s in the width multiplier
    resolution: float   # exponent of s in the resolution multiplier

    def setting(self, s: float, base_resolution: int) -> Setting:
        return Setting(s ** self.depth, s ** self.width,
                       round_resolution(base_resolution * s ** self.resolution))


REGISTRY: dict[str, Strategy] = {}


def register(strategy: Strategy) -> Strategy:
    if abs(strategy.depth + 2 * strategy.width + 2 * strategy.resolution - 1) > 1e-9:
        raise ValueError(f"strategy {strategy.name!r}: e_d + 2·e_w + 2·e_r must be 1")
    REGISTRY[strategy.name] = strategy
    return strategy


register(Strategy("depth", "depth only: d = s", 1.0, 0.0, 0.0))
register(Strategy("width", "width only: w = √s", 0.0, 0.5, 0.0))
register(Strategy("resolution", "resolution only: r = √s", 0.0, 0.0, 0.5))

SINGLE = ("depth", "width", "resolution")


def get(name: str) -> Strategy:
    try:
        return REGISTRY[name]
    except KeyError:
        raise KeyError(f"unknown strategy {name!r} (known: {', '.join(REGISTRY)})") from None


@dataclass(frozen=True)
class Solution:
    strategy: str
    knob: float           # the s that was chosen
    setting: Setting
    ratio: float          # measured FLOPs / baseline FLOPs at that setting
    target: float
    within: bool          # |ratio / target − 1| ≤ tolerance
    measurements: int     # how many settings were measured

    @property
    def deviation(self) -> float:
        return self.ratio / self.target - 1.0


def solve(strategy: Strategy, ratio_at: Callable[[Setting], float], target: float,
          tolerance: float, base_resolution: int, max_steps: int = 40) -> Solution:
    """Find the knob whose *measured* FLOPs ratio is closest to ``target``.

    ``ratio_at(setting)`` measures a realised network (FLOPs / baseline FLOPs); it must grow with
    the knob.  The knob is bracketed by doubling from 1, then bisected on a log scale; realised
    settings repeat (rounding makes the measured ratio a step function), so each is measured once.
    """
    if target <= 0:
        raise ValueError("target must be > 0")
    seen: dict[Setting, float] = {}

    def measure(s: float) -> tuple[Setting, float]:
        st = strategy.setting(s, base_resolution)
        if st not in seen:
            seen[st] = ratio_at(st)
        return st, seen[st]

    best: tuple[float, float] | None = None  # (|log ratio/target|, s)

    def consider(s: float) -> float:
        nonlocal best
        _, r = measure(s)
        err = abs(math.log(r / target))
        if best is None or err < best[0] - 1e-12 or (abs(err - best[0]) <= 1e-12 and s < best[1]):
            best = (err, s)
        return r

    lo, hi = 1.0, 1.0
    r = consider(1.0)
    steps = 0
    if r < target:
        while r < target and steps < max_steps:
            lo, hi = hi, hi * 2
            r = consider(hi)
            steps += 1
    else:
        while r >= target and steps < max_steps and lo > 1e-6:
            hi, lo = lo, lo / 2
            r = consider(lo)
            steps += 1
    while steps < max_steps and hi / lo > 1 + 1e-4:
        mid = math.sqrt(lo * hi)
        r = consider(mid)
        steps += 1
        if r < target:
            lo = mid
        else:
            hi = mid
        if strategy.setting(lo, base_resolution) == strategy.setting(hi, base_resolution):
            break
        if abs(r / target - 1) <= tolerance / 10:   # close enough: rounding allows no better
            break
    assert best is not None
    s = best[1]
    st, ratio = measure(s)
    return Solution(strategy.name, s, st, ratio, target, abs(ratio / target - 1) <= tolerance,
                    len(seen))
