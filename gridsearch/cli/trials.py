"""gridsearch status | best: reading a study back (one record, one selection rule)."""

from __future__ import annotations

from gridsearch.cli.common import add_config, human, listing, load_config, print_json, table, write_json
from gridsearch.storage import redact


def register(sub) -> None:
    p = sub.add_parser("status", help="a table of the study's trials and the selection so far",
                       description="Every trial (α β γ, resolution, measured FLOPs ratio, params, "
                                   "activations, accuracy, state), then per point its mean ± std "
                                   "over seeds with a 95% interval, and the selection's verdict.")
    add_config(p)
    p.add_argument("--json", action="store_true",
                   help="every trial with every recorded field, as JSON")
    p.set_defaults(func=status)

    p = sub.add_parser("best", help="the selected point (mean ± std, ties), or the Pareto front "
                                    "when the study has several objectives",
                       description="The point the selection rule chooses (a race's decision, "
                                   "else the confirmation's best mean, else the search's) with "
                                   "its accuracy over seeds (the highest rung of a "
                                   "fidelity ladder climbed ranks first), the margin, p-value and ties; for a "
                                   "multi-objective study the Pareto front.")
    add_config(p)
    p.add_argument("--json", action="store_true", help="print it as JSON (the export)")
    p.add_argument("--output", metavar="FILE", help="also write the JSON to FILE (atomically)")
    p.set_defaults(func=best)


COLUMNS = ["number", "alpha", "beta", "gamma", "seed", "resolution", "flops_ratio", "flops",
           "params", "activations", "accuracy", "state"]
OPTIONAL = (("width_share", "number"), ("latency_ms", "activations"),
            ("peak_memory_mb", "accuracy"), ("error_kind", "state"))


def status(args) -> int:
    from gridsearch.errors import GridsearchError
    from gridsearch.selection import rank
    from gridsearch.study import Search, check_text, ladder_text, ranking

    cfg = load_config(args)
    metric = cfg.train.metric
    search = Search(cfg, args.storage)
    records = search.records()
    rows = [{**r.row(), metric: r.row()["accuracy"]} for r in records]
    if args.json:
        print_json(rows)
        return 0
    shown = [{**r, **{k: human(r[k]) for k in ("flops", "params", "activations")}} for r in rows]
    columns = [metric if c == "accuracy" else c for c in COLUMNS]
    for optional, after in OPTIONAL:
        if any(r.get(optional) is not None for r in rows):
            columns.insert(columns.index(metric if after == "accuracy" else after) + 1, optional)
    print(table(shown, columns))
    states: dict[str, int] = {}
    for r in records:
        states[r.state] = states.get(r.state, 0) + 1
    print(f"{len(rows)} trials: " + ", ".join(f"{n} {s.lower()}"
                                              for s, n in sorted(states.items())))
    p = search.progress()
    if search.units:
        print(work_text(p))
    ranked = rank(records, **ranking(cfg))
    if ranked and max(c.runs for c in ranked) > 1:
        within = ", within [0, 1]" if metric == "accuracy" else ""
        print(f"per point, over its seeds (best mean first; 95% CI of the mean{within}):")
        print(table([{**c.point.as_dict(), metric: c.summary.text(),
                      "ci95": f"[{c.summary.ci_low:.4f}, {c.summary.ci_high:.4f}]",
                      "trials": listing(c.trials)} for c in ranked],
                    ["alpha", "beta", "gamma", metric, "ci95", "trials"]))
    if len(search.study(create=False).directions) == 1:
        try:
            sel = search.selection(records)
        except GridsearchError:
            sel = None
        race = search.race(records)
        if race is not None:              # watching a race: its state and what δ will cost
            d = race.decision
            if race.first_stage is None and not d.done:
                gone = sum(1 for s_ in d.standings if not s_.survived)
                print(f"race: round {d.seeds + 1} (seeds per survivor after it), "
                      f"{len(d.survivors)} survivor(s), {gone} eliminated, {d.runs} runs used")
            if race.forecast is not None:
                print(f"forecast: {race.forecast.text()}")
        if sel is not None:
            w = sel.winner
            how = f"{sel.source}, provisional: the race is running" if sel.provisional \
                else sel.source
            print(f"selected ({how}): {w.point.label()}  {w.summary.text()}  "
                  f"[{w.refs[0]}]")
            print(f"verdict: {sel.verdict()}")
            ladder = ladder_text(search)
            if ladder:
                print(f"ladder: {ladder}")
            print(f"one φ up: {check_text(search, w.point)}")
    else:               # a front: the check one φ up is of the point frozen from it, if any
        from gridsearch.family import stored_frozen

        frozen = stored_frozen(search.study(create=False))
        if frozen is not None:
            print(f"one φ up: {check_text(search, frozen.point)}")
    confirm = search.confirmation()
    if confirm is not None:
        print(f"confirmation {confirm.study_name!r}: {len(confirm.trials)} trials "
              "(`gridsearch confirm` shows its table)")
    return 0


def work_text(p: dict[str, int]) -> str:
    """The plan's progress in what a user can count (points; units: a point with one seed that
    trains, or an infeasible point's one check), as the run's ``[k/N]`` counts it: k is
    done + failed, N the units."""
    return (f"points: {p['points']}, {p['infeasible']} found infeasible (checked once, not "
            f"trained)\nunits: {p['done'] + p['failed']} of {p['units']} finished: "
            f"{p['trained']} trained, {p['infeasible']} infeasible, {p['failed']} failed; "
            f"{p['running']} running, {p['left']} left")


def best(args) -> int:
    from gridsearch.study import Search, front_export, read, selected_export

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
        out = selected_export(search, sel, records, confirmed)
        if not args.json:
            out["ties"] = sel.ties_text()
            out["trials"] = listing(sel.winner.refs)
            out["seeds"] = listing(out["seeds"])
    if args.output:
        write_json(args.output, out)
    if args.json:
        print_json(out)
    elif multi:
        _print_front(out)
    else:
        out.pop("history", None)
        out.pop("race", None)
        for k, v in out.items():
            print(f"{k:>16}  {_value(k, v)}")
    if args.output and not args.json:
        print(f"written to {args.output}")
    return 0


def _value(key: str, v) -> str:
    """A value of ``best``'s screen: accuracies and the margin to 4 decimals, P(best) to 3, a
    p-value and other floats to 3 and 4 significant figures; long lists as a count and the
    first few."""
    if isinstance(v, bool) or v is None:
        return "-" if v is None else str(v)
    if isinstance(v, float):
        if key.startswith("accuracy") or key == "margin":
            return f"{v:.4f}"
        return f"{v:.3f}" if key == "p_best" else f"{v:.3g}" if key == "p_value" else f"{v:.4g}"
    if isinstance(v, (list, tuple)):
        return listing([_value(key, x) for x in v])
    return str(v)


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
