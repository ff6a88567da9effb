"""The study store: Optuna's SQLAlchemy storage (SQLite by default, PostgreSQL to share), the
exactly-once claims table, and password redaction."""

from gridsearch._lazy import attach

__getattr__, __dir__, __all__ = attach(__name__, {
    "_claims": ["Claims", "Claim"],
    "_redact": ["RedactingFilter", "redact", "remember"],
    "_url": ["check_url", "open_storage", "sqlite_path"],
})
