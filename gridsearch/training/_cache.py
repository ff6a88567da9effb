"""The decoded subsets on disk, once per host: uint8 pixels in a file, memory-mapped.

An entry is keyed by a hash of the data's identity (every file's path, size and mtime, the
layout, the subset seed and sizes, the image size and crop, and :data:`VERSION` of the decoding),
so a changed, added or removed file, or another subset, is another entry.  The first process
decodes and writes the entry while holding an exclusive lock on ``<entry>.lock`` (``flock``);
another process that wants the same entry waits on the lock, then maps the finished file.  Pixels
are mapped copy-on-write (``MAP_PRIVATE``): every process on the host shares the same page-cache
pages, and none can change the file.

Where: ``$GRIDSEARCH_CACHE_DIR`` if set (``off`` turns the cache off: every process decodes into
its own memory), else ``$XDG_CACHE_HOME/gridsearch/data``, else ``~/.cache/gridsearch/data``.
Entries are never removed by gridsearch; deleting the folder is safe whenever no gridsearch
process is starting (a running one keeps its mapping).  A folder that cannot be written, or a
full disk, means decoding into memory with a warning.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import socket
import time
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np

ENV = "GRIDSEARCH_CACHE_DIR"
VERSION = 1   # bump when decoded pixels change for the same files and settings


def default_dir(env: Mapping[str, str] | None = None) -> Path | None:
    """The cache folder (see the module doc), or None when the environment turns it off."""
    env = os.environ if env is None else env
    v = env.get(ENV, "").strip()
    if v.lower() in ("off", "none", "0"):
        return None
    if v:
        return Path(v).expanduser()
    base = env.get("XDG_CACHE_HOME", "").strip() or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "gridsearch" / "data"


def key(identity: Iterable[Any], **params: Any) -> str:
    """The hex digest of ``identity`` (JSON-able items, e.g. one per file) and ``params``."""
    h = hashlib.sha256(json.dumps({"version": VERSION, **params}, sort_keys=True).encode())
    for item in identity:
        h.update(b"\n")
        h.update(json.dumps(item).encode())
    return h.hexdigest()


class CacheEntry:
    """One cache entry: ``<dir>/<name>.u8`` (the pixels, raw) and ``<name>.json`` (their shape
    and everything else; written last, so its presence marks the entry finished)."""

    def __init__(self, folder: Path, name: str) -> None:
        self.folder, self.name = folder, name
        self.pixels = folder / f"{name}.u8"
        self.meta = folder / f"{name}.json"
        self.lockfile = folder / f"{name}.lock"

    @contextlib.contextmanager
    def locked(self) -> Iterator[float]:
        """Hold the entry's lock; yields the seconds spent waiting for another process."""
        start = time.perf_counter()
        with open(self.lockfile, "a+") as f:
            try:
                import fcntl
            except ImportError:  # pragma: no cover - not POSIX: no sharing between processes
                yield 0.0
                return
            fcntl.flock(f.fileno(), fcntl.LOCK_EX)
            try:
                yield time.perf_counter() - start
            finally:
                fcntl.flock(f.fileno(), fcntl.LOCK_UN)

    def read(self) -> tuple[np.ndarray, dict[str, Any]] | None:
        """The finished entry (pixels mapped copy-on-write, meta), or None."""
        try:
            meta = json.loads(self.meta.read_text())
            shape = tuple(meta["shape"])
            if meta.get("version") != VERSION or self.pixels.stat().st_size != int(np.prod(shape)):
                return None
            return np.memmap(self.pixels, dtype=np.uint8, mode="c", shape=shape), meta
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def create(self, shape: tuple[int, ...]) -> np.ndarray:
        """A writable uint8 array of ``shape`` backed by a temporary file (space reserved up front,
        so a full disk is an OSError here, not a crash while writing)."""
        tmp = self._tmp()
        nbytes = int(np.prod(shape))
        with open(tmp, "wb+") as f:
            try:
                os.posix_fallocate(f.fileno(), 0, nbytes)
            except OSError as e:
                if e.errno not in (errno.EOPNOTSUPP, errno.EINVAL):  # not supported here
                    f.close()
                    tmp.unlink(missing_ok=True)
                    raise
                f.truncate(nbytes)
        return np.memmap(tmp, dtype=np.uint8, mode="r+", shape=tuple(shape))

    def shrink(self, pixels: np.memmap, shape: tuple[int, ...]) -> np.ndarray:
        """The temporary file cut to its first rows, ``shape`` (after dropping unreadable ones)."""
        pixels.flush()
        os.truncate(self._tmp(), int(np.prod(shape)))
        return np.memmap(self._tmp(), dtype=np.uint8, mode="r+", shape=tuple(shape))

    def commit(self, pixels: np.ndarray, meta: dict[str, Any]) -> None:
        """Make the entry visible: the pixels file, then the meta that marks it finished."""
        if isinstance(pixels, np.memmap):
            pixels.flush()
        os.replace(self._tmp(), self.pixels)
        tmp = self.folder / f"{self.name}.json.{os.getpid()}"
        tmp.write_text(json.dumps({**meta, "version": VERSION, "shape": list(pixels.shape)}))
        os.replace(tmp, self.meta)

    def discard(self) -> None:
        self._tmp().unlink(missing_ok=True)

    def _tmp(self) -> Path:
        return self.folder / f"{self.name}.u8.{socket.gethostname()}.{os.getpid()}"


def entry(folder: Path | None, name: str) -> CacheEntry | None:
    """The entry ``name`` in ``folder``, or None when there is no usable cache folder."""
    if folder is None:
        return None
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = CacheEntry(folder, name)
        with open(probe.lockfile, "a+"):
            pass
    except OSError:
        return None
    return probe
