"""What moving gridsearch/stats.py to scipy would add to the start-up of `status` and `best`.

    python benchmarks/stats_startup.py [--repeats 7] [--config STUDY.toml]

stats.py computes Student's t (the regularised incomplete beta function, a continued fraction)
and Welch's test by hand, with the standard library alone; the tests check it against scipy. The
alternative is scipy.stats (t.ppf, t.sf, ttest_ind, spearmanr, kendalltau) or, for the
distribution alone, scipy.special (stdtr, stdtrit). `status` and `best` import optuna (and with
it numpy) but not scipy, so whatever scipy imports is added to both commands.

Times, interleaved (a busy CPU slows all alike), the wall time of fresh interpreters that:

* import optuna, then gridsearch.stats (today) / scipy.special / scipy.stats;
* run `gridsearch status` and `gridsearch best` on a finished study as they are, and the same
  with ``import scipy.stats`` first — what the commands would cost with scipy.stats.

Prints best-of-N and median seconds and the ratios of the scipy variants to today's. Without
``--config`` a tiny study (4 points, 1 epoch) is trained first in a temporary folder.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from startup import STUDY

RUN_CLI = ("import sys; from gridsearch.cli import main; "
           "sys.exit(main(sys.argv[1:]))")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--repeats", type=int, default=7)
    p.add_argument("--config", type=Path, help="a finished study (default: train a tiny one)")
    args = p.parse_args()
    py = sys.executable
    with tempfile.TemporaryDirectory() as tmp:
        cfg = args.config
        if cfg is None:
            cfg = Path(tmp) / "startup.toml"
            cfg.write_text(STUDY)
            subprocess.run([py, "-m", "gridsearch", "run", str(cfg), "--no-progress"],
                           check=True, capture_output=True)
        commands = {
            "import optuna": [py, "-c", "import optuna"],
            "+ gridsearch.stats (today)": [py, "-c", "import optuna, gridsearch.stats"],
            "+ scipy.special": [py, "-c", "import optuna, scipy.special"],
            "+ scipy.stats": [py, "-c", "import optuna, scipy.stats"],
            "status (today)": [py, "-c", RUN_CLI, "status", str(cfg)],
            "status + scipy.stats": [py, "-c", "import scipy.stats; " + RUN_CLI, "status",
                                     str(cfg)],
            "best (today)": [py, "-c", RUN_CLI, "best", str(cfg)],
            "best + scipy.stats": [py, "-c", "import scipy.stats; " + RUN_CLI, "best", str(cfg)],
        }
        times: dict[str, list[float]] = {k: [] for k in commands}
        for _ in range(args.repeats):
            for name, cmd in commands.items():
                t0 = time.perf_counter()
                subprocess.run(cmd, check=True, capture_output=True)
                times[name].append(time.perf_counter() - t0)
    print(f"{args.repeats} interleaved runs each; seconds (best, median) and the ratio of medians")
    ref = {"+ scipy.special": "+ gridsearch.stats (today)",
           "+ scipy.stats": "+ gridsearch.stats (today)",
           "status + scipy.stats": "status (today)", "best + scipy.stats": "best (today)"}
    for name, ts in times.items():
        med = statistics.median(ts)
        line = f"  {name:<28} best {min(ts):6.3f}  median {med:6.3f}"
        if name in ref:
            base = statistics.median(times[ref[name]])
            line += f"   {med / base:5.2f}× {ref[name]!r} (+{med - base:.3f} s)"
        print(line)


if __name__ == "__main__":
    main()
