"""Scale frozen coefficients over φ into a family of networks, each realised and measured.

:func:`scale` realises ``Spec.compound(point, φ)`` for each φ through the search's realiser (depth
α^φ, width β^φ, resolution r0·γ^φ, rounded the same way), measures it with fvcore and compares it
with ``target^φ``; with ``repair`` the resolution is solved so each member lands within the budget
tolerance, as in the search's check.
:func:`parse_phis` reads ``-1..4``, ``0,0.5,1`` and ``0..2:0.5`` forms.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from gridsearch.errors import ConfigError
from gridsearch.scaling import Point, Spec

if TYPE_CHECKING:
    from gridsearch.measure import Measured, Realiser

MAX_PHIS = 64


# -- φ lists --------------------------------------------------------------------------------------
def parse_phis(text: str) -> list[float]:
    """``"-1..4"`` → [-1, 0, 1, 2, 3, 4]; ``"0,0.5,1"``; ``"0..2:0.5"`` (step); sorted, unique."""
    out: set[float] = set()
    for part in (p.strip() for p in str(text).split(",")):
        if not part:
            raise ConfigError(f"--phi {text!r}: empty item")
        if ".." in part:
            span, _, step_s = part.partition(":")
            lo_s, _, hi_s = span.partition("..")
            lo, hi = _number(lo_s, text), _number(hi_s, text)
            step = _number(step_s, text) if step_s else 1.0
            if step <= 0:
                raise ConfigError(f"--phi {text!r}: the step must be > 0")
            if hi < lo:
                raise ConfigError(f"--phi {text!r}: {lo:g}..{hi:g} is empty (write the smaller first)")
            n = math.floor((hi - lo) / step + 1e-9)
            if n + 1 > MAX_PHIS:
                raise ConfigError(f"--phi {text!r}: more than {MAX_PHIS} values")
            out.update(round(lo + i * step, 6) for i in range(n + 1))
        else:
            out.add(round(_number(part, text), 6))
    if len(out) > MAX_PHIS:
        raise ConfigError(f"--phi {text!r}: more than {MAX_PHIS} values")
    return sorted(out)


def _number(s: str, text: str) -> float:
    try:
        v = float(s)
    except ValueError:
        raise ConfigError(f"--phi {text!r}: {s.strip()!r} is not a number "
                          "(use e.g. -1..4, 0,0.5,1 or 0..2:0.5)") from None
    if not math.isfinite(v):
        raise ConfigError(f"--phi {text!r}: {s.strip()!r} is not a finite number")
    return v


# -- scale ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Family:
    """A scaled family: the baseline, the coefficients, and every member measured."""

    model: str
    base_resolution: int
    base_width_mult: float
    base_depth_mult: float
    num_classes: int
    baseline: dict[str, Any]          # measured: flops, params, activations, resolution, layout
    point: Point
    target_multiplier: float
    repair: bool
    tolerance: float
    members: tuple[Measured, ...] = field(default_factory=tuple)

    def member(self, phi: float) -> Measured:
        for m in self.members:
            if m.spec.phi is not None and math.isclose(m.spec.phi, phi, abs_tol=1e-9):
                return m
        raise KeyError(phi)


def scale(realiser: Realiser, point: Point, phis: list[float], target: float,
          repair: bool = False, tolerance: float = 0.05,
          on_start: Callable[[int, float], None] | None = None,
          on_member: Callable[[int, Measured], None] | None = None) -> Family:
    """Realise and measure ``point`` at every φ in ``phis`` against ``target^φ``.

    Without ``repair`` each member is measured at round(r0·γ^φ) and its deviation from
    ``target^φ`` reported; with it, the resolution is solved (γ ≥ 1 kept) so the measured ratio
    lands within ``tolerance``.  Each member also carries timm's rebuild, measured."""
    members = []
    for i, phi in enumerate(phis):
        if on_start:
            on_start(i, phi)
        m = realiser.realise(Spec.compound(point, phi), target=target ** phi, tolerance=tolerance,
                             mode="repair" if repair else "reject", timm=True)
        members.append(m)
        if on_member:
            on_member(i, m)
    return Family(model=realiser.model, base_resolution=realiser.base_resolution,
                  base_width_mult=realiser.width_mult, base_depth_mult=realiser.depth_mult,
                  num_classes=realiser.num_classes, baseline=realiser.baseline_dict(),
                  point=point, target_multiplier=target, repair=repair, tolerance=tolerance,
                  members=tuple(members))


FAMILY_ATTR = "family"


def stored_family(study) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """The one reader of the study user attribute ``family`` (written by ``gridsearch scale`` on a
    study): its members that have φ and counts, and the measured baseline if stored."""
    fam = study.user_attrs.get(FAMILY_ATTR)
    baseline = None
    if isinstance(fam, dict):
        baseline = fam.get("baseline") if isinstance(fam.get("baseline"), dict) else None
        fam = fam.get("members")
    if not isinstance(fam, list):
        return [], None
    members = [m for m in fam if isinstance(m, dict) and "phi" in m
               and any(m.get(k) is not None for k in ("flops", "params", "activations"))]
    return members, baseline
