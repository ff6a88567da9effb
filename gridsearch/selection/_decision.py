"""A race's decision: the winner, the survivors, each candidate's standing, P(best), a sentence.

P(best) is a summary beside KN's guarantee, not part of it: the probability, under a normal
approximation of the candidates' sample means and a flat prior, that each candidate has the highest
true mean. The means' covariance is the common-seed (CRN) one: candidate i observed on seeds
0..n_i−1 and l on 0..n_l−1 share the first m = min(n_i, n_l) seeds, so
cov(X̄_i, X̄_l) = c_il·m / (n_i·n_l), with c_il the sample covariance over those m seeds (the
variance s_i² on the diagonal). It is estimated from draws with a fixed seed (so it is a function
of the data alone) and ignores that the race stopped sampling where the data looked decided.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import numpy as np

from gridsearch.selection._kn import _num

C = TypeVar("C", bound=Hashable)   # a candidate: anything hashable (a point, a name)

PROCEDURE = "KN"
DRAWS = 10_000
P_BEST_METHOD = (f"normal approximation of the sample means with their common-seed covariance "
                 f"(flat prior), {DRAWS:,} draws with a fixed seed; ignores the sequential "
                 f"stopping")

# How the winner was chosen.
RULE_KN = "KN"                      # every other candidate was eliminated
RULE_COST = "the lowest cost within δ of the best mean"  # at the cap, or an exact tie at the end
RULE_MEAN = "best mean"             # at the cap (or an exact tie at KN's end), without a cost

DECIDED, CAPPED, RUNNING = "decided", "capped", "running"


class PBest:
    """P(best) of every candidate from their values, computed on first use (a few milliseconds:
    a simulation that never reads it does not pay for it). None before the first stage ends."""

    def __init__(self, rows: Sequence[np.ndarray], ready: bool) -> None:
        self._rows, self._ready = rows, ready
        self._p: np.ndarray | None = None

    def __call__(self, i: int) -> float | None:
        if not self._ready:
            return None
        if self._p is None:
            self._p = p_best(self._rows)
        return None if self._p is None else float(self._p[i])


@dataclass(frozen=True)
class Standing(Generic[C]):
    """One candidate in the race: the seeds the procedure used (seed indices 0..n−1)."""

    candidate: C
    values: tuple[float, ...]
    eliminated_after: int | None     # seeds it had when it was eliminated; None: not eliminated
    eliminated_by: C | None          # the survivor that eliminated it (the widest margin)
    _p_best: PBest | None = field(default=None, repr=False, compare=False)
    _position: int = field(default=0, repr=False, compare=False)
    left: str | None = None          # why it left the race without a value (a failed seed)

    @property
    def p_best(self) -> float | None:
        """See the module docstring; None before the first stage ends."""
        return None if self._p_best is None else self._p_best(self._position)

    @property
    def n(self) -> int:
        return len(self.values)

    @property
    def mean(self) -> float:
        return float(np.mean(self.values)) if self.values else math.nan

    @property
    def std(self) -> float:
        """Sample standard deviation (n − 1); nan with fewer than 2 values."""
        return float(np.std(self.values, ddof=1)) if len(self.values) > 1 else math.nan

    @property
    def survived(self) -> bool:
        return self.eliminated_after is None


@dataclass(frozen=True)
class Decision(Generic[C]):
    """Where a race stands, or how it ended.

    ``status``: ``"decided"`` (KN ended: when the best is at least δ ahead of every other,
    ``winner`` is the best with probability ≥ ``confidence``; nothing is claimed when it is
    not), ``"capped"`` (stopped at ``max_seeds`` with several survivors: ``winner`` chosen among
    them by ``rule``, no guarantee) or ``"running"`` (``winner`` is None; :attr:`leader` is the
    provisional one). ``runs`` counts the results the procedure used; ``max_runs`` is k ×
    max_seeds, what a fixed design at the cap would train. Values and means are as given (with
    ``maximize`` False, smaller is better).
    """

    status: str
    winner: C | None
    survivors: tuple[C, ...]
    standings: tuple[Standing[C], ...]       # in the order the candidates were given
    runs: int
    seeds: int                               # seeds per survivor used so far (0 in the first stage)
    rule: str | None                         # RULE_KN, RULE_COST, RULE_MEAN; None while running
    delta: float
    confidence: float
    n0: int
    max_seeds: int
    procedure: str = PROCEDURE
    p_best_method: str = P_BEST_METHOD
    maximize: bool = True
    floored: int = 0                         # pairs whose paired variance was floored
    quantum: float | None = None
    _index: dict[C, Standing[C]] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._index.update({s.candidate: s for s in self.standings})

    @property
    def decided(self) -> bool:
        """KN ended with its guarantee (False at the cap and while running)."""
        return self.status == DECIDED

    @property
    def done(self) -> bool:
        return self.status != RUNNING

    @property
    def candidates(self) -> tuple[C, ...]:
        return tuple(s.candidate for s in self.standings)

    @property
    def max_runs(self) -> int:
        return len(self.standings) * self.max_seeds

    def __getitem__(self, candidate: C) -> Standing[C]:
        return self._index[candidate]

    def eliminated_after(self, candidate: C) -> int | None:
        """The seeds ``candidate`` had when it was eliminated; None when it was not eliminated
        or was never in the race."""
        s = self._index.get(candidate)
        return s.eliminated_after if s is not None else None

    @property
    def leader(self) -> C | None:
        """The winner once done; while running, the survivor with the best mean so far
        (provisional; the first survivor before any round is screened)."""
        if self.done or not self.survivors:
            return self.winner
        sign = 1.0 if self.maximize else -1.0
        scored = [(-(sign * self[c].mean) if self[c].n else math.inf, i)
                  for i, c in enumerate(self.survivors)]
        return self.survivors[min(scored)[1]]

    @property
    def ties(self) -> tuple[C, ...]:
        """The survivors other than the winner (or the provisional leader): the candidates the
        race has not separated from it."""
        lead = self.leader
        return tuple(c for c in self.survivors if c != lead)

    def eliminations(self) -> list[tuple[int, list[C]]]:
        """[(seeds, [candidates eliminated after that many seeds]), …], earliest first (not
        those that left because a seed gave no value: :meth:`departures`)."""
        rounds: dict[int, list[C]] = {}
        for s in self.standings:
            if s.eliminated_after is not None and s.left is None:
                rounds.setdefault(s.eliminated_after, []).append(s.candidate)
        return sorted(rounds.items())

    def departures(self) -> list[tuple[C, str]]:
        """[(candidate, why)] for those that left the race because a seed gave no value."""
        return [(s.candidate, s.left) for s in self.standings if s.left is not None]

    def text(self, name: Callable[[C], str] = str, limit: int = 3) -> str:
        """One sentence: the decision, or the state of the race. ``name`` formats a candidate;
        a list longer than ``limit`` + 1 prints its first ``limit`` names and how many more."""
        k = len(self.standings)
        d, c = _num(self.delta), f"{self.confidence:g}"
        gone = "; ".join(f"after {r} seed{'s' * (r != 1)}: {_listing(cs, name, limit)}"
                         for r, cs in self.eliminations())
        tail = f"; eliminated {gone}" if gone else ""
        left = self.departures()
        if left:
            tail += "; left the race (no value): " + ", ".join(f"{name(c)} ({why})"
                                                                for c, why in left)
        if self.floored:
            tail += (f"; the paired variance of {self.floored} pair(s) was below the results' "
                     f"resolution and was floored at its rounding error")
        if self.status == RUNNING:
            where = (f"first stage, {self.runs} of {k * self.n0} runs" if self.seeds == 0 else
                     f"{len(self.survivors)} of {k} candidates left after {self.seeds} seeds, "
                     f"{self.runs} of {self.max_runs} runs")
            lead = self.leader
            now = f"; leading for now: {name(lead)}" if self.seeds and lead is not None else ""
            return f"racing ({self.procedure}, δ = {d}, confidence {c}): {where}{now}{tail}"
        if self.winner is None:
            return f"no candidate is left: every one failed ({self.runs} runs{tail})"
        won = name(self.winner)
        if k == 1:
            return f"{won} is the only candidate ({self.runs} runs)"
        counts = f"{self.procedure}, {k} candidates, {self.runs} of {self.max_runs} runs"
        if self.status == DECIDED:
            tie = ""
            if len(self.survivors) > 1:
                tie = (f"; {len(self.survivors)} tied exactly at {self.seeds} seeds, chose by "
                       f"{self.rule}")
            return (f"{won} is the best within δ = {d} with confidence {c}: KN's guarantee when "
                    f"the best leads by at least δ ({counts}{tie}{tail})")
        means = [self[s].mean for s in self.survivors]
        spread = _num(max(means) - min(means))
        return (f"undecided at {self.seeds} seeds (the cap, max_seeds; no guarantee): these "
                f"{len(self.survivors)} are not separated at δ = {d} (means within {spread} of "
                f"each other): {_listing(self.survivors, name, limit)}; chose {won} "
                f"({self.rule}) ({counts}{tail})")

    def as_dict(self, name: Callable[[C], Any] = str) -> dict[str, Any]:
        """JSON-ready; ``name`` turns a candidate into something JSON can hold."""
        def nm(c: C | None) -> Any:
            return None if c is None else name(c)

        def num(x: float) -> float | None:
            return None if math.isnan(x) else x

        return {"procedure": self.procedure, "status": self.status, "decided": self.decided,
                "winner": nm(self.winner), "leader": nm(self.leader), "rule": self.rule,
                "maximize": self.maximize, "floored": self.floored,
                "survivors": [nm(c) for c in self.survivors], "runs": self.runs,
                "max_runs": self.max_runs, "seeds": self.seeds, "delta": self.delta,
                "confidence": self.confidence, "n0": self.n0, "max_seeds": self.max_seeds,
                "p_best_method": self.p_best_method, "text": self.text(name=lambda c: str(nm(c))),
                "candidates": [{"candidate": nm(s.candidate), "n": s.n, "mean": num(s.mean),
                                "std": num(s.std), "values": list(s.values),
                                "eliminated_after": s.eliminated_after,
                                "eliminated_by": nm(s.eliminated_by), "left": s.left,
                                "p_best": s.p_best}
                               for s in self.standings]}


def _listing(items: Sequence[C], name: Callable[[C], str], limit: int) -> str:
    if len(items) <= limit + 1:
        return ", ".join(name(c) for c in items)
    return f"{', '.join(name(c) for c in items[:limit])} and {len(items) - limit} more"


def p_best(values: Sequence[np.ndarray], draws: int = DRAWS) -> np.ndarray | None:
    """P(best) per candidate (see the module docstring) from each candidate's values on seeds
    0..n_i−1; None when a candidate has fewer than 2 values (no spread to go on)."""
    k = len(values)
    if k == 0 or min(len(v) for v in values) < 2:
        return None
    if k == 1:
        return np.ones(1)
    n = np.array([len(v) for v in values])
    means = np.array([float(np.mean(v)) for v in values])
    cov = np.empty((k, k))
    for i in range(k):
        for j in range(i, k):
            m = min(n[i], n[j])
            a, b = values[i][:m], values[j][:m]
            c = float(np.dot(a - a.mean(), b - b.mean()) / (m - 1))
            cov[i, j] = cov[j, i] = c * m / (n[i] * n[j])
    lam, vec = np.linalg.eigh(cov)              # clip the estimate to positive semi-definite
    scale = vec * np.sqrt(np.clip(lam, 0.0, None))
    draws = max(1_000, min(draws, 4_000_000 // k))
    z = np.random.default_rng(20_010_711).standard_normal((draws, k))
    sample = means + z @ scale.T
    # Candidates with the same values seed for seed have the same column up to the rounding of
    # the eigendecomposition: a draw's best is every candidate within that rounding of its max.
    tol = 1e-9 * (1.0 + float(np.abs(means).max()) + float(np.sqrt(max(lam.max(), 0.0))))
    top = sample >= sample.max(axis=1, keepdims=True) - tol
    return (top / top.sum(axis=1, keepdims=True)).mean(axis=0)
