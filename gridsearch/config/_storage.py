"""Where a study's storage URL comes from: one function, one order of precedence.

First match wins:

1. ``--storage URL``, then ``--storage-file FILE`` (a file holding the URL, e.g. a Docker or
   Kubernetes secret) on the command line;
2. the environment: ``GRIDSEARCH_STORAGE`` (the URL), then ``GRIDSEARCH_STORAGE_FILE`` (a file);
3. the config: ``storage = "…"`` or ``storage_file = "…"`` (relative to the config's folder);
4. ``studies/<name>.db`` beside the config (SQLite).

A password belongs in the environment or a file, never on a command line (``ps`` shows it).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Mapping

from gridsearch.config._schema import StudyConfig
from gridsearch.errors import ConfigError

STORAGE_ENV = "GRIDSEARCH_STORAGE"
STORAGE_FILE_ENV = "GRIDSEARCH_STORAGE_FILE"


def storage_url(cfg: StudyConfig, url: str | None = None, file: str | None = None,
                env: Mapping[str, str] | None = None) -> str:
    """The storage URL of ``cfg`` given the command line's ``url`` / ``file`` (see the module
    docstring for the order)."""
    env = os.environ if env is None else env
    if url and file:
        raise ConfigError("--storage-file: give --storage or --storage-file, not both")
    if url:
        return url
    if file:
        return read_storage_file(file, "--storage-file")
    if env.get(STORAGE_ENV):
        return env[STORAGE_ENV].strip()
    if env.get(STORAGE_FILE_ENV):
        return read_storage_file(env[STORAGE_FILE_ENV], STORAGE_FILE_ENV)
    if cfg.storage:
        return cfg.storage
    if cfg.storage_file:
        return read_storage_file(cfg.relative(cfg.storage_file), "storage_file")
    folder = Path(cfg.path).parent if cfg.path else Path("studies")
    return f"sqlite:///{folder / (cfg.name + '.db')}"


def read_storage_file(path: str | Path, key: str) -> str:
    """The storage URL held in a file (a Docker/Kubernetes secret): its first line, stripped."""
    try:
        text = Path(path).read_text()
    except (OSError, UnicodeDecodeError) as e:
        reason = getattr(e, "strerror", None) or type(e).__name__
        raise ConfigError(f"{key}: cannot read {path}: {reason}") from None
    url = text.strip().splitlines()[0].strip() if text.strip() else ""
    if not url:
        raise ConfigError(f"{key}: {path} is empty (it should hold the storage URL)")
    return url
