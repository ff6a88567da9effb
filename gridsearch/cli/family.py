"""gridsearch freeze | scale | export | build: from the best trial to a measured family and back."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from gridsearch.cli import members as members_cli
from gridsearch.cli.common import add_config, add_storage, human, load_config, print_json, table, tolerance
from gridsearch.config import StudyConfig
from gridsearch.errors import ConfigError, GridsearchError
from gridsearch.scaling import Point

if TYPE_CHECKING:
    from gridsearch.family import Family, Frozen
    from gridsearch.measure import Measured, Realiser, Verdict

DEFAULT_PHI = "-1..4"


def register(sub) -> None:
    p = sub.add_parser("freeze", help="record the selected point's coefficients (confirmed, if any)",
                       description="Freeze (alpha, beta, gamma): the point with the best mean "
                                   "accuracy over the confirmation (`gridsearch confirm`) when there "
                                   "is one, else over the search's seeds; points not significantly "
                                   "worse (Welch p >= 0.05) are named as ties. Stored as the study "
                                   "user attribute 'frozen', which the dashboard shows.")
    add_config(p)
    p.add_argument("--top", type=int, default=5, metavar="N", help="show the N best points (5)")
    p.add_argument("--json", action="store_true", help="print the frozen point and the ranking "
                                                       "as JSON")
    p.set_defaults(func=freeze_cmd)

    p = sub.add_parser("scale", help="scale the frozen coefficients over phi: a measured family",
                       description="Realise and measure one network per phi: depth alpha^phi, width "
                                   "beta^phi, resolution base*gamma^phi, rounded as in the search, "
                                   "counted with fvcore. Give a study CONFIG (its frozen or best "
                                   "coefficients), or --model with --alpha --beta --gamma.")
    p.add_argument("config", nargs="?", help="study config (TOML); or use --model ...")
    add_storage(p)
    p.add_argument("--model", help="baseline (instead of a CONFIG), e.g. efficientnet_b0")
    p.add_argument("--alpha", type=float, help="depth coefficient, with --model")
    p.add_argument("--beta", type=float, help="width coefficient, with --model")
    p.add_argument("--gamma", type=float, help="resolution coefficient, with --model")
    p.add_argument("--base-resolution", type=int, default=224, help="with --model (224)")
    p.add_argument("--num-classes", type=int, default=1000, help="with --model (1000)")
    p.add_argument("--target", type=float, default=2.0, help="FLOPs multiplier per phi, with --model (2)")
    p.add_argument("--tolerance", type=float,
                   help="repair tolerance (default: the config's budget.tolerance, or 0.05)")
    _add_family_options(p)
    p.add_argument("--plot", metavar="PNG", help="write a figure of the family")
    p.add_argument("--json", action="store_true", help="print the export document instead of a table")
    members_cli.add_options(p)
    p.set_defaults(func=scale_cmd)

    p = sub.add_parser("export", help="write the coefficients, the measured family and provenance as JSON",
                       description="Write JSON (schema gridsearch.family/v1) that other tools rebuild "
                                   "from: measured baseline, coefficients, each member with its counts "
                                   "and torchvision (and timm) arguments, provenance. Atomic; never "
                                   "overwrites without --force; never holds a storage URL.")
    add_config(p)
    p.add_argument("-o", "--output", required=True, metavar="JSON", help="the file to write")
    p.add_argument("--force", action="store_true", help="overwrite an existing file")
    p.add_argument("--tolerance", type=float, help="repair tolerance (default: budget.tolerance)")
    _add_family_options(p, with_model=False)
    p.set_defaults(func=export_cmd)

    p = sub.add_parser("build", help="rebuild a member of an exported family and measure it",
                       description="Rebuild the network of one phi from an export and count it with "
                                   "fvcore; the counts must equal the file's. In Python: "
                                   "gridsearch.load(path).build(phi).")
    p.add_argument("file", help="an export written by `gridsearch export`")
    p.add_argument("--phi", required=True, type=float, help="the member to rebuild")
    p.add_argument("--json", action="store_true", help="print the member and its counts as JSON")
    p.set_defaults(func=build_cmd)


def _add_family_options(p, with_model: bool = True) -> None:
    p.add_argument("--phi", default=DEFAULT_PHI, metavar="SPEC",
                   help=f"values of phi: -1..4, 0,0.5,1 or 0..2:0.5 (default {DEFAULT_PHI})")
    p.add_argument("--repair", dest="repair", action="store_const", const=True, default=None,
                   help="solve each member's resolution to land within the tolerance of target^phi "
                        "(default: the study's budget.mode" + ("; off with --model)" if with_model
                                                               else ")"))
    p.add_argument("--no-repair", dest="repair", action="store_const", const=False,
                   help="measure at round(base*gamma^phi) only")
    p.add_argument("--no-progress", action="store_true", help="no progress lines on stderr")


# -- freeze ---------------------------------------------------------------------------------------
def freeze_cmd(args) -> int:
    from gridsearch.family import freeze, store_frozen
    from gridsearch.study import Search, check_text, ladder_text

    cfg = load_config(args)
    search = Search(cfg, args.storage)
    study = search.study(create=False)
    selection = search.selection()
    metric = cfg.train.metric
    frozen = store_frozen(study, freeze(selection, cfg.name, metric, ladder_text(search),
                                        check_text(search, selection.winner.point)))
    ranked = selection.ranked
    if args.json:
        print_json({"frozen": frozen.as_dict(), "selection": selection.as_dict(),
                    "candidates": [c.as_dict() for c in ranked]})
        return 0
    tied = {id(t) for t in selection.ties}
    rows = [{"rank": i + 1, **r.point.as_dict(), metric: r.summary.text(),
             "tie": "tie" if id(r) in tied else "", "trials": _trials(r),
             "flops": human(r.flops), "eff_gamma": round(r.effective_gamma, 4)}
            for i, r in enumerate(ranked[:max(1, args.top)])]
    print(f"{cfg.name}: {len(ranked)} feasible finished point(s) of the {selection.source} "
          f"({selection.study}); the selected point first")
    print(table(rows, ["rank", "alpha", "beta", "gamma", metric, "tie", "trials", "flops",
                       "eff_gamma"]))
    print(frozen.text() + "; stored as study user attribute 'frozen'")
    print(f"verdict: {selection.verdict()}")
    if frozen.ladder:
        print(f"ladder: {frozen.ladder}")
    if selection.ties:
        print(f"ties: {selection.ties_text()}")
    return 0


def _trials(r, most: int = 3) -> str:
    """A point's trials in one short cell: ``tex#0,6,12`` or, when many, ``840: tex#0,6,12,…``."""
    refs = f"{r.study}#" + ",".join(map(str, r.trials[:most]))
    return refs if len(r.trials) <= most else f"{len(r.trials)}: {refs},…"


