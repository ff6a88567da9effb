"""Named scaling strategies for a FLOPs multiplier s: pure math, no torch.

Each strategy splits s into a depth, a width and a resolution multiplier (d, w, r) with
d·w²·r² = s (FLOPs grow with depth, with the square of width and of the linear resolution):

* ``depth``: d = s                       (w = r = 1)
* ``width``: w = √s                      (d = r = 1)
* ``resolution``: r = √s                 (d = w = 1)
* ``fast`` with a width share a (Dollár, Singh, Girshick 2021, "Fast and Accurate Model Scaling";
  pycls ``models/scaler.py``): d = s^((1−a)/2), w = s^(a/2), r = s^((1−a)/4).  a = 0.8 by default
  ("dWr": mostly width), a = 1/3 is ``uniform`` compound scaling, a = 1 is width only.
* ``compound`` from searched (α, β, γ): φ = log s / log(α·β²·γ²), then d = α^φ, w = β^φ, r = γ^φ.

How complexity grows with s (flops ∝ d·w²·r², params ∝ d·w², activations ∝ d·w·r²) is given by
:func:`exponents`, the table in the design notes.

Rounding (repeats, channels, pixels) moves measured FLOPs away from ``s``: :func:`solve` searches
the knob of a registered :class:`Strategy` against a *measuring* callback until the measured FLOPs
ratio hits a target (the FLOPs-matched comparison).  Register another strategy with::

    register(Strategy("mine", "depth and resolution", depth=0.5, width=0.0, resolution=0.25))
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from gridsearch.errors import ConfigError
from gridsearch.scaling._rounding import round_resolution


class StrategyError(ConfigError, ValueError):
    """A strategy, multiplier or width share that makes no sense: one line, exit 2 in the CLI."""


NAMES = ("depth", "width", "resolution", "uniform", "fast", "compound")
# The five that need no searched coefficients, in the order `--strategy all` shows them.
STANDARD = ("depth", "width", "resolution", "uniform", "fast")
ALIASES = {"depth-only": "depth", "width-only": "width", "resolution-only": "resolution",
           "dwr": "uniform", "dWr": "fast"}
DEFAULT_WIDTH_SHARE = 0.8
UNIFORM_WIDTH_SHARE = 1.0 / 3.0


@dataclass(frozen=True)
class Multipliers:
    """How one strategy splits a FLOPs multiplier ``s``: depth, width and linear resolution."""

    strategy: str
    s: float
    depth: float
    width: float
    resolution: float
    width_share: float | None = None  # a, for fast and uniform

    @property
    def nominal_flops(self) -> float:
        """d·w²·r²: equals ``s`` up to float error."""
        return self.depth * self.width**2 * self.resolution**2

    def as_dict(self) -> dict[str, float | str | None]:
        return {"strategy": self.strategy, "s": self.s, "depth_mult": self.depth,
                "width_mult": self.width, "resolution_mult": self.resolution,
                "width_share": self.width_share}


def canonical(name: str) -> str:
    """A strategy's canonical name (``depth-only`` → ``depth``); ValueError if unknown."""
    key = ALIASES.get(name, name)
    if key not in NAMES:
        raise StrategyError(f"unknown strategy {name!r} (known: {', '.join(NAMES)}, "
                         f"or {', '.join(ALIASES)})")
    return key


def fast(s: float, a: float = DEFAULT_WIDTH_SHARE) -> Multipliers:
    """d = s^((1−a)/2), w = s^(a/2), r = s^((1−a)/4) for a width share a in [0, 1]."""
    _check_s(s)
    if not 0.0 <= a <= 1.0:
        raise StrategyError(f"the width share a must be in [0, 1], got {a}")
    name = "uniform" if math.isclose(a, UNIFORM_WIDTH_SHARE) else "fast"
    return Multipliers(name, s, s ** ((1 - a) / 2), s ** (a / 2), s ** ((1 - a) / 4), a)


def compound(s: float, alpha: float, beta: float, gamma: float) -> Multipliers:
    """The (α, β, γ) family member whose nominal FLOPs multiplier is ``s``: d = α^φ, w = β^φ, r = γ^φ
    with φ = log s / log(α·β²·γ²)."""
    _check_s(s)
    base = alpha * beta**2 * gamma**2
    if min(alpha, beta, gamma) <= 0 or math.isclose(base, 1.0):
        raise StrategyError(f"(alpha, beta, gamma) = ({alpha}, {beta}, {gamma}) do not scale FLOPs "
                         f"(alpha*beta^2*gamma^2 = {base:g})")
    phi = math.log(s) / math.log(base)
    return Multipliers("compound", s, alpha**phi, beta**phi, gamma**phi)


def multipliers(strategy: str, s: float, a: float = DEFAULT_WIDTH_SHARE,
                coefficients: tuple[float, float, float] | None = None) -> Multipliers:
    """The (d, w, r) of ``strategy`` at FLOPs multiplier ``s``."""
    name = canonical(strategy)
    _check_s(s)
    if name == "depth":
        return Multipliers(name, s, s, 1.0, 1.0)
    if name == "width":
        return Multipliers(name, s, 1.0, math.sqrt(s), 1.0)
    if name == "resolution":
        return Multipliers(name, s, 1.0, 1.0, math.sqrt(s))
    if name == "uniform":
        return fast(s, UNIFORM_WIDTH_SHARE)
    if name == "fast":
        m = fast(s, a)
        return Multipliers("fast", s, m.depth, m.width, m.resolution, a)
    if coefficients is None:
        raise StrategyError("the compound strategy needs searched (alpha, beta, gamma)")
    return compound(s, *coefficients)


def exponents(strategy: str, a: float = DEFAULT_WIDTH_SHARE,
              coefficients: tuple[float, float, float] | None = None) -> dict[str, float]:
    """e such that a metric grows as s^e under ``strategy`` (flops, params, activations).

    From flops ∝ d·w²·r², params ∝ d·w², activations ∝ d·w·r² with d = s^x, w = s^y, r = s^z.
    """
    name = canonical(strategy)
    # (x, y, z) are the exponents of d, w, r in s: read them off the multipliers at s = e.
    m = multipliers(name, math.e, a, coefficients)
    x, y, z = math.log(m.depth), math.log(m.width), math.log(m.resolution)
    return {"flops": x + 2 * y + 2 * z, "params": x + 2 * y, "activations": x + y + 2 * z}


def resolution_for(base_resolution: int, m: Multipliers) -> int:
    """The nominal input size of a member: round(r0 · r), as the search rounds it."""
    return round_resolution(base_resolution * m.resolution)


def _check_s(s: float) -> None:
    if not (isinstance(s, (int, float)) and math.isfinite(s) and s > 0):
        raise StrategyError(f"the FLOPs multiplier must be a positive number, got {s!r}")


# -- matching a measured FLOPs target ---------------------------------------------------------
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
register(Strategy("uniform", "uniform compound, a = 1/3", (1 - UNIFORM_WIDTH_SHARE) / 2,
                  UNIFORM_WIDTH_SHARE / 2, (1 - UNIFORM_WIDTH_SHARE) / 4))
register(Strategy("fast", f"fast dWr, a = {DEFAULT_WIDTH_SHARE}", (1 - DEFAULT_WIDTH_SHARE) / 2,
                  DEFAULT_WIDTH_SHARE / 2, (1 - DEFAULT_WIDTH_SHARE) / 4))

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
