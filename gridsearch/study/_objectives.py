"""What a trial is scored by, from the config's ``[objectives]``: names, directions, values and
constraints.  Pure logic over a trial's recorded attributes (no Optuna, no torch)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from gridsearch.config import ObjectivesConfig

ACCURACY = "accuracy"


def names(o: ObjectivesConfig, metric: str = ACCURACY) -> list[str]:
    """The trained metric first (``[train] metric``), then what is minimised."""
    return [metric, *o.minimize]


def directions(o: ObjectivesConfig, direction: str = "maximize") -> list[str]:
    """The metric's direction (``[train] direction``), then ``minimize`` for each other one."""
    return [direction] + ["minimize"] * len(o.minimize)


def describe(o: ObjectivesConfig, metric: str = ACCURACY, direction: str = "maximize") -> str:
    return ", ".join(f"{n} ({d})"
                     for n, d in zip(names(o, metric), directions(o, direction), strict=True))


def values(o: ObjectivesConfig, accuracy: float, attrs: Mapping[str, Any]) -> list[float]:
    """The objective vector of a trained trial (its recorded attributes hold the rest); the
    first is the metric's value (``accuracy`` whatever the metric is called)."""
    out = [float(accuracy)]
    for name in o.minimize:
        v = attrs.get(name)
        if v is None:
            raise ValueError(f"objective {name!r} was not measured for this trial")
        out.append(float(v))
    return out


@dataclass(frozen=True)
class Limit:
    """One constraint as Optuna 5 takes it (feasible when ``value`` ≤ 0), with its verdict."""

    name: str
    value: float   # measured / limit − 1
    reason: str    # empty when within the limit

    @property
    def feasible(self) -> bool:
        return self.value <= 0


def limits(o: ObjectivesConfig, attrs: Mapping[str, Any]) -> list[Limit]:
    """The configured limits that ``attrs`` can already be checked against."""
    out = []
    for key, attr, unit in (("max_activations", "activations", ""),
                            ("max_latency_ms", "latency_ms", " ms")):
        limit = getattr(o, key)
        if limit and attrs.get(attr) is not None:
            v = float(attrs[attr])
            over = v > limit
            reason = f"{attr} {v:g}{unit} over {key} {limit:g}{unit}" if over else ""
            out.append(Limit(key, v / limit - 1.0, reason))
    return out
