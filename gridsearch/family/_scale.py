"""Scale frozen coefficients over φ into a family of networks, each realised and measured.

:func:`scale` realises each φ with the same rounding as the search (depth α^φ, width β^φ,
resolution r0·γ^φ), measures it with fvcore and compares it with ``target^φ``; with ``repair`` the
resolution is solved so each member lands within the budget tolerance, as in the core check.
:func:`parse_phis` reads ``-1..4``, ``0,0.5,1`` and ``0..2:0.5`` forms.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

from gridsearch.errors import ConfigError
from gridsearch.scaling._space import Point

if TYPE_CHECKING:
    from gridsearch.measure._candidate import Candidate, Realiser
    from gridsearch.measure._members import Member

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
            n = int(math.floor((hi - lo) / step + 1e-9))
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
    alpha: float
    beta: float
    gamma: float
    target_multiplier: float
    repair: bool
    tolerance: float
    members: tuple["Member", ...] = field(default_factory=tuple)

    def member(self, phi: float) -> "Member":
        for m in self.members:
            if math.isclose(m.phi, phi, abs_tol=1e-9):
                return m
        raise KeyError(phi)


def _member(c: "Candidate", baseline, seconds: float,
            timm: dict[str, Any] | None = None) -> "Member":
    """A candidate at its φ as a family :class:`~gridsearch.measure.Member`."""
    from gridsearch.measure._members import Member
    from gridsearch.scaling._strategies import Multipliers

    p, v = c.point, c.verdict
    nominal = Multipliers("compound", p.nominal_multiplier ** c.phi, p.alpha ** c.phi,
                          p.beta ** c.phi, p.gamma ** c.phi)
    return Member(nominal, c.scaled.width_mult, c.scaled.depth_mult, c.realised, v.complexity,
                  baseline, v.nominal_resolution, v.repaired, verdict=v, phi=c.phi,
                  effective_gamma=round(c.effective_gamma, 6), timm=timm,
                  seconds=round(seconds, 2))


def scale(realiser: "Realiser", point: Point, phis: list[float], repair: bool = False,
          tolerance: float | None = None,
          on_start: Callable[[int, float], None] | None = None,
          on_member: Callable[[int, "Member"], None] | None = None) -> Family:
    """Realise and measure ``point`` at every φ in ``phis``.

    Without ``repair`` each member is measured at round(r0·γ^φ) and its deviation from
    ``target^φ`` reported; with it, the resolution is solved (γ ≥ 1 kept) so the measured ratio
    lands within ``tolerance`` (the config's budget tolerance by default).
    """
    from gridsearch.models.timm_models import measure_timm

    cfg = realiser.cfg
    tol = cfg.budget.tolerance if tolerance is None else tolerance
    members = []
    for i, phi in enumerate(phis):
        if on_start:
            on_start(i, phi)
        t0 = time.perf_counter()
        cand = realiser.realise(point, phi=phi, mode="repair" if repair else "reject", tolerance=tol)
        timm = measure_timm(cand.realised, cfg.model.name, cand.verdict.resolution, realiser.counter)
        m = _member(cand, realiser.reference.complexity, time.perf_counter() - t0, timm)
        members.append(m)
        if on_member:
            on_member(i, m)
    ref = realiser.reference
    m = cfg.model
    return Family(
        model=m.name, base_resolution=m.base_resolution, base_width_mult=m.width_mult,
        base_depth_mult=m.depth_mult, num_classes=m.num_classes,
        baseline={**ref.complexity.as_dict(), "layout": ref.layout.as_dict()},
        alpha=point.alpha, beta=point.beta, gamma=point.gamma,
        target_multiplier=cfg.search.target, repair=repair, tolerance=tol,
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
