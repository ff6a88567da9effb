"""Compound scaling and the rounding rules that realise it: pure math, no torch.

Depth d = α^φ, width w = β^φ, resolution r = r0·γ^φ.  Realised networks round: channels to a
multiple of 8 never below 90% of the exact value (TF ``round_filters``, torchvision
``_make_divisible``), repeats up with ``ceil`` per stage, the resolution to the nearest integer.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


def make_divisible(value: float, divisor: int = 8, min_value: int | None = None) -> int:
    """Round a channel count to a multiple of ``divisor``, never below 90% of ``value``."""
    min_value = divisor if min_value is None else min_value
    rounded = max(min_value, int(value + divisor / 2) // divisor * divisor)
    if rounded < 0.9 * value:
        rounded += divisor
    return rounded


def round_repeats(repeats: int, depth_mult: float) -> int:
    """Blocks in a stage after depth scaling: ceil(repeats · d), at least 1."""
    return max(1, int(math.ceil(repeats * depth_mult - 1e-9)))


def round_resolution(resolution: float) -> int:
    """Input resolution in pixels, rounded to the nearest integer (at least 1)."""
    return max(1, int(round(resolution)))


@dataclass(frozen=True)
class Scaled:
    """Multipliers of one family member, before the network rounds them."""

    phi: float
    depth_mult: float
    width_mult: float
    resolution: int


def at_phi(alpha: float, beta: float, gamma: float, phi: float, base_resolution: int,
           base_depth: float = 1.0, base_width: float = 1.0) -> Scaled:
    """The family member at φ of frozen (α, β, γ): d = base_depth·α^φ, w = base_width·β^φ,
    r = round(r0·γ^φ), before the network rounds its channels and repeats."""
    return Scaled(
        phi=phi,
        depth_mult=base_depth * alpha**phi,
        width_mult=base_width * beta**phi,
        resolution=round_resolution(base_resolution * gamma**phi),
    )


def effective_gamma(resolution: int, base_resolution: int, phi: float = 1.0) -> float:
    """The γ a realised resolution actually gives: (r / r0)^(1/φ)."""
    if phi == 0:
        return 1.0
    return (resolution / base_resolution) ** (1.0 / phi)
