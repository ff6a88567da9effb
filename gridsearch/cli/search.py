"""gridsearch plan | init | run | worker: running the search over one study config."""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable
from contextlib import contextmanager
from typing import TYPE_CHECKING

from tqdm import tqdm

from gridsearch.cli.common import add_config, human, load_config, print_json, table
from gridsearch.errors import ConfigError
from gridsearch.storage import redact
from gridsearch.training import DeviceLost

if TYPE_CHECKING:
    from gridsearch.study import Search


def register(sub) -> None:
    p = sub.add_parser("plan", help="realise and measure every candidate, no training",
                       description="Build every candidate of the study's grid, count it with "
                                   "fvcore at its resolution and check it against the FLOP budget "
                                   "(repairing its resolution in repair mode): the table of what "
                                   "`run` will train, without training or touching the store.")
    add_config(p, storage=False)
    p.add_argument("--json", action="store_true", help="print the table as JSON")
    p.set_defaults(func=plan)

    for name, helptext, desc in (
            ("run", "run the search (resumes where it stopped)",
             "Create the study if needed and train what is left of its plan, in this process or "
             "in --workers processes on this host. Ctrl-C stops it cleanly; run it again to "
             "resume."),
            ("worker", "join an existing study and train what is left",
             "Load a study created by `gridsearch init` or `run` and train units that are left "
             "until none is (exits 0), waiting while other workers' trials run.")):
        p = sub.add_parser(name, help=helptext, description=desc)
        add_config(p)
        p.add_argument("--max-trials", type=int, metavar="N", help="stop after N trials")
        p.add_argument("--retry-failed", action="store_true",
                       help="also re-run units whose trial failed with an error")
        p.add_argument("--device", help="auto, cpu, cuda or cuda:N (default: the config's)")
        p.add_argument("--threads", type=int, metavar="N", help="torch CPU threads of this process")
        p.add_argument("--no-wait", action="store_true",
                       help="exit when nothing is free to claim, even while other workers' "
                            "trials still run (by default a worker waits: one may crash)")
        p.add_argument("--no-progress", action="store_true",
                       help="no progress bar (one line per finished trial instead)")
        if name == "run":
            p.add_argument("--workers", type=int, default=1, metavar="N",
                           help="worker processes on this host (default 1: this process)")
            p.add_argument("--gpus", metavar="LIST",
                           help="GPUs to spread the workers over round-robin, e.g. 0,1 "
                                "(default: every visible GPU)")
        p.set_defaults(func=run, create=name == "run")

    p = sub.add_parser("init", help="create the study (once) and exit; workers then join it",
                       description="Check the config, the model and the data, create the study "
                                   "in its store (or check the existing one) and exit: workers on "
                                   "any host then join it with `gridsearch worker`.")
    add_config(p)
    p.set_defaults(func=init)


def say(msg: str) -> None:
    """A progress line on stderr (what a command is doing while it has nothing to show yet)."""
    print(f"gridsearch: {msg}", file=sys.stderr, flush=True)


@contextmanager
def slow(msg: str, after: float = 1.0):
    """Say ``msg`` if the step takes longer than ``after`` seconds: a slow start is explained, and
    input that fails at once still gets its one error line alone."""
    timer = threading.Timer(after, say, (msg,))
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()


