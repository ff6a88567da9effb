"""gridsearch confirm: a one-rung climb given by flags — re-train the search's best points with fresh
seeds (optionally at a higher fidelity) and report whether the proxy's ranking and its winner hold
up, by the fidelity ladder's check."""

from __future__ import annotations

from gridsearch.cli import search as search_cli
from gridsearch.cli.common import add_config, add_workers, load_config, print_json, table


def register(sub) -> None:
    p = sub.add_parser("confirm", help="re-train the best K points with S fresh seeds; "
                                       "rank agreement and the winner's significance",
                       description="A one-rung climb given by flags: re-train the K best points "
                                   "of the search (a race's survivors first) with S new seeds "
                                   "(optionally more epochs or data), stored as the study "
                                   "<name>-confirm in the same store (resumable; --workers), and "
                                   "check, as the fidelity ladder does, whether it keeps the "
                                   "search's top group within ε (seed noise), with Kendall's τ. "
                                   "freeze, export, compare and report then rank by it.")
    add_config(p)
    p.add_argument("--top", type=int, default=3, metavar="K", help="points to confirm (3)")
    p.add_argument("--seeds", type=int, default=3, metavar="S", help="fresh seeds per point (3)")
    p.add_argument("--race", action="store_true",
                   help="race the points instead of S fixed seeds: the config's [select] delta, "
                        "confidence, n0 and max_seeds (seeds only where the choice is open); "
                        "the default when the config races (select.mode = race)")
    p.add_argument("--epochs", type=int, metavar="E", help="epochs (default: the search's)")
    p.add_argument("--train-size", type=int, metavar="N", help="training subset size")
    p.add_argument("--val-size", type=int, metavar="N", help="validation subset size")
    add_workers(p)
    p.add_argument("--json", action="store_true", help="print the outcome as JSON")
    p.set_defaults(func=confirm)


def confirm(args) -> int:
    from gridsearch.study import Fidelity, Search, confirm_outcome, confirm_plan

    search_cli._check_run_args(args)
    cfg = load_config(args)
    search = Search(cfg, args.storage)
    race = args.race or cfg.select.mode == "race"   # a config that races its search races this too
    fid = Fidelity(args.seeds, args.epochs, args.train_size, args.val_size, race=race)
    confirmation = confirm_plan(search, args.top, fid)
    code = search_cli.run_plan(args, confirmation, "confirm", _options(args))
    if code or args.join:
        return code
    out = confirm_outcome(search, confirmation)
    if args.json:
        print_json(out.as_dict())
        return 0
    how = (f"raced (δ = {cfg.select.delta:g}, confidence {cfg.select.confidence:g}, "
           f"n0 = {cfg.select.n0}, at most {cfg.select.max_seeds} fresh seeds)" if race
           else f"{fid.seeds} fresh seed(s) each")
    print(f"{cfg.name}: confirmation {confirmation.cfg.name!r}: top {len(out.rows)} points, "
          f"{how}, {confirmation.cfg.train.epochs} epoch(s), "
          f"{confirmation.cfg.data.train_size} training images")
    rows = [{"alpha": r.point[0], "beta": r.point[1], "gamma": r.point[2],
             "search": r.search.summary.text(), "rank": r.search_rank,
             "confirmed": r.confirmed.summary.text() if r.confirmed else "-",
             "confirmed_rank": r.confirmed_rank or "-",
             "runs": r.confirmed.runs if r.confirmed else 0,
             "out_after": out.eliminated_after(r) or "-"} for r in out.rows]
    print(table(rows, ["alpha", "beta", "gamma", "search", "rank", "confirmed", "confirmed_rank",
                       *(["runs", "out_after"] if out.race is not None else [])]))
    if out.race is not None:
        print("out_after: the seeds a point had when the race eliminated it (- : it survived)")
    rho = "n/a" if out.spearman is None else f"{out.spearman:.3f}"
    tau = "n/a" if out.check is None else out.check.agreement.text()
    p = "n/a" if out.test is None else f"{out.test.p:.3g}"
    print(f"rank agreement over {sum(r.confirmed is not None for r in out.rows)} confirmed points: "
          f"Spearman ρ = {rho}, Kendall τ = {tau}; winner vs runner-up Welch p = {p}")
    print(f"verdict: {out.verdict()}")
    return 0


def _options(args) -> list[str]:
    """The options that make a worker run this confirmation (``gridsearch confirm … --join``)."""
    options = ["--top", str(args.top), "--seeds", str(args.seeds)]
    if args.race:
        options.append("--race")
    for flag in ("epochs", "train_size", "val_size"):
        v = getattr(args, flag)
        if v is not None:
            options += [f"--{flag.replace('_', '-')}", str(v)]
    return options
