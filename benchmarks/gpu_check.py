"""The first run on a GPU, in one command: every check that needs one, and one markdown table.

    python benchmarks/gpu_check.py                 # on a machine with a CUDA GPU
    python benchmarks/gpu_check.py --cpu           # the same steps, small, on the CPU (a dry run)
    bash benchmarks/gpu_check.sh [--cpu] [...]     # the same, after installing carried wheels

Steps, each in a process of its own with a time limit taken from one budget (default 8 minutes;
a step that does not fit is reported as not run, the table is always written):

1. the device: GPU name, compute capability, the precision ``auto`` picks, torch's versions;
2. the CUDA tests (``pytest -m cuda`` over the files that have some: tests/test_cuda.py, …),
   with the figures they print (precision in effect, accuracy against the CPU, memory per trial, the real
   out-of-memory case, a device-side assert, 4 workers on one GPU, determinism);
3. ``throughput.py``: the trainer against the naive loop, one process and 4 at once;
4. ``overhead.py``: the share of a trial's wall time spent outside training;
5. the quickstart with ``--device cuda``, then with ``--workers 4 --gpus 0``: wall time, trial
   states, peak memory per trial and the precision recorded;
6. ``determinism.py``: the throughput cost of ``deterministic = true`` and whether it reproduces.

``--cpu`` runs the same steps on the CPU, small (the CUDA tests with
``GRIDSEARCH_CUDA_TESTS_ON_CPU=1``, 2 processes instead of 4, a 3-trial quickstart), so that this
script and the tests are proven before a GPU first runs them.  Exit status: 0 when every step ran
and met its goal where it has one, 1 otherwise, 2 on bad arguments.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESERVE_S = 10.0        # kept back from the budget to write the table


class Budget:
    def __init__(self, seconds: float) -> None:
        self.end = time.monotonic() + seconds

    def left(self) -> float:
        return self.end - time.monotonic() - RESERVE_S


class Step:
    """One row of the table."""

    def __init__(self, check: str, goal: str = "") -> None:
        self.check, self.goal = check, goal
        self.result, self.ok, self.seconds = "not run", None, 0.0

    def row(self) -> str:
        verdict = {True: "ok", False: "**FAILED**", None: "-"}[self.ok]
        result = self.result.replace("|", "\\|").replace("\n", " ")
        return f"| {self.check} | {result} | {self.goal or '-'} | {verdict} |"


def _env(cpu: bool) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    if cpu:
        env["GRIDSEARCH_CUDA_TESTS_ON_CPU"] = "1"
    return env


def _run(cmd: list[str], budget: Budget, limit: float, env: dict[str, str],
         cwd: Path | str = ROOT) -> tuple[int | None, str, str, float]:
    """(exit status or None when out of time, stdout, stderr, seconds)."""
    timeout = min(limit, budget.left())
    if timeout < 5:
        return None, "", "no time left in the budget", 0.0
    t0 = time.perf_counter()
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env,
                           cwd=cwd)
        return r.returncode, r.stdout, r.stderr, time.perf_counter() - t0
    except subprocess.TimeoutExpired as e:
        out = e.stdout.decode() if isinstance(e.stdout, bytes) else (e.stdout or "")
        return None, out, f"timed out after {timeout:.0f} s", time.perf_counter() - t0


def _last_line(text: str) -> str:
    lines = [ln for ln in text.strip().splitlines() if ln.strip()]
    return lines[-1][:300] if lines else ""


def _json_line(text: str) -> dict | None:
    for line in reversed(text.strip().splitlines()):
        if line.startswith("{"):
            try:
                return json.loads(line)
            except json.JSONDecodeError:
                return None
    return None


def _gridsearch() -> list[str]:
    """The console script beside this Python, on PATH, or ``python -m gridsearch``."""
    beside = Path(sys.executable).parent / "gridsearch"
    if beside.exists():
        return [str(beside)]
    found = shutil.which("gridsearch")
    return [found] if found else [sys.executable, "-m", "gridsearch"]


# -- the steps -------------------------------------------------------------------------------------

def environment(cpu: bool) -> tuple[Step, str]:
    import torch

    from gridsearch.training import _precision

    s = Step("device")
    dev = "cpu" if cpu else "cuda"
    if cpu:
        what = f"CPU ({os.cpu_count()} cores), dry run of the GPU steps"
    else:
        cap = torch.cuda.get_device_capability()
        free, total = torch.cuda.mem_get_info()
        what = (f"{torch.cuda.get_device_name()} (capability {cap[0]}.{cap[1]}, "
                f"{total / 2**30:.0f} GiB, {free / 2**30:.0f} GiB free), CUDA {torch.version.cuda}")
    s.result = (f"{what}; torch {torch.__version__}, Python {platform.python_version()}; "
                f"precision auto = {_precision.precision_for(dev)}")
    s.ok = True
    return s, dev


FIGURE = re.compile(r"^FIGURES (.+?): (.*)$")


def cuda_tests(cpu: bool, budget: Budget, env, work: Path) -> tuple[Step, dict[str, str]]:
    s = Step("CUDA tests (`pytest -m cuda`)", "all pass")
    xml = work / "cuda-tests.xml"
    # the quickstart has its own step below (the whole grid: not twice in the budget)
    code, out, err, sec = _run([sys.executable, "-m", "pytest", "-q", "-s", "-m", "cuda",
                                "-k", "not quickstart", "-p", "no:cacheprovider",
                                f"--junitxml={xml}", *_cuda_test_files()],
                               budget, 300, env)
    s.seconds = sec
    figures = {}
    for line in out.splitlines():
        m = FIGURE.match(line.strip())
        if m:
            figures[m.group(1)] = m.group(2)
    if not xml.exists():
        s.result, s.ok = f"no result ({err.strip()[-200:] or _last_line(out)})", False
        return s, figures
    suite = ET.parse(xml).getroot()
    suite = suite if suite.tag == "testsuite" else suite.find("testsuite")
    n, failed = int(suite.get("tests", 0)), int(suite.get("failures", 0)) + int(suite.get("errors", 0))
    skipped = int(suite.get("skipped", 0))
    names = [c.get("name") for c in suite.iter("testcase")
             if c.find("failure") is not None or c.find("error") is not None]
    s.result = (f"{n - failed - skipped} passed, {failed} failed, {skipped} skipped in {sec:.0f} s"
                + (f": {', '.join(names)}" if names else ""))
    s.ok = failed == 0 and code is not None and n > skipped
    return s, figures


def _cuda_test_files() -> list[str]:
    """The test files with CUDA-marked tests (only those: the others may need packages the GPU
    image was not given, e.g. timm or matplotlib)."""
    return sorted(str(p.relative_to(ROOT)) for p in (ROOT / "tests").rglob("test_*.py")
                  if "mark.cuda" in p.read_text())


def figure_rows(figures: dict[str, str], dev: str) -> list[Step]:
    """The figures the CUDA tests printed, one row each, in a fixed order."""
    wanted = [(f"precision auto on {dev}", "precision in effect (auto)", ""),
              (f"fp16 scaler on {dev}", "fp16 gradient scaler (raw gradient ratio)", "65536"),
              (f"accuracy cpu vs {dev}", "accuracy: CPU vs this device, 3 seeds", "within noise"),
              (f"memory per trial on {dev}", "memory after each trial / peak per trial (MB)",
               "back to baseline"),
              (f"real OOM on {dev}", "out of memory: retry, then failure", "handled"),
              (f"out-of-range class on {dev}", "device-side assert (subprocess)", "sticky on GPU"),
              (f"4 workers on one {dev}", "4 workers on one device", "each unit once"),
              (f"deterministic on {dev}", "deterministic = true: two runs", "identical")]
    rows = []
    for key, check, goal in wanted:
        s = Step(check, goal)
        if key in figures:
            s.result = figures[key]
        rows.append(s)
    return rows


def throughput(dev: str, cpu: bool, budget: Budget, env) -> list[Step]:
    n = 2 if cpu else 4
    cmd = [sys.executable, str(HERE / "throughput.py"), "--device", dev, "--concurrency", str(n),
           "--json"] + (["--images", "256", "--val", "64"] if cpu else [])
    code, out, err, sec = _run(cmd, budget, 240, env)
    one, many = Step("trainer vs naive loop, 1 process"), Step(
        f"trainer vs naive loop, {n} processes at once", "≥ 12× (H100, 64 px)" if not cpu else "")
    got = _json_line(out) if code == 0 else None
    if got is None:
        one.result = many.result = f"failed: {err.strip().splitlines()[-1:] or _last_line(out)}"
        one.ok = many.ok = False
        return [one, many]
    rows = got["rows"]
    naive, first, last = rows[0], rows[1], rows[-1]
    where = f"{got['model']} w{got['width']:g} d{got['depth']:g} at {got['resolution']} px"
    one.result = (f"{first['ratio']:.2f}× ({first['img/s']:.0f} vs {naive['img/s']:.0f} img/s, "
                  f"{where}; val acc {first['val_acc']:.3f} vs {naive['val_acc']:.3f})")
    many.result = f"{last['ratio']:.2f}× ({last['img/s']:.0f} img/s together, {sec:.0f} s)"
    one.ok = True
    many.ok = None if cpu else last["ratio"] >= 12
    return [one, many]


def overhead(dev: str, cpu: bool, budget: Budget, env) -> Step:
    s = Step("bookkeeping share of trial wall time (`overhead.py`)", "≤ 3% (GPU study)")
    cmd = [sys.executable, str(HERE / "overhead.py"), "--device", dev, "--json"] + (
        ["--quick"] if cpu else [])
    code, out, err, sec = _run(cmd, budget, 240, env)
    got = _json_line(out) if code == 0 else None
    if got is None or got.get("share") is None:
        s.result, s.ok = f"failed: {err.strip()[-200:] or _last_line(out)}", False
        return s
    s.result = (f"{got['share']:.1%} ({got['outside_s']:.1f} of {got['wall_s']:.1f} s, "
                f"{got['trials']} trials, {sec:.0f} s)")
    s.ok = None if cpu else got["share"] <= 0.03
    return s


def quickstart(dev: str, cpu: bool, budget: Budget, env, work: Path,
               workers: int) -> tuple[Step, Step | None]:
    """The quickstart on ``dev`` (one process, or ``workers``); its trials' figures."""
    name = f"qs{workers}"
    folder = work / name
    folder.mkdir()
    text = (ROOT / "studies" / "quickstart.toml").read_text()
    cfg = folder / f"{name}.toml"
    cfg.write_text(text.replace('name = "quickstart"', f'name = "{name}"', 1))
    cmd = [*_gridsearch(), "run", str(cfg), "--device", dev, "--no-progress"]
    if workers > 1:
        cmd += ["--workers", str(workers)] + ([] if cpu else ["--gpus", "0"])
    elif cpu:
        cmd += ["--max-trials", "3"]
    label = f"quickstart `--device {dev}`" + (f" `--workers {workers}`" if workers > 1 else "")
    s = Step(label, "runs; no FAIL")
    code, out, err, sec = _run(cmd, budget, 240 if workers > 1 else 180, env, cwd=folder)
    if code != 0:
        s.result = f"exit {code}: {_last_line(err) or _last_line(out)} ({sec:.0f} s)"
        s.ok = False
        return s, None
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.load_study(study_name=name, storage=f"sqlite:///{folder / (name + '.db')}")
    trials = study.get_trials(deepcopy=False)
    states = {}
    for t in trials:
        k = "infeasible" if t.user_attrs.get("verdict") == "infeasible" else t.state.name.lower()
        states[k] = states.get(k, 0) + 1
    done = [t for t in trials if t.state.name == "COMPLETE"]
    acc = max((t.value for t in done), default=None)
    s.result = (f"{sec:.0f} s; " + ", ".join(f"{v} {k}" for k, v in sorted(states.items()))
                + (f"; best accuracy {acc:.3f}" if acc is not None else ""))
    s.ok = bool(done) and not states.get("fail")
    mem = Step(f"peak memory per trial ({label})", "recorded")
    peaks = [t.user_attrs.get("peak_memory_mb") for t in done]
    kinds = sorted({str(t.user_attrs.get("peak_memory_kind")) for t in done})
    precisions = sorted({str(t.user_attrs.get("precision")) for t in done})
    ips = [t.user_attrs.get("images_per_second") for t in done]
    if peaks and all(p is not None for p in peaks):
        mem.result = (f"{min(peaks):.0f}–{max(peaks):.0f} MB over {len(peaks)} trials "
                      f"({', '.join(kinds)}); precision {', '.join(precisions)}; "
                      f"{min(ips):.0f}–{max(ips):.0f} img/s")
        mem.ok = True
    else:
        mem.result, mem.ok = f"missing on some trials: {peaks}", False
    return s, mem


