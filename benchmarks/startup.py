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

Prints each median and its ratio to both references, and each one's CPU time (user + system, which
waiting for a busy CPU does not inflate as it does wall time). Goal: ≤ 1.5× of ``import optuna``.

    python benchmarks/startup.py --tree OLD_CHECKOUT --tree NEW_CHECKOUT [--repeats 7]

times the gridsearch commands of each checkout (run with ``PYTHONPATH`` set to it, each on a study
of its own made by it) in the same interleaved loop, a command's checkouts one right after the other,
and adds a table of each command's median per checkout and the last checkout's over the first's
(the ratio of the medians, and the median of each round's ratio). Without ``--tree``: the gridsearch this Python
imports.
"""

from __future__ import annotations

import argparse
import os
import resource
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
        setups = []                                   # (tag, environment, folder, config)
        for n, tree in enumerate(trees):
            env, label = _environment(tree), _label(tree)
            folder = Path(tmp) / str(n)
            folder.mkdir()
            print(f"{label}: gridsearch from {_imported_from(env, folder, tree)}")
            cfg = folder / "startup.toml"
            cfg.write_text(STUDY)
            subprocess.run([exe, "run", str(cfg), "--no-progress"], check=True, capture_output=True,
                           env=env, cwd=folder)
            setups.append((f" [{label}]" if len(trees) > 1 else "", env, folder, cfg))
        _, env0, folder0, _ = setups[0]
        commands = {
            'python -c "import optuna"': ([sys.executable, "-c", "import optuna"], env0, folder0),
            "optuna studies": ([str(Path(sys.executable).parent / "optuna"), "studies",
                                "--storage", f"sqlite:///{folder0 / 'startup.db'}"], env0, folder0),
        }
        for what in COMMANDS:                          # a command's checkouts one after the other
            for tag, env, folder, cfg in setups:
                argv = [exe, *what.split()[1:]] + ([str(cfg)] if what != "gridsearch --help" else [])
                commands[what + tag] = (argv, env, folder)
        wall: dict[str, list[float]] = {k: [] for k in commands}
        cpu: dict[str, list[float]] = {k: [] for k in commands}
        for rep in range(args.repeats):
            order = list(commands.items())
            for name, (cmd, env, folder) in order if rep % 2 == 0 else order[::-1]:  # no one first
                c0, t0 = _children_cpu(), time.perf_counter()
                subprocess.run(cmd, check=True, capture_output=True, env=env, cwd=folder)
                wall[name].append(time.perf_counter() - t0)
                cpu[name].append(_children_cpu() - c0)
    med = {name: statistics.median(ts) for name, ts in wall.items()}
    med_cpu = {name: statistics.median(ts) for name, ts in cpu.items()}
    ref, floor = med['python -c "import optuna"'], med["optuna studies"]
    ref_cpu = med_cpu['python -c "import optuna"']
    print(f"median of {args.repeats} interleaved runs: wall seconds, its ratio to `import optuna` (goal "
          "≤ 1.5×) and to `optuna studies` on the same store; CPU seconds (user + system) and "
          "their ratio to `import optuna`'s")
    for name, m in med.items():
        print(f"  {name:<32} {m:6.2f} s  {m / ref:5.2f}×  {m / floor:5.2f}×   "
              f"CPU {med_cpu[name]:5.2f} s  {med_cpu[name] / ref_cpu:5.2f}×")
    if len(trees) > 1:
        before, after = setups[0][0], setups[-1][0]
        print(f"\nbefore{before}, after{after}: median wall seconds (× import optuna); after / "
              "before of the medians, and the median of each round's after / before; the same "
              "for CPU seconds")
        for what in COMMANDS:
            b, a = med[what + before], med[what + after]
            paired = statistics.median(x / y for x, y in zip(wall[what + after], wall[what + before],
                                                              strict=True))
            cb, ca = med_cpu[what + before], med_cpu[what + after]
            print(f"  {what:<18} {b:5.2f} s ({b / ref:4.2f}×)  {a:5.2f} s ({a / ref:4.2f}×)  "
                  f"{a / b:4.2f}×  paired {paired:4.2f}×   CPU {cb:5.2f} s  {ca:5.2f} s  {ca / cb:4.2f}×")


COMMANDS = ("gridsearch --help", "gridsearch status", "gridsearch best")


def _children_cpu() -> float:
    """User + system seconds of the finished child processes so far."""
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


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
