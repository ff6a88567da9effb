"""The quickstart's wall time on this CPU: one process vs ``--workers N``, alone and under a
competing CPU load that this script starts itself; then how fast SIGTERM stops a run.

    python benchmarks/quickstart.py                     # workers 1 and 2, alone and under load
    python benchmarks/quickstart.py --workers 1,2 --no-load

Each run is ``gridsearch run <copy of studies/quickstart.toml> --device cpu`` in a fresh temporary
folder (its own SQLite store), timed from start to exit (imports included) — the command a user
runs, with the thread choice of the ``gridsearch`` command.  The load is ``--load`` busy Python
processes (default: one per usable core) that exit by themselves after ``--load-limit`` seconds and
are killed at the end in any case.  Ratios are against the first setting measured alone.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT))

from cpu_threads import _LOAD  # noqa: E402

EXE = Path(sys.executable).parent / "gridsearch"


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "OMP_WAIT_POLICY")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env


def _copy(folder: Path, name: str) -> Path:
    text = (ROOT / "studies" / "quickstart.toml").read_text()
    path = folder / f"{name}.toml"
    path.write_text(text.replace('name = "quickstart"', f'name = "{name}"', 1))
    return path


def run_once(workers: int, extra: list[str]) -> float:
    with tempfile.TemporaryDirectory(prefix="gs-quickstart-") as d:
        cfg = _copy(Path(d), f"qs{workers}")
        cmd = [str(EXE), "run", str(cfg), "--device", "cpu", "--no-progress", *extra]
        if workers > 1:
            cmd += ["--workers", str(workers)]
        t0 = time.perf_counter()
        r = subprocess.run(cmd, capture_output=True, text=True, env=_env(), cwd=d)
        wall = time.perf_counter() - t0
        if r.returncode != 0:
            raise RuntimeError(f"quickstart failed: {r.stderr.strip().splitlines()[-1:]}")
        return wall


def sigterm(workers: int, after: float) -> float:
    """Start a run, SIGTERM it after ``after`` s (mid-training); seconds until it exited."""
    with tempfile.TemporaryDirectory(prefix="gs-quickstart-") as d:
        cfg = _copy(Path(d), "qsterm")
        cmd = [str(EXE), "run", str(cfg), "--device", "cpu", "--no-progress"]
        if workers > 1:
            cmd += ["--workers", str(workers)]
        p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                             env=_env(), cwd=d)
        try:
            time.sleep(after)
            t0 = time.perf_counter()
            p.send_signal(signal.SIGTERM)
            p.wait(120)
            return time.perf_counter() - t0
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--workers", default="1,2", help="settings to compare")
    p.add_argument("--load", type=int, help="busy processes (default: one per usable core)")
    p.add_argument("--load-limit", type=float, default=900.0)
    p.add_argument("--no-load", action="store_true")
    p.add_argument("--sigterm-only", action="store_true", help="only the SIGTERM check")
    p.add_argument("--sigterm-after", type=float, default=25.0,
                   help="seconds into a run when SIGTERM is sent (0: skip the check)")
    args = p.parse_args()
    from common import print_table
    from gridsearch.training import usable_cores

    n_load = usable_cores() if args.load is None else args.load
    settings = [int(w) for w in args.workers.split(",")]
    conditions = ["alone"] + ([] if args.no_load else [f"load x{n_load}"])
    rows = []
    for condition in conditions:
        load = []
        try:
            if condition != "alone":
                load = [subprocess.Popen([sys.executable, "-c", _LOAD, str(args.load_limit)])
                        for _ in range(n_load)]
            for w in ([] if args.sigterm_only else settings):
                rows.append({"condition": condition, "workers": w, "seconds": run_once(w, [])})
            if args.sigterm_after:
                for w in settings:
                    rows.append({"condition": condition, "workers": w,
                                 "seconds": sigterm(w, args.sigterm_after), "what": "SIGTERM"})
        finally:
            for lp in load:
                lp.kill()
                lp.wait()
    ref = rows[0]["seconds"]
    for r in rows:
        r.setdefault("what", "whole run")
        r["ratio"] = r["seconds"] / ref if r["what"] == "whole run" else float("nan")
    print(f"quickstart (studies/quickstart.toml) on the CPU, {usable_cores()} usable cores; "
          + ("no load" if args.no_load else f"load = {n_load} busy Python process(es)")
          + f"; SIGTERM sent {args.sigterm_after:g} s in")
    print_table(rows, ["condition", "what", "workers", "seconds", "ratio"])


if __name__ == "__main__":
    main()
