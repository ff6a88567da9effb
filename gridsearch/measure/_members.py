"""Members: a baseline scaled by multipliers — a φ of frozen (α, β, γ) or a named strategy at a FLOPs
multiplier s (see :mod:`gridsearch.scaling._strategies`) — realised through the search's
:class:`~gridsearch.measure.Realiser`, measured with fvcore, optionally timed.

The nominal multipliers are relative to the baseline's own (``base_width``, ``base_depth``,
``base_resolution``); realised networks round (channels to multiples of 8, repeats up, the resolution
to an integer), so the *measured* ratios are what is reported.  With ``repair`` the resolution of a
member that scales the resolution at all is solved, as the budget check does, so its measured FLOPs
ratio lands within ``tolerance`` of s; members that keep the resolution fixed (depth or width only)
are never repaired (that would make them something else) and report what they measure.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable

import torch

from gridsearch.errors import ModelError
from gridsearch.measure import _latency as latency
from gridsearch.measure._candidate import Realiser
from gridsearch.measure._complexity import Complexity, ComplexityCounter
from gridsearch.models import Realised
from gridsearch.scaling import _strategies as strategies
from gridsearch.scaling._budget import Verdict


@dataclass(frozen=True)
class Member:
    """One scaled network, realised and measured: a φ of frozen (α, β, γ) (``scale``/``export``)
    or a named strategy at a FLOPs multiplier s (``scale --strategy``)."""

    multipliers: strategies.Multipliers   # nominal (d, w, r) relative to the baseline
    width_mult: float                     # absolute multipliers handed to the builder
    depth_mult: float
    realised: Realised
    complexity: Complexity                # at the member's (possibly repaired) resolution
    baseline: Complexity
    nominal_resolution: int
    repaired: bool = False
    latency: latency.Latency | None = None
    verdict: Verdict | None = None        # the budget check of a member with a FLOPs target
    phi: float | None = None              # a family member's φ
    effective_gamma: float | None = None  # the γ its resolution gives, (r / r0)^(1/φ)
    timm: dict[str, Any] | None = None    # timm's rebuild of it, measured (EfficientNet)
    seconds: float = 0.0                  # wall time to build and count it

    @property
    def resolution(self) -> int:
        return self.complexity.resolution

    def ratio(self, metric: str) -> float:
        """Measured ``metric`` (flops, params, activations) over the baseline's."""
        return getattr(self.complexity, metric) / getattr(self.baseline, metric)

    # The figures a family table and the export show.
    flops = property(lambda self: self.complexity.flops)
    params = property(lambda self: self.complexity.params)
    activations = property(lambda self: self.complexity.activations)
    flops_ratio = property(lambda self: round(self.ratio("flops"), 6))
    layout = property(lambda self: self.realised.layout.as_dict())
    target = property(lambda self: round(self.verdict.target if self.verdict else
                                         self.multipliers.s, 6))
    deviation = property(lambda self: round(self.ratio("flops") / self.target - 1.0, 6))
    within_tolerance = property(lambda self: self.verdict.feasible if self.verdict else None)
    note = property(lambda self: self.verdict.reason if self.verdict else "")

    def family_dict(self) -> dict[str, Any]:
        """A family member as the export writes it (schema gridsearch.family/v1)."""
        return {"phi": self.phi, "depth_mult": self.depth_mult, "width_mult": self.width_mult,
                "nominal_resolution": self.nominal_resolution, "resolution": self.resolution,
                "effective_gamma": self.effective_gamma, "flops": self.flops,
                "flops_ratio": self.flops_ratio, "target": self.target,
                "deviation": self.deviation, "within_tolerance": self.within_tolerance,
                "repaired": self.repaired, "params": self.params,
                "activations": self.activations, "layout": self.layout,
                "torchvision": self.realised.torchvision, "timm": self.timm, "note": self.note}

    def as_dict(self) -> dict[str, Any]:
        c = self.complexity
        out = {**self.multipliers.as_dict(), "width_mult": self.width_mult,
               "depth_mult": self.depth_mult, "nominal_resolution": self.nominal_resolution,
               "resolution": self.resolution, "repaired": self.repaired,
               "flops": c.flops, "params": c.params, "activations": c.activations,
               "flops_ratio": round(self.ratio("flops"), 4),
               "params_ratio": round(self.ratio("params"), 4),
               "activations_ratio": round(self.ratio("activations"), 4),
               "layout": self.realised.layout.as_dict(),
               "torchvision": self.realised.torchvision}
        if self.latency is not None:
            out.update(self.latency.attrs())
        return out


