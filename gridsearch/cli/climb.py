"""gridsearch climb | verify: the fidelity ladder above the search, and the check one φ up."""

from __future__ import annotations

import argparse

from gridsearch.cli import search as search_cli
from gridsearch.cli.common import add_config, add_workers, human, load_config, print_json, table


def _run_options(p) -> None:
    add_workers(p)
    p.add_argument("--retry-failed", action="store_true",
                   help="also re-run units whose trial failed with an error")
    p.add_argument("--json", action="store_true", help="print the outcome as JSON")


def register(sub) -> None:
    p = sub.add_parser("climb", help="the fidelity ladder: carry the best points up rung by rung "
                                     "until the ranking stops moving",
                       description="Climb the config's [fidelity] rungs above the search (rung "
                                   "0): each rung trains the previous rung's best `top` points "
                                   "(a race's survivors first) with fresh seeds at its fidelity, "
                                   "raced or fixed as [select] says, stored as <name>-r1, -r2, … "
                                   "in the same store (resumable; --workers). With stop = "
                                   "\"stable\" it stops once a rung keeps the previous rung's "
                                   "top group within ε (seed noise). Every screen then answers "
                                   "with the highest rung's decision.")
    add_config(p)
    _run_options(p)
    p.add_argument("--rung", type=int, help=argparse.SUPPRESS)   # the rung a --join worker runs
    p.set_defaults(func=climb)

    p = sub.add_parser("verify", help="the chosen coefficients against their rivals one φ up",
                       description="Realise the frozen (else selected) coefficients at --phi, "
                                   "with its rivals solved to the same measured FLOPs: the next "
                                   "points of the highest rung climbed, EfficientNet's "
                                   "1.2/1.1/1.15, depth-, width- and resolution-only. Train each "
                                   "at the highest rung's fidelity (study "
                                   "<name>-phiN; resumable; --workers), raced by Kim & Nelson's "
                                   "procedure paired by seed: holds, reversed by a rival, or "
                                   "undecided.")
    add_config(p)
    p.add_argument("--phi", type=float, required=True, help="the φ to check at, e.g. 2")
    p.add_argument("--seeds", type=int, metavar="S",
                   help="the most paired seeds a network gets in the race (default: "
                        "select.max_seeds; the first stage is min(select.n0, S))")
    _run_options(p)
    p.set_defaults(func=verify)


def climb(args) -> int:
    from gridsearch.study import Climb, Search, rung_label

    search_cli._check_run_args(args)
    cfg = load_config(args)
    search = Search(cfg, args.storage)
    ladder = Climb(search)
    if args.join:                               # one worker of `climb --workers N`
        return search_cli.run_plan(args, ladder.rung(args.rung), "climb", [])
    while (r := ladder.next_rung()) is not None:
        rung = ladder.rung(r)
        if not args.json:
            print(f"{cfg.name}: rung {r} ({rung_label(rung.cfg, cfg)}): "
                  f"{len(rung.cfg.search.points)} points carried from rung {r - 1}, study "
                  f"{rung.cfg.name!r}", flush=True)
        code = search_cli.run_plan(args, rung, "climb", ["--rung", str(r)] + (
            ["--retry-failed"] if args.retry_failed else []))
        if code:
            return code
        if ladder.next_rung() == r:             # failed units left: the climb cannot go on
            p = rung.progress()
            print(f"{cfg.name}: rung {r} has {p['failed']} failed unit(s) and {p['left']} left: "
                  "fix them and climb again (--retry-failed)")
            return 1
    return _print_ladder(args, search)


def _print_ladder(args, search) -> int:
    from gridsearch.scaling import Point
    from gridsearch.study import check_text, climbed, ladder_of, point_name as name, stored_rung

    rungs = [stored_rung(search, 0), *climbed(search)]
    lad = ladder_of(search, rungs[1:])
    sel = search.selection()
    if args.json:
        print_json({"rungs": [{"rung": x.rung, "study": x.name, "label": x.label,
                               "trials": len(x.records),
                               "train_seconds": _seconds(x.records)} for x in rungs],
                    "ladder": lad.as_dict(name=name) if lad else None,
                    "selection": sel.as_dict(), "checked": check_text(search)})
        return 0
    results = [x.result() for x in rungs]
    points = results[-1].points if results[-1] is not None else ()
    rows = []
    for p in points:
        row = {"point": Point(*p).label()}
        for x, res in zip(rungs, results, strict=True):
            row[f"r{x.rung}"] = (f"{res.mean(p):.4f} (n={res.n(p)})"
                                 if res is not None and p in res.values else "-")
        rows.append(row)
    print(table(rows, ["point", *(f"r{x.rung}" for x in rungs)]))
    print("rungs: " + "; ".join(f"{x.rung}: {x.label}, {len(x.records)} trials, "
                                f"{_seconds(x.records) / 60:.1f} train-min" for x in rungs))
    for check in lad.checks if lad else ():
        print(f"rung {check.lower} → {check.upper}: {check.text(name=name)}")
    print(lad.text(name=name) if lad else "no rung climbed above the search")
    w = sel.winner
    print(f"answer ({sel.source}): {w.point.label()}  {w.summary.text()}  [{w.refs[0]}]")
    print(f"verdict: {sel.verdict()}")
    return 0


def _seconds(records) -> float:
    return sum(float(r.train_seconds or 0) for r in records)


def verify(args) -> int:
    from gridsearch.errors import GridsearchError
    from gridsearch.family import Verify
    from gridsearch.study import Search

    search_cli._check_run_args(args)
    cfg = load_config(args)
    search = Search(cfg, args.storage)
    check = Verify(search, args.phi, args.seeds)
    inner = check.search_for()
    if args.join:
        return search_cli.run_plan(args, inner, "verify", [])
    if not args.json:
        print(f"{cfg.name}: {check.point.label()} "
              f"({check.origin}) against {len(check.rivals)} rivals at φ = {args.phi:g}, "
              f"raced on paired seeds (at most {check.seeds} each), at the fidelity of "
              f"{check.rung}; "
              f"study {inner.cfg.name!r}", flush=True)
    code = search_cli.run_plan(args, inner, "verify",
                               ["--phi", str(args.phi), "--seeds", str(check.seeds)])
    if code:
        return code
    out = check.outcome(inner.plan)
    if out.verdict is None:
        raise GridsearchError("the check's race has not finished (failed trials: `gridsearch "
                              f"status` of {inner.cfg.name!r}); run verify again with "
                              "--retry-failed")
    check.record(out)
    if args.json:
        print_json({**out.as_dict(), "text": out.text(cfg.select.delta)})
        return 0
    rows = []
    for r in out.rows:
        a = r.attrs
        rows.append({"network": r.name, "d": a.get("d"), "w": a.get("w"),
                     "resolution": a.get("resolution"), "flops": human(a.get("flops")),
                     "flops_ratio": a.get("flops_ratio"),
                     "within": a.get("within_tolerance"),
                     "mean": f"{r.mean:.4f}" if r.mean is not None else "-",
                     "n": len(r.values),
                     "out_after": out.eliminated_after(r) or "-"})
    print(table(rows, ["network", "d", "w", "resolution", "flops", "flops_ratio", "within",
                       "mean", "n", "out_after"]))
    note = out.unmatched_note(cfg.budget.tolerance)
    if note:
        print(note)
    print(out.text(cfg.select.delta))
    print(out.short())
    return 0
