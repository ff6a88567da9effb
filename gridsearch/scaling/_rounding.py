"""The rounding rules that realise a scaled network: pure math, no torch.

Channels round to a multiple of 8 never below 90% of the exact value (TF ``round_filters``,
torchvision ``_make_divisible``, timm ``round_channels``), repeats up with ``ceil`` per stage, the
resolution to the nearest integer.  Every baseline builder uses these (``make_divisible`` is the
one channel rounding of the project).
"""

from __future__ import annotations

import math


def make_divisible(value: float, divisor: int = 8, min_value: int | None = None) -> int:
    """Round a channel count to a multiple of ``divisor``, never below 90% of ``value``."""
    min_value = divisor if min_value is None else min_value
    rounded = max(min_value, int(value + divisor / 2) // divisor * divisor)
    if rounded < 0.9 * value:
        rounded += divisor
    return rounded


def round_repeats(repeats: int, depth_mult: float) -> int:
    """Blocks in a stage after depth scaling: ceil(repeats · d), at least 1."""
    return max(1, math.ceil(repeats * depth_mult - 1e-9))


def round_resolution(resolution: float) -> int:
    """Input resolution in pixels, rounded to the nearest integer (at least 1)."""
    return max(1, round(resolution))
