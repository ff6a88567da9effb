"""gridsearch plan | init | run | worker: running the search over one study config."""

from __future__ import annotations

import sys
import time
from typing import TYPE_CHECKING

from tqdm import tqdm

from gridsearch.cli.common import add_config, human, load_config, print_json, table
from gridsearch.errors import ConfigError
from gridsearch.storage import redact
from gridsearch.study import _workers as workers
from gridsearch.training import _threads as threads

if TYPE_CHECKING:
    from gridsearch.study._search import Search


def register(sub) -> None:
    p = sub.add_parser("plan", help="realise and measure every candidate, no training")
    add_config(p, storage=False)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=plan)

    p = sub.add_parser("init", help="create the study (once) and exit; workers then join it")
    add_config(p)
    p.set_defaults(func=init)

    for name, helptext in (("run", "run the search (resumes where it stopped)"),
                           ("worker", "join an existing study and train what is left")):
        p = sub.add_parser(name, help=helptext)
        add_config(p)
        p.add_argument("--max-trials", type=int, metavar="N", help="stop after N trials")
        p.add_argument("--retry-failed", action="store_true",
                       help="also re-run points whose trial failed with an error")
        p.add_argument("--device", help="auto, cpu, cuda or cuda:N (default: the config's)")
        p.add_argument("--threads", type=int, metavar="N", help="torch CPU threads of this process")
        p.add_argument("--no-wait", action="store_true",
                       help="exit when nothing is free to claim, even while other workers' "
                            "trials still run (by default a worker waits: one may crash)")
        p.add_argument("--no-progress", action="store_true", help="no progress bar")
        if name == "run":
            p.add_argument("--workers", type=int, default=1, metavar="N",
                           help="worker processes on this host (default 1: this process)")
            p.add_argument("--gpus", metavar="LIST",
                           help="GPUs to spread the workers over round-robin, e.g. 0,1 "
                                "(default: every visible GPU)")
        p.set_defaults(func=run, create=name == "run")


def plan(args) -> int:
    from gridsearch.study._search import Search

    cfg = load_config(args)
    search = Search(cfg)
    ref = search.realiser().reference
    rows = []
    bar = tqdm(total=len(search.points), desc="measuring", unit="pt", leave=False,
               disable=args.json or not sys.stderr.isatty())

    def add(i, cand):
        v = cand.verdict
        shares = cfg.width_shares()
        rows.append({"#": i, **({"width_share": shares[i]} if shares else {}),
                     "alpha": cand.point.alpha, "beta": cand.point.beta,
                     "gamma": cand.point.gamma, "nominal": round(cand.point.nominal_multiplier, 3),
                     "depth": round(cand.scaled.depth_mult, 3), "width": round(cand.scaled.width_mult, 3),
                     "res": v.resolution, "eff_gamma": round(cand.effective_gamma, 4),
                     "depths": cand.realised.layout.depths, "widths": cand.realised.layout.widths,
                     "flops": v.complexity.flops, "ratio": round(v.ratio, 3),
                     "params": v.complexity.params, "acts": v.complexity.activations,
                     "verdict": "ok" if v.feasible else "infeasible", "reason": v.reason})
        bar.update(1)

    search.plan(add)
    bar.close()
    if args.json:
        print_json({"baseline": {"model": cfg.model.name, **ref.complexity.as_dict()},
                    "target": cfg.target_multiplier, "mode": cfg.budget.mode,
                    "tolerance": cfg.budget.tolerance, "candidates": rows})
        return 0
    c = ref.complexity
    print(f"{cfg.name}: {len(rows)} candidates, baseline {cfg.model.name} at {c.resolution} px: "
          f"{human(c.flops)} FLOPs, {human(c.params)} params, {human(c.activations)} acts")
    print(f"budget: measured ratio within {cfg.budget.tolerance:.0%} of {cfg.target_multiplier:g} "
          f"({cfg.budget.mode})")
    shown = [{**r, "depths": _list(r["depths"]), "widths": _list(r["widths"]),
              "flops": human(r["flops"]), "params": human(r["params"]), "acts": human(r["acts"])}
             for r in rows]
    print(table(shown, ["#", *(["width_share"] if cfg.width_shares() else []), "alpha", "beta",
                        "gamma", "nominal", "res", "eff_gamma", "depths",
                        "widths", "flops", "ratio", "params", "acts", "verdict"]))
    n_ok = sum(r["verdict"] == "ok" for r in rows)
    print(f"{n_ok} feasible, {len(rows) - n_ok} infeasible")
    return 0


def _list(v) -> str:
    return "-" if v is None else ",".join(map(str, v))


def init(args) -> int:
    from gridsearch.study._search import Search

    cfg = load_config(args)
    search = Search(cfg, args.storage)
    created = search.init()
    n = search.total()
    verb = "created" if created else "exists:"
    print(f"{cfg.name}: {verb} study in {redact(search.url)} ({n} points, "
          f"{search.remaining()} left)")
    return 0


def _check_run_args(args) -> None:
    for flag in ("max_trials", "threads", "workers"):
        v = getattr(args, flag, None)
        if v is not None and v < 1:
            raise ConfigError(f"--{flag.replace('_', '-')}: must be ≥ 1, got {v}")
    if getattr(args, "workers", 1) > 1 and args.max_trials is not None:
        raise ConfigError("--max-trials cannot be combined with --workers (it counts the trials "
                          "of one process)")
    if getattr(args, "workers", 1) > 1 and args.threads is not None:
        raise ConfigError("--threads cannot be combined with --workers (the cores are shared out)")


