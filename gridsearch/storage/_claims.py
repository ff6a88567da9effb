"""Exactly-once grid points: a claim table beside Optuna's own, in the same database.

Optuna's GridSampler duplicates and skips points under concurrency, and its queued trials are
popped twice on SQLite (docs/design.md §5).  Here each grid point is a row keyed by (study, point):
a worker owns a point by inserting its row — the primary key lets exactly one insert win on SQLite
and PostgreSQL alike.  A point is taken back (compare-and-swap on the owner token) only when its
trial was killed (failed by heartbeat, interrupted) or, on request, when it failed with an error.
"""

from __future__ import annotations

import time
import uuid
from typing import Callable

import optuna
from optuna.trial import TrialState
from sqlalchemy import Column, Float, Integer, MetaData, String, Table, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

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


class PointClaims:
    """Claims of one study's grid points in ``storage``'s database."""

    def __init__(self, storage: optuna.storages.RDBStorage, study_name: str) -> None:
        self.engine = storage.engine
        self.storage = storage
        self.study = study_name
        retry_schema(lambda: metadata.create_all(self.engine, checkfirst=True))

    def _rows(self) -> dict[int, tuple[int | None, str, float]]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(claims.c.point, claims.c.trial_id, claims.c.owner,
                                       claims.c.updated).where(claims.c.study == self.study))
            return {p: (t, o, u) for p, t, o, u in rows}

    def reclaimable(self, trial_id: int | None, updated: float,
                    retry_failed_before: float | None = None) -> bool:
        """May this claim be taken over?  Killed or interrupted trials: always.  Trials failed with
        an error: only when retrying, and only those that failed before ``retry_failed_before`` (a
        time.time()), so a point that fails again in this run is not retried in a loop."""
        if trial_id is None:
            return time.time() - updated > ORPHAN_AFTER_S
        trial = self.storage.get_trial(trial_id)
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
            trial_id, old_owner, updated = row
            if not self.reclaimable(trial_id, updated, retry_failed_before):
                continue
            with self.engine.begin() as conn:
                won = conn.execute(
                    update(claims)
                    .where(claims.c.study == self.study, claims.c.point == point,
                           claims.c.owner == old_owner)
                    .values(owner=owner, trial_id=None, updated=time.time())).rowcount
            if won == 1:
                return point, owner
        return None

    def pending(self) -> int:
        """Points held by a running trial (or by a fresh claim not yet bound to a trial): they may
        still fail and need a worker, so a worker with nothing to claim waits for them."""
        n = 0
        for trial_id, _, updated in self._rows().values():
            if trial_id is None:
                n += time.time() - updated <= ORPHAN_AFTER_S
            elif self.storage.get_trial(trial_id).state == TrialState.RUNNING:
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
        """point -> trial_id for every claimed point."""
        return {p: t for p, (t, _, _) in self._rows().items()}
