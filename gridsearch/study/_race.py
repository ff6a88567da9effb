"""A race over a study's points (``[select] mode = "race"``): its plan, and its decision.

The race is :class:`gridsearch.selection.Race` — Kim & Nelson's fully sequential procedure (KN),
with seed r the same seed for every point — driven by the study's records:

* the first stage is a fixed plan: every point × seeds 0 … n0−1 (a later seed of a point once its
  first has finished; an infeasible point is recorded once and never enters the race);
* once every first-stage unit has finished, the race is replayed from the records (the candidates
  are the points with all n0 results) and says which units run next: one more seed for every
  survivor, a round at a time, until one point is left (the best within δ with probability ≥
  the confidence) or ``max_seeds`` is reached (undecided: the cheapest survivor by measured FLOPs).

What opens depends on the records only, so every worker and every resume decides the same, and a
unit is still claimed and trained exactly once.  A point whose first-stage unit failed with an
error leaves the race (``--retry-failed`` trains it again, and the race is replayed with it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Sequence

from gridsearch.scaling import Point
from gridsearch.study._plan import DONE, FixedPlan, Item, Opening
from gridsearch.study._record import TrialRecord

if TYPE_CHECKING:
    from gridsearch.config import SelectConfig
    from gridsearch.selection import Decision, Forecast, Race


def name(p: Point) -> str:
    return f"α={p.alpha:g} β={p.beta:g} γ={p.gamma:g}"


@dataclass(frozen=True)
class RaceOutcome:
    """A race's decision in a study's terms: candidates are points (named α, β, γ)."""

    decision: "Decision"
    forecast: "Forecast | None"
    dropped: tuple[Point, ...] = ()     # points whose first stage failed

    @property
    def winner(self) -> Point | None:
        return self.decision.winner

    @property
    def decided(self) -> bool:
        return self.decision.decided

    @property
    def done(self) -> bool:
        return self.decision.done

    def text(self) -> str:
        out = self.decision.text(name=name)
        if self.dropped:
            out += f" (left out, failed in the first stage: {', '.join(map(name, self.dropped))})"
        return out

    def as_dict(self) -> dict[str, Any]:
        d = self.decision.as_dict(name=lambda p: None if p is None else p.as_dict())
        d["text"] = self.text()
        d["forecast"] = self.forecast.as_dict() if self.forecast is not None else None
        d["dropped"] = [p.as_dict() for p in self.dropped]
        return d


class RacePlan(FixedPlan):
    """The plan of a race over ``items`` (see the module docstring)."""

    def __init__(self, items: Sequence[Item], seed: int, select: "SelectConfig",
                 key: str = "") -> None:
        super().__init__(items, [seed + i for i in range(select.max_seeds)], key)
        self.select = select

    def _values(self, records: Sequence[TrialRecord]) -> dict[tuple[int, int], float]:
        """(item, seed rank) -> accuracy of every finished unit of this plan."""
        out: dict[tuple[int, int], float] = {}
        for r in records:
            if self.mine(r) and r.state == "COMPLETE" and r.mean_accuracy is not None:
                u = self.unit_index(r)
                if u is not None:
                    out[(u % len(self.items), u // len(self.items))] = r.mean_accuracy
        return out

    def race(self, records: Sequence[TrialRecord]) -> tuple["Race", tuple[Point, ...]] | None:
        """The race replayed from ``records``; None while the first stage is still running."""
        from gridsearch.selection import Race

        n0, n = self.select.n0, len(self.items)
        status = self.status(records)
        first = [u for u in range(n0 * n)]
        settled = ("COMPLETE", "INFEASIBLE", "PRUNED", "ERROR")
        skipped = super().open(records, ranks=n0).skipped
        if not all(status.get(u) in settled or u in skipped for u in first):
            return None
        values = self._values(records)
        points = [it.spec.point for it in self.items]
        candidates = [i for i in range(n) if all((i, k) in values for k in range(n0))]
        dropped = tuple(points[i] for i in range(n) if i not in candidates
                        and any(status.get(self.index(i, k)) == "ERROR" for k in range(n0)))
        if not candidates:
            return None
        flops = {}
        for r in records:
            if self.mine(r) and r.point_index is not None and r.flops is not None:
                flops.setdefault(points[r.point_index], float(r.flops))
        s = self.select
        race = Race([points[i] for i in candidates], delta=s.delta, confidence=s.confidence,
                    n0=n0, max_seeds=s.max_seeds,
                    cost={points[i]: flops.get(points[i], 0.0) for i in candidates})
        race.update({(points[i], k): v for (i, k), v in values.items() if i in candidates})
        return race, dropped

    def outcome(self, records: Sequence[TrialRecord]) -> RaceOutcome | None:
        got = self.race(records)
        if got is None:
            return None
        race, dropped = got
        return RaceOutcome(race.decision(), race.forecast(), dropped)

    def open(self, records: Sequence[TrialRecord], ranks: int | None = None) -> Opening:
        got = self.race(records)
        if got is None:
            return super().open(records, ranks=self.select.n0)
        race, _ = got
        status = self.status(records)
        index = {it.spec.point: i for i, it in enumerate(self.items)}
        units = [self.index(index[p], k) for p, k in race.next_units()]
        units = [u for u in sorted(units) if status.get(u) not in DONE]
        alive = {index[p] for p in race.survivors}
        out = Opening(units=units, finished=race.done)
        for u in range(self.size):       # units the race will never need count as done
            i = u % len(self.items)
            if status.get(u) not in DONE and (race.done or i not in alive):
                out.skipped.add(u)
        return out
