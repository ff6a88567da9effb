"""Where a study's storage URL comes from: one function, one order of precedence.

First match wins:

1. ``--storage URL``, then ``--storage-file FILE`` (a file holding the URL, e.g. a Docker or
   Kubernetes secret) on the command line;
2. the environment: ``GRIDSEARCH_STORAGE`` (the URL), then ``GRIDSEARCH_STORAGE_FILE`` (a file);
3. the config: ``storage = "…"`` or ``storage_file = "…"`` (relative to the config's folder);
4. ``<name>.db`` in the config's folder (SQLite; ``studies/`` for a config read from no file).

A password belongs in the environment or a file, never on a command line (``ps`` shows it).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from gridsearch.config._schema import StudyConfig
from gridsearch.errors import ConfigError

STORAGE_ENV = "GRIDSEARCH_STORAGE"
STORAGE_FILE_ENV = "GRIDSEARCH_STORAGE_FILE"


@dataclass(frozen=True)
class StorageSource:
    """The URL a study uses and where it came from: ``origin`` names the source (``--storage``,
    ``--storage-file``, ``GRIDSEARCH_STORAGE``, ``GRIDSEARCH_STORAGE_FILE``, ``storage``,
    ``storage_file`` or ``default``), ``file`` the file it was read from, if any."""

    url: str
    origin: str
    file: str | None = None


def resolve_storage(cfg: StudyConfig, url: str | None = None, file: str | None = None,
                    env: Mapping[str, str] | None = None) -> StorageSource:
    """The storage URL of ``cfg`` given the command line's ``url`` / ``file``, and its source
    (see the module docstring for the order)."""
    env = os.environ if env is None else env
    if url and file:
        raise ConfigError("--storage-file: give --storage or --storage-file, not both")
    if url:
        return StorageSource(url, "--storage")
    if file:
        return StorageSource(read_storage_file(file, "--storage-file"), "--storage-file", file)
    if env.get(STORAGE_ENV):
        return StorageSource(env[STORAGE_ENV].strip(), STORAGE_ENV)
    if env.get(STORAGE_FILE_ENV):
        path = env[STORAGE_FILE_ENV]
        return StorageSource(read_storage_file(path, STORAGE_FILE_ENV), STORAGE_FILE_ENV, path)
    if cfg.storage:
        return StorageSource(cfg.storage, "storage")
    if cfg.storage_file:
        path = str(cfg.relative(cfg.storage_file))
        return StorageSource(read_storage_file(path, "storage_file"), "storage_file", path)
    folder = Path(cfg.path).parent if cfg.path else Path("studies")
    return StorageSource(f"sqlite:///{folder / (cfg.name + '.db')}", "default")


def storage_url(cfg: StudyConfig, url: str | None = None, file: str | None = None,
                env: Mapping[str, str] | None = None) -> str:
    """The storage URL of ``cfg`` (:func:`resolve_storage` without its source)."""
    return resolve_storage(cfg, url, file, env).url


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
