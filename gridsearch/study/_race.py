"""A race over a study's points (``[select] mode = "race"``): its plan, and its decision.

The race is :class:`gridsearch.selection.Race` — Kim & Nelson's fully sequential procedure (KN),
with seed r the same seed for every point — driven by the study's records:

* the first stage is every point × seeds 0 … n0−1 (a later seed of a point once its first has
  finished; an infeasible point is recorded once and never enters the race; a point whose first
  seed realised the same network as an earlier point is merged into it, and one whose
  first-stage unit failed leaves the race, its other first-stage seeds not trained);
* once every first-stage unit has finished, the race is replayed from the records (the candidates
  are the points with all n0 results) and screens one seed round at a time, until one point is
  left (the best with probability ≥ the confidence when it leads by δ), no surviving pair can
  separate any more, or ``max_seeds`` is reached (undecided: the cheapest survivor by measured
  FLOPs; a point without a FLOPs figure counts as the most expensive);
* a later seed that ends infeasible or with an error takes its point out of the race, with the
  reason, when that seed's round is screened (``--retry-failed`` trains it again, and the race
  is replayed with it);
* workers never wait at a round's end: after the units the race needs now, the plan opens the
  survivors' later seeds (in the first stage: every feasible point's), earliest seed first.
  Results are still consumed in seed order per point ("vector filling", Luo, Hong, Nelson & Wu
  2015), so the decision is the sequential race's on the same results; a unit of a point
  eliminated while it trains finishes, and its result is kept and unused.

What opens depends on the records only, so every worker and every resume decides the same, and a
unit is still claimed and trained exactly once.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from gridsearch.scaling import Point
from gridsearch.study._plan import DONE, FixedPlan, Item, Opening
from gridsearch.study._record import TrialRecord

if TYPE_CHECKING:
    from gridsearch.config import SelectConfig
    from gridsearch.selection import Decision, Forecast, Race


def name(p: Any) -> str:
    """How a raced candidate reads: a point's coefficients, else its label."""
    return p.label() if isinstance(p, Point) else str(p)


def _as_json(p: Any) -> Any:
    return p.as_dict() if isinstance(p, Point) else p


@dataclass(frozen=True)
class RaceOutcome:
    """A race's decision in a study's terms: candidates are points (named α, β, γ), or a
    check's labelled networks."""

    decision: Decision
    forecast: Forecast | None
    dropped: tuple[Point, ...] = ()     # points whose first stage failed
    merged: tuple[tuple[Point, Point], ...] = ()   # (point, the point it is the same network as)
    first_stage: tuple[int, int] | None = None     # (runs done, runs) while it runs
    names: Mapping[Any, str] = field(default_factory=dict)   # how a labelled candidate reads

    def name(self, c: Any) -> str:
        return self.names.get(c) or name(c)

    @property
    def winner(self) -> Point | None:
        return self.decision.winner

    @property
    def leader(self) -> Point | None:
        """The winner, or while running the leader so far (None in the first stage)."""
        return None if self.first_stage is not None else self.decision.leader

    @property
    def ties(self) -> tuple[Point, ...]:
        return () if self.first_stage is not None else self.decision.ties

    @property
    def seeds(self) -> int:
        return self.decision.seeds

    @property
    def decided(self) -> bool:
        return self.decision.decided

    @property
    def done(self) -> bool:
        return self.decision.done

    def text(self) -> str:
        if self.first_stage is not None:
            d = self.decision
            out = (f"racing ({d.procedure}, δ = {d.delta:g}, confidence {d.confidence:g}): first "
                   f"stage, {self.first_stage[0]} of {self.first_stage[1]} runs")
        else:
            out = self.decision.text(name=self.name)
        if self.merged:
            out += " (one network, raced once: " + "; ".join(
                f"{self.name(p)} = {self.name(q)}" for p, q in self.merged) + ")"
        if self.dropped:
            dropped = ", ".join(self.name(p) for p in self.dropped)
            out += f" (left out, failed in the first stage: {dropped})"
        return out

    def as_dict(self) -> dict[str, Any]:
        d = self.decision.as_dict(name=_as_json)
        d["text"] = self.text()
        d["forecast"] = self.forecast.as_dict() if self.forecast is not None else None
        d["dropped"] = [_as_json(p) for p in self.dropped]
        d["merged"] = [[_as_json(p), _as_json(q)] for p, q in self.merged]
        d["first_stage"] = list(self.first_stage) if self.first_stage is not None else None
        return d


