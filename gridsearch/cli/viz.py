"""gridsearch dashboard | report | compare: seeing a study."""

from __future__ import annotations

import argparse
import sys

from gridsearch.family import _compare as compare_mod
from gridsearch.viz import _dashboard as dash
from gridsearch.viz import _plots as plots
from gridsearch.viz import _report as report_mod
from gridsearch.study._search import Search
from gridsearch.storage import redact
from gridsearch.cli.common import add_config, human, load_config, print_json, table


def register(sub) -> None:
    p = sub.add_parser("dashboard", help="optuna-dashboard on the study's store (127.0.0.1)")
    add_config(p)
    p.add_argument("--host", default="127.0.0.1",
                   help="address to bind (default 127.0.0.1; the dashboard has no authentication)")
    p.add_argument("--port", type=_port, default=8080,
                   help="port (default 8080; 0 picks a free one)")
    p.add_argument("--no-notes", action="store_true",
                   help="do not write the feasibility notes into the study before serving")
    p.set_defaults(func=dashboard)

    p = sub.add_parser("report", help="trials.csv, PNG plots and a summary of the study")
    add_config(p)
    p.add_argument("-o", "--output", default="report", metavar="DIR",
                   help="folder to write into (default report/)")
    p.add_argument("--json", action="store_true", help="print the summary's figures as JSON")
    p.set_defaults(func=report)

    p = sub.add_parser("compare", help="compound vs depth-, width-, resolution-only at equal FLOPs")
    add_config(p)
    p.add_argument("--phi", type=float, default=1.0, help="the φ to compare at (default 1)")
    p.add_argument("-o", "--output", default="report", metavar="DIR",
                   help="folder for compare.csv and compare.png (default report/)")
    p.add_argument("--rerun", action="store_true", help="train again what was already compared")
    p.add_argument("--device", help="auto, cpu, cuda or cuda:N (default: the config's)")
    p.add_argument("--json", action="store_true")
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
    cfg = load_config(args)
    search = Search(cfg, args.storage)
    study = search.study(create=False)
    if not args.no_notes:
        dash.annotate(study)

    def ready(server):
        print(f"optuna-dashboard for study {cfg.name!r} ({redact(search.url)}):")
        print(f"  {server.url(study._study_id)}")
        if args.host not in ("127.0.0.1", "localhost", "::1"):
            print(f"  warning: listening on {args.host}: anyone who can reach it can change or "
                  "delete studies (no authentication)", file=sys.stderr)
        print("Ctrl-C to stop", flush=True)

    try:
        dash.serve(search.storage, args.host, args.port, ready)
    except KeyboardInterrupt:
        print("dashboard stopped")
    return 0


def report(args) -> int:
    cfg = load_config(args)
    study = Search(cfg, args.storage).study(create=False)
    rep = report_mod.build(study, args.output, cfg.target_multiplier, cfg.budget.tolerance,
                           cfg.search.target)
    if args.json:
        print_json({**rep.facts, "files": [str(f) for f in rep.files]})
        return 0
    print(rep.summary)
    print("wrote " + ", ".join(str(f) for f in rep.files))
    return 0


def compare(args) -> int:
    from pathlib import Path

    import pandas as pd

    cfg = load_config(args)
    comp = compare_mod.Compare(Search(cfg, args.storage))

    def done(e):
        if not args.json:
            acc = "-" if e.accuracy is None else f"{e.accuracy:.4f}"
            print(f"  {e.strategy:>10}: ratio {e.attrs.get('flops_ratio', 0):.3f}  accuracy {acc}"
                  + ("  (stored)" if e.reused else ""), flush=True)

    compare_mod.check_phi(args.phi)
    point, origin = comp.point()   # fails early, in one line, when there is nothing to compare
    if not args.json:
        print(f"{cfg.name}: compound vs single-dimension scaling at φ = {args.phi:g} "
              f"(stored as study {compare_mod.compare_study_name(cfg.name)!r})\n"
              f"compound point: α={point.alpha:g} β={point.beta:g} γ={point.gamma:g}, {origin}",
              flush=True)
    entries = comp.run(args.phi, rerun=args.rerun, device=args.device, on_entry=done)
    rows = [e.row() for e in entries]
    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    all_rows = [e.row() for e in comp.entries(point=point)]
    pd.DataFrame(all_rows).to_csv(out / "compare.csv", index=False)
    png = plots.compare(all_rows, out / "compare.png", cfg.budget.tolerance)
    if args.json:
        print_json({"phi": args.phi, "rows": rows, "files": [str(out / "compare.csv"), str(png)]})
        return 0
    shown = [{**r, "flops": human(r["flops"]), "params": human(r["params"]),
              "activations": human(r["activations"])} for r in rows]
    print(table(shown, ["strategy", "depth_mult", "width_mult", "resolution", "flops",
                        "flops_ratio", "params", "activations", "within_tolerance",
                        "train_seconds", "accuracy"]))
    off = [r["strategy"] for r in rows if r["within_tolerance"] is False and r["strategy"] != "compound"]
    if off:
        print(f"note: {', '.join(off)} could not match the compound FLOPs within "
              f"{cfg.budget.tolerance:.0%} (rounding); compared at the closest measured FLOPs")
    print(f"wrote {out / 'compare.csv'}, {png}")
    return 0
