"""The race: KN (Kim & Nelson 2001) as an incremental, deterministic state machine.

A study drives it across processes and resumes: :meth:`Race.next_units` says which (candidate,
seed index) units may run now, :meth:`Race.add` takes a result in any order, and the race advances
by whole rounds only — the first stage is every candidate × seeds 0..n0−1; after it, one more seed
index for every survivor at a time, and a round is screened only once it is complete for all of
them. Decisions therefore depend on the results alone, never on their arrival order, and
:meth:`Race.replay` of a dict of results gives the decision of the live race that produced them.
Seed index r is the same seed for every candidate (common random numbers).

Parallel workers ("vector filling", Luo, Hong, Nelson & Wu, Operations Research 63(5), 2015):
``next_units(ahead=True)`` also lists the survivors' later seeds, so a worker never waits at a
round's end; results are still *consumed* in seed order per candidate, round by round, so the
decision is the sequential procedure's on the same results and KN's guarantee holds. A result of
a candidate eliminated before its seed was needed is kept and unused.

A unit that can give no value (it failed, or its network was infeasible at that seed) is
reported with :meth:`Race.fail`: when its round is reached, the candidate leaves the race with
the reason (as if eliminated; the others race on).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Generic

import numpy as np

from gridsearch.errors import ConfigError
from gridsearch.selection import _kn
from gridsearch.selection._decision import (
    CAPPED,
    DECIDED,
    RULE_COST,
    RULE_KN,
    RULE_MEAN,
    RUNNING,
    C,
    Decision,
    PBest,
    Standing,
)

# Chosen by benchmarks/race_simulation.py (PCS and runs against n0; see benchmarks/README.md).
DEFAULT_N0 = 5
DEFAULT_MAX_SEEDS = 12
DEFAULT_CONFIDENCE = 0.95

Unit = tuple[C, int]                                # (candidate, seed index)
Cost = Mapping[C, float] | Callable[[C], float]


class SelectionError(ConfigError, ValueError):
    """A race's settings are invalid: one line that starts with the key (``key``: "delta",
    "confidence", "n0", "max_seeds", "candidates" or "cost"); the CLI exits with status 2."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key = key