def run(args) -> int:
    from gridsearch.study._search import Search

    _check_run_args(args)
    cfg = load_config(args)
    if getattr(args, "workers", 1) > 1 or getattr(args, "gpus", None):
        return run_workers(args, cfg)
    return run_one(args, Search(cfg, args.storage))


def run_one(args, search: Search) -> int:
    """Run ``search`` in this process with a progress bar (``run``, ``worker``, ``confirm``)."""
    cfg = search.cfg
    prepared = search.prepare(args.device)  # bad device, model or data: stop before the store
    # On the CPU: the usable cores (--threads or OMP_NUM_THREADS win).
    threads.apply(prepared.device, getattr(args, "threads", None))
    search.study(create=args.create)
    remaining = search.remaining()
    total = search.total()
    if search.units:  # a unit another worker is training may still fail: then it is not done
        p = search.progress()
        nothing = not p["left"] and not p["running"] and not (args.retry_failed and p["failed"])
    else:
        nothing = remaining == 0 and not args.retry_failed
    if nothing:
        print(f"{cfg.name}: nothing left to run ({total} points done)")
        return 0
    bar = tqdm(total=total, initial=total - remaining, desc=cfg.name, unit="trial",
               disable=_quiet(args), dynamic_ncols=True)

    def started(number, point):
        bar.set_postfix_str(f"trial {number}: a={point.alpha:g} b={point.beta:g} g={point.gamma:g}")

    def finished(o):
        bar.update(1)
        msg = f"trial {o.number} {o.state.lower()}"
        if o.value is not None:
            msg += f" acc={o.value:.3f}"
        if "flops_ratio" in o.attrs:
            msg += f" ratio={o.attrs['flops_ratio']:.3f}"
        bar.set_postfix_str(msg)

    try:
        outcomes = search.run(max_trials=args.max_trials, retry_failed=args.retry_failed,
                              device=args.device, on_trial=finished, on_start=started,
                              create=args.create, wait=not args.no_wait)
    finally:
        bar.close()
    counts = {}
    for o in outcomes:
        counts[o.state] = counts.get(o.state, 0) + 1
    ran = ", ".join(f"{n} {s.lower()}" for s, n in sorted(counts.items())) or "no trials"
    print(f"{cfg.name}: ran {ran}; {search.remaining()} left")
    return 0


def run_workers(args, cfg) -> int:
    """``run --workers N``: create the study here, then N ``gridsearch worker`` processes."""
    from gridsearch.study._search import Search

    search = Search(cfg, args.storage)
    return pool(args, search, lambda slot: workers.worker_command(
        args.config, slot, args.retry_failed))


def pool(args, search: Search, command) -> int:
    """Create ``search``'s study here, then run ``command(slot)`` in one process per worker slot
    (``args.workers``, ``args.gpus``, ``args.device``), with one progress bar."""
    import torch

    cfg = search.cfg
    n_cuda = torch.cuda.device_count() if torch.cuda.is_available() else 0
    gpus = workers.parse_gpus(args.gpus) if args.gpus else None
    slots = workers.placement(args.workers, args.device or cfg.train.device, gpus, n_cuda,
                              workers.usable_cores())
    search.init()
    prog = search.progress()
    total = search.total()
    if not prog["left"] and not prog["running"] and not (args.retry_failed and prog["failed"]):
        print(f"{cfg.name}: nothing left to run ({total} points done)")
        return 0
    where = ", ".join(sorted({s.where for s in slots}))
    print(f"{cfg.name}: {len(slots)} workers on {where}, {slots[0].threads} torch thread(s) each"
          + ("" if slots[0].gpu is None else ", one visible GPU each"))
    note = workers.shared_timing_note(slots) if cfg.objectives.timed else None
    if note:
        print(f"{cfg.name}: {note}")
    bar = tqdm(total=total, initial=prog["done"] + prog["failed"], desc=cfg.name, unit="pt",
               disable=_quiet(args), dynamic_ncols=True)

    def line(i: int, text: str) -> None:
        bar.write(f"worker {i}: {redact(text)}", file=sys.stderr)

    procs = workers.Pool([command(s) for s in slots], line,
                         storage=search.url,  # in the workers' environment, not their argv
                         envs=[s.env for s in slots])
    try:
        procs.start()
        while procs.alive():
            time.sleep(1.0)
            p = search.progress()
            bar.n = p["done"] + p["failed"]
            bar.set_postfix_str(f"{p['running']} running")
            bar.refresh()
        codes = procs.wait()
    except KeyboardInterrupt:
        bar.close()
        print("gridsearch: stopping the workers (their running trials are marked failed)",
              file=sys.stderr)
        procs.stop()
        raise
    bar.close()
    p = search.progress()
    print(f"{cfg.name}: workers exited {codes}; {p['done']} done, {p['failed']} failed, "
          f"{p['left'] + p['running']} left")
    return workers.exit_code(codes)


def _quiet(args) -> bool:
    """No progress bar when asked, or when stderr is a log rather than a terminal (CI, docker,
    a file): a redrawn bar there is thousands of lines of noise."""
    return bool(args.no_progress) or not sys.stderr.isatty()
