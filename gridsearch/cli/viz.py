"""gridsearch dashboard | report | compare: seeing a study."""

from __future__ import annotations

import argparse
import sys

from gridsearch import _compat
from gridsearch.cli import search as search_cli
from gridsearch.cli.common import add_config, add_workers, human, load_config, print_json, table
from gridsearch.storage import redact


def register(sub) -> None:
    p = sub.add_parser("dashboard", help="optuna-dashboard on the study's store (127.0.0.1)",
                       description="Serve optuna-dashboard on the study's store, after writing "
                                   "notes that put the selected point and its verdict first "
                                   "(and the reason on every infeasible or failed trial).")
    add_config(p)
    p.add_argument("--host", default="127.0.0.1",
                   help="address to bind (default 127.0.0.1; the dashboard has no authentication)")
    p.add_argument("--port", type=_port, default=8080,
                   help="port (default 8080; 0 picks a free one)")
    p.add_argument("--no-notes", action="store_true",
                   help="do not write the feasibility notes into the study before serving")
    p.set_defaults(func=dashboard)

    p = sub.add_parser("report", help="trials.csv, PNG plots and a summary of the study",
                       description="Write trials.csv (every trial, every recorded field), PNG "
                                   "plots and summary.txt: the selected point, counts, which "
                                   "complexity measure predicts training time, the family.")
    add_config(p)
    p.add_argument("-o", "--output", default="report", metavar="DIR",
                   help="folder to write into (default report/)")
    p.add_argument("--json", action="store_true", help="print the summary's figures as JSON")
    p.set_defaults(func=report)

    p = sub.add_parser("compare", help="compound vs depth-, width-, resolution-only at equal FLOPs",
                       description="Realise the compound point at --phi, solve depth-, width- and "
                                   "resolution-only networks to its measured FLOPs, train each "
                                   "with --seeds seeds (each unit once; resumable; --workers) as "
                                   "the study <name>-compare, and test the gaps (Welch).")
    add_config(p)
    p.add_argument("--phi", type=float, default=1.0, help="the φ to compare at (default 1)")
    p.add_argument("-o", "--output", default="report", metavar="DIR",
                   help="folder for compare.csv and compare.png (default report/)")
    p.add_argument("--rerun", action="store_true", help="train again what was already compared")
    p.add_argument("--seeds", type=int, default=1, metavar="S",
                   help="train every network with S seeds (train.seed, +1, …): mean ± std and "
                        "Welch's p of each strategy against compound (default 1)")
    add_workers(p)
    p.add_argument("--json", action="store_true", help="print the table as JSON")
    p.set_defaults(func=compare)


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        port = -1
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"must be 0 to 65535, got {text!r}")
    return port


def dashboard(args) -> int:
    from gridsearch.study import Search
    from gridsearch.viz import annotate, serve

    cfg = load_config(args)
    search = Search(cfg, args.storage)
    study = search.study(create=False)
    if not args.no_notes:
        annotate(search)

    def ready(server):
        url = server.url(_compat.study_id(study))
        print(f"optuna-dashboard for study {cfg.name!r} ({redact(search.url)}):")
        print(f"  {url}/note    the answer: the selected point and how sure it is")
        print(f"  {url}         the study (its \"Best Trial\" is one seed's best value)")
        if args.host not in ("127.0.0.1", "localhost", "::1"):
            print(f"  warning: listening on {args.host}: anyone who can reach it can change or "
                  "delete studies (no authentication)", file=sys.stderr)
        print("Ctrl-C to stop", flush=True)

    try:
        serve(search.storage, args.host, args.port, ready)
    except KeyboardInterrupt:
        print("dashboard stopped")
    return 0


def report(args) -> int:
    from gridsearch.study import Search
    from gridsearch.viz import build

    cfg = load_config(args)
    rep = build(Search(cfg, args.storage), args.output)
    if args.json:
        print_json({**rep.facts, "files": [str(f) for f in rep.files]})
        return 0
    print(rep.summary)
    print("wrote " + ", ".join(str(f) for f in rep.files))
    return 0


def compare(args) -> int:
    from pathlib import Path

    import pandas as pd

    from gridsearch.family import Compare, check_phi, compare_rows, compare_verdict, unmatched_note
    from gridsearch.study import Search
    from gridsearch.viz import compare_plot

    search_cli._check_run_args(args)
    cfg = load_config(args)
    comp = Compare(Search(cfg, args.storage))
    check_phi(args.phi)
    point, origin = comp.point()   # fails early, in one line, when there is nothing to compare
    inner = comp.search_for(args.phi, args.seeds, rerun=args.rerun and not args.join)
    if args.join:                  # one worker of `compare --workers N`
        return search_cli.run_plan(args, inner, "compare", [])
    if not args.json:
        print(f"{cfg.name}: compound vs single-dimension scaling at φ = {args.phi:g}, "
              f"{args.seeds} seed(s) (stored as study {comp.store.name!r})\n"
              f"compound point: {point.label()}, {origin}",
              flush=True)
    if comp.store.exists() and not comp.left(inner):
        code = 0
        if not args.json:
            print("  every network and seed is stored: nothing to train (--rerun trains again)")
    else:
        code = search_cli.run_plan(args, inner, "compare",
                                   ["--phi", str(args.phi), "--seeds", str(args.seeds)])
    if code:
        return code
    entries = comp.entries(args.phi, point)
    rows = compare_rows(entries)
    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    all_rows = compare_rows(comp.entries())         # every φ compared so far: the CSV and plot
    pd.DataFrame(all_rows).to_csv(out / "compare.csv", index=False)
    png = compare_plot(all_rows, out / "compare.png", cfg.budget.tolerance, study=comp.store.name,
                       fidelity=f"{cfg.train.epochs} epochs, {args.seeds} seed(s) each")
    if args.json:
        print_json({"phi": args.phi, "rows": rows, "files": [str(out / "compare.csv"), str(png)]})
        return 0
    shown = [{**r, "flops": human(r["flops"]), "params": human(r["params"]),
              "activations": human(r["activations"]),
              cfg.train.metric: e.summary.text() if e.summary else "-", "p_vs_compound": "-" if r["p_vs_compound"] is None
              else f"{r['p_vs_compound']:.3g}"} for r, e in zip(rows, entries, strict=True)]
    print(table(shown, ["strategy", "d", "w", "resolution", "flops",
                        "flops_ratio", "params", "activations", "within_tolerance",
                        cfg.train.metric, "p_vs_compound"]))
    missing = comp.missing(entries)
    if missing:
        print(f"not trained (failed, see `gridsearch status`): {', '.join(missing)}")
    for line in (compare_verdict(rows, cfg.train.metric),
                 unmatched_note(rows, cfg.budget.tolerance)):
        if line is not None:
            print(line)
    print(f"wrote {out / 'compare.csv'}, {png}")
    return 0
