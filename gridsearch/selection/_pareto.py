"""Pareto fronts: pure math over objective vectors, no Optuna, no I/O."""

from __future__ import annotations

from collections.abc import Sequence

DIRECTIONS = ("maximize", "minimize")


def dominates(a: Sequence[float], b: Sequence[float], directions: Sequence[str]) -> bool:
    """``a`` is at least as good as ``b`` in every objective and better in one."""
    if not len(a) == len(b) == len(directions):
        raise ValueError("objective vectors and directions must have the same length")
    better = False
    for x, y, d in zip(a, b, directions, strict=True):
        if d not in DIRECTIONS:
            raise ValueError(f"direction must be one of {DIRECTIONS}, got {d!r}")
        if d == "maximize":
            x, y = -x, -y
        if x > y:
            return False
        better = better or x < y
    return better


def front(points: Sequence[Sequence[float]], directions: Sequence[str]) -> list[int]:
    """Indices of the non-dominated ``points``, in their order (ties all stay)."""
    return [i for i, p in enumerate(points)
            if not any(dominates(q, p, directions) for j, q in enumerate(points) if j != i)]
