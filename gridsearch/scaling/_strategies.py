"""Scaling strategies as exponent triples: pure math, no torch.

One representation for every strategy (the pycls way): a FLOPs multiplier ``s`` is split into depth,
width and linear-resolution multipliers d = s^e_d, w = s^e_w, r = s^e_r with e_d + 2·e_w + 2·e_r = 1
(FLOPs grow with depth and with the squares of width and resolution), so every member multiplies
FLOPs by s before rounding.  Everything else is derived from the triple:

* ``depth`` (1, 0, 0), ``width`` (0, ½, 0), ``resolution`` (0, 0, ½);
* :func:`from_share` — fast compound scaling with width share a (Dollár, Singh, Girshick 2021,
  "Fast and Accurate Model Scaling"): ((1−a)/2, a/2, (1−a)/4); a = 1/3 is ``uniform``, a = 0.8
  ``fast`` ("dWr"), a = 1 width only;
* :func:`from_coefficients` — searched (α, β, γ): e = log(x) / log(α·β²·γ²), i.e. φ = log s /
  log(α·β²·γ²) and d = α^φ, w = β^φ, r = γ^φ;
* how flops, params and activations grow with s (:meth:`Strategy.exponents`): flops ∝ d·w²·r²,
  params ∝ d·w², activations ∝ d·w·r² (the table in docs/design.md §4).

Rounding (repeats, channels, pixels) moves measured FLOPs off ``s``: :func:`solve` searches the
s of a strategy against a *measuring* callback until the measured ratio hits a target (the
FLOPs-matched comparison).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from gridsearch.errors import ConfigError
from gridsearch.scaling._space import Point
from gridsearch.scaling._spec import Spec


class StrategyError(ConfigError, ValueError):
    """A strategy, multiplier or width share that makes no sense: one line, exit 2 in the CLI."""


DEFAULT_WIDTH_SHARE = 0.8
UNIFORM_WIDTH_SHARE = 1.0 / 3.0
NAMES = ("depth", "width", "resolution", "uniform", "fast", "compound")
STANDARD = ("depth", "width", "resolution", "uniform", "fast")   # `--strategy all`, in this order
SINGLE = ("depth", "width", "resolution")                        # what compare matches compound to
ALIASES = {"depth-only": "depth", "width-only": "width", "resolution-only": "resolution",
           "dwr": "uniform", "dWr": "fast"}


@dataclass(frozen=True)
class Strategy:
    """Exponents of s in the depth, width and resolution multipliers."""

    name: str
    depth: float
    width: float
    resolution: float
    width_share: float | None = None
    description: str = ""
    point: Point | None = None        # the searched (α, β, γ) of a compound strategy

    def __post_init__(self) -> None:
        if abs(self.depth + 2 * self.width + 2 * self.resolution - 1) > 1e-9:
            raise StrategyError(f"strategy {self.name!r}: e_d + 2·e_w + 2·e_r must be 1")

    def spec(self, s: float) -> Spec:
        """This strategy at FLOPs multiplier ``s``: d = s^e_d, w = s^e_w, r = s^e_r."""
        _check_s(s)
        if self.point is not None:   # exactly α^φ, β^φ, γ^φ at φ = log s / log(α·β²·γ²)
            return Spec.compound(self.point, math.log(s) / math.log(self.point.nominal_multiplier))
        return Spec(s ** self.depth, s ** self.width, s ** self.resolution, s, self.name,
                    width_share=self.width_share)

    def exponents(self) -> dict[str, float]:
        """e such that flops, params and activations grow as s^e under this strategy."""
        x, y, z = self.depth, self.width, self.resolution
        return {"flops": x + 2 * y + 2 * z, "params": x + 2 * y, "activations": x + y + 2 * z}


def _check_share(a: object) -> None:
    if not (isinstance(a, (int, float)) and 0.0 <= a <= 1.0):
        raise StrategyError(f"the width share a must be in [0, 1], got {a}")


def from_share(a: float, name: str | None = None) -> Strategy:
    """Fast compound scaling with width share ``a`` in [0, 1]."""
    _check_share(a)
    name = name or ("uniform" if math.isclose(a, UNIFORM_WIDTH_SHARE) else "fast")
    return Strategy(name, (1 - a) / 2, a / 2, (1 - a) / 4, a, f"width share a = {a:g}")


def from_coefficients(alpha: float, beta: float, gamma: float) -> Strategy:
    """Compound scaling with searched (α, β, γ)."""
    base = alpha * beta**2 * gamma**2
    if min(alpha, beta, gamma) <= 0 or math.isclose(base, 1.0):
        raise StrategyError(f"(alpha, beta, gamma) = ({alpha}, {beta}, {gamma}) do not scale FLOPs "
                            f"(alpha*beta^2*gamma^2 = {base:g})")
    c = math.log(base)
    return Strategy("compound", math.log(alpha) / c, math.log(beta) / c, math.log(gamma) / c,
                    description=f"(α, β, γ) = ({alpha:g}, {beta:g}, {gamma:g})",
                    point=Point(alpha, beta, gamma))


def width_share_point(a: float, target: float = 2.0) -> Point:
    """The (α, β, γ) of fast compound scaling with width share ``a`` at φ = 1 (Dollár, Singh,
    Girshick 2021): α = s^((1−a)/2), β = s^(a/2), γ = s^((1−a)/4) with s = ``target``, so
    α·β²·γ² = s exactly.  a = 1/3 is uniform scaling, a = 1 width only."""
    m = from_share(a).spec(target)
    return Point(round(m.depth, 6), round(m.width, 6), round(m.resolution, 6))


REGISTRY: dict[str, Strategy] = {s.name: s for s in (
    Strategy("depth", 1.0, 0.0, 0.0, description="depth only: d = s"),
    Strategy("width", 0.0, 0.5, 0.0, description="width only: w = √s"),
    Strategy("resolution", 0.0, 0.0, 0.5, description="resolution only: r = √s"),
    from_share(UNIFORM_WIDTH_SHARE, "uniform"),
    from_share(DEFAULT_WIDTH_SHARE, "fast"),
)}


def canonical(name: str) -> str:
    """A strategy's canonical name (``depth-only`` → ``depth``); StrategyError if unknown."""
    key = ALIASES.get(name, name)
    if key not in NAMES:
        raise StrategyError(f"unknown strategy {name!r} (known: {', '.join(NAMES)}, "
                            f"or {', '.join(ALIASES)})")
    return key


