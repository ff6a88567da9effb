"""The one realiser: a :class:`~gridsearch.scaling.Spec` built as a real network and measured.

:class:`Realiser` holds one baseline (a model name and its own multipliers, resolution and class
count) and one fvcore counter.  It builds a spec's network with seeded initial weights, counts it
at its resolution, checks it against a FLOPs target when asked (rejecting it, or repairing its
resolution: :mod:`gridsearch.measure._budget`), solves a strategy to a measured FLOPs target, and
times it.  What it returns is a :class:`Measured`: the spec, the network and every figure, with
:meth:`Measured.as_dict` the one serialisation that trials, the family export, ``compare`` and
``scale --strategy`` all store.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import torch

from gridsearch.errors import ModelError
from gridsearch.measure import _budget as budget, _latency as latency
from gridsearch.measure._complexity import Complexity, ComplexityCounter
from gridsearch.models import Baseline, Layout, Realised, get_baseline, measure_timm
from gridsearch.scaling import DEFAULT_WIDTH_SHARE, STANDARD, Spec, Strategy, named, solve

DIGITS = 6


@dataclass(frozen=True)
class Measured:
    """A spec realised: the network, its measured counts and, when it had a FLOPs target, the
    budget verdict (within the tolerance, repaired, why not)."""

    spec: Spec
    realised: Realised
    depth_mult: float                    # absolute multipliers handed to the builder
    width_mult: float
    base_resolution: int
    complexity: Complexity               # at the (possibly repaired) resolution
    baseline: Complexity                 # the baseline measured the same way
    verdict: budget.Verdict | None = None
    timm: dict[str, Any] | None = None   # timm's rebuild of it, measured (where timm has it)
    latency: latency.Latency | None = None
    seconds: float = 0.0                 # wall time to build and count it

    @property
    def nominal_resolution(self) -> int:
        return self.spec.pixels(self.base_resolution)

    @property
    def resolution(self) -> int:
        return self.complexity.resolution

    @property
    def repaired(self) -> bool:
        return self.resolution != self.nominal_resolution

    @property
    def effective_gamma(self) -> float | None:
        return self.spec.effective_gamma(self.resolution, self.base_resolution)

    def ratio(self, metric: str) -> float:
        """Measured ``metric`` (flops, params, activations) over the baseline's."""
        return getattr(self.complexity, metric) / getattr(self.baseline, metric)

    @property
    def within_tolerance(self) -> bool | None:
        """The budget verdict; None when the spec had no FLOPs target."""
        return None if self.verdict is None else self.verdict.feasible

    @property
    def flops(self) -> int:
        return self.complexity.flops

    @property
    def params(self) -> int:
        return self.complexity.params

    @property
    def activations(self) -> int:
        return self.complexity.activations

    @property
    def layout(self) -> Layout:
        return self.realised.layout

    def as_dict(self) -> dict[str, Any]:
        """Every figure, flat and JSON-ready, rounded once: the spec (origin, d, w, r, s), the
        builder's multipliers, resolutions, counts and ratios, the budget verdict, the layout, the
        rebuild recipes and, if timed, the latency."""
        c, v = self.complexity, self.verdict
        out = {**self.spec.as_dict(),
               "depth_mult": round(self.depth_mult, DIGITS),
               "width_mult": round(self.width_mult, DIGITS),
               "nominal_resolution": self.nominal_resolution, "resolution": self.resolution,
               "repaired": self.repaired, "effective_gamma": self.effective_gamma,
               "flops": c.flops, "params": c.params, "activations": c.activations,
               **{f"{k}_ratio": round(self.ratio(k), DIGITS)
                  for k in ("flops", "params", "activations")},
               "target": None if v is None else round(v.target, DIGITS),
               "deviation": None if v is None else round(v.deviation, DIGITS),
               "within_tolerance": self.within_tolerance,
               "budget_reason": "" if v is None else v.reason,
               "layout": self.layout.as_dict(),
               "torchvision": self.realised.torchvision, "timm": self.timm}
        if self.latency is not None:
            out.update(self.latency.attrs())
        return out


