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
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .errors import ConfigError

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
    """The nominal input size of a member: round(r0 · r)."""
    return max(1, int(round(base_resolution * m.resolution)))


def _check_s(s: float) -> None:
    if not (isinstance(s, (int, float)) and math.isfinite(s) and s > 0):
        raise StrategyError(f"the FLOPs multiplier must be a positive number, got {s!r}")