class Race(Generic[C]):
    """KN with common random numbers over ``candidates`` (hashable, distinct; their order breaks
    exact ties). ``delta``: the indifference zone (differences smaller than this do not matter);
    ``confidence``: P(correct selection) when the best is at least δ ahead; ``n0``: first-stage
    seeds per candidate; ``max_seeds``: the cap per candidate, where the race stops undecided if
    several survive, choosing by the lowest ``cost`` (a mapping or a callable, e.g. measured FLOPs;
    +inf: unknown, chosen last) or, without one, the best mean. Larger values are better, or
    smaller ones with ``maximize=False`` (KN runs on the negated values; everything shown is in
    the values given). ``quantum``: the resolution of the results (an accuracy over n images:
    1/n); no paired variance is taken below a rounding error's, quantum²/6 (see
    :attr:`floored`)."""

    procedure = "KN"

    def __init__(self, candidates: Iterable[C], *, delta: float,
                 confidence: float = DEFAULT_CONFIDENCE, n0: int = DEFAULT_N0,
                 max_seeds: int = DEFAULT_MAX_SEEDS, cost: Cost[C] | None = None,
                 maximize: bool = True, quantum: float | None = None) -> None:
        self.candidates: tuple[C, ...] = _check_candidates(candidates)
        self.delta = _check_delta(delta)
        self.confidence = _check_confidence(confidence)
        self.n0 = _check_int("n0", n0, 2, "an integer ≥ 2")
        self.max_seeds = _check_int("max_seeds", max_seeds, self.n0,
                                    f"an integer ≥ n0 (= {self.n0})")
        self.cost = _check_cost(cost, self.candidates)
        self.maximize = bool(maximize)
        self._sign = 1.0 if self.maximize else -1.0
        self.quantum = _check_quantum(quantum)
        self.floored = 0                             # pairs whose S² was raised to the floor
        k = len(self.candidates)
        self.h2 = _kn.h2(1.0 - self.confidence, k, self.n0)
        self._index = {c: i for i, c in enumerate(self.candidates)}
        self._results: dict[tuple[int, int], float] = {}   # signed: larger is better
        self._failed: dict[tuple[int, int], str] = {}      # units that gave no value: why
        self._left: dict[int, str] = {}                    # i -> why it left the race
        self._values = np.full((k, self.n0), np.nan)  # the values used, row i = candidate i
        self._sum = np.zeros(k)                      # their sums
        self._alive = np.ones(k, dtype=bool)
        # i -> (seeds when it left, the index of the candidate that eliminated it; -1: it failed)
        self._eliminated: dict[int, tuple[int, int]] = {}
        self._round_seeds = self.n0                  # seeds per survivor once this round is complete
        self._screened = 0                           # seeds per survivor of the last screened round
        self._s2: np.ndarray | None = None           # first-stage S²_il
        self._end = 0                                # KN's last round over the survivors
        self._status = RUNNING
        self._winner: C | None = None
        self._rule: str | None = None

    # -- driving it ----------------------------------------------------------------------------
    @classmethod
    def replay(cls, results: Mapping[Unit[C], float], candidates: Iterable[C], **settings: Any
               ) -> Race[C]:
        """The race rebuilt from stored results {(candidate, seed index): value} (e.g. on a
        resume); the same decision as the live race that produced them."""
        race = cls(candidates, **settings)
        for (c, s), v in results.items():
            race.add(c, s, v)
        return race

    @property
    def done(self) -> bool:
        return self._status != RUNNING

    @property
    def round(self) -> int:
        """Seeds per survivor once the round being collected is complete (n0 in the first stage)."""
        return self._round_seeds

    @property
    def first_stage(self) -> bool:
        return self._s2 is None

    @property
    def survivors(self) -> tuple[C, ...]:
        return tuple(c for c, a in zip(self.candidates, self._alive, strict=True) if a)

    def next_units(self, ahead: bool = False) -> list[Unit[C]]:
        """The units that may run now and have no result yet (seed-major: every survivor's seed r
        before seed r + 1). Empty when the race is done. Units handed to a worker and not yet
        added are listed again: claiming them once is the caller's business. With ``ahead``, the
        current round's units are followed by the survivors' later seeds, up to where the race
        must end (the cap, or KN's last round over the survivors): work for a worker that would
        otherwise wait for the round to close."""
        if self.done:
            return []
        start = self._seed_range().start
        last = self._round_seeds
        if ahead:
            last = self.max_seeds if self.first_stage else min(self.max_seeds, self._end)
        return [(self.candidates[i], s) for s in range(start, max(last, self._round_seeds))
                for i in np.flatnonzero(self._alive).tolist()
                if (i, s) not in self._results and (i, s) not in self._failed]

    def add(self, candidate: C, seed_index: int, value: float) -> None:
        """Record the result of one unit, in any order. A result the race has not asked for yet
        is kept for the round that needs it; one it never needs (an eliminated candidate, a seed
        beyond the end) is kept and unused (:meth:`unused`). ValueError for an unknown candidate,
        a seed index that is not an integer ≥ 0, a non-finite value or a unit given twice."""
        try:
            i = self._index.get(candidate)
        except TypeError:                            # unhashable
            i = None
        if i is None:
            raise ValueError(f"unknown candidate {candidate!r}")
        s = _integer(seed_index, 0)
        if s is None:
            raise ValueError(f"seed index must be an integer ≥ 0 (got {seed_index!r})")
        v = _real(value)
        if v is None or not math.isfinite(v):
            raise ValueError(f"result of ({candidate!r}, {s}) must be a finite number "
                             f"(got {value!r})")
        if (i, s) in self._results or (i, s) in self._failed:
            raise ValueError(f"({candidate!r}, {s}) was given twice")
        self._results[(i, s)] = self._sign * v
        self._advance()

    def fail(self, candidate: C, seed_index: int, reason: str) -> None:
        """Record that a unit gave no value (an error, an infeasible network): when the race
        needs that seed, ``candidate`` leaves it with ``reason``. Order-independent like
        :meth:`add`; ValueError for an unknown candidate or a unit already given."""
        i = self._index.get(candidate) if _hashable(candidate) else None
        if i is None:
            raise ValueError(f"unknown candidate {candidate!r}")
        s = int(seed_index)
        if (i, s) in self._results or (i, s) in self._failed:
            raise ValueError(f"({candidate!r}, {s}) was given twice")
        self._failed[(i, s)] = str(reason)
        self._advance()

    def update(self, results: Mapping[Unit[C], float]) -> None:
        """:meth:`add` for every item of {(candidate, seed index): value}."""
        for (c, s), v in results.items():
            self.add(c, s, v)

    def unused(self) -> list[Unit[C]]:
        """Results given but not used by the procedure (so far)."""
        used = {(i, s) for i in range(len(self.candidates)) for s in range(self._used(i))}
        return sorted(((self.candidates[i], s) for i, s in self._results if (i, s) not in used),
                      key=lambda u: (u[1], self._index[u[0]]))

    @property
    def results(self) -> dict[Unit[C], float]:
        """Every result given, {(candidate, seed index): value}."""
        return {(self.candidates[i], s): self._sign * v for (i, s), v in self._results.items()}

    # -- reading it ----------------------------------------------------------------------------
    def decision(self) -> Decision[C]:
        """The decision (or, while running, the state after the last complete round)."""
        k = len(self.candidates)
        rows = [self._values[i, :self._used(i)].copy() for i in range(k)]
        probs = PBest(rows, ready=self._screened > 0)
        standings = tuple(
            Standing(c, tuple(self._sign * float(v) for v in rows[i]),
                     self._eliminated[i][0] if i in self._eliminated else None,
                     self.candidates[self._eliminated[i][1]]
                     if i in self._eliminated and self._eliminated[i][1] >= 0 else None, probs, i,
                     self._left.get(i))
            for i, c in enumerate(self.candidates))
        return Decision(self._status, self._winner, self.survivors, standings,
                        int(sum(len(r) for r in rows)), self._screened, self._rule, self.delta,
                        self.confidence, self.n0, self.max_seeds, maximize=self.maximize,
                        floored=self.floored, quantum=self.quantum)

    def forecast(self) -> _kn.Forecast | None:
        """What this δ is expected to cost, from the first stage (None before it is complete)."""
        if self._s2 is None:
            return None
        return _kn.forecast(self._s2, delta=self.delta, confidence=self.confidence, n0=self.n0,
                            max_seeds=self.max_seeds, floored=self.floored,
                            quantum=self.quantum)

    # -- the procedure -------------------------------------------------------------------------
    def _used(self, i: int) -> int:
        if i in self._eliminated:
            return self._eliminated[i][0]
        return self._screened

    def _seed_range(self) -> range:
        """The seed indices of the round being collected: 0..n0−1 in the first stage, then one."""
        return range(0 if self.first_stage else self._round_seeds - 1, self._round_seeds)

    def _complete(self) -> bool:
        """Every survivor has a result, or a failure, for every seed of the current round."""
        return all((i, s) in self._results or (i, s) in self._failed
                   for i in np.flatnonzero(self._alive).tolist() for s in self._seed_range())

    def _advance(self) -> None:
        while self._status == RUNNING and self._complete():
            seeds = self._seed_range()
            for i in np.flatnonzero(self._alive).tolist():  # a failed unit: the candidate leaves
                bad = [s for s in seeds if (i, s) in self._failed]
                if bad:
                    self._eliminated[int(i)] = (self._screened, -1)
                    self._left[int(i)] = f"seed {bad[0]}: {self._failed[(i, bad[0])]}"
                    self._alive[i] = False
            alive = np.flatnonzero(self._alive)
            if len(alive) == 0:
                self._finish(DECIDED, None, None)
                return
            if self._values.shape[1] < self._round_seeds:
                width = max(self._round_seeds, 2 * self._values.shape[1])
                grown = np.full((len(self.candidates), width), np.nan)
                grown[:, :self._values.shape[1]] = self._values
                self._values = grown
            for i in alive.tolist():
                for s in seeds:
                    self._values[i, s] = self._results[(i, s)]
            self._sum[alive] += self._values[alive, seeds.start:self._round_seeds].sum(axis=1)
            if self._s2 is None:
                self._s2 = self._floor(_kn.pair_variances(self._values[:, :self.n0]), alive)
            self._screen(alive, self._round_seeds, self._s2)
            self._screened = self._round_seeds
            alive = np.flatnonzero(self._alive)
            self._end = self._last_round(alive, self._s2)
            if len(alive) == 1:
                self._finish(DECIDED, int(alive[0]), RULE_KN)
            elif self._round_seeds >= self._end:  # no surviving pair can separate any more: a tie
                self._finish(DECIDED, *self._choose(alive))
            elif self._round_seeds >= self.max_seeds:
                self._finish(CAPPED, *self._choose(alive))
            else:
                self._round_seeds += 1

    def _floor(self, s2: np.ndarray, alive: np.ndarray) -> np.ndarray:
        """S²_il raised to a rounding error's variance, quantum²/6, with ``quantum`` (the
        first-stage candidates only; a failed one has nan)."""
        s2 = np.nan_to_num(s2, nan=0.0)
        if self.quantum is None:
            return s2
        floor = self.quantum ** 2 / 6.0
        low = s2 < floor
        np.fill_diagonal(low, False)
        mask = np.zeros(len(self.candidates), dtype=bool)
        mask[alive] = True
        low &= mask[:, None] & mask[None, :]
        self.floored = int(np.triu(low, 1).sum())
        out = s2.copy()
        out[low] = floor
        return out

    def _last_round(self, alive: np.ndarray, s2: np.ndarray) -> int:
        """KN's end for the survivors: max N_il + 1 over surviving pairs only (an eliminated
        candidate's variance no longer matters)."""
        if len(alive) < 2:
            return self._round_seeds
        sub = s2[np.ix_(alive, alive)]
        return _kn.last_round(self.delta, self.h2, float(sub.max()), self.n0)

    def _screen(self, alive: np.ndarray, r: int, s2: np.ndarray) -> None:
        """KN's screening after r seeds: i leaves when X̄_i < X̄_l − W_il(r) for a survivor l
        (every comparison against the survivors of the previous round)."""
        means = self._sum[alive] / r
        w = _kn.half_width(self.delta, self.h2, s2[alive][:, alive], r)
        margin = (means[None, :] - w) - means[:, None]      # [i, l]: how far i is below l's bar
        np.fill_diagonal(margin, -np.inf)
        for a in np.flatnonzero(margin.max(axis=1) > 0):
            self._eliminated[int(alive[a])] = (r, int(alive[int(np.argmax(margin[a]))]))
            self._alive[alive[a]] = False

    def _choose(self, alive: np.ndarray) -> tuple[int, str]:
        """Among several survivors: the best mean — or, among the survivors within δ of the best
        mean (differences that do not matter), the lowest cost; the first given breaks what is
        left.  A far better survivor is never given up for a cheaper one."""
        means = {int(i): float(self._sum[i] / self._round_seeds) for i in alive}
        best = max(means.values())
        close = {i: m for i, m in means.items() if m >= best - self.delta}
        if self.cost is not None and len(close) > 1:
            costs = {i: _cost_of(self.cost, self.candidates[i]) for i in close}
            return min(close, key=lambda i: (costs[i], -means[i], i)), RULE_COST
        return min(means, key=lambda i: (-means[i], i)), RULE_MEAN

    def _finish(self, status: str, winner: int | None, rule: str | None) -> None:
        self._status, self._rule = status, rule
        self._winner = None if winner is None else self.candidates[winner]