def plan(args) -> int:
    from gridsearch.study import Search

    cfg = load_config(args)
    search = Search(cfg)
    search.training_function()   # a training function that cannot be used: before anything else
    subsets = _data(cfg)   # a data problem is reported before anything is measured
    with slow(f"{cfg.name}: measuring the baseline {cfg.model.name} at "
              f"{cfg.model.base_resolution} px"):
        ref = search.realiser().reference
    shares = cfg.width_shares()
    rows = []
    bar = tqdm(total=len(search.items), desc="measuring", unit="pt", leave=False,
               disable=args.json or not sys.stderr.isatty())

    def add(i, m):
        p = m.spec.point
        rows.append({"#": i, **({"width_share": shares[i]} if shares else {}),
                     "alpha": p.alpha, "beta": p.beta, "gamma": p.gamma,
                     "nominal": round(m.spec.s, 3), "depth": round(m.depth_mult, 3),
                     "width": round(m.width_mult, 3), "res": m.resolution,
                     "eff_gamma": m.effective_gamma, "depths": m.layout.depths,
                     "widths": m.layout.widths, "flops": m.flops,
                     "ratio": round(m.ratio("flops"), 3), "params": m.params,
                     "acts": m.activations,
                     "verdict": "ok" if m.within_tolerance else "infeasible",
                     "reason": m.verdict.reason})
        bar.update(1)

    search.plan_candidates(add)
    bar.close()
    first_row: dict = {}  # layout -> the number of the first row that realises it
    for r in rows:        # points that realise one network train identically: one candidate
        lay = r["depths"], r["widths"], r["res"]
        r["same_as"] = None
        if r["depths"] is not None and r["verdict"] == "ok":
            r["same_as"] = first_row.setdefault(lay, r["#"])
            r["same_as"] = None if r["same_as"] == r["#"] else r["same_as"]
    if args.json:
        print_json({"baseline": {"model": cfg.model.name, **ref.as_dict()},
                    "target": cfg.target_multiplier, "mode": cfg.budget.mode,
                    "tolerance": cfg.budget.tolerance, "candidates": rows,
                    "data": _data_manifest(subsets, rows).as_dict() if subsets else None})
        return 0
    print(f"{cfg.name}: {len(rows)} candidates, baseline {cfg.model.name} at {ref.resolution} px: "
          f"{human(ref.flops)} FLOPs, {human(ref.params)} params, {human(ref.activations)} acts")
    print(f"budget: measured ratio within {cfg.budget.tolerance:.0%} of {cfg.target_multiplier:g} "
          f"({cfg.budget.mode})")
    shown = [{**r, "depths": _list(r["depths"]), "widths": _list(r["widths"]),
              "flops": human(r["flops"]), "params": human(r["params"]), "acts": human(r["acts"])}
             for r in rows]
    merged = [r for r in rows if r["same_as"] is not None]
    print(table(shown, ["#", *(["width_share"] if shares else []), "alpha", "beta",
                        "gamma", "nominal", "res", "eff_gamma", "depths",
                        "widths", "flops", "ratio", "params", "acts", "verdict",
                        *(["same_as"] if merged else [])]))
    if merged:
        print("merged (the same network at the same resolution, one candidate): "
              + "; ".join(f"#{r['#']} = #{r['same_as']}" for r in merged)
              + " — each is trained once (its first seed, which shows its network), then counts "
                "as the earlier point")
    n_ok = sum(r["verdict"] == "ok" and r["same_as"] is None for r in rows)
    seeds = len(cfg.train.seed_list())
    print(f"{n_ok} feasible, {len(rows) - n_ok} infeasible (each infeasible point is recorded "
          f"once, not trained); `run` trains {n_ok} × {seeds} seed(s) = {n_ok * seeds} units"
          if cfg.select.mode == "fixed" else
          f"{n_ok} feasible, {len(rows) - n_ok} infeasible; `run` races the feasible points: "
          f"{cfg.select.n0} seeds each first, then seed rounds for those not eliminated (at most "
          f"{cfg.select.max_seeds})")
    if subsets is not None:
        print("\n".join(_data_manifest(subsets, rows).summary()))
    else:
        print(f"data: external (loaded by {cfg.train.function})")
    return 0


def _data(cfg):
    from gridsearch.training import for_config

    with slow(f"{cfg.name}: loading the data"):
        return for_config(cfg)


def _data_manifest(subsets, rows):
    """The data's manifest, with a warning when candidates train above the stored image size."""
    from gridsearch.training import resolution_warning

    m = subsets.manifest
    ok = [r["res"] for r in rows if r["verdict"] == "ok"] or [r["res"] for r in rows]
    note = resolution_warning(subsets, max(ok)) if ok else None
    if note and note not in m.warnings:
        m.warnings.append(note)
    return m


def _list(v) -> str:
    return "-" if v is None else ",".join(map(str, v))


def init(args) -> int:
    from gridsearch.study import Search
    from gridsearch.workers import study_sbatch_line

    cfg = load_config(args)
    search = Search(cfg, args.storage)
    created = search.init()
    p = search.progress()     # in status's units: an infeasible point found is one unit
    verb = "created" if created else "exists:"
    left = p["left"] + p["running"]
    print(f"{cfg.name}: {verb} study in {redact(search.url)} ({p['units']} units, {left} left)")
    line = study_sbatch_line(search, args.config, args.storage_file, left)  # None: SQLite, done
    if line:
        print(f"its workers on Slurm, submitted from this folder:\n  {line}")
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
    from gridsearch.study import Search

    _check_run_args(args)
    cfg = load_config(args)
    search = Search(cfg, args.storage)
    if getattr(args, "workers", 1) > 1 or getattr(args, "gpus", None):
        code = pool(args, search, lambda slot: worker_command(args, slot))
    else:
        code = run_one(args, search)
    if code == 0 and args.create:
        print(next_steps(args.config))
    return code


def next_steps(config: str) -> str:
    return (f"next: gridsearch status {config}   (then: gridsearch confirm {config} --top 3, "
            f"gridsearch freeze {config}, gridsearch export {config} -o family.json)")