# -- scale / export -------------------------------------------------------------------------------
def _note(args, msg: str) -> None:
    if not getattr(args, "no_progress", False):
        print(f"gridsearch: {msg}", file=sys.stderr, flush=True)


def _from_config(args) -> tuple[StudyConfig, Frozen]:
    from gridsearch.family import freeze, stored_frozen
    from gridsearch.study import Search

    cfg = load_config(args)
    search = Search(cfg, args.storage)
    frozen = stored_frozen(search.study(create=False))
    if frozen is None:
        from gridsearch.study import check_text, ladder_text

        sel = search.selection()
        frozen = freeze(sel, cfg.name, cfg.train.metric, ladder_text(search),
                        check_text(search, sel.winner.point))
        _note(args, f"{cfg.name}: not frozen yet; using the selected point "
                    f"({frozen.study}#{frozen.trial}; run `gridsearch freeze` to record it)")
    return cfg, frozen


def _chosen_fidelity(search, frozen: Frozen) -> dict | None:
    """How the trials that chose the frozen point were trained (the confirmation's config and
    trials when a confirmation chose); None when their study is not in the store."""
    from gridsearch.family import trained_fidelity
    from gridsearch.study import read, stored_config

    if frozen.study == search.cfg.name:
        study, cfg = search.study(create=False), search.cfg
    else:
        study = search.store.load(frozen.study)
        cfg = stored_config(study) if study is not None else None
    if cfg is None:
        return None
    mine = set(frozen.trials)
    return trained_fidelity(cfg, [r for r in read(study) if r.number in mine])


def _check_flags(args) -> None:
    from gridsearch import models

    models.get_baseline(args.model)  # an unknown name fails before anything is counted
    missing = [f"--{k}" for k in ("alpha", "beta", "gamma") if getattr(args, k) is None]
    if missing:
        raise ConfigError(f"scale --model needs {', '.join(missing)}")
    for k in ("alpha", "beta", "gamma"):
        if not getattr(args, k) >= 1:
            raise ConfigError(f"--{k}: a coefficient must be ≥ 1, got {getattr(args, k)}")
    if args.base_resolution < 1 or args.num_classes < 1:
        raise ConfigError("--base-resolution and --num-classes must be positive")
    if not args.target >= 1:
        raise ConfigError(f"--target: a FLOPs multiplier must be ≥ 1, got {args.target}")