class Scaler:
    """Realises strategy members of one baseline (one counter, one measured reference).

    What a ``scale`` command calls::

        scaler = Scaler("efficientnet_b0", base_resolution=224)
        member = scaler.scale("fast", 4, a=0.8)     # realised and counted with fvcore
        member = scaler.time(member, "cpu")         # + inference latency and train-step time
        print(member.as_dict())                     # JSON-ready: multipliers, counts, ratios, layout

    Bad input raises :class:`~gridsearch.errors.GridsearchError` subclasses (an unknown model or
    strategy, a non-positive multiplier), which the CLI prints as one line with exit status 2.
    """

    def __init__(self, model: str, base_resolution: int = 224, num_classes: int = 1000,
                 base_width: float = 1.0, base_depth: float = 1.0,
                 counter: ComplexityCounter | None = None) -> None:
        from gridsearch.config import ModelConfig, StudyConfig

        self.model, self.base_resolution, self.num_classes = model, base_resolution, num_classes
        self.base_width, self.base_depth = base_width, base_depth
        if not (base_width > 0 and base_depth > 0):
            raise ModelError(f"width and depth multipliers must be positive, got {base_width}, "
                             f"{base_depth}")
        # The search's realiser: the same builder, seeding and budget check as every candidate.
        self.realiser = Realiser(StudyConfig(name="scale", model=ModelConfig(
            model, base_resolution, num_classes, base_width, base_depth)), counter)
        self.counter = self.realiser.counter
        self.reference = self.realiser.reference.complexity

    def member(self, m: strategies.Multipliers, repair: bool = False,
               tolerance: float = 0.05) -> Member:
        width, depth = self.base_width * m.width, self.base_depth * m.depth
        realised = self.realiser.build(width, depth)
        nominal = strategies.resolution_for(self.base_resolution, m)
        scales_resolution = abs(m.resolution - 1.0) > 1e-9
        if repair and scales_resolution:
            complexity = self.realiser.check(realised, nominal, m.s, tolerance, "repair",
                                             1.0 if m.s >= 1 else -1.0).complexity
        else:
            complexity = self.counter.count(realised.module, nominal)
        return Member(m, width, depth, realised, complexity, self.reference, nominal,
                      repaired=complexity.resolution != nominal)

    def scale(self, strategy: str, s: float, a: float = strategies.DEFAULT_WIDTH_SHARE,
              coefficients: tuple[float, float, float] | None = None, repair: bool = False,
              tolerance: float = 0.05) -> Member:
        return self.member(strategies.multipliers(strategy, s, a, coefficients), repair, tolerance)

    def compare(self, s: float, names: Iterable[str] = strategies.STANDARD,
                a: float = strategies.DEFAULT_WIDTH_SHARE,
                coefficients: tuple[float, float, float] | None = None, repair: bool = False,
                tolerance: float = 0.05) -> list[Member]:
        return [self.scale(n, s, a, coefficients, repair, tolerance) for n in names]

    def time(self, member: Member, device: torch.device | str = "cpu", **kwargs) -> Member:
        """The member with its measured latency (see :func:`latency.measure`)."""
        lat = latency.measure(member.realised.module, member.resolution, device,
                              num_classes=self.num_classes, **kwargs)
        return Member(**{**member.__dict__, "latency": lat})

    def time_baseline(self, device: torch.device | str = "cpu", **kwargs) -> latency.Latency:
        reference = self.realiser.build(self.base_width, self.base_depth)
        return latency.measure(reference.module, self.base_resolution, device,
                               num_classes=self.num_classes, **kwargs)