def worker_command(args, slot) -> list[str]:
    from gridsearch.workers import worker_command as command

    return command(args.config, slot, args.retry_failed)


def progress(args, search: Search, total: int, initial: int, unit: str = "unit"):
    """The progress shown while ``search`` runs: a bar on a terminal, else one line per finished
    trial on stderr (logs, Slurm, docker); a race's forecast as soon as its first stage is done.
    Returns (started, finished, close)."""
    name = search.cfg.name
    # the first stage was over before this run, or a pool's parent tells (once, for all workers)
    told = [pooled() or _forecast(search) is not None]

    def forecast(write) -> None:
        if told[0]:
            return
        f = _forecast(search)
        if f is not None:
            told[0] = True
            write(f"{name}: first stage done: {f.text()}")

    if not args.no_progress and sys.stderr.isatty():
        bar = tqdm(total=total, initial=initial, desc=name, unit=unit, dynamic_ncols=True)

        def started(number, item):
            bar.set_postfix_str(f"trial {number}: {item.label}" if item else f"trial {number}")

        def finished_bar(o):
            p = search.progress()      # the store's count, as `status` and the lines below
            bar.total, bar.n = p["units"], p["done"] + p["failed"]
            bar.set_postfix_str(describe(o, search.cfg.train.metric))
            forecast(lambda text: bar.write(f"gridsearch: {text}", file=sys.stderr))

        return started, finished_bar, bar.close

    def finished(o):
        p = search.progress()          # the store's count of every worker's units, as `status`
        say(f"{name}: [{p['done'] + p['failed']}/{p['units']}] "
            f"{describe(o, search.cfg.train.metric)}")
        forecast(say)

    return (lambda number, item: None), finished, (lambda: None)


def _forecast(search: Search):
    """The race's forecast once its first stage is done (None before, or without a race)."""
    race = search.race()
    return None if race is None else race.forecast


def pooled() -> bool:
    """This process is one worker of a ``run --workers N`` pool: the pool's parent prints the
    race's forecast and decision once, for all of them."""
    from gridsearch.workers import POOL_ENV

    return bool(os.environ.get(POOL_ENV))


def describe(o, metric: str = "accuracy") -> str:
    msg = f"trial {o.number} {o.state.lower()}"
    if o.spec is not None:
        msg += f" ({o.spec.describe()})"
    if o.value is not None:
        msg += (f" acc={o.value:.3f}" if metric == "accuracy" else f" {metric}={o.value:.4g}")
    if o.attrs.get("flops_ratio") is not None:
        msg += f" ratio={o.attrs['flops_ratio']:.3f}"
    if o.state == "FAIL" and o.attrs.get("error"):
        msg += f": {o.attrs['error'][:120]}"
    return msg


def run_one(args, search: Search, runner: Callable | None = None) -> int:
    """Run ``search`` in this process with progress (``run``, ``worker``, ``confirm``).
    ``runner(on_trial, on_start)`` runs something else than the search's own plan."""
    from gridsearch.training import apply_threads, device_load

    cfg = search.cfg
    with slow(f"{cfg.name}: loading the model and the data"):
        prepared = search.prepare(args.device)  # bad device, model or data: stop before the store
    # On the CPU: the usable cores (--threads or OMP_NUM_THREADS win).
    apply_threads(prepared.device, getattr(args, "threads", None))
    search.study(create=args.create)
    p = search.progress()
    total = p["units"]
    out = sys.stderr if getattr(args, "json", False) else sys.stdout   # keep JSON output clean
    if not p["left"] and not p["running"] and not (args.retry_failed and p["failed"]):
        print(f"{cfg.name}: nothing left to run ({p['done']} of {total} done"
              + (f", {p['failed']} failed: --retry-failed runs them again" if p["failed"] else "")
              + ")", file=out)
        return 0
    manifest = getattr(prepared.data, "manifest", None)
    if manifest is not None and not args.no_progress:
        for line in manifest.summary():
            say(line)
    say(f"{cfg.name}: {p['left']} of {total} units left, on {prepared.device}")
    if cfg.select.mode == "race" and not search.units:
        say(f"{cfg.name}: [select] mode = \"race\" races the confirmation of a "
            f"{cfg.search.sampler} study (`gridsearch confirm --race`); the search itself "
            f"trains each proposed point with its {len(cfg.train.seed_list())} seed(s)")
    started, finished, close = progress(args, search, total, p["done"] + p["failed"])
    try:
        outcomes = search.run(max_trials=args.max_trials, retry_failed=args.retry_failed,
                              device=args.device, on_trial=finished, on_start=started,
                              create=args.create, wait=not args.no_wait,
                              load=device_load())
    finally:
        close()
    counts: dict[str, int] = {}
    for o in outcomes:
        counts[o.state] = counts.get(o.state, 0) + 1
    ran = ", ".join(f"{n} {s.lower()}" for s, n in sorted(counts.items())) or "no trials"
    print(f"{cfg.name}: ran {ran}; {search.remaining()} left", file=out)
    if not pooled():
        print_race(search, out)
    return 0


