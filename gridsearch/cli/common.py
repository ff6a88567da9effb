"""Helpers shared by the CLI commands: loading configs, printing tables and JSON."""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Iterable
from typing import Any

from gridsearch import config as config_mod
from gridsearch._jsonfile import json_default, write_json as _write_json
from gridsearch.config import StudyConfig


def add_config(p, storage: bool = True) -> None:
    p.add_argument("config", help="study config (TOML), e.g. studies/quickstart.toml")
    if storage:
        add_storage(p)


def add_storage(p) -> None:
    p.add_argument("--storage", metavar="URL",
                   help="study store URL (default: $GRIDSEARCH_STORAGE, $GRIDSEARCH_STORAGE_FILE, "
                        "the config's storage or storage_file, else NAME.db in the config's "
                        "folder); keep passwords off command lines: use --storage-file or the "
                        "environment")
    p.add_argument("--storage-file", metavar="FILE",
                   help="a file holding the study store URL (e.g. /run/secrets/gridsearch-storage)")


def add_workers(p) -> None:
    """The options of a command that trains a plan of its own beside the search (compare, confirm,
    climb, verify): the device, this process's threads, worker processes and their GPUs, the
    progress bar, and ``--join``, hidden, with which each worker of ``--workers`` runs; and the
    defaults of the search's run options it does not take."""
    p.add_argument("--device", help="auto, cpu, cuda or cuda:N (default: the config's)")
    p.add_argument("--threads", type=int, metavar="N", help="torch CPU threads of this process")
    p.add_argument("--workers", type=int, default=1, metavar="N", help="worker processes (1)")
    p.add_argument("--gpus", metavar="LIST", help="GPUs to spread the workers over, e.g. 0,1")
    p.add_argument("--no-progress", action="store_true",
                   help="no progress bar (one line per finished trial instead)")
    p.add_argument("--join", action="store_true", help=argparse.SUPPRESS)  # a worker of --workers
    p.set_defaults(create=True, max_trials=None, retry_failed=False, no_wait=False)


def load_config(args) -> StudyConfig:
    """Load the config and settle the store (:func:`gridsearch.config.storage_url`: --storage,
    --storage-file, the environment, the config, then studies/NAME.db beside it)."""
    cfg = config_mod.load(args.config)
    if hasattr(args, "storage"):
        from gridsearch.storage import check_url

        args.storage = config_mod.storage_url(cfg, args.storage,
                                              getattr(args, "storage_file", None))
        check_url(args.storage)
    return cfg


def tolerance(args, default: float) -> float:
    """``--tolerance`` (a fraction of the target FLOPs), else ``default``; one line naming the
    flag when it is outside (0, 1).  The one check of every command that takes it."""
    from gridsearch.errors import ConfigError

    tol = default if args.tolerance is None else args.tolerance
    if not 0 < tol < 1:
        raise ConfigError(f"--tolerance: must be in (0, 1), got {tol}")
    return tol


def print_json(obj: Any) -> None:
    json.dump(obj, sys.stdout, indent=2, default=json_default)
    sys.stdout.write("\n")


def write_json(path: str, obj: Any) -> None:
    """Write ``obj`` as JSON to ``--output`` atomically (overwrites; see gridsearch._jsonfile)."""
    _write_json(path, obj, force=True, what="--output")


def human(n: float | int | None, unit: str = "") -> str:
    """1234567 -> '1.23M'."""
    if n is None or (isinstance(n, float) and math.isnan(n)):
        return "-"
    for scale, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(n) >= scale:
            return f"{n / scale:.3g}{suffix}{unit}"
    return f"{n:g}{unit}"


def listing(items, most: int = 4) -> str:
    """A list on a screen: every item when there are few, else the count and the first few
    (``840: 0, 6, 12, 18, …``), so a cell or a line stays short however many there are."""
    items = list(items)
    if len(items) <= most + 1:
        return ", ".join(map(str, items))
    return f"{len(items)}: " + ", ".join(map(str, items[:most])) + ", …"


def table(rows: Iterable[dict[str, Any]], columns: list[str]) -> str:
    cells = [[_cell(r.get(c)) for c in columns] for r in rows]
    widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(columns)]
    lines = ["  ".join(c.rjust(w) for c, w in zip(columns, widths, strict=True))]
    lines += ["  ".join(v.rjust(w) for v, w in zip(r, widths, strict=True)) for r in cells]
    return "\n".join(lines)


def _cell(v: Any) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)
