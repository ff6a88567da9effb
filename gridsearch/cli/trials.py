"""gridsearch status | best: reading a study back (one reader, one selection rule)."""

from __future__ import annotations

from gridsearch.cli.common import add_config, human, load_config, print_json, table, write_json
from gridsearch.storage import redact


def register(sub) -> None:
    p = sub.add_parser("status", help="a table of the study's trials")
    add_config(p)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=status)

    p = sub.add_parser("best", help="the selected point (mean ± std, ties), or the Pareto front when the study "
                                    "has several objectives")
    add_config(p)
    p.add_argument("--json", action="store_true", help="print it as JSON (the export)")
    p.add_argument("--output", metavar="FILE", help="also write the JSON to FILE (atomically)")
    p.set_defaults(func=best)


def status(args) -> int:
    from gridsearch.study._search import Search
    from gridsearch.study._trials import COLUMNS, EXTRA, rank, read, rows

    cfg = load_config(args)
    search = Search(cfg, args.storage)
    study = search.study(create=False)
    records = read(study)
    trials = rows(records)
    if args.json:
        print_json([{k: r[k] for k in COLUMNS + EXTRA} for r in trials])
        return 0
    shown = [{**r, **{k: human(r[k]) for k in ("flops", "params", "activations")}} for r in trials]
    columns = ["number", "alpha", "beta", "gamma", "resolution", "flops_ratio", "flops",
               "params", "activations", "accuracy", "state"]
    for optional, after in (("width_share", "number"), ("seed", "gamma"),
                            ("latency_ms", "activations")):
        if any(r[optional] is not None for r in trials):
            columns.insert(columns.index(after) + 1, optional)
    print(table(shown, columns))
    states: dict[str, int] = {}
    for r in trials:
        states[r["state"]] = states.get(r["state"], 0) + 1
    print(f"{len(trials)} trials: " + ", ".join(f"{n} {s.lower()}"
                                                for s, n in sorted(states.items())))
    ranked = rank(records)
    if ranked and max(c.runs for c in ranked) > 1:
        print("per point, over its seeds (best mean first; 95% CI of the mean):")
        print(table([{**c.point.as_dict(), "accuracy": c.summary.text(),
                      "ci95": f"[{c.summary.ci_low:.4f}, {c.summary.ci_high:.4f}]",
                      "trials": ",".join(map(str, c.trials))} for c in ranked],
                    ["alpha", "beta", "gamma", "accuracy", "ci95", "trials"]))
    confirm = search.confirmation()
    if confirm is not None:
        print(f"confirmation {confirm.study_name!r}: {len(confirm.trials)} trials "
              "(`gridsearch confirm` shows its table)")
    return 0


def best(args) -> int:
    from gridsearch.study._search import Search
    from gridsearch.study._trials import front_export, read, summary

    cfg = load_config(args)
    search = Search(cfg, args.storage)
    study = search.study(create=False)
    multi = len(study.directions) > 1
    if multi:
        out = {**front_export(study), "storage": redact(search.url)}
    else:
        records = read(study)
        confirm = search.confirmation()
        confirmed = read(confirm) if confirm is not None else []
        sel = search.selection(records, confirmed)
        w = sel.winner
        first = next(r for r in (confirmed if sel.source == "confirmation" else records)
                     if r.number == w.trials[0])
        out = {**summary(first), **w.point.as_dict(),
               "accuracy": w.value, **{f"accuracy_{k}": v for k, v in w.summary.as_dict().items()},
               "trials": list(w.trials), "source": sel.source, "margin": sel.margin,
               "p_value": sel.test.p if sel.test else None,
               "ties": [t.point.as_dict() for t in sel.ties], "verdict": sel.verdict()}
    if args.output:
        write_json(args.output, out)
    if args.json:
        print_json(out)
    elif multi:
        _print_front(out)
    else:
        for k, v in out.items():
            print(f"{k:>16}  {v}")
    if args.output and not args.json:
        print(f"written to {args.output}")
    return 0


def _print_front(export) -> None:
    names = [o["name"] for o in export["objectives"]]
    rows = [{**t, **t["values"], "acts": human(t.get("activations")),
             "flops": human(t.get("flops"))} for t in export["front"]]
    coefficient = ["width_share"] if any("width_share" in t for t in rows) else []
    columns = ["trial", *names, *coefficient, "alpha", "beta", "gamma", "resolution", "flops_ratio",
               "flops", "acts"]
    columns = list(dict.fromkeys(c for c in columns if c != "activations"))
    objs = ", ".join(f"{o['name']} ({o['direction']})" for o in export["objectives"])
    print(f"{export['study']}: Pareto front of {len(rows)} trial(s) over {objs}; "
          f"{export['n_complete']} complete")
    print(table(rows, columns))