def _scale(args, realiser: Realiser, point: Point, target: float, repair: bool,
           tolerance: float) -> Family:
    from gridsearch.family import parse_phis, scale

    phis = parse_phis(args.phi)

    def start(i, phi):
        _note(args, f"[{i + 1}/{len(phis)}] phi={phi:g}: building and counting"
                    + (" (repairing the resolution)" if repair else ""))

    def done(i, m):
        _note(args, f"[{i + 1}/{len(phis)}] phi={m.spec.phi:g}: {m.resolution} px, "
                    f"{human(m.flops)} FLOPs (x{m.ratio('flops'):.3f}, target "
                    f"x{m.verdict.target:.3g}) in {m.seconds:.1f} s")

    return scale(realiser, point, phis, target, repair=repair, tolerance=tolerance,
                 on_start=start, on_member=done)


def _study_realiser(args, cfg: StudyConfig) -> Realiser:
    from gridsearch.measure import Realiser

    _note(args, f"measuring the baseline {cfg.model.name} at {cfg.model.base_resolution} px")
    return Realiser.of(cfg.model, seed=cfg.train.seed, folder=cfg.folder())


def scale_cmd(args) -> int:
    from gridsearch.family import FAMILY_ATTR, STORED_KEYS, check_writable, document, parse_phis
    from gridsearch.measure import Realiser
    from gridsearch.study import Search

    if args.strategy:
        return members_cli.run(args)
    if args.config and (args.model or args.alpha or args.beta or args.gamma):
        raise ConfigError("give either a study CONFIG or --model with --alpha --beta --gamma, not both")
    if not args.config and not args.model:
        raise ConfigError("give a study CONFIG, or --model with --alpha --beta --gamma")
    if args.plot:
        check_writable(args.plot, force=True)
    parse_phis(args.phi)             # bad input fails before anything is measured
    if args.config:
        cfg, frozen = _from_config(args)
        repair = (cfg.budget.mode == "repair") if args.repair is None else args.repair
        tol = tolerance(args, cfg.budget.tolerance)
        fam = _scale(args, _study_realiser(args, cfg), frozen.point, cfg.search.target, repair,
                     tol)
    else:
        _check_flags(args)
        tol = tolerance(args, 0.05)
        cfg, frozen = None, None
        _note(args, f"measuring the baseline {args.model} at {args.base_resolution} px")
        realiser = Realiser(args.model, args.base_resolution, args.num_classes)
        fam = _scale(args, realiser, Point(args.alpha, args.beta, args.gamma), args.target,
                     bool(args.repair), tol)
    search = Search(cfg, args.storage) if cfg is not None else None
    study = search.study(create=False) if search is not None else None
    doc = document(fam, frozen, cfg, data=study.user_attrs.get("data") if study else None,
                   fidelity=_chosen_fidelity(search, frozen)
                   if search is not None and frozen is not None else None)
    if study is not None:  # the report and the dashboard show the family stored on the study
        study.set_user_attr(FAMILY_ATTR, {**{k: doc[k] for k in STORED_KEYS},
                                          "members": doc["family"]})
    if args.plot:  # the report's family figure
        from gridsearch.viz import family_plot

        png = family_plot(doc["family"], args.plot, doc["baseline"], fam.target_multiplier)
        _note(args, f"figure written to {png}")
    if args.json:
        print_json(doc)
        return 0
    print_table(fam, frozen)
    return 0


def print_table(fam: Family, frozen: Frozen | None) -> None:
    b, p = fam.baseline, fam.point
    src = f" ({frozen.study}#{frozen.trial})" if frozen else ""
    print(f"{fam.model}: alpha={p.alpha:g} beta={p.beta:g} gamma={p.gamma:g}{src}; "
          f"baseline {b['resolution']} px: {human(b['flops'])} FLOPs, {human(b['params'])} params, "
          f"{human(b['activations'])} acts")
    how = (f"resolution repaired to within {fam.tolerance:.0%} of target" if fam.repair
           else "nominal resolution round(base*gamma^phi)")
    print(f"FLOPs measured by fvcore (multiply-adds); target = {fam.target_multiplier:g}^phi; {how}")
    rows = [{"phi": f"{m.spec.phi:g}", "depth": round(m.depth_mult, 3),
             "width": round(m.width_mult, 3), "res": m.resolution,
             "eff_gamma": m.effective_gamma, "depths": _list(m.layout.depths),
             "widths": _list(m.layout.widths), "flops": human(m.flops),
             "ratio": round(m.ratio("flops"), 3), "target": round(_verdict(m).target, 3),
             "dev": f"{_verdict(m).deviation:+.1%}", "params": human(m.params),
             "acts": human(m.activations), "ok": "yes" if m.within_tolerance else "NO"}
            for m in fam.members]
    print(table(rows, ["phi", "depth", "width", "res", "eff_gamma", "depths", "widths", "flops",
                       "ratio", "target", "dev", "params", "acts", "ok"]))
    print(outside_text([{"phi": m.spec.phi, "within_tolerance": m.within_tolerance,
                         "budget_reason": _verdict(m).reason} for m in fam.members], fam.tolerance))


