"""Start-up time of commands that train nothing, against ``python -c "import optuna"``.

    python benchmarks/startup.py [--repeats 5]

Makes a finished tiny study (grid, 4 points, 1 epoch) in a temporary folder, then times, side by
side and interleaved (so a busy CPU slows them alike; every other round in reverse order), the
median wall time of:

* ``python -c "import optuna"`` — the reference: gridsearch cannot start faster than Optuna;
* ``gridsearch --help``;
* ``optuna studies`` on the same store — Optuna's own floor for reading a store (SQLAlchemy,
  Alembic's schema check, the query);
* ``gridsearch status`` and ``gridsearch best`` on the finished study.

Prints each median and its ratio to both references. Goal: ≤ 1.5× of ``import optuna``.

    python benchmarks/startup.py --tree OLD_CHECKOUT --tree NEW_CHECKOUT [--repeats 7]

times the gridsearch commands of each checkout (run with ``PYTHONPATH`` set to it, each on a study
of its own made by it) in the same interleaved loop, and adds a table of each command's median per
checkout and the last checkout's over the first's. Without ``--tree``: the gridsearch this Python
imports.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

STUDY = """
name = "startup"
[model]
name = "resnet18"
base_resolution = 32
num_classes = 10
width_mult = 0.25
depth_mult = 0.5
[data]
train_size = 64
val_size = 64
[train]
epochs = 1
batch_size = 32
device = "cpu"
[search]
alpha = { min = 1.0, max = 2.0, step = 1.0 }
beta = { min = 1.0, max = 1.5, step = 0.5 }
gamma = { min = 1.0, max = 1.5, step = 0.5 }
tolerance = 0.15
[budget]
mode = "repair"
tolerance = 0.1
"""


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--tree", type=Path, action="append", metavar="PATH",
                   help="a checkout of gridsearch to time, imported through PYTHONPATH; repeat it "
                        "to compare checkouts (the first is 'before', the last 'after')")
    args = p.parse_args()
    trees: list[Path | None] = [t.resolve() for t in args.tree] if args.tree else [None]
    exe = str(Path(sys.executable).parent / "gridsearch")
    with tempfile.TemporaryDirectory() as tmp:
        commands: dict[str, tuple[list[str], dict[str, str], Path]] = {}
        labels = []
        for n, tree in enumerate(trees):
            env, label = _environment(tree), _label(tree)
            folder = Path(tmp) / str(n)
            folder.mkdir()
            print(f"{label}: gridsearch from {_imported_from(env, folder, tree)}")
            cfg = folder / "startup.toml"
            cfg.write_text(STUDY)
            subprocess.run([exe, "run", str(cfg), "--no-progress"], check=True, capture_output=True,
                           env=env, cwd=folder)
            if n == 0:
                commands['python -c "import optuna"'] = ([sys.executable, "-c", "import optuna"],
                                                         env, folder)
                commands["optuna studies"] = ([str(Path(sys.executable).parent / "optuna"), "studies",
                                               "--storage", f"sqlite:///{folder / 'startup.db'}"],
                                              env, folder)
            tag = f" [{label}]" if len(trees) > 1 else ""
            commands[f"gridsearch --help{tag}"] = ([exe, "--help"], env, folder)
            commands[f"gridsearch status{tag}"] = ([exe, "status", str(cfg)], env, folder)
            commands[f"gridsearch best{tag}"] = ([exe, "best", str(cfg)], env, folder)
            labels.append(tag)
        times: dict[str, list[float]] = {k: [] for k in commands}
        for rep in range(args.repeats):
            order = list(commands.items())
            for name, (cmd, env, folder) in order if rep % 2 == 0 else order[::-1]:  # no one first
                t0 = time.perf_counter()
                subprocess.run(cmd, check=True, capture_output=True, env=env, cwd=folder)
                times[name].append(time.perf_counter() - t0)
    med = {name: statistics.median(ts) for name, ts in times.items()}
    ref, floor = med['python -c "import optuna"'], med["optuna studies"]
    print(f"median of {args.repeats} interleaved runs; ratio to `import optuna` (goal ≤ 1.5×) and "
          "to `optuna studies` on the same store")
    for name, m in med.items():
        print(f"  {name:<40} {m:6.2f} s  {m / ref:5.2f}×  {m / floor:5.2f}×")
    if len(trees) > 1:
        before, after = labels[0], labels[-1]
        print(f"\nbefore{before}, after{after}: median seconds (× import optuna), after / before")
        for command in ("gridsearch --help", "gridsearch status", "gridsearch best"):
            b, a = med[command + before], med[command + after]
            print(f"  {command:<20} {b:6.2f} s ({b / ref:4.2f}×)  {a:6.2f} s ({a / ref:4.2f}×)  "
                  f"{a / b:5.2f}×")


def _environment(tree: Path | None) -> dict[str, str]:
    """This process's environment; with a checkout, PYTHONPATH set to it alone."""
    env = dict(os.environ)
    if tree is not None:
        env["PYTHONPATH"] = str(tree)
    return env


def _label(tree: Path | None) -> str:
    """The checkout's commit (short hash), else its folder's name; "installed" without one."""
    if tree is None:
        return "installed"
    got = subprocess.run(["git", "-C", str(tree), "rev-parse", "--short", "HEAD"],
                         capture_output=True, text=True)
    return got.stdout.strip() if got.returncode == 0 else tree.name


def _imported_from(env: dict[str, str], folder: Path, tree: Path | None) -> str:
    """Where the commands will import gridsearch from; exits when a checkout is not what they get."""
    where = subprocess.run([sys.executable, "-c", "import gridsearch.cli; print(gridsearch.cli.__file__)"],
                           check=True, capture_output=True, text=True, env=env, cwd=folder).stdout.strip()
    if tree is not None and not Path(where).resolve().is_relative_to(tree):
        raise SystemExit(f"--tree {tree}: gridsearch is imported from {where}, not from it")
    return where


if __name__ == "__main__":
    main()