def race(sample: Callable[[C, int], float], candidates: Iterable[C], *,
         delta: float, confidence: float = DEFAULT_CONFIDENCE, n0: int = DEFAULT_N0,
         max_seeds: int = DEFAULT_MAX_SEEDS, cost: Cost[C] | None = None, maximize: bool = True,
         quantum: float | None = None) -> Decision[C]:
    """Run KN to the end with ``sample(candidate, seed_index) -> value`` (larger is better, or
    smaller with ``maximize=False``; seed index r must mean the same random numbers for every
    candidate) and return the decision."""
    kn = Race(candidates, delta=delta, confidence=confidence, n0=n0, max_seeds=max_seeds,
              cost=cost, maximize=maximize, quantum=quantum)
    while not kn.done:
        for c, s in kn.next_units():
            kn.add(c, s, sample(c, s))
    return kn.decision()


# -- validation ----------------------------------------------------------------------------------
def _hashable(x: object) -> bool:
    try:
        hash(x)
    except TypeError:
        return False
    return True


def _real(x: object) -> float | None:
    if isinstance(x, float):                     # the usual case, first: no ABC check
        return float(x)
    if isinstance(x, bool) or not isinstance(x, numbers.Real):
        return None
    return float(x)


def _check_candidates(candidates: Iterable[C]) -> tuple[C, ...]:
    try:
        cs = tuple(candidates)
    except TypeError:
        raise SelectionError("candidates",
                             f"candidates must be a list (got {candidates!r})") from None
    if not cs:
        raise SelectionError("candidates", "candidates: need at least one candidate")
    seen: set = set()
    for c in cs:
        if not _hashable(c):
            raise SelectionError("candidates", f"candidates: {c!r} is not hashable")
        if c in seen:
            raise SelectionError("candidates", f"candidates: {c!r} appears twice")
        seen.add(c)
    return cs


