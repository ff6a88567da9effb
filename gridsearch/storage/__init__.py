"""The study store: Optuna's SQLAlchemy storage (SQLite by default, PostgreSQL to share)."""

from .claims import PointClaims
from .url import check_url, open_storage, redact, sqlite_path

__all__ = ["PointClaims", "check_url", "open_storage", "redact", "sqlite_path"]
