"""A study's work as a plan of units: which network with which seed, in what order, and when.

Every study that trains is a plan over :class:`Item`\\ s (a spec with its Optuna parameters and
its budget check) and seeds.  A *unit* is one (item, seed) pair, numbered seed-major
(``index = seed_rank · n_items + item``): every item once with the first seed, then again with the
next.  The loop (:mod:`gridsearch.study._loop`) asks the plan which units are open, given the
records so far, claims one in the claims table and trains it: so each unit is trained exactly once
across workers and machines, and a resumed study continues where it was.

* :class:`FixedPlan` — every item × every seed: the grid search, a fixed confirmation, a
  comparison of strategies.  A later seed of an item opens once its first seed has finished; an
  item found infeasible there is not trained again (its other units count as done), and neither
  is an item whose first seed realised the same network (layout and resolution) as an earlier
  item: the two would train identically, so they are one candidate (:meth:`Plan.merged`).
* :class:`RacePlan` — a fixed first stage of ``n0`` seeds, then seed rounds only for the items a
  sequential selection procedure (:class:`gridsearch.selection.Race`) has not eliminated; what
  opens depends only on the results, so every worker and every resume decides the same.
* :class:`SampledPlan` — TPE, QMC or random samplers propose each trial's point; every trial
  trains it with all seeds (no units, no claims).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from gridsearch.scaling import Spec
from gridsearch.study._record import TrialRecord

DONE = ("COMPLETE", "PRUNED", "INFEASIBLE")   # a unit with a trial in one of these is finished


@dataclass(frozen=True)
class Param:
    """One Optuna parameter of a trial: its value and distribution."""

    value: Any
    low: float | None = None      # a float parameter
    high: float | None = None
    choices: tuple[Any, ...] = ()  # a categorical one


@dataclass(frozen=True)
class Item:
    """What one unit trains: a spec, the parameters Optuna records for it, and its budget check.

    ``target`` is the FLOPs ratio the measured network must meet (within the config's tolerance;
    ``mode`` reject or repair); with ``enforce`` an infeasible item is recorded and not trained,
    without it (a comparison matched to the compound network's FLOPs) the verdict is recorded and
    the network trained anyway."""

    spec: Spec
    params: dict[str, Param]
    target: float | None = None
    mode: str = "reject"
    enforce: bool = True
    label: str = ""               # how progress lines name it


@dataclass(frozen=True)
class Unit:
    index: int         # the claims-table number
    item: int          # index into plan.items
    seed: int


@dataclass
class Opening:
    """What the plan says, given the records: units that may be claimed now (in order), units
    that count as done without a trial, and whether the plan has finished."""

    units: list[int] = field(default_factory=list)
    skipped: set[int] = field(default_factory=set)
    finished: bool = False
    note: str = ""


class Plan:
    """The interface every plan implements (see the module docstring)."""

    key: str = ""                      # claims namespace ("": the study's own plan)
    items: list[Item]
    seeds: list[int]

    @property
    def claims(self) -> bool:
        """Whether units are claimed (every plan but a sampled one)."""
        return True

    @property
    def size(self) -> int:
        """The most units the plan can run."""
        return len(self.items) * len(self.seeds)

    def unit(self, index: int) -> Unit:
        n = len(self.items)
        return Unit(index, index % n, self.seeds[index // n])

    def index(self, item: int, seed_rank: int) -> int:
        return seed_rank * len(self.items) + item

    def mine(self, r: TrialRecord) -> bool:
        """Whether a record belongs to this plan (a study can hold several: compare at two φ)."""
        return (r.plan or "") == self.key

    def status(self, records: Sequence[TrialRecord]) -> dict[int, str]:
        """unit -> the best state its trials reached (COMPLETE/INFEASIBLE/PRUNED, then FAIL with
        an error, then RUNNING, then FAIL of a killed trial)."""
        order = {s: i for i, s in enumerate(("COMPLETE", "INFEASIBLE", "PRUNED", "ERROR",
                                              "RUNNING", "WAITING", "FAIL"))}
        out: dict[int, str] = {}
        for r in records:
            if not self.mine(r):
                continue
            u = self.unit_index(r)
            if u is None:
                continue
            s = "ERROR" if r.state == "FAIL" and r.error and r.error_kind != "device" else r.state
            if u not in out or order[s] < order[out[u]]:
                out[u] = s
        return out

    def unit_index(self, r: TrialRecord) -> int | None:
        """The unit a record trained: its ``unit`` attribute, else (trials stored before this plan
        had claims, e.g. an older comparison) its item and seed."""
        if r.unit is not None:
            return int(r.unit)
        item = self.item_of(r)
        if item is None or r.seed is None or r.seed not in self.seeds:
            return None
        return self.index(item, self.seeds.index(r.seed))

    def item_of(self, r: TrialRecord) -> int | None:
        return r.point_index

    def merged(self, records: Sequence[TrialRecord]) -> dict[int, int]:
        """{item: the earlier item that realised the same network}, from the networks the
        records show (each item's first trial that recorded one). A function of the records:
        every worker and every resume merges the same."""
        from gridsearch.selection import network

        seen: dict[int, object] = {}
        for r in records:
            if self.mine(r):
                i = self.item_of(r)
                net = network(r)
                if i is not None and net is not None and i not in seen:
                    seen[i] = net
        earliest: dict[object, int] = {}        # network -> the first item that realised it
        out = {}
        for i in sorted(seen):
            if seen[i] in earliest:
                out[i] = earliest[seen[i]]
            else:
                earliest[seen[i]] = i
        return out

    def open(self, records: Sequence[TrialRecord]) -> Opening:
        raise NotImplementedError

    def progress(self, records: Sequence[TrialRecord]) -> dict[str, int]:
        """The plan's work in what a user can count: ``points`` (planned), ``infeasible``
        (points the budget rejected: one trial each, never trained), and ``units``: the trials
        the plan runs — a point with one seed that trains, or one infeasible point's check — of
        which ``done`` (``trained`` or found infeasible), ``failed`` (with an error),
        ``running`` and ``left``.  An infeasible point's other seeds and the seeds a race no
        longer needs are no work: not counted.  ``done + failed`` grows by one per finished
        trial (the run's ``[k/N]``); ``units`` (N) shrinks when work turns out not needed."""
        status = self.status(records)
        opening = self.open(records)
        out = {"points": len(self.items), "infeasible": 0, "units": 0, "done": 0, "trained": 0,
               "failed": 0, "running": 0, "left": 0}
        for u in range(self.size):
            s = status.get(u)
            if s in DONE:
                out["done"] += 1
                out["trained"] += s == "COMPLETE"
                out["infeasible"] += s == "INFEASIBLE"
            elif s == "ERROR":
                out["failed"] += 1
            elif s in ("RUNNING", "WAITING"):
                out["running"] += 1
            elif u in opening.skipped or opening.finished:
                continue                  # never needed: an infeasible point's seed, a race's
            else:
                out["left"] += 1
        out["units"] = out["done"] + out["failed"] + out["running"] + out["left"]
        return out


class FixedPlan(Plan):
    """Every item with every seed (see the module docstring).  ``merge``: an item that realised
    an earlier item's network trains no further seeds (a search's points); False where every
    item is a row of its own (a comparison's strategies, a check's rivals)."""

    def __init__(self, items: Sequence[Item], seeds: Sequence[int], key: str = "",
                 item_of: Callable[[TrialRecord], int | None] | None = None,
                 merge: bool = True) -> None:
        self.items, self.seeds, self.key = list(items), list(seeds), key
        self._item_of = item_of
        self.merge = merge

    def item_of(self, r: TrialRecord) -> int | None:
        return self._item_of(r) if self._item_of else r.point_index

    def merges(self, records: Sequence[TrialRecord]) -> dict[int, int]:
        """:meth:`Plan.merged` where the plan merges (``merge``), else nothing."""
        return self.merged(records) if self.merge else {}

    def open(self, records: Sequence[TrialRecord], ranks: int | None = None) -> Opening:
        """Units of the first ``ranks`` seeds (all by default) that may run now."""
        status = self.status(records)
        merged = self.merges(records)
        n, ranks = len(self.items), len(self.seeds) if ranks is None else ranks
        out = Opening()
        for k in range(ranks):
            for i in range(n):
                u = k * n + i
                seed0_status = status.get(i)         # item i's unit with the first seed
                if status.get(u) in DONE:
                    continue
                if k and (seed0_status == "INFEASIBLE" or i in merged):
                    out.skipped.add(u)
                elif k == 0 or seed0_status in DONE or seed0_status == "ERROR":
                    out.units.append(u)
        out.finished = not out.units and all(status.get(u) in DONE or u in out.skipped
                                             for u in range(ranks * n))
        return out


@dataclass
class SampledPlan(Plan):
    """TPE, QMC or random: ``n_trials`` trials, each proposing its point and training every seed."""

    n_trials: int
    seeds: list[int]
    items: list[Item] = field(default_factory=list)
    key: str = ""

    @property
    def claims(self) -> bool:
        return False

    @property
    def size(self) -> int:
        return self.n_trials

    def open(self, records: Sequence[TrialRecord]) -> Opening:
        ran = sum(r.state in (*DONE, "RUNNING") for r in records)
        return Opening(units=[], finished=ran >= self.n_trials)

    def progress(self, records: Sequence[TrialRecord]) -> dict[str, int]:
        """As :meth:`Plan.progress`, with the sampler's trials as points and units."""
        done = sum(r.state in DONE for r in records)
        running = sum(r.state == "RUNNING" for r in records)
        failed = sum(r.state == "FAIL" and bool(r.error) for r in records)
        out = {"points": self.n_trials,
               "infeasible": sum(r.state == "INFEASIBLE" for r in records),
               "done": min(done, self.n_trials),
               "trained": sum(r.state == "COMPLETE" for r in records),
               "failed": failed, "running": running,
               "left": max(0, self.n_trials - done - running)}
        out["units"] = out["done"] + out["failed"] + out["running"] + out["left"]
        return out
