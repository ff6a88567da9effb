"""The constrained (α, β, γ) grid: pure functions, no I/O.

A point is kept when its nominal FLOPs multiplier α·β²·γ² lies within ``tolerance`` (relative)
of ``target``.  Points come in a fixed order (α, then β, then γ ascending), so their index is stable
and the count is known before anything is trained.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

KEY_DIGITS = 6   # decimals that tell two points apart (:meth:`Point.key`)


@dataclass(frozen=True)
class Range:
    """An inclusive arithmetic range ``min, min + step, …, ≤ max``."""

    min: float
    max: float
    step: float

    def values(self) -> list[float]:
        n = math.floor((self.max - self.min) / self.step + 1e-9)
        # Round to a few decimals so 1.1 is 1.1, not 1.1000000000000003.
        return [round(self.min + i * self.step, 6) for i in range(n + 1)]


@dataclass(frozen=True, order=True)
class Point:
    alpha: float
    beta: float
    gamma: float

    @property
    def nominal_multiplier(self) -> float:
        return nominal_multiplier(self.alpha, self.beta, self.gamma)

    def as_dict(self) -> dict[str, float]:
        return {"alpha": self.alpha, "beta": self.beta, "gamma": self.gamma}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Point:
        """The point of a mapping that holds ``alpha``, ``beta`` and ``gamma`` (other keys are
        ignored): :meth:`as_dict`'s inverse, and how a stored row or document names its point."""
        return cls(float(d["alpha"]), float(d["beta"]), float(d["gamma"]))

    def label(self) -> str:
        """How every output names the point: ``α=1.2 β=1.1 γ=1.15``."""
        return f"α={self.alpha:g} β={self.beta:g} γ={self.gamma:g}"

    def key(self) -> tuple[float, float, float]:
        """How trials of one point are matched: the coefficients rounded to 6 decimals, so a
        value read back through float arithmetic or JSON is still the same point."""
        return (round(self.alpha, KEY_DIGITS), round(self.beta, KEY_DIGITS),
                round(self.gamma, KEY_DIGITS))


def nominal_multiplier(alpha: float, beta: float, gamma: float, phi: float = 1.0) -> float:
    """The FLOPs multiplier the coefficients promise before rounding: (α·β²·γ²)^φ."""
    return (alpha * beta**2 * gamma**2) ** phi


def within(value: float, target: float, tolerance: float) -> bool:
    """True when ``value`` is within a relative ``tolerance`` of ``target``."""
    return abs(value / target - 1.0) <= tolerance + 1e-12


def grid(alpha: Range, beta: Range, gamma: Range, target: float = 2.0,
         tolerance: float = 0.05) -> list[Point]:
    """All grid points whose nominal multiplier is within ``tolerance`` of ``target``, in order."""
    return list(_iter_grid(alpha, beta, gamma, target, tolerance))


def _iter_grid(alpha: Range, beta: Range, gamma: Range, target: float,
               tolerance: float) -> Iterator[Point]:
    for a in alpha.values():
        for b in beta.values():
            for g in gamma.values():
                if within(nominal_multiplier(a, b, g), target, tolerance):
                    yield Point(a, b, g)


def solve_gamma(alpha: float, beta: float, target: float = 2.0) -> float:
    """The γ that makes α·β²·γ² equal ``target`` exactly (used by continuous samplers)."""
    return math.sqrt(target / (alpha * beta**2))


def beta_bounds(alpha: float, beta: Range, gamma: Range, target: float) -> tuple[float, float] | None:
    """The β interval for which the solved γ = √(target / (α·β²)) stays inside ``gamma``'s range.

    Continuous samplers propose α, then β within these bounds, then solve γ: every proposal meets
    α·β²·γ² = target exactly.  ``None`` when no β in range works for this α.
    """
    lo = max(beta.min, math.sqrt(target / (alpha * gamma.max**2)))
    hi = min(beta.max, math.sqrt(target / (alpha * gamma.min**2)))
    return (lo, hi) if lo <= hi else None
