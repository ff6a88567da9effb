"""THE selection rule: which point a study chose, and how sure that choice is.

Every output that names a chosen point — ``best``, ``status``, ``freeze``, the export's
provenance, ``report``, ``compare``'s compound point and the dashboard note — takes it from
:func:`select`:

* the candidates are the confirmation study's points once it has finished (an unfinished
  confirmation is named in the verdict and replaces nothing), else the search's;
* when a race ran on them (``[select] mode = "race"``), its decision is the selection, and its
  ties are the race's survivors other than the winner; while the race runs, its leader so far is
  the selection, marked provisional;
* otherwise the winner has the best mean (ties: fewer measured FLOPs, then the earlier trial), and
  every candidate whose results are not significantly worse than the winner's (Welch's t-test,
  p ≥ 0.05) is named a tie; with a single seed there is no noise estimate and nothing is a tie,
  which :class:`Selection` says.

``maximize=False``: smaller is better (a loss); the same rule with the order reversed.

:func:`rank` merges the records of one candidate (several seeds, re-runs by workers) into one
:class:`Ranked` with its mean, spread and n. A candidate is a network: grid points that realise
the same network (the same layout at the same resolution, as recorded) train identically, so they
are one candidate, named by the first point (its :attr:`Ranked.merged` lists the others); a seed
trained for two of them counts once.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from gridsearch import stats
from gridsearch.errors import GridsearchError
from gridsearch.scaling import Point

SHOWN_TIES = 5   # long tie lists print as a count and the first few


def network(record: Any) -> tuple[str, int] | None:
    """What identifies a record's network: its recorded layout and resolution (None when either
    was not recorded). Two points with the same network train identically seed for seed."""
    layout, res = getattr(record, "layout", None), getattr(record, "resolution", None)
    if layout is None or res is None or (isinstance(layout, dict) and layout.get("depths") is None):
        return None                 # not recorded, or a builder that cannot tell its layout
    return json.dumps(layout, sort_keys=True), int(res)


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
    merged: tuple[Point, ...] = ()    # other points that realise the same network
    bounds: tuple[float, float] | None = (0.0, 1.0)   # the values' range (an accuracy's), or None

    @cached_property
    def summary(self) -> stats.Summary:
        """Mean, std, n and 95% CI of the accuracies (computed once), the CI kept in [0, 1]."""
        return stats.summarise(self.accuracies, bounds=self.bounds)

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

    def as_dict(self) -> dict[str, Any]:
        return {**self.point.as_dict(), **self.summary.as_dict(), "study": self.study,
                "trials": list(self.trials), "flops": self.flops,
                "effective_gamma": self.effective_gamma}


def rank(records: Iterable[Any], maximize: bool = True,
         bounds: tuple[float, float] | None = (0.0, 1.0)) -> list[Ranked]:
    """Feasible, complete candidates, best first (mean ↓ — ↑ with ``maximize=False`` —, measured
    FLOPs ↑, first trial ↑); points of one network are one candidate (the module docstring).
    ``records``: trial records (:class:`gridsearch.study.TrialRecord`: state, feasible, point,
    accuracies, number, flops, effective_gamma, study, width_share, layout, resolution, seeds).
    ``bounds``: the range the values live in (an accuracy's [0, 1], where intervals are clipped);
    None for a metric of unknown range (a training function's)."""
    groups: dict[tuple[float, float, float], list] = {}
    for r in records:
        if r.state == "COMPLETE" and r.feasible and r.point is not None and r.accuracies:
            groups.setdefault(r.point.key(), []).append(r)
    for rs in groups.values():
        rs.sort(key=lambda r: r.number)
    by_network: dict[Any, list[tuple[float, float, float]]] = {}
    for k, rs in sorted(groups.items(), key=lambda kv: _first_index(kv[1])):
        net = network(rs[0])
        by_network.setdefault(net if net is not None else k, []).append(k)
    out = []
    for keys in by_network.values():
        rs = list(groups[keys[0]])
        seen = {s for r in rs for s in getattr(r, "seeds", ()) or ()}
        for other in keys[1:]:        # the same network: a seed already trained counts once
            for r in groups[other]:
                seeds = set(getattr(r, "seeds", ()) or ())
                if seeds and not seeds & seen:
                    rs.append(r)
                    seen |= seeds
        first_record = rs[0]
        k = keys[0]
        eff = first_record.effective_gamma if first_record.effective_gamma is not None else k[2]
        out.append(Ranked(Point(*k), tuple(a for r in rs for a in r.accuracies),
                          tuple(r.number for r in rs), int(first_record.flops or 0), float(eff),
                          first_record.study, first_record.width_share,
                          tuple(Point(*o) for o in keys[1:]), bounds))
    sign = -1.0 if maximize else 1.0
    out.sort(key=lambda c: (sign * c.value, c.flops, c.trials[0]))
    return out


def _first_index(rs: list) -> tuple:
    """The order in which points claim a network: their plan index, else their first trial."""
    idx = [r.point_index for r in rs if getattr(r, "point_index", None) is not None]
    return (min(idx) if idx else float("inf"), rs[0].number)


@dataclass(frozen=True)
class Selection:
    """The chosen point, how sure the choice is, and what it rests on."""

    source: str                     # "search" or "confirmation"
    study: str                      # the study whose trials were ranked
    ranked: list[Ranked]            # best first (the winner first)
    ties: list[Ranked] = field(default_factory=list)   # not significantly worse than the winner
    test: stats.Test | None = None  # winner vs runner-up
    race: Any = None                # the race's decision, when a race chose
    maximize: bool = True
    note: str = ""                  # e.g. a confirmation still running (not used yet)

    @property
    def provisional(self) -> bool:
        """A race is still running: the winner is its leader so far."""
        return self.race is not None and not self.race.done

    @property
    def winner(self) -> Ranked:
        return self.ranked[0]

    @property
    def runner_up(self) -> Ranked | None:
        return self.ranked[1] if len(self.ranked) > 1 else None

    @property
    def margin(self) -> float | None:
        """How far the winner is ahead of the runner-up (positive: better, in either direction)."""
        if self.runner_up is None:
            return None
        gap = self.winner.value - self.runner_up.value
        return gap if self.maximize else -gap

    def verdict(self) -> str:
        """One plain sentence on how sure the winner is."""
        text = self._verdict()
        return f"{text}; {self.note}" if self.note else text

    def _verdict(self) -> str:
        if self.race is not None:
            head = "provisional, the race is still running: " if self.provisional else ""
            return head + self.race.text()
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
        shown = "; ".join(t.point.label() for t in self.ties[:most])
        more = f" and {len(self.ties) - most} more" if len(self.ties) > most else ""
        return f"{len(self.ties)}: {shown}{more}"

    def as_dict(self) -> dict[str, Any]:
        """The selection as every output stores it."""
        w = self.winner
        return {"source": self.source, "study": self.study, "winner": w.as_dict(),
                "provisional": self.provisional, "maximize": self.maximize,
                "trial": f"{w.study}#{w.trials[0]}", "margin": self.margin,
                "p_value": self.test.p if self.test else None,
                "ties": [t.point.as_dict() for t in self.ties], "verdict": self.verdict(),
                "race": self.race.as_dict() if self.race is not None else None,
                "ranked": [c.as_dict() for c in self.ranked]}


def select(search: Sequence[Any], study_name: str,
           confirmation: Sequence[Any] | None = None, confirm_name: str = "",
           race: Any = None, confirm_race: Any = None, maximize: bool = True,
           confirm_finished: bool = True,
           bounds: tuple[float, float] | None = (0.0, 1.0)) -> Selection:
    """The selection rule (see the module docstring).  ``race`` / ``confirm_race``: the decision
    of a race over the search's / the confirmation's points, when one ran (running or done).
    ``confirm_finished``: whether the confirmation has run every unit it will run (False: it is
    named, not used). :class:`GridsearchError` when nothing is feasible and finished."""
    source, name, ranked, decision = "search", study_name, rank(search, maximize, bounds), race
    note = ""
    if confirmation:
        confirmed = rank(confirmation, maximize, bounds)
        if confirmed and (confirm_finished or not ranked):
            source, name, ranked, decision = "confirmation", confirm_name, confirmed, confirm_race
            if not confirm_finished:
                note = f"the confirmation {confirm_name!r} is unfinished (its results so far)"
        elif confirmed:
            note = (f"the confirmation {confirm_name!r} is unfinished: its results so far are not "
                    f"used (`gridsearch confirm` shows them)")
    if not ranked:
        counts: dict[str, int] = {}
        for r in search:
            counts[r.state] = counts.get(r.state, 0) + 1
        seen = ", ".join(f"{n} {s.lower()}" for s, n in sorted(counts.items())) or "no trials"
        raise GridsearchError(f"study {study_name!r}: no trial is both feasible and finished "
                              f"({seen}); run or resume the search first")
    by_key = {c.point.key(): c for c in ranked}
    for c in ranked:
        for p in c.merged:
            by_key.setdefault(p.key(), c)
    lead = None
    if decision is not None:
        leader = getattr(decision, "leader", None) if decision.done or \
            getattr(decision, "seeds", 1) else None
        lead = by_key.get(leader.key()) if leader is not None else None
        if lead is not None:   # the race's winner (or leader) first, then the rest as they rank
            ranked = [lead] + [c for c in ranked if c is not lead]
    best = ranked[0]
    tests = {i: stats.welch(best.accuracies, c.accuracies) for i, c in enumerate(ranked[1:], 1)}
    if lead is not None:       # one notion of ties: the race's survivors other than the winner
        tied = {id(by_key[p.key()]) for p in decision.ties if p.key() in by_key}
        ties = [c for c in ranked[1:] if id(c) in tied]
    else:
        ties = [ranked[i] for i, t in tests.items() if t is not None and not t.significant]
    return Selection(source, name, ranked, ties, tests.get(1), decision, maximize, note)