def named(name: str, a: float = DEFAULT_WIDTH_SHARE,
          coefficients: tuple[float, float, float] | None = None) -> Strategy:
    """The strategy called ``name``; ``fast`` takes the width share ``a``, ``compound`` the
    searched ``coefficients``."""
    key = canonical(name)
    if key == "fast":
        return from_share(a, "fast")
    if key == "compound":
        if coefficients is None:
            raise StrategyError("the compound strategy needs searched (alpha, beta, gamma)")
        return from_coefficients(*coefficients)
    return REGISTRY[key]


def _check_s(s: object) -> None:
    if not (isinstance(s, (int, float)) and math.isfinite(s) and s > 0):
        raise StrategyError(f"the FLOPs multiplier must be a positive number, got {s!r}")


# -- matching a measured FLOPs target ---------------------------------------------------------
@dataclass(frozen=True)
class Solution:
    spec: Spec            # the strategy at the chosen s
    ratio: float          # measured FLOPs / baseline FLOPs of its network
    target: float
    within: bool          # |ratio / target − 1| ≤ tolerance
    measurements: int     # how many distinct networks were measured

    @property
    def deviation(self) -> float:
        return self.ratio / self.target - 1.0


def solve(strategy: Strategy, ratio_at: Callable[[Spec], float], target: float,
          tolerance: float, base_resolution: int, max_steps: int = 40) -> Solution:
    """Find the s whose *measured* FLOPs ratio is closest to ``target``.

    ``ratio_at(spec)`` measures the realised network (FLOPs / baseline FLOPs); it must grow with
    s.  s is bracketed by doubling from 1, then bisected on a log scale; specs that realise the
    same network inputs (rounding makes the measured ratio a step function) are measured once.
    """
    if target <= 0:
        raise ValueError("target must be > 0")
    seen: dict[tuple[float, float, int], float] = {}

    def key(s: float) -> tuple[float, float, int]:
        sp = strategy.spec(s)
        return (sp.depth, sp.width, sp.pixels(base_resolution))

    def measure(s: float) -> float:
        k = key(s)
        if k not in seen:
            seen[k] = ratio_at(strategy.spec(s))
        return seen[k]

    best: tuple[float, float] | None = None  # (|log ratio/target|, s)

    def consider(s: float) -> float:
        nonlocal best
        r = measure(s)
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
        if key(lo) == key(hi):
            break
        if abs(r / target - 1) <= tolerance / 10:   # close enough: rounding allows no better
            break
    assert best is not None
    s = best[1]
    ratio = measure(s)
    return Solution(strategy.spec(s), ratio, target, abs(ratio / target - 1) <= tolerance,
                    len(seen))
