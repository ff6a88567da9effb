"""Storage URLs: opening Optuna's RDB storage safely, and never showing a password."""

from __future__ import annotations

import re
from pathlib import Path

import optuna
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from ..errors import StorageError

SQLITE_TIMEOUT_S = 30        # busy timeout: 4+ writers on one SQLite file never hit "locked"
HEARTBEAT_INTERVAL_S = 10    # a RUNNING trial whose worker is gone is failed after the grace period
GRACE_PERIOD_S = 30

_PASSWORD = re.compile(r"(://[^:/@\s]+:)([^@\s]*)(@)")


def redact(text: str) -> str:
    """Replace every URL password in ``text`` with ***."""
    return _PASSWORD.sub(r"\1***\3", str(text))


def check_url(url: str) -> str:
    """Validate a storage URL; return its dialect (sqlite, postgresql, mysql)."""
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        raise StorageError(f"storage: not a database URL: {redact(url)!r}") from None
    dialect = parsed.get_backend_name()
    if dialect not in ("sqlite", "postgresql", "mysql"):
        raise StorageError(f"storage: unsupported database {dialect!r} in {redact(url)!r} "
                           "(use sqlite:///FILE or postgresql://USER:PASS@HOST/DB)")
    return dialect


def open_storage(url: str, heartbeat: bool = True) -> optuna.storages.RDBStorage:
    """Open (creating tables if needed) Optuna's RDB storage at ``url``.

    SQLite gets a 30 s busy timeout; a heartbeat lets a crashed worker's trial be failed and retried.
    """
    dialect = check_url(url)
    engine_kwargs: dict = {}
    if dialect == "sqlite":
        path = make_url(url).database
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine_kwargs["connect_args"] = {"timeout": SQLITE_TIMEOUT_S}
    else:
        engine_kwargs["pool_pre_ping"] = True
        engine_kwargs["connect_args"] = {"connect_timeout": 10}
    kwargs = {}
    if heartbeat:
        kwargs = {"heartbeat_interval": HEARTBEAT_INTERVAL_S, "grace_period": GRACE_PERIOD_S}
    try:
        return optuna.storages.RDBStorage(url, engine_kwargs=engine_kwargs, **kwargs)
    except (SQLAlchemyError, ImportError, ValueError, RuntimeError) as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise StorageError(f"storage: cannot open {redact(url)}: {redact(first)}") from None
