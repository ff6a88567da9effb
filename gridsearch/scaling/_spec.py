"""One scaled network as numbers: how much deeper, wider and larger than the baseline, and why.

A :class:`Spec` is the one representation of "this network at this resolution" everywhere: a grid
point of the search, a confirmation's point, a family member at φ, a strategy at a FLOPs multiplier
s, a width share.  It holds the multipliers of depth d, width w and linear resolution r relative to
the baseline, the nominal FLOPs multiplier s = d·w²·r², and where they came from:

* ``compound``: a point (α, β, γ) at φ — d = α^φ, w = β^φ, r = γ^φ (:meth:`Spec.compound`);
* a named strategy at s — d = s^e_d, w = s^e_w, r = s^e_r (:meth:`gridsearch.scaling.Strategy.spec`),
  with the width share a for fast scaling.

The network rounds (channels, repeats, pixels) when it is built; what it then measures is a
:class:`gridsearch.measure.Measured`.  Pure math, no torch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from gridsearch.scaling._rounding import round_resolution
from gridsearch.scaling._space import Point

COMPOUND = "compound"
DIGITS = 6   # every stored multiplier and ratio is rounded once, to this many decimals


@dataclass(frozen=True)
class Spec:
    """Multipliers relative to the baseline, and their origin (see the module docstring)."""

    depth: float
    width: float
    resolution: float                 # linear: the input is round(base_resolution · r) pixels
    s: float                          # nominal FLOPs multiplier d·w²·r²
    strategy: str = COMPOUND
    point: Point | None = None        # (α, β, γ) of a compound spec
    phi: float | None = None          # its φ
    width_share: float | None = None  # a, when the spec came from a width share

    @classmethod
    def compound(cls, point: Point, phi: float = 1.0, width_share: float | None = None) -> Spec:
        """The member at φ of (α, β, γ): d = α^φ, w = β^φ, r = γ^φ."""
        return cls(point.alpha ** phi, point.beta ** phi, point.gamma ** phi,
                   point.nominal_multiplier ** phi, COMPOUND, point, phi, width_share)

    def pixels(self, base_resolution: int) -> int:
        """The nominal input size: round(r0 · r)."""
        return round_resolution(base_resolution * self.resolution)

    @property
    def grows(self) -> bool:
        """Whether the spec makes the network larger (s ≥ 1): a repaired resolution then stays at or
        above the baseline's, else at or below it."""
        return self.s >= 1.0

    @property
    def scales_resolution(self) -> bool:
        return not math.isclose(self.resolution, 1.0, rel_tol=0, abs_tol=1e-12)

    def effective_gamma(self, resolution: int, base_resolution: int) -> float | None:
        """The γ a realised resolution gives, (r / r0)^(1/φ): γ itself unless rounding or a
        repair moved it. None for a non-compound spec.  At φ = 0 the network is the baseline and
        the root undefined: the resolution's own ratio r / r0 (1 at the baseline's resolution),
        never a γ that did not act."""
        if self.point is None or self.phi is None:
            return None
        if self.phi == 0:
            return round(resolution / base_resolution, DIGITS)
        return round((resolution / base_resolution) ** (1.0 / self.phi), DIGITS)

    def as_dict(self) -> dict[str, Any]:
        """The spec as stored (trial attributes, exports): origin first, then d, w, r and s."""
        p = self.point
        return {"strategy": self.strategy,
                "alpha": p.alpha if p else None, "beta": p.beta if p else None,
                "gamma": p.gamma if p else None, "phi": self.phi,
                "width_share": self.width_share,
                "d": round(self.depth, DIGITS), "w": round(self.width, DIGITS),
                "r": round(self.resolution, DIGITS), "s": round(self.s, DIGITS)}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Spec:
        point = Point.from_dict(d) if d.get("alpha") is not None else None
        phi = None if d.get("phi") is None else float(d["phi"])
        if point is not None and phi is not None:   # exact again, not the rounded d, w, r
            return cls.compound(point, phi, d.get("width_share"))
        return cls(float(d["d"]), float(d["w"]), float(d["r"]), float(d["s"]),
                   str(d.get("strategy", COMPOUND)), point, phi, d.get("width_share"))

    def describe(self) -> str:
        if self.point is not None:
            return f"{self.point.label()} at φ={self.phi:g}"
        share = f", a={self.width_share:g}" if self.width_share is not None else ""
        return f"{self.strategy} at s={self.s:g}{share}"
