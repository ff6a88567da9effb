"""A candidate: one (α, β, γ, φ) realised as a network, measured, and checked against the budget."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from gridsearch.scaling import _budget as budget
from gridsearch.scaling import _rounding as scaling
from gridsearch.measure._complexity import Complexity, ComplexityCounter
from gridsearch.config import StudyConfig
from gridsearch.models import Baseline, Layout, Realised, get_baseline
from gridsearch.scaling._space import Point


@dataclass(frozen=True)
class Reference:
    """The baseline as measured: the denominator of every FLOPs ratio."""

    model: str
    complexity: Complexity
    layout: Layout


@dataclass(frozen=True)
class Candidate:
    point: Point
    phi: float
    scaled: scaling.Scaled          # nominal multipliers and resolution
    realised: Realised
    verdict: budget.Verdict
    base_resolution: int

    @property
    def effective_gamma(self) -> float:
        """The γ the measured resolution gives; equals γ unless rounding or repair moved it."""
        if self.phi == 0:
            return self.point.gamma
        return scaling.effective_gamma(self.verdict.resolution, self.base_resolution, self.phi)

    def attrs(self) -> dict[str, Any]:
        """Every measured figure, as stored on the trial."""
        v, c, lay = self.verdict, self.verdict.complexity, self.realised.layout
        return {
            "depth_mult": self.scaled.depth_mult,
            "width_mult": self.scaled.width_mult,
            "nominal_resolution": v.nominal_resolution,
            "resolution": v.resolution,
            "effective_gamma": round(self.effective_gamma, 6),
            "nominal_multiplier": round(self.point.nominal_multiplier ** self.phi, 6),
            "flops": c.flops,
            "flops_ratio": round(v.ratio, 6),
            "params": c.params,
            "activations": c.activations,
            "feasible": v.feasible,
            "verdict": "feasible" if v.feasible else "infeasible",
            "budget_reason": v.reason,
            "layout": lay.describe(),
            "stage_depths": list(lay.depths) if lay.depths else None,
            "stage_widths": list(lay.widths) if lay.widths else None,
        }


class Realiser:
    """Builds and measures candidates of one study config (one baseline, one counter)."""

    def __init__(self, cfg: StudyConfig, counter: ComplexityCounter | None = None) -> None:
        self.cfg = cfg
        self.counter = counter or ComplexityCounter()
        self.baseline: Baseline = get_baseline(cfg.model.name)
        m = cfg.model
        ref = self.build(m.width_mult, m.depth_mult)
        self.reference = Reference(m.name, self.counter.count(ref.module, m.base_resolution), ref.layout)

    def build(self, width_mult: float, depth_mult: float, seed: int | None = None) -> Realised:
        """The network, its initial weights drawn from ``seed`` (default: the study's training
        seed), so the same point gives the same network whatever ran before it in this process."""
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.cfg.train.seed if seed is None else seed)
            return self.baseline.build(width_mult, depth_mult, self.cfg.model.num_classes)

    def realise(self, point: Point, phi: float | None = None, mode: str | None = None,
                tolerance: float | None = None) -> Candidate:
        cfg = self.cfg
        phi = cfg.search.phi if phi is None else phi
        m = cfg.model
        scaled = scaling.at_phi(point.alpha, point.beta, point.gamma, phi, m.base_resolution,
                                  m.depth_mult, m.width_mult)
        realised = self.build(scaled.width_mult, scaled.depth_mult)
        verdict = self.check(realised, scaled.resolution, cfg.search.target ** phi,
                             cfg.budget.tolerance if tolerance is None else tolerance,
                             cfg.budget.mode if mode is None else mode, phi)
        return Candidate(point, phi, scaled, realised, verdict, m.base_resolution)

    def check(self, realised: Realised, nominal_resolution: int, target: float, tolerance: float,
              mode: str, phi: float) -> budget.Verdict:
        """Count ``realised`` at its nominal resolution against ``target`` × the baseline's
        FLOPs; in ``repair`` mode, solve its resolution (see :func:`gridsearch.scaling.check`)."""
        return budget.check(lambda r: self.counter.count(realised.module, r),
                            baseline_flops=self.reference.complexity.flops,
                            nominal_resolution=nominal_resolution,
                            base_resolution=self.cfg.model.base_resolution, target=target,
                            tolerance=tolerance, mode=mode, phi=phi)