def _check_delta(delta: object) -> float:
    d = _real(delta)
    if d is None or not math.isfinite(d) or d <= 0:
        raise SelectionError("delta", f"delta must be a finite number > 0 (got {delta!r})")
    return d


def _check_confidence(confidence: object) -> float:
    c = _real(confidence)
    if c is None or not 0.5 < c < 1:
        raise SelectionError("confidence", f"confidence must be a number in (0.5, 1), both ends "
                                           f"excluded (got {confidence!r})")
    return c


def _integer(x: object, least: int) -> int | None:
    """``x`` as an int if it is an integer (not a bool) ≥ ``least``, else None."""
    if type(x) is int:                           # the usual case, first: no ABC check
        return x if x >= least else None
    if isinstance(x, bool) or not isinstance(x, numbers.Integral) or x < least:
        return None
    return int(x)


def _check_int(key: str, value: object, least: int, what: str) -> int:
    n = _integer(value, least)
    if n is None:
        raise SelectionError(key, f"{key} must be {what} (got {value!r})")
    return n


def _check_quantum(quantum: object) -> float | None:
    if quantum is None:
        return None
    q = _real(quantum)
    if q is None or not math.isfinite(q) or q <= 0:
        raise SelectionError("quantum", f"quantum must be a finite number > 0 (got {quantum!r})")
    return q


def _check_cost(cost: Cost[C] | None, candidates: tuple[C, ...]) -> Cost[C] | None:
    if cost is None or callable(cost):
        return cost
    if not isinstance(cost, Mapping):
        raise SelectionError("cost", f"cost must be a mapping or a callable (got {cost!r})")
    for c in candidates:
        v = _real(cost.get(c))
        if v is None or not math.isfinite(v):
            raise SelectionError("cost",
                                 f"cost: no finite number for {c!r} (got {cost.get(c)!r})")
    return cost


def _cost_of(cost: Cost[C], candidate: C) -> float:
    v = _real(cost[candidate] if isinstance(cost, Mapping) else cost(candidate))
    if v is None or math.isnan(v) or v == -math.inf:
        raise ValueError(f"cost of {candidate!r} must be a number (+inf: unknown)")
    return v