class RacePlan(FixedPlan):
    """The plan of a race over ``items`` (see the module docstring). ``maximize=False``: smaller
    results are better; ``quantum``: their resolution (an accuracy over n images: 1/n), under
    which no paired variance is taken (:class:`gridsearch.selection.Race`)."""

    def __init__(self, items: Sequence[Item], seed: int, select: SelectConfig,
                 key: str = "", maximize: bool = True, quantum: float | None = None,
                 candidates: Sequence[Any] | None = None, merge: bool = True,
                 names: Mapping[Any, str] | None = None) -> None:
        super().__init__(items, [seed + i for i in range(select.max_seeds)], key, merge=merge)
        self.select = select
        self.maximize = maximize
        self.quantum = quantum
        # what the race calls each item: its point (a search, a rung), else a label (a check's
        # networks, which are not all compound)
        self.candidates: list[Any] = _points(items) if candidates is None else list(candidates)
        self.names = dict(names or {})     # how the screens name a labelled candidate
        if len(self.candidates) != len(self.items) or \
                len(set(self.candidates)) != len(self.candidates):
            raise ValueError("a race plan needs one distinct candidate per item")

    def _values(self, records: Sequence[TrialRecord]) -> dict[tuple[int, int], float]:
        """(item, seed rank) -> the result of every finished unit of this plan."""
        out: dict[tuple[int, int], float] = {}
        for r in records:
            if self.mine(r) and r.state == "COMPLETE" and r.mean_accuracy is not None:
                u = self.unit_index(r)
                if u is not None:
                    out[(u % len(self.items), u // len(self.items))] = r.mean_accuracy
        return out

    def _failures(self, records: Sequence[TrialRecord], status: dict[int, str]
                  ) -> dict[tuple[int, int], str]:
        """(item, seed rank) -> why a settled unit gave no value (infeasible, an error)."""
        out: dict[tuple[int, int], str] = {}
        n = len(self.items)
        why: dict[int, str] = {}
        for r in records:
            u = self.unit_index(r) if self.mine(r) else None
            if u is not None and (r.budget_reason or r.error):
                why.setdefault(u, r.budget_reason or (r.error or "")[:80])
        for u, st in status.items():
            if st in ("INFEASIBLE", "ERROR", "PRUNED"):
                kind = {"INFEASIBLE": "infeasible", "ERROR": "failed", "PRUNED": "pruned"}[st]
                out[(u % n, u // n)] = f"{kind}: {why[u]}" if why.get(u) else kind
        return out

    def _left_first_stage(self, status: dict[int, str]) -> set[int]:
        """Items out of the race in its first stage: a first-stage unit infeasible or failed."""
        n = len(self.items)
        return {u % n for u, st in status.items()
                if u < self.select.n0 * n and st in ("INFEASIBLE", "ERROR", "PRUNED")}

    def race(self, records: Sequence[TrialRecord], status: dict[int, str] | None = None
             ) -> tuple[Race, tuple[Point, ...]] | None:
        """The race replayed from ``records``; None while the first stage is still running."""
        status = self.status(records) if status is None else status
        n0, n = self.select.n0, len(self.items)
        merged = self.merges(records)
        out = self._left_first_stage(status) | set(merged)
        settled = ("COMPLETE", "INFEASIBLE", "PRUNED", "ERROR")
        if not all(status.get(u) in settled or u % n in out for u in range(n0 * n)):
            return None
        values = self._values(records)
        points = self.candidates
        candidates = [i for i in range(n) if i not in out
                      and all((i, k) in values for k in range(n0))]
        dropped = tuple(points[i] for i in range(n) if i not in candidates and i not in merged
                        and any(status.get(self.index(i, k)) == "ERROR" for k in range(n0)))
        if not candidates:
            return None
        race = self._race(records, [points[i] for i in candidates])
        race.update({(points[i], k): v for (i, k), v in values.items() if i in candidates})
        for (i, k), why in sorted(self._failures(records, status).items(), key=lambda x: x[0][1]):
            if i in candidates and (i, k) not in values:
                race.fail(points[i], k, why)
        return race, dropped

    def _race(self, records: Sequence[TrialRecord], candidates: list[Any]) -> Race:
        from gridsearch.selection import Race

        points = self.candidates
        flops: dict[Any, float] = {}
        for r in records:
            if self.mine(r) and r.point_index is not None and r.flops is not None:
                flops.setdefault(points[r.point_index], float(r.flops))
        s = self.select
        return Race(candidates, delta=s.delta, confidence=s.confidence, n0=s.n0,
                    max_seeds=s.max_seeds, maximize=self.maximize, quantum=self.quantum,
                    cost=lambda p: flops.get(p, math.inf))   # unknown FLOPs: never the cheapest

    def outcome(self, records: Sequence[TrialRecord]) -> RaceOutcome | None:
        """The race's decision so far; in its first stage, the race over the points with a
        result so far, marked as such; None before any point has one."""
        points = self.candidates
        merged = tuple((points[i], points[j]) for i, j in sorted(self.merges(records).items()))
        got = self.race(records)
        if got is not None:
            race, dropped = got
            return RaceOutcome(race.decision(), race.forecast(), dropped, merged, names=self.names)
        status = self.status(records)
        values = self._values(records)
        n0, n = self.select.n0, len(self.items)
        have = sorted({i for i, k in values if k < n0})
        if not have:
            return None
        race = self._race(records, [points[i] for i in have])
        left = self._left_first_stage(status) | set(self.merges(records))
        total = n0 * (n - len(left))
        done = sum(1 for (i, k) in values if k < n0 and i not in left)
        return RaceOutcome(race.decision(), None, (), merged, (done, total), names=self.names)

    def open(self, records: Sequence[TrialRecord], ranks: int | None = None) -> Opening:
        status = self.status(records)
        n, n0 = len(self.items), self.select.n0
        got = self.race(records, status)
        if got is None:                     # the first stage, then every feasible point ahead
            out = super().open(records, ranks=n0)
            gone = self._left_first_stage(status) | set(self.merges(records))
            out.units = [u for u in out.units if u % n not in gone or status.get(u) == "ERROR"]
            out.skipped |= {u for u in range(n0 * n) if u % n in gone
                            and status.get(u) not in DONE and status.get(u) != "ERROR"}
            ahead = [self.index(i, k) for k in range(n0, len(self.seeds)) for i in range(n)
                     if i not in gone and status.get(i) == "COMPLETE"]
            out.units += [u for u in ahead if status.get(u) not in DONE]
            return out
        race, dropped = got
        index = {c: i for i, c in enumerate(self.candidates)}
        units = [self.index(index[p], k) for p, k in race.next_units(ahead=True)]
        units = [u for u in units if status.get(u) not in DONE]
        # --retry-failed trains again the failures that took a point out of the race
        decision = race.decision()
        gone = {index[p] for p in dropped}
        left = {(index[s.candidate], s.eliminated_after) for s in decision.standings
                if s.left is not None}
        retry = [u for u, st in sorted(status.items()) if st == "ERROR"
                 and (u % n in gone or (u % n, u // n) in left)]
        alive = {index[p] for p in race.survivors}
        out = Opening(units=units + [u for u in retry if u not in units], finished=race.done)
        for u in range(self.size):       # units the race will never need count as done
            i = u % n
            if status.get(u) not in DONE and status.get(u) != "ERROR" \
                    and (race.done or i not in alive):
                out.skipped.add(u)
        return out


def _points(items: Sequence[Item]) -> list[Point]:
    """The raced points, one per item (a race plan's items are compound specs)."""
    out = []
    for it in items:
        if it.spec.point is None:
            raise ValueError(f"a race needs compound specs, got {it.spec!r}")
        out.append(it.spec.point)
    return out
