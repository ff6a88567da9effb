"""The study store: Optuna's SQLAlchemy storage (SQLite by default, PostgreSQL to share)."""

from gridsearch.storage._claims import PointClaims
from gridsearch.storage._url import (RedactingFilter, check_url, open_storage, redact, remember,
                                     sqlite_path)

__all__ = ["PointClaims", "RedactingFilter", "check_url", "open_storage", "redact", "remember",
           "sqlite_path"]
