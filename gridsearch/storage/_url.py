"""Storage URLs: checking them, and opening Optuna's RDB storage (SQLite or PostgreSQL) safely."""

from __future__ import annotations

import random
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import optuna
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, IntegrityError, SQLAlchemyError

from gridsearch.errors import StorageError
from gridsearch.storage._redact import redact, remember

SQLITE_TIMEOUT_S = 30        # busy timeout: 4+ writers on one SQLite file never hit "locked"
HEARTBEAT_INTERVAL_S = 10.0  # a RUNNING trial whose worker is gone is failed after the grace period
GRACE_PERIOD_S = 30.0

T = TypeVar("T")
def check_url(url: str) -> str:
    """Validate a storage URL; return its dialect (sqlite, postgresql, mysql)."""
    remember(url)
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        raise StorageError(f"storage: not a database URL: {redact(url)!r}") from None
    if "@" in (parsed.host or ""):
        raise StorageError(f"storage: a raw '@' in the password or user name of {redact(url)!r}: "
                           "percent-encode it as %40")
    dialect = parsed.get_backend_name()
    if dialect not in ("sqlite", "postgresql", "mysql"):
        raise StorageError(f"storage: unsupported database {dialect!r} in {redact(url)!r} "
                           "(use sqlite:///FILE or postgresql://USER:PASS@HOST/DB)")
    return dialect


def sqlite_path(url: str) -> Path | None:
    """The file of a SQLite URL (None for other databases and in-memory SQLite)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return None
    return Path(parsed.database)


_RACE = ("already exists", "unique constraint", "duplicate key", "database is locked")


def schema_race(e: Exception) -> bool:
    """Did creating tables fail because another process created them at the same moment?"""
    return isinstance(e, IntegrityError) or any(m in str(e).lower() for m in _RACE)


def retry_schema(fn: Callable[[], T], attempts: int = 5) -> T:
    """Run ``fn`` (which creates tables), retrying when a concurrent first start raced it: on a
    fresh database, several workers create Optuna's tables at once and all but one fail."""
    for i in range(attempts):
        try:
            return fn()
        except SQLAlchemyError as e:
            if i == attempts - 1 or not schema_race(e):
                raise
            time.sleep(0.2 * (i + 1) + random.random() * 0.3)
    raise AssertionError("unreachable")


def open_storage(url: str, heartbeat: bool = True, heartbeat_interval: float = HEARTBEAT_INTERVAL_S,
                 grace_period: float = GRACE_PERIOD_S) -> optuna.storages.RDBStorage:
    """Open (creating tables if needed) Optuna's RDB storage at ``url``.

    SQLite gets a 30 s busy timeout; a heartbeat lets a crashed worker's trial be failed and retried:
    a RUNNING trial without a heartbeat for ``grace_period`` seconds is failed by the next worker
    that looks.  Every worker of one study must use the same figures (the study config holds them).
    """
    dialect = check_url(url)
    engine_kwargs: dict = {}
    if dialect == "sqlite":
        path = sqlite_path(url)
        if path is not None:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as e:
                raise StorageError(f"storage: cannot create the folder of {redact(url)}: "
                                   f"{e.strerror}") from None
        engine_kwargs["connect_args"] = {"timeout": SQLITE_TIMEOUT_S}
    else:
        engine_kwargs["pool_pre_ping"] = True
        engine_kwargs["connect_args"] = {"connect_timeout": 10}
    try:
        with warnings.catch_warnings():   # heartbeats with ask/tell are chosen on purpose
            warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning,
                                    message=".*(heartbeat_interval|grace_period)")
            # Optuna annotates both as int, and takes any number of seconds: [workers] allows
            # fractions (heartbeat_interval = 0.5), so floats are passed on purpose.
            return retry_schema(lambda: optuna.storages.RDBStorage(
                url, engine_kwargs=engine_kwargs,
                heartbeat_interval=heartbeat_interval if heartbeat else None,  # type: ignore[arg-type]
                grace_period=grace_period if heartbeat else None))  # type: ignore[arg-type]
    except (SQLAlchemyError, ImportError, ValueError, RuntimeError, OSError) as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise StorageError(f"storage: cannot open {redact(url)}: {redact(first)}") from None