def determinism(dev: str, cpu: bool, budget: Budget, env) -> Step:
    s = Step("`deterministic = true`: throughput with / without, reproduced", "identical runs")
    cmd = [sys.executable, str(HERE / "determinism.py"), "--device", dev, "--json",
           "--rounds", "2"] + (["--images", "256"] if cpu else [])
    code, out, err, sec = _run(cmd, budget, 180, env)
    got = _json_line(out) if code == 0 else None
    if got is None:
        s.result, s.ok = f"failed: {err.strip()[-200:] or _last_line(out)}", False
        return s
    s.result = (f"{got['ratio']:.2f}× the default's throughput; two runs identical: "
                f"{got['reproduced']} ({sec:.0f} s)")
    s.ok = bool(got["reproduced"])
    return s


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--cpu", action="store_true", help="a dry run of the same steps on the CPU")
    p.add_argument("--budget", type=float, default=480.0, help="seconds for all steps (480)")
    p.add_argument("-o", "--output", default="gpu_check.md", help="the markdown table's file")
    p.add_argument("--skip", default="", help="steps to leave out, e.g. tests,overhead")
    args = p.parse_args()
    import torch

    if not args.cpu and not torch.cuda.is_available():
        print("gpu_check: error: no CUDA device here (use --cpu for a dry run on the CPU)",
              file=sys.stderr)
        return 2
    budget = Budget(args.budget)
    started = time.perf_counter()
    env = _env(args.cpu)
    skip = set(filter(None, args.skip.split(",")))
    rows: list[Step] = []
    head, dev = environment(args.cpu)
    rows.append(head)
    with tempfile.TemporaryDirectory(prefix="gpu-check-") as tmp:
        work = Path(tmp)
        plan = [("tests", lambda: _tests(args, budget, env, work, dev)),
                ("throughput", lambda: throughput(dev, args.cpu, budget, env)),
                ("overhead", lambda: [overhead(dev, args.cpu, budget, env)]),
                ("quickstart", lambda: [r for r in quickstart(dev, args.cpu, budget, env, work, 1)
                                        if r is not None]),
                ("workers", lambda: [r for r in quickstart(dev, args.cpu, budget, env, work,
                                                           2 if args.cpu else 4)
                                     if r is not None]),
                ("determinism", lambda: [determinism(dev, args.cpu, budget, env)])]
        for name, step in plan:
            if name in skip:
                continue
            print(f"gpu_check: {name} ({budget.left():.0f} s left)", file=sys.stderr, flush=True)
            rows.extend(step())
    total = time.perf_counter() - started
    title = ("GPU check" if not args.cpu else "GPU check, dry run on the CPU")
    lines = [f"## {title} ({time.strftime('%Y-%m-%d %H:%M')}, {total:.0f} s)", "",
             "| check | result | goal | verdict |", "|---|---|---|---|",
             *(r.row() for r in rows), ""]
    text = "\n".join(lines)
    Path(args.output).write_text(text)
    print(text)
    failed = [r for r in rows if r.ok is False or r.result == "not run"]
    return 1 if failed else 0


def _tests(args, budget, env, work, dev) -> list[Step]:
    s, figures = cuda_tests(args.cpu, budget, env, work)
    return [s, *figure_rows(figures, dev)]


if __name__ == "__main__":
    sys.exit(main())
