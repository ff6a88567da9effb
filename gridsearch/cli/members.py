"""gridsearch scale --strategy …: one baseline scaled by a named strategy, each member measured."""

from __future__ import annotations

from gridsearch.cli.common import human, print_json, table, tolerance
from gridsearch.errors import ConfigError
from gridsearch.scaling import DEFAULT_WIDTH_SHARE, STANDARD


def add_options(p) -> None:
    p.add_argument("--strategy", metavar="NAME",
                   help="depth, width, resolution, uniform, fast (dWr) or all; with --model and "
                        "--flops-multiplier, instead of (alpha, beta, gamma)")
    p.add_argument("--a", type=float, default=DEFAULT_WIDTH_SHARE, metavar="SHARE",
                   help=f"fast scaling's width share (default {DEFAULT_WIDTH_SHARE})")
    p.add_argument("--flops-multiplier", type=float, metavar="S",
                   help="the nominal FLOPs multiplier s of a --strategy member")
    p.add_argument("--latency", metavar="DEVICE", nargs="?", const="cpu",
                   help="also time inference and a training step (on cpu, or cuda)")


def run(args) -> int:
    if args.config or args.alpha or args.beta or args.gamma:
        raise ConfigError("--strategy scales a --model by a named strategy: no CONFIG or "
                          "--alpha/--beta/--gamma with it")
    if not args.model or args.flops_multiplier is None:
        raise ConfigError("--strategy needs --model and --flops-multiplier S")
    from gridsearch.measure import Realiser

    names = STANDARD if args.strategy == "all" else (args.strategy,)
    realiser = Realiser(args.model, args.base_resolution, args.num_classes)
    repair = bool(args.repair)
    tol = tolerance(args, 0.05)
    rows = []
    for name in names:
        m = realiser.strategy(name, args.flops_multiplier, args.a, repair=repair, tolerance=tol)
        if args.latency:
            m = realiser.time(m, args.latency)
        rows.append(m.as_dict())
    if args.json:
        print_json({"model": args.model, "base_resolution": args.base_resolution,
                    "baseline": realiser.reference.as_dict(), "members": rows})
        return 0
    b = realiser.reference
    print(f"{args.model} at {args.base_resolution} px: {human(b.flops)} FLOPs, {human(b.params)} "
          f"params, {human(b.activations)} acts; s = {args.flops_multiplier:g}; measured by fvcore")
    shown = [{"strategy": r["strategy"],
              "a": "-" if r["width_share"] is None else round(r["width_share"], 3),
              "depth": round(r["d"], 3), "width": round(r["w"], 3),
              "res": r["resolution"], "flops": human(r["flops"]), "x_flops": r["flops_ratio"],
              "params": human(r["params"]), "x_params": r["params_ratio"],
              "acts": human(r["activations"]), "x_acts": r["activations_ratio"],
              **({"latency_ms": r["latency_ms"]} if args.latency else {})} for r in rows]
    print(table(shown, list(shown[0])))
    return 0
