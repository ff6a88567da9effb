"""Workers started by Slurm: the ``sbatch`` line that submits a study's workers.

gridsearch talks to no scheduler.  ``gridsearch init`` creates the study, then prints the exact line
that submits its workers with the shipped batch script (``docker/slurm-worker.sbatch``): an array of
one task per unit left, the config as the user named it, a GPU per task when the config trains on
cuda, and the variable that tells the job where the storage URL is.  That is a file's path, never
the URL: a URL may hold a password, and a command line lands in shell history and ``ps``.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from gridsearch.config import STORAGE_ENV, STORAGE_FILE_ENV, StudyConfig, resolve_storage
from gridsearch.errors import ConfigError

if TYPE_CHECKING:
    from gridsearch.study import Search

SCRIPT = "docker/slurm-worker.sbatch"
MAX_TASKS = 1001     # Slurm's default MaxArraySize: indices 0-1000
PLACEHOLDER = "FILE"


@dataclass(frozen=True)
class StorageVariable:
    """How a job finds the storage URL: ``name=value`` set on the sbatch line; ``value`` None when
    the variable is set in this environment already (sbatch hands the job its environment).
    ``note``: what the user still has to do, if anything."""

    name: str
    value: str | None
    note: str = ""


def storage_variable(url: str, cfg: StudyConfig, storage_file: str | None = None,
                     environ: Mapping[str, str] | None = None) -> StorageVariable:
    """Where a job finds ``url``, the URL this command settled on: the file it was read from
    (``--storage-file``, ``$GRIDSEARCH_STORAGE_FILE``, the config's ``storage_file``), as
    GRIDSEARCH_STORAGE_FILE=PATH; GRIDSEARCH_STORAGE when the environment holds it; else a
    placeholder file to write the URL into (it came from ``--storage`` or the config itself).
    The source is :func:`gridsearch.config.resolve_storage`'s: one order of precedence."""
    try:
        src = resolve_storage(cfg, None, storage_file, environ)
    except ConfigError:
        src = None
    if src is not None and src.url == url:
        if src.origin == STORAGE_ENV:
            return StorageVariable(STORAGE_ENV, None,
                                   f"{STORAGE_ENV} passes on from this shell (export it)")
        if src.file is not None:
            return StorageVariable(STORAGE_FILE_ENV, os.path.abspath(src.file))
    return StorageVariable(STORAGE_FILE_ENV, PLACEHOLDER,
                           f"{PLACEHOLDER}: a file holding the storage URL (chmod 600)")


def sbatch_line(config: str, tasks: int, storage: StorageVariable, gpu: bool = False,
                script: str = SCRIPT) -> str:
    """The command that submits ``tasks`` workers (array indices 0 to tasks-1, at most
    :data:`MAX_TASKS`) of the study ``config`` with ``script``; ``gpu``: one GPU per task."""
    if tasks < 1:
        raise ValueError(f"tasks: must be ≥ 1, got {tasks}")
    words = []
    if storage.value is not None:
        words.append(f"{storage.name}={shlex.quote(storage.value)}")
    words += ["sbatch", f"--array=0-{min(tasks, MAX_TASKS) - 1}"]
    if gpu:
        words.append("--gres=gpu:1")
    words += [shlex.quote(script), shlex.quote(str(config))]
    line = " ".join(words)
    return f"{line}  # {storage.note}" if storage.note else line


def script_path(cwd: str | Path | None = None) -> str:
    """The shipped batch script as the user reaches it from ``cwd``: relative when it lies below,
    else absolute; the repository's path when gridsearch was installed without its repository."""
    shipped = Path(__file__).resolve().parents[2] / SCRIPT
    if not shipped.is_file():
        return SCRIPT
    here = Path(cwd or os.getcwd()).resolve()
    return str(shipped.relative_to(here)) if shipped.is_relative_to(here) else str(shipped)


def study_sbatch_line(search: Search, config: str, storage_file: str | None = None,
                      left: int | None = None, environ: Mapping[str, str] | None = None,
                      cwd: str | Path | None = None) -> str | None:
    """The sbatch line for ``search``'s study (``config``: its path as the user gave it), or None
    when there is nothing to submit: no unit left, or a SQLite store (one host's file: a
    cluster's workers need a server every node reaches)."""
    from sqlalchemy.engine import make_url

    if make_url(search.url).get_backend_name() == "sqlite":
        return None
    left = search.remaining() if left is None else left
    if left < 1:
        return None
    var = storage_variable(search.url, search.cfg, storage_file, environ)
    return sbatch_line(config, left, var, search.cfg.train.device.startswith("cuda"),
                       script_path(cwd))
