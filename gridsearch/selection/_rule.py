"""THE selection rule: which point a study chose, and how sure that choice is.

Every output that names a chosen point — ``best``, ``status``, ``freeze``, the export's
provenance, ``report``, ``compare``'s compound point and the dashboard note — takes it from
:func:`select`:

* the candidates are the confirmation study's points when it has results, else the search's;
* when a race decided on them (``[select] mode = "race"``), its decision is the selection;
* otherwise the winner has the best mean accuracy (ties: fewer measured FLOPs, then the earlier
  trial), and every candidate whose accuracies are not significantly lower than the winner's
  (Welch's t-test, p ≥ 0.05) is named a tie; with a single seed there is no noise estimate and
  nothing is a tie, which :class:`Selection` says.

:func:`rank` merges the records of one point (several seeds, re-runs by workers) into one
:class:`Ranked` candidate with its mean, spread and n.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any, Iterable, Sequence

from gridsearch import stats
from gridsearch.errors import GridsearchError
from gridsearch.scaling import Point

if TYPE_CHECKING:
    from gridsearch.study import TrialRecord

SHOWN_TIES = 5   # long tie lists print as a count and the first few


def key(point: Point) -> tuple[float, float, float]:
    """How trials of one point are matched (rounded against float noise)."""
    return (round(point.alpha, 6), round(point.beta, 6), round(point.gamma, 6))


@dataclass(frozen=True)
class Ranked:
    """One point among the feasible, finished trials of one study, every seed and re-run merged."""

    point: Point
    accuracies: tuple[float, ...]
    trials: tuple[int, ...]           # trial numbers in ``study``
    flops: int
    effective_gamma: float
    study: str = ""
    width_share: float | None = None

    @cached_property
    def summary(self) -> stats.Summary:
        """Mean, std, n and 95% CI of the accuracies (computed once), the CI kept in [0, 1]."""
        return stats.summarise(self.accuracies, bounds=(0.0, 1.0))

    @property
    def value(self) -> float:
        return self.summary.mean

    @property
    def runs(self) -> int:
        return len(self.accuracies)

    @property
    def refs(self) -> list[str]:
        """The trials as ``study#number``: which study they belong to is part of the name."""
        return [f"{self.study}#{n}" for n in self.trials]

    def coefficients(self) -> str:
        p = self.point
        return f"α={p.alpha:g} β={p.beta:g} γ={p.gamma:g}"

    def as_dict(self) -> dict[str, Any]:
        return {**self.point.as_dict(), **self.summary.as_dict(), "study": self.study,
                "trials": list(self.trials), "flops": self.flops,
                "effective_gamma": self.effective_gamma}


def rank(records: Iterable["TrialRecord"]) -> list[Ranked]:
    """Feasible, complete points, best first (mean accuracy ↓, measured FLOPs ↑, first trial ↑)."""
    groups: dict[tuple[float, float, float], list] = {}
    for r in records:
        if r.state == "COMPLETE" and r.feasible and r.point is not None and r.accuracies:
            groups.setdefault(key(r.point), []).append(r)
    out = []
    for k, rs in groups.items():
        rs.sort(key=lambda r: r.number)
        first = rs[0]
        eff = first.effective_gamma if first.effective_gamma is not None else k[2]
        out.append(Ranked(Point(*k), tuple(a for r in rs for a in r.accuracies),
                          tuple(r.number for r in rs), int(first.flops or 0), float(eff),
                          first.study, first.width_share))
    out.sort(key=lambda c: (-c.value, c.flops, c.trials[0]))
    return out


@dataclass(frozen=True)
class Selection:
    """The chosen point, how sure the choice is, and what it rests on."""

    source: str                     # "search" or "confirmation"
    study: str                      # the study whose trials were ranked
    ranked: list[Ranked]            # best first (the winner first)
    ties: list[Ranked] = field(default_factory=list)   # not significantly worse than the winner
    test: stats.Test | None = None  # winner vs runner-up
    race: Any = None                # the race's decision, when a race chose

    @property
    def winner(self) -> Ranked:
        return self.ranked[0]

    @property
    def runner_up(self) -> Ranked | None:
        return self.ranked[1] if len(self.ranked) > 1 else None

    @property
    def margin(self) -> float | None:
        return None if self.runner_up is None else self.winner.value - self.runner_up.value

    def verdict(self) -> str:
        """One plain sentence on how sure the winner is."""
        if self.race is not None:
            return self.race.text()
        if self.runner_up is None:
            return "only one feasible point: nothing to compare it with"
        if self.test is None:
            return ("no noise estimate (one seed per point): set [train] seeds ≥ 2 or run "
                    "`gridsearch confirm` before trusting the margin")
        if not self.ties:
            return (f"the winner is significantly better than the runner-up "
                    f"(Welch p = {self.test.p:.3g})")
        n = len(self.ties) + 1
        return (f"the top {n} are indistinguishable at this noise (runner-up p = {self.test.p:.3g}):"
                " raise seeds or fidelity")

    def ties_text(self, most: int = SHOWN_TIES) -> str:
        """The ties in one short line: a count and the first few."""
        if not self.ties:
            return "none"
        shown = "; ".join(t.coefficients() for t in self.ties[:most])
        more = f" and {len(self.ties) - most} more" if len(self.ties) > most else ""
        return f"{len(self.ties)}: {shown}{more}"

    def as_dict(self) -> dict[str, Any]:
        """The selection as every output stores it."""
        w = self.winner
        return {"source": self.source, "study": self.study, "winner": w.as_dict(),
                "trial": f"{w.study}#{w.trials[0]}", "margin": self.margin,
                "p_value": self.test.p if self.test else None,
                "ties": [t.point.as_dict() for t in self.ties], "verdict": self.verdict(),
                "race": self.race.as_dict() if self.race is not None else None,
                "ranked": [c.as_dict() for c in self.ranked]}


def select(search: Sequence["TrialRecord"], study_name: str,
           confirmation: Sequence["TrialRecord"] | None = None, confirm_name: str = "",
           race: Any = None, confirm_race: Any = None) -> Selection:
    """The selection rule (see the module docstring).  ``race`` / ``confirm_race``: the decision
    of a race over the search's / the confirmation's points, when one ran.
    :class:`GridsearchError` when nothing is feasible and finished."""
    source, name, ranked, decision = "search", study_name, rank(search), race
    if confirmation:
        confirmed = rank(confirmation)
        if confirmed:
            source, name, ranked, decision = "confirmation", confirm_name, confirmed, confirm_race
    if not ranked:
        counts: dict[str, int] = {}
        for r in search:
            counts[r.state] = counts.get(r.state, 0) + 1
        seen = ", ".join(f"{n} {s.lower()}" for s, n in sorted(counts.items())) or "no trials"
        raise GridsearchError(f"study {study_name!r}: no trial is both feasible and finished "
                              f"({seen}); run or resume the search first")
    if decision is not None:
        by_key = {key(c.point): c for c in ranked}
        win = by_key.get(key(decision.winner))
        if win is not None:   # the race's winner first, then the rest as they rank
            ranked = [win] + [c for c in ranked if c is not win]
    best = ranked[0]
    tests = {i: stats.welch(best.accuracies, c.accuracies) for i, c in enumerate(ranked[1:], 1)}
    ties = [ranked[i] for i, t in tests.items() if t is not None and not t.significant]
    if decision is not None and getattr(decision, "decided", False):
        ties = []   # the race decided: the others are out (or within δ, which does not matter)
    return Selection(source, name, ranked, ties, tests.get(1), decision)