class Realiser:
    """Builds and measures networks of one baseline (one counter, one measured reference).

    ::

        realiser = Realiser("efficientnet_b0", base_resolution=224)
        m = realiser.realise(Spec.compound(Point(1.2, 1.1, 1.15)), target=2.0, mode="repair")
        m = realiser.strategy("fast", 4, a=0.8)          # a named strategy at s = 4
        m = realiser.time(m, "cpu")                      # + inference latency and train-step time
        print(m.as_dict())

    Bad input raises :class:`~gridsearch.errors.GridsearchError` subclasses (an unknown model or
    strategy, a non-positive multiplier): one line, exit status 2 in the CLI.
    """

    def __init__(self, model: str = "efficientnet_b0", base_resolution: int = 224,
                 num_classes: int = 1000, width_mult: float = 1.0, depth_mult: float = 1.0, *,
                 seed: int = 0, counter: ComplexityCounter | None = None,
                 folders: tuple[Path | None, ...] = ()) -> None:
        if not (width_mult > 0 and depth_mult > 0):
            raise ModelError(f"width and depth multipliers must be positive, got {width_mult}, "
                             f"{depth_mult}")
        if base_resolution < 1 or num_classes < 1:
            raise ModelError("the base resolution and the class count must be positive")
        self.model, self.base_resolution, self.num_classes = model, base_resolution, num_classes
        self.width_mult, self.depth_mult, self.seed = width_mult, depth_mult, seed
        self.counter = counter or ComplexityCounter()
        self.baseline: Baseline = get_baseline(model, folders)
        reference = self._build(width_mult, depth_mult, seed)
        self.reference = self.counter.count(reference.module, base_resolution)
        self.reference_layout = reference.layout

    @classmethod
    def of(cls, model_cfg, seed: int = 0, counter: ComplexityCounter | None = None,
           folder: Path | None = None) -> Realiser:
        """The realiser of a config's ``[model]`` section (a :class:`gridsearch.config.ModelConfig`);
        ``folder``: the config's, where a ``module:function`` model is looked for first."""
        m = model_cfg
        return cls(m.name, m.base_resolution, m.num_classes, m.width_mult, m.depth_mult,
                   seed=seed, counter=counter, folders=(folder,))

    def baseline_dict(self) -> dict[str, Any]:
        """The measured baseline, as stored on a study and exported."""
        return {"model": self.model, **self.reference.as_dict(),
                "layout": self.reference_layout.as_dict()}

    # -- building ---------------------------------------------------------------------------
    def _build(self, width_mult: float, depth_mult: float, seed: int | None) -> Realised:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.seed if seed is None else seed)
            return self.baseline.build(width_mult, depth_mult, self.num_classes)

    def build(self, spec: Spec, seed: int | None = None) -> Realised:
        """The spec's network, its initial weights drawn from ``seed`` (default: the realiser's),
        so the same spec gives the same network whatever ran before it in this process."""
        return self._build(self.width_mult * spec.width, self.depth_mult * spec.depth, seed)

    # -- measuring --------------------------------------------------------------------------
    def realise(self, spec: Spec, *, target: float | None = None, tolerance: float = 0.05,
                mode: str = "reject", timm: bool = False, seed: int | None = None) -> Measured:
        """Build and count ``spec``.  With a FLOPs ``target`` (a multiple of the baseline's), check
        the measured ratio against it: ``reject`` records the verdict, ``repair`` solves the
        resolution (α and β kept: an effective γ) so the ratio lands within ``tolerance``; a
        strategy that does not scale the resolution (depth or width only) is never repaired, which
        would make it another strategy.  ``timm``: also build and measure timm's rebuild."""
        t0 = time.perf_counter()
        realised = self.build(spec, seed)
        nominal = spec.pixels(self.base_resolution)
        verdict = None
        if target is not None:
            verdict = budget.check(lambda r: self.counter.count(realised.module, r),
                                   baseline_flops=self.reference.flops,
                                   nominal_resolution=nominal,
                                   base_resolution=self.base_resolution, target=target,
                                   tolerance=tolerance,
                                   mode=mode if spec.point is not None or spec.scales_resolution
                                   else "reject",
                                   grows=spec.grows)
            complexity = verdict.complexity
        else:
            complexity = self.counter.count(realised.module, nominal)
        timm_entry = (measure_timm(realised, self.model, complexity.resolution, self.counter)
                      if timm else realised.timm)
        return Measured(spec, realised, depth_mult=self.depth_mult * spec.depth,
                        width_mult=self.width_mult * spec.width,
                        base_resolution=self.base_resolution, complexity=complexity,
                        baseline=self.reference, verdict=verdict, timm=timm_entry,
                        seconds=round(time.perf_counter() - t0, 2))

    def strategy(self, name: str, s: float, a: float = DEFAULT_WIDTH_SHARE,
                 coefficients: tuple[float, float, float] | None = None, repair: bool = False,
                 tolerance: float = 0.05) -> Measured:
        """A named strategy at FLOPs multiplier ``s``; with ``repair`` its resolution is solved so
        the measured ratio lands within ``tolerance`` of s."""
        spec = named(name, a, coefficients).spec(s)
        return self.realise(spec, target=s if repair else None, tolerance=tolerance,
                            mode="repair")

    def compare(self, s: float, names: Iterable[str] = STANDARD, a: float = DEFAULT_WIDTH_SHARE,
                coefficients: tuple[float, float, float] | None = None, repair: bool = False,
                tolerance: float = 0.05) -> list[Measured]:
        return [self.strategy(n, s, a, coefficients, repair, tolerance) for n in names]

    def match(self, strategy: Strategy, target: float, tolerance: float) -> Measured:
        """``strategy`` at the s whose *measured* FLOPs ratio is closest to ``target`` (the
        FLOPs-matched comparison); its verdict says whether rounding allowed the tolerance."""
        sol = solve(strategy, lambda sp: self.realise(sp).ratio("flops"), target, tolerance,
                    self.base_resolution)
        m = self.realise(sol.spec)
        reason = "" if sol.within else (f"closest measured ratio {sol.ratio:.3f} vs target "
                                        f"{target:.3f} (more than {tolerance:.0%} off)")
        return replace(m, verdict=budget.Verdict(sol.within, m.complexity, sol.ratio, target,
                                                 reason))

    def time(self, m: Measured, device: torch.device | str = "cpu", **kwargs) -> Measured:
        """``m`` with its measured latency (see :func:`gridsearch.measure.measure_latency`)."""
        lat = latency.measure_latency(m.realised.module, m.resolution, device,
                              num_classes=self.num_classes, **kwargs)
        return replace(m, latency=lat)

    def time_baseline(self, device: torch.device | str = "cpu", **kwargs) -> latency.Latency:
        reference = self._build(self.width_mult, self.depth_mult, None)
        return latency.measure_latency(reference.module, self.base_resolution, device,
                               num_classes=self.num_classes, **kwargs)
