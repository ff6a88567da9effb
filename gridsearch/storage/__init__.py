"""The study store: Optuna's SQLAlchemy storage (SQLite by default, PostgreSQL to share), the
exactly-once claims table, and password redaction."""

from typing import TYPE_CHECKING

from gridsearch._lazy import attach

if TYPE_CHECKING:  # the names as an editor and a type checker see them; loaded lazily below
    from gridsearch.storage._claims import Claim as Claim, Claims as Claims
    from gridsearch.storage._redact import RedactingFilter as RedactingFilter, redact as redact, remember as remember
    from gridsearch.storage._url import check_url as check_url, open_storage as open_storage, sqlite_path as sqlite_path

__getattr__, __dir__, __all__ = attach(__name__, {
    "_claims": ["Claims", "Claim"],
    "_redact": ["RedactingFilter", "redact", "remember"],
    "_url": ["check_url", "open_storage", "sqlite_path"],
})
