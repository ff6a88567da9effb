"""Exactly-once units of work: a claim table beside Optuna's own, in the same database.

Optuna's GridSampler duplicates and skips points under concurrency, and its queued trials are
popped twice on SQLite (docs/design.md §5).  Here each unit of a study's plan (a (point, seed)
pair, numbered by the plan) is a row keyed by (study, unit): a worker owns a unit by inserting its
row — the primary key lets exactly one insert win on SQLite and PostgreSQL alike.  A unit is taken
back (compare-and-swap on the owner token) only when its trial was killed (failed by heartbeat,
interrupted, or its worker lost its device) or, on request, when it failed with an error.  A claim
left by a deleted study (`optuna delete-study`, then the study created again) is stale: its trial
is missing or is not its own, and its unit is free.

The table's ``study`` column holds the study name, or ``name#plan`` when one study runs several
plans (a comparison at several φ); its ``point`` column holds the unit's number (the column name
predates units and is kept so that existing stores keep working).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import optuna
from optuna.trial import FrozenTrial, TrialState
from sqlalchemy import Column, Float, Integer, MetaData, String, Table, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from gridsearch import _compat
from gridsearch.storage._url import retry_schema

metadata = MetaData()
claims = Table(
    "gridsearch_claims", metadata,
    Column("study", String(512), primary_key=True),
    Column("point", Integer, primary_key=True),
    Column("trial_id", Integer, nullable=True),
    Column("owner", String(64), nullable=False),
    Column("updated", Float, nullable=False),
)

# A claim with no trial yet (the worker died between claiming and asking) is free after this.
ORPHAN_AFTER_S = 120.0
# A bound claim is written just after its trial started, by the same process (one clock).
CLOCK_SLACK_S = 0.5


@dataclass(frozen=True)
class Claim:
    trial_id: int | None
    trial: FrozenTrial | None    # None: unbound, or the trial is not in the study (any more)
    owner: str
    updated: float

    def stale(self, unit: int, unit_of: Callable[[FrozenTrial, int], int]) -> bool:
        """Left over from a study that was deleted (and maybe created again): the trial is
        missing, or is not this claim's (ids are reused: it started after the claim was bound,
        or trains another point)."""
        if self.trial_id is None:
            return False
        t = self.trial
        return (t is None or t.datetime_start is None
                or t.datetime_start.timestamp() > self.updated + CLOCK_SLACK_S
                or unit_of(t, unit) != unit)


def _unit(trial: FrozenTrial, default: int) -> int:
    return trial.user_attrs.get("unit", default)


class Claims:
    """Claims of the units of one study's plan in ``storage``'s database.

    ``unit_of(trial, default)`` reads which unit a trial was bound to (the study layer's record
    knows the attribute names of older versions)."""

    def __init__(self, storage: optuna.storages.RDBStorage, study_name: str, plan: str = "",
                 unit_of: Callable[[FrozenTrial, int], int] = _unit) -> None:
        self.engine = storage.engine
        self.storage = storage
        self.study_name = study_name
        self.study = f"{study_name}#{plan}" if plan else study_name
        self.unit_of = unit_of
        retry_schema(lambda: metadata.create_all(self.engine, checkfirst=True))

    def _rows(self) -> dict[int, Claim]:
        """This study's claims, each checked against the study as it is now."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(claims.c.point, claims.c.trial_id, claims.c.owner,
                                       claims.c.updated).where(claims.c.study == self.study)).all()
        try:
            study_id = self.storage.get_study_id_from_name(self.study_name)
            trials = {_compat.trial_id(t): t for t in self.storage.get_all_trials(study_id, deepcopy=False)}
        except KeyError:  # the study is gone (deleted, e.g. with `optuna delete-study`)
            trials = {}
        return {p: Claim(t, trials.get(t) if t is not None else None, o, u) for p, t, o, u in rows}

    def reclaimable(self, claim: Claim, unit: int,
                    retry_failed_before: float | None = None) -> bool:
        """May this claim be taken over?  Stale ones (see :meth:`Claim.stale`), killed or
        interrupted trials: always.  Trials failed with an error: only when retrying, and only
        those that failed before ``retry_failed_before`` (a time.time()), so a point that fails
        again in this run is not retried in a loop."""
        if claim.stale(unit, self.unit_of):
            return True
        trial = claim.trial
        if trial is None:     # unbound (a bound claim whose trial is missing is stale: above)
            return time.time() - claim.updated > ORPHAN_AFTER_S
        if trial.state != TrialState.FAIL:
            return False
        if "error" not in trial.user_attrs or trial.user_attrs.get("error_kind") == "device":
            return True   # killed, interrupted, or its worker's device failed: not the unit's fault
        if retry_failed_before is None:
            return False
        done = trial.datetime_complete
        return done is not None and done.timestamp() < retry_failed_before

    def claim(self, units: Iterable[int],
              retry_failed_before: float | None = None) -> tuple[int, str] | None:
        """Own the first free unit of ``units``; return (unit, owner token), or None."""
        owner = uuid.uuid4().hex
        rows = self._rows()
        for unit in units:
            row = rows.get(unit)
            if row is None:
                try:
                    with self.engine.begin() as conn:
                        conn.execute(insert(claims).values(study=self.study, point=unit,
                                                           trial_id=None, owner=owner,
                                                           updated=time.time()))
                    return unit, owner
                except IntegrityError:
                    continue  # another worker won this unit
            if not self.reclaimable(row, unit, retry_failed_before):
                continue
            with self.engine.begin() as conn:
                won = conn.execute(
                    update(claims)
                    .where(claims.c.study == self.study, claims.c.point == unit,
                           claims.c.owner == row.owner)
                    .values(owner=owner, trial_id=None, updated=time.time())).rowcount
            if won == 1:
                return unit, owner
        return None

    def pending(self) -> int:
        """Units held by a running trial (or by a fresh claim not yet bound to a trial): they may
        still fail and need a worker, so a worker with nothing to claim waits for them."""
        n = 0
        for unit, c in self._rows().items():
            if c.stale(unit, self.unit_of):
                continue
            if c.trial is None:   # unbound (not stale: so not a bound claim's missing trial)
                n += time.time() - c.updated <= ORPHAN_AFTER_S
            elif c.trial.state == TrialState.RUNNING:
                n += 1
        return n

    def bind(self, unit: int, owner: str, trial_id: int) -> bool:
        """Record which trial is training the claimed unit; False if the claim was lost."""
        with self.engine.begin() as conn:
            return conn.execute(update(claims)
                                .where(claims.c.study == self.study, claims.c.point == unit,
                                       claims.c.owner == owner)
                                .values(trial_id=trial_id, updated=time.time())).rowcount == 1

    def release(self, unit: int, owner: str) -> None:
        """Give a unit back at once (its trial was interrupted): the next claim takes it."""
        with self.engine.begin() as conn:
            conn.execute(delete(claims).where(claims.c.study == self.study, claims.c.point == unit,
                                              claims.c.owner == owner))

    def release_all(self) -> int:
        """Forget every claim of this plan (``compare --rerun``: train it all again)."""
        with self.engine.begin() as conn:
            return conn.execute(delete(claims).where(claims.c.study == self.study)).rowcount

    def taken(self) -> dict[int, Claim]:
        """unit -> its claim, for every claimed unit (stale claims are left out: their units are
        free)."""
        return {u: c for u, c in self._rows().items() if not c.stale(u, self.unit_of)}