def run_plan(args, search: Search, command: str, options: list[str]) -> int:
    """Run a plan of its own beside the search (``confirm``, ``climb``, ``verify``, ``compare``)
    as the command line says: as one worker of a pool (``--join``), as a pool of ``--workers`` /
    ``--gpus`` processes that each run ``gridsearch COMMAND CONFIG OPTIONS --join``, or in this
    process."""
    if args.join:
        args.create = False                 # the pool's parent created the study
        return run_one(args, search)
    if args.workers > 1 or args.gpus:
        from gridsearch.workers import worker_command as line

        return pool(args, search, lambda slot: line(args.config, slot, command=command,
                                                    options=[*options, "--join"]))
    return run_one(args, search)


def print_race(search: Search, out=None) -> None:
    """A race's forecast (what δ costs at the seed spread measured so far) and its decision."""
    race = search.race()
    if race is None:
        return
    if race.forecast is not None:
        print(f"{search.cfg.name}: {race.forecast.text()}", file=out or sys.stdout)
    print(f"{search.cfg.name}: {race.text()}", file=out or sys.stdout)


def pool(args, search: Search, command) -> int:
    """Create ``search``'s study here, then run ``command(slot)`` in one process per worker slot
    (``args.workers``, ``args.gpus``, ``args.device``), with progress."""
    import torch

    from gridsearch.training import usable_cores
    from gridsearch.workers import Pool, exit_code, parse_gpus, placement, shared_timing_note

    cfg = search.cfg
    n_cuda = torch.cuda.device_count() if torch.cuda.is_available() else 0
    gpus = parse_gpus(args.gpus) if args.gpus else None
    slots = placement(args.workers, args.device or cfg.train.device, gpus, n_cuda, usable_cores())
    with slow(f"{cfg.name}: checking the model and the data, creating the study"):
        search.init()
    prog = search.progress()
    total = prog["units"]
    if not prog["left"] and not prog["running"] and not (args.retry_failed and prog["failed"]):
        print(f"{cfg.name}: nothing left to run ({prog['done']} of {total} done)")
        return 0
    where = ", ".join(sorted({s.where for s in slots}))
    print(f"{cfg.name}: {len(slots)} workers on {where}, {slots[0].threads} torch thread(s) each"
          + ("" if slots[0].gpu is None else ", one visible GPU each"))
    note = shared_timing_note(slots) if cfg.objectives.timed else None
    if note:
        print(f"{cfg.name}: {note}")
    tty = not args.no_progress and sys.stderr.isatty()
    bar = tqdm(total=total, initial=prog["done"] + prog["failed"], desc=cfg.name, unit="unit",
               disable=not tty, dynamic_ncols=True)

    def line(i: int, text: str) -> None:
        text = redact(text)
        if tty:
            bar.write(f"worker {i}: {text}", file=sys.stderr)
        else:
            print(f"worker {i}: {text}", file=sys.stderr, flush=True)

    procs = Pool([command(s) for s in slots], line, storage=search.url, slots=slots)
    told = [_forecast(search) is not None]
    ticks = 0
    try:
        procs.start()
        while procs.alive():
            time.sleep(1.0)
            ticks += 1
            if not told[0] and ticks % 5 == 0 and _forecast(search) is not None:
                told[0] = True   # once for the pool, not once per worker
                line_all = f"{cfg.name}: first stage done: {_forecast(search).text()}"
                (bar.write if tty else print)(f"gridsearch: {line_all}", file=sys.stderr)
            if tty:
                p = search.progress()
                bar.total, bar.n = p["units"], p["done"] + p["failed"]
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
    lost = [i for i, c in enumerate(codes) if c == EXIT_DEVICE]
    print(f"{cfg.name}: workers exited {codes}; {p['done']} done, {p['failed']} failed, "
          f"{p['left'] + p['running']} left"
          + (f"; worker(s) {', '.join(map(str, lost))} lost their device (their units were "
             "given back): run again to finish" if lost else ""))
    print_race(search, sys.stderr if getattr(args, "json", False) else None)
    return exit_code(codes)


EXIT_DEVICE = DeviceLost.EXIT_CODE   # a worker whose device failed (cli.main's exit status)
