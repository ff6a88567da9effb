"""Freeze: the best feasible, finished trial of a study gives the coefficients (α, β, γ) to scale.

A grid point trained more than once (workers re-running a point) is ONE candidate whose value is
the mean of its runs, so a lucky re-run does not win; ties go to fewer measured FLOPs.
:func:`store_frozen` records the choice as the study user attribute ``frozen`` (the dashboard shows
study user attributes).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from statistics import fmean
from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState

from gridsearch.errors import GridsearchError
from gridsearch.scaling._space import Point

FROZEN_ATTR = "frozen"


@dataclass(frozen=True)
class Ranked:
    """One grid point among the feasible, finished trials (duplicates merged)."""

    point: Point
    value: float               # mean of its runs
    trials: tuple[int, ...]    # trial numbers that trained it
    flops: int
    effective_gamma: float

    @property
    def runs(self) -> int:
        return len(self.trials)


@dataclass(frozen=True)
class Frozen:
    """The frozen coefficients, and where they came from."""

    alpha: float
    beta: float
    gamma: float
    effective_gamma: float     # what the search's realised resolution gave (γ unless repaired)
    trial: int                 # the first trial that trained the point
    trials: tuple[int, ...]
    value: float
    study: str
    frozen_at: str = ""

    @property
    def point(self) -> Point:
        return Point(self.alpha, self.beta, self.gamma)

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["trials"] = list(self.trials)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Frozen":
        try:
            return cls(alpha=float(d["alpha"]), beta=float(d["beta"]), gamma=float(d["gamma"]),
                       effective_gamma=float(d.get("effective_gamma", d["gamma"])),
                       trial=int(d["trial"]), trials=tuple(int(t) for t in d.get("trials", [d["trial"]])),
                       value=float(d["value"]), study=str(d.get("study", "")),
                       frozen_at=str(d.get("frozen_at", "")))
        except (KeyError, TypeError, ValueError) as e:
            raise GridsearchError(f"the study's stored '{FROZEN_ATTR}' attribute is malformed ({e}); "
                                  "run `gridsearch freeze` again") from None


def _key(t: FrozenTrial) -> tuple[float, float, float]:
    return tuple(round(float(t.params[k]), 6) for k in ("alpha", "beta", "gamma"))  # type: ignore


def rank(study: optuna.Study) -> list[Ranked]:
    """Feasible, finished grid points, best first (mean value ↓, measured FLOPs ↑, first trial ↑)."""
    groups: dict[tuple[float, float, float], list[FrozenTrial]] = {}
    for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
        if t.value is None or not t.user_attrs.get("feasible", False):
            continue
        if not {"alpha", "beta", "gamma"} <= set(t.params):
            continue
        groups.setdefault(_key(t), []).append(t)
    ranked = []
    for (a, b, g), ts in groups.items():
        ts.sort(key=lambda t: t.number)
        first = ts[0].user_attrs
        ranked.append(Ranked(Point(a, b, g), fmean(t.value for t in ts), tuple(t.number for t in ts),
                             int(first.get("flops", 0)),
                             float(first.get("effective_gamma", g))))
    ranked.sort(key=lambda r: (-r.value, r.flops, r.trials[0]))
    return ranked


def freeze(study: optuna.Study) -> Frozen:
    """The best feasible, finished candidate; :class:`GridsearchError` when there is none."""
    ranked = rank(study)
    if not ranked:
        states: dict[str, int] = {}
        for t in study.get_trials(deepcopy=False):
            name = t.state.name
            if t.state == TrialState.PRUNED and t.user_attrs.get("verdict") == "infeasible":
                name = "INFEASIBLE"
            states[name] = states.get(name, 0) + 1
        seen = ", ".join(f"{n} {s.lower()}" for s, n in sorted(states.items())) or "no trials"
        raise GridsearchError(f"study {study.study_name!r}: nothing to freeze: no trial is both "
                              f"feasible and finished ({seen}); run or resume the search first")
    best = ranked[0]
    p = best.point
    return Frozen(p.alpha, p.beta, p.gamma, best.effective_gamma, best.trials[0], best.trials,
                  best.value, study.study_name)


def store_frozen(study: optuna.Study, frozen: Frozen) -> Frozen:
    """Record the frozen coefficients as the study user attribute ``frozen``."""
    stamped = Frozen(**{**asdict(frozen), "frozen_at": _now()})
    study.set_user_attr(FROZEN_ATTR, stamped.as_dict())
    return stamped


def stored_frozen(study: optuna.Study) -> Frozen | None:
    raw = study.user_attrs.get(FROZEN_ATTR)
    return None if raw is None else Frozen.from_dict(raw)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")
