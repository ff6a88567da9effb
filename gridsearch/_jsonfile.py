"""The one atomic JSON writer: a temporary file in the same folder, fsync'ed, then ``os.replace``,
so a reader never sees half a file and a failed write leaves the old one.  Used by ``export`` and
by every ``--output``.  (No maintained library on the dependency list does this; ``atomicwrites``
is archived.)"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from gridsearch.errors import ConfigError


def check_writable(path: str | Path, force: bool = False, what: str = "") -> None:
    """Fail early (before hours of counting) when ``path`` cannot or must not be written.
    ``what`` names the option in messages (``--output``)."""
    path, label = Path(path), f"{what}: " if what else ""
    if path.is_dir():
        raise ConfigError(f"{label}{path} is a directory")
    if path.exists() and not force:
        raise ConfigError(f"{label}{path} exists; pass --force to overwrite it")
    if not path.parent.is_dir():
        raise ConfigError(f"{label}no such directory: {path.parent}")


def json_default(o: Any) -> Any:
    if hasattr(o, "item"):  # numpy and torch scalars
        return o.item()
    raise TypeError(f"{type(o).__name__} is not JSON serialisable")


def write_json(path: str | Path, obj: Any, force: bool = True, what: str = "") -> Path:
    """Write ``obj`` as indented JSON to ``path`` atomically; refuse an existing file unless
    ``force``.  NaN and infinities are refused (ValueError) before anything is written."""
    path, label = Path(path), f"{what}: " if what else ""
    check_writable(path, force, what)
    text = json.dumps(obj, indent=2, allow_nan=False, default=json_default) + "\n"
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as e:
        raise ConfigError(f"{label}cannot write {path}: {e.strerror or e}") from None
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except OSError as e:
        Path(tmp).unlink(missing_ok=True)
        raise ConfigError(f"{label}cannot write {path}: {e.strerror or e}") from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