def outside_text(members: list[dict], tolerance: float) -> str:
    """One line per member outside the tolerance (scale, export and report say the same)."""
    bad = [m for m in members if m.get("within_tolerance") is False]
    if not bad:
        return f"every member within {tolerance:.0%} of its target"
    return "\n".join(f"phi={m['phi']:g}: OUTSIDE the tolerance: {m.get('budget_reason') or ''}"
                     for m in bad)


def _list(v) -> str:
    return "-" if not v else ",".join(map(str, v))


def export_cmd(args) -> int:
    from gridsearch.family import FAMILY_ATTR, STORED_KEYS, check_writable, document, from_stored, parse_phis, write
    from gridsearch.study import Search

    check_writable(args.output, args.force)
    parse_phis(args.phi)
    cfg, frozen = _from_config(args)
    search = Search(cfg, args.storage)
    study = search.study(create=False)
    repair = (cfg.budget.mode == "repair") if args.repair is None else args.repair
    tol = tolerance(args, cfg.budget.tolerance)
    data = study.user_attrs.get("data")
    fidelity = _chosen_fidelity(search, frozen)
    doc = from_stored(study.user_attrs.get(FAMILY_ATTR), frozen, cfg, parse_phis(args.phi),
                      repair, tol, data, fidelity)
    if doc is not None:
        _note(args, f"{cfg.name}: the family stored by `gridsearch scale` (measured then)")
    else:
        doc = document(_scale(args, _study_realiser(args, cfg), frozen.point, cfg.search.target,
                              repair, tol), frozen, cfg, data=data, fidelity=fidelity)
        # what report and the dashboard show is the family this file holds
        study.set_user_attr(FAMILY_ATTR, {**{k: doc[k] for k in STORED_KEYS},
                                          "members": doc["family"]})
    path = write(doc, args.output, force=args.force)
    c = doc["coefficients"]
    phis = ", ".join(f"{m['phi']:g}" for m in doc["family"])
    print(f"{path}: {cfg.name}, alpha={c['alpha']:g} beta={c['beta']:g} gamma={c['gamma']:g}, "
          f"{len(doc['family'])} members (phi {phis})")
    print(outside_text(doc["family"], tol))
    return 0


# -- build ----------------------------------------------------------------------------------------
def build_cmd(args) -> int:
    from gridsearch import models
    from gridsearch.family import load
    from gridsearch.measure import ComplexityCounter

    exported = load(args.file)
    m, b = exported.member(args.phi), exported.baseline
    realised = models.build(b["model"], m["width_mult"], m["depth_mult"], b["num_classes"],
                            exported.folders)
    c = ComplexityCounter().count(realised.module, m["resolution"])
    measured = {"flops": c.flops, "params": c.params, "activations": c.activations}
    stated = {k: m[k] for k in measured}
    if args.json:
        print_json({"phi": m["phi"], "model": b["model"], "resolution": m["resolution"],
                    "width_mult": m["width_mult"], "depth_mult": m["depth_mult"],
                    "layout": realised.layout.as_dict(), **measured, "matches_file": measured == stated,
                    "torchvision": m.get("torchvision"), "timm": m.get("timm")})
    else:
        print(f"{b['model']}  phi {args.phi:g}  width {m['width_mult']:.4g}  depth {m['depth_mult']:.4g}"
              f"  resolution {m['resolution']}")
        print(f"  layout       {realised.layout.describe()}")
        for k, v in measured.items():
            print(f"  {k:<12} {v:,} ({human(v)})")
    if measured != stated:
        diff = ", ".join(f"{k} {measured[k]:,} vs {stated[k]:,} in the file"
                         for k in measured if measured[k] != stated[k])
        raise GridsearchError(f"{args.file}: the rebuilt phi={args.phi:g} network differs: {diff} "
                              "(another torchvision or fvcore version?)")
    if not args.json:
        print("  counts equal the file's")
    return 0


def _verdict(m: Measured) -> Verdict:
    """A family member's budget verdict (each member is scaled to a FLOPs target)."""
    if m.verdict is None:
        raise GridsearchError(f"phi={m.spec.phi:g}: no FLOPs target, no budget verdict")
    return m.verdict
