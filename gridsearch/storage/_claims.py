"""Exactly-once grid points: a claim table beside Optuna's own, in the same database.

Optuna's GridSampler duplicates and skips points under concurrency, and its queued trials are
popped twice on SQLite (docs/design.md §5).  Here each grid point is a row keyed by (study, point):
a worker owns a point by inserting its row — the primary key lets exactly one insert win on SQLite
and PostgreSQL alike.  A point is taken back (compare-and-swap on the owner token) only when its
trial was killed (failed by heartbeat, interrupted) or, on request, when it failed with an error.
A claim left by a deleted study (`optuna delete-study`, then the study created again) is stale:
its trial is missing or is not its own, and its point is free.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Callable

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

    def stale(self, point: int) -> bool:
        """Left over from a study that was deleted (and maybe created again): the trial is
        missing, or is not this claim's (ids are reused: it started after the claim was bound,
        or trains another point)."""
        if self.trial_id is None:
            return False
        t = self.trial
        return (t is None or t.datetime_start is None
                or t.datetime_start.timestamp() > self.updated + CLOCK_SLACK_S
                or _unit(t, point) != point)


def _unit(trial: FrozenTrial, default: int) -> int:
    """The claims-table index a trial was bound to: its ``unit`` (a (point, seed) pair of a study
    with several seeds), else its ``point`` (studies with one seed, and older studies)."""
    u = trial.user_attrs
    return u.get("unit", u.get("point", default))


class PointClaims:
    """Claims of one study's grid points in ``storage``'s database."""

    def __init__(self, storage: optuna.storages.RDBStorage, study_name: str) -> None:
        self.engine = storage.engine
        self.storage = storage
        self.study = study_name
        retry_schema(lambda: metadata.create_all(self.engine, checkfirst=True))

    def _rows(self) -> dict[int, Claim]:
        """This study's claims, each checked against the study as it is now."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(claims.c.point, claims.c.trial_id, claims.c.owner,
                                       claims.c.updated).where(claims.c.study == self.study)).all()
        try:
            study_id = self.storage.get_study_id_from_name(self.study)
            trials = {_compat.trial_id(t): t for t in self.storage.get_all_trials(study_id, deepcopy=False)}
        except KeyError:  # the study is gone (deleted, e.g. with `optuna delete-study`)
            trials = {}
        return {p: Claim(t, trials.get(t) if t is not None else None, o, u) for p, t, o, u in rows}

    def reclaimable(self, claim: Claim, point: int,
                    retry_failed_before: float | None = None) -> bool:
        """May this claim be taken over?  Stale ones (see :meth:`Claim.stale`), killed or
        interrupted trials: always.  Trials failed with an error: only when retrying, and only
        those that failed before ``retry_failed_before`` (a time.time()), so a point that fails
        again in this run is not retried in a loop."""
        if claim.stale(point):
            return True
        if claim.trial_id is None:
            return time.time() - claim.updated > ORPHAN_AFTER_S
        trial = claim.trial
        if trial.state != TrialState.FAIL:
            return False
        if "error" not in trial.user_attrs:
            return True
        if retry_failed_before is None:
            return False
        done = trial.datetime_complete
        return done is not None and done.timestamp() < retry_failed_before

    def claim(self, n_points: int, retry_failed_before: float | None = None,
              skip: Callable[[int], bool] = lambda p: False) -> tuple[int, str] | None:
        """Own the first free point; return (point, owner token), or None when none is left."""
        owner = uuid.uuid4().hex
        rows = self._rows()
        for point in range(n_points):
            if skip(point):
                continue
            row = rows.get(point)
            if row is None:
                try:
                    with self.engine.begin() as conn:
                        conn.execute(insert(claims).values(study=self.study, point=point,
                                                           trial_id=None, owner=owner,
                                                           updated=time.time()))
                    return point, owner
                except IntegrityError:
                    continue  # another worker won this point
            if not self.reclaimable(row, point, retry_failed_before):
                continue
            with self.engine.begin() as conn:
                won = conn.execute(
                    update(claims)
                    .where(claims.c.study == self.study, claims.c.point == point,
                           claims.c.owner == row.owner)
                    .values(owner=owner, trial_id=None, updated=time.time())).rowcount
            if won == 1:
                return point, owner
        return None

    def pending(self) -> int:
        """Points held by a running trial (or by a fresh claim not yet bound to a trial): they may
        still fail and need a worker, so a worker with nothing to claim waits for them."""
        n = 0
        for point, c in self._rows().items():
            if c.stale(point):
                continue
            if c.trial_id is None:
                n += time.time() - c.updated <= ORPHAN_AFTER_S
            elif c.trial.state == TrialState.RUNNING:
                n += 1
        return n

    def bind(self, point: int, owner: str, trial_id: int) -> bool:
        """Record which trial is training the claimed point; False if the claim was lost."""
        with self.engine.begin() as conn:
            return conn.execute(update(claims)
                                .where(claims.c.study == self.study, claims.c.point == point,
                                       claims.c.owner == owner)
                                .values(trial_id=trial_id, updated=time.time())).rowcount == 1

    def release(self, point: int, owner: str) -> None:
        """Give a point back at once (its trial was interrupted): the next claim takes it."""
        with self.engine.begin() as conn:
            conn.execute(delete(claims).where(claims.c.study == self.study, claims.c.point == point,
                                              claims.c.owner == owner))

    def taken(self) -> dict[int, int | None]:
        """point -> trial_id for every claimed point (stale claims are left out: their points are
        free)."""
        return {p: c.trial_id for p, c in self._rows().items() if not c.stale(p)}
