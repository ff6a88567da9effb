"""CPU threads: training steps with torch's default thread count vs gridsearch's choice, alone and
under a competing CPU load that this script starts itself.

    python benchmarks/cpu_threads.py                 # quickstart-sized steps, 1 and 2 processes
    python benchmarks/cpu_threads.py --steps 20 --load 2 --repeats 2

Every configuration runs in fresh processes (thread settings and OpenMP's environment are read
when torch loads).  "torch default" leaves the thread count and OpenMP's wait policy to torch;
"gridsearch" is what the ``gridsearch`` command does: ``OMP_WAIT_POLICY=PASSIVE`` and
``gridsearch.training.choose_threads(workers)`` threads (the cores this process may run on,
shared by the workers).  With N processes they train at once (started together after their warm-up) and the
figure is their total steps/s.  The competing load is ``--load`` busy Python processes, each of
which exits by itself after ``--load-limit`` seconds and is killed at the end in any case.
Ratios are against torch's default in the same condition, measured in the same run; the order of
the configurations alternates between repeats and the best of the repeats is kept.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

_LOAD = "import time, sys\nend = time.time() + float(sys.argv[1])\nwhile time.time() < end:\n    pass\n"
_CLEAN = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OMP_WAIT_POLICY", "GOMP_SPINCOUNT")


def child(args) -> None:
    """One training process: warm up, say 'ready', wait for 'go' on stdin, time the steps."""
    import warnings

    warnings.filterwarnings("ignore", category=FutureWarning, message=r".*torch\.jit\.script.*")
    import torch
    import torch.nn.functional as F

    from gridsearch import models, training as _trainer
    from gridsearch.training import apply_threads

    if args.mode == "gridsearch":
        apply_threads("cpu", workers=args.workers)
    elif args.mode.isdigit():
        torch.set_num_threads(int(args.mode))
    torch.manual_seed(0)
    m = models.build(args.model, args.width, args.depth, 10).module
    opt = _trainer.optimizer(m, _trainer.Recipe(optimizer="adamw", lr=3e-3))
    x = torch.randn(args.batch, 3, args.resolution, args.resolution)
    y = torch.randint(0, 10, (args.batch,))

    def step():
        loss = F.cross_entropy(m(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    m.train()
    for _ in range(3):
        step()
    print("ready", flush=True)
    sys.stdin.readline()
    t0 = time.perf_counter()
    for _ in range(args.steps):
        step()
    print(json.dumps({"seconds": time.perf_counter() - t0, "threads": torch.get_num_threads()}),
          flush=True)


def measure(args, mode: str, workers: int, extra_env: dict[str, str]) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in _CLEAN}
    env.update(extra_env)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(HERE.parent), env.get("PYTHONPATH")]))
    cmd = [sys.executable, __file__, "--child", "--mode", mode, "--workers", str(workers),
           "--steps", str(args.steps), "--batch", str(args.batch), "--resolution",
           str(args.resolution), "--model", args.model, "--width", str(args.width), "--depth",
           str(args.depth)]
    procs = [subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
             for _ in range(workers)]
    try:
        for p in procs:
            if p.stdout.readline().strip() != "ready":
                raise RuntimeError("a training process failed to start")
        t0 = time.perf_counter()
        for p in procs:
            p.stdin.write("go\n")
            p.stdin.flush()
        out = [json.loads(p.stdout.readline()) for p in procs]
        wall = time.perf_counter() - t0
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
            p.wait()
    return {"steps_per_s": workers * args.steps / wall, "threads": out[0]["threads"]}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--mode", default="default", help=argparse.SUPPRESS)
    p.add_argument("--workers", type=int, default=1, help=argparse.SUPPRESS)
    p.add_argument("--model", default="efficientnet_b0")
    p.add_argument("--width", type=float, default=0.5)
    p.add_argument("--depth", type=float, default=0.5)
    p.add_argument("--resolution", type=int, default=48, help="the quickstart's base resolution")
    p.add_argument("--batch", type=int, default=32, help="the quickstart's batch")
    p.add_argument("--steps", type=int, default=15, help="timed steps per process")
    p.add_argument("--processes", default="1,2", help="process counts to compare")
    p.add_argument("--load", type=int, help="busy processes of the competing load "
                                            "(default: one per usable core)")
    p.add_argument("--load-limit", type=float, default=300.0,
                   help="seconds after which each load process exits by itself")
    p.add_argument("--repeats", type=int, default=2)
    p.add_argument("--active", action="store_true",
                   help="also gridsearch's thread count without its OMP_WAIT_POLICY=PASSIVE")
    p.add_argument("--one", action="store_true", help="also one thread per process")
    args = p.parse_args()
    if args.child:
        child(args)
        return

    from common import print_table
    from gridsearch.training import usable_cores

    cores = usable_cores()
    n_load = cores if args.load is None else args.load
    counts = [int(c) for c in args.processes.split(",")]
    variants = [("torch default", "default", {}),
                ("gridsearch", "gridsearch", {"OMP_WAIT_POLICY": "PASSIVE"})]
    if args.active:
        variants.append(("gridsearch threads, active wait", "gridsearch", {}))
    if args.one:
        variants.append(("1 thread each", "1", {}))
    best: dict[tuple, dict] = {}
    for condition in ("alone", f"load x{n_load}"):
        load = []
        try:
            if condition != "alone":
                load = [subprocess.Popen([sys.executable, "-c", _LOAD, str(args.load_limit)])
                        for _ in range(n_load)]
                time.sleep(1.0)
            for rep in range(args.repeats):
                order = [(n, v) for n in counts for v in variants]
                for n, (name, mode, env) in (order if rep % 2 == 0 else order[::-1]):
                    r = measure(args, mode, n, env)
                    key = (condition, n, name)
                    if key not in best or r["steps_per_s"] > best[key]["steps_per_s"]:
                        best[key] = r
        finally:
            for lp in load:
                lp.kill()
                lp.wait()
    print(f"CPU: {cores} usable cores; {args.model} w={args.width:g} d={args.depth:g} at "
          f"{args.resolution} px, batch {args.batch}, {args.steps} timed steps per process, "
          f"best of {args.repeats}; load = {n_load} busy Python process(es)")
    rows = []
    for (condition, n, name), r in best.items():
        ref = best[(condition, n, "torch default")]["steps_per_s"]
        rows.append({"condition": condition, "processes": n, "threads": name,
                     "threads/proc": r["threads"], "steps/s": r["steps_per_s"],
                     "ratio": r["steps_per_s"] / ref})
    print_table(rows, ["condition", "processes", "threads", "threads/proc", "steps/s", "ratio"])


if __name__ == "__main__":
    main()
