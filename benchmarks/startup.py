"""Start-up time of commands that train nothing, against ``python -c "import optuna"``.

    python benchmarks/startup.py [--repeats 5]

Makes a finished tiny study (grid, 4 points, 1 epoch) in a temporary folder, then times, side by
side and interleaved (so a busy CPU slows them alike), the median wall time of:

* ``python -c "import optuna"`` — the reference: gridsearch cannot start faster than Optuna;
* ``gridsearch --help``;
* ``optuna studies`` on the same store — Optuna's own floor for reading a store (SQLAlchemy,
  Alembic's schema check, the query);
* ``gridsearch status`` and ``gridsearch best`` on the finished study.

Prints each median and its ratio to both references. Goal: ≤ 1.5× of ``import optuna``.
"""

from __future__ import annotations

import argparse
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
    args = p.parse_args()
    exe = str(Path(sys.executable).parent / "gridsearch")
    with tempfile.TemporaryDirectory() as tmp:
        cfg = Path(tmp) / "startup.toml"
        cfg.write_text(STUDY)
        subprocess.run([exe, "run", str(cfg), "--no-progress"], check=True, capture_output=True)
        commands = {
            'python -c "import optuna"': [sys.executable, "-c", "import optuna"],
            "optuna studies": [str(Path(sys.executable).parent / "optuna"), "studies",
                               "--storage", f"sqlite:///{Path(tmp) / 'startup.db'}"],
            "gridsearch --help": [exe, "--help"],
            "gridsearch status": [exe, "status", str(cfg)],
            "gridsearch best": [exe, "best", str(cfg)],
        }
        times: dict[str, list[float]] = {k: [] for k in commands}
        for _ in range(args.repeats):
            for name, cmd in commands.items():
                t0 = time.perf_counter()
                subprocess.run(cmd, check=True, capture_output=True)
                times[name].append(time.perf_counter() - t0)
    ref = statistics.median(times['python -c "import optuna"'])
    floor = statistics.median(times["optuna studies"])
    print(f"median of {args.repeats} interleaved runs; ratio to `import optuna` (goal ≤ 1.5×) and "
          "to `optuna studies` on the same store")
    for name, ts in times.items():
        med = statistics.median(ts)
        print(f"  {name:<28} {med:6.2f} s  {med / ref:5.2f}×  {med / floor:5.2f}×")


if __name__ == "__main__":
    main()
