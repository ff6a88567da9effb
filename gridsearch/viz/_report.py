"""A study report: the trials table (CSV), PNG plots, and a short text summary.

The summary answers: which point is best, how many trials were infeasible, pruned or failed, and
how well each complexity measure (FLOPs, params, activations) predicts measured training time
across trials: Pearson r, the question of Dollár et al., "Fast and Accurate Model Scaling" (2021).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from gridsearch import stats
from gridsearch.errors import GridsearchError
from gridsearch.family import Frozen, stored_family, stored_frozen
from gridsearch.scaling import Point
from gridsearch.selection import rank
from gridsearch.study import (
    CHECK_ATTR,
    COLUMNS,
    STATES,
    objective_names,
    read,
    selected_export,
)

PREDICTORS = ("flops", "params", "activations")


@dataclass
class Report:
    summary: str
    facts: dict[str, Any]
    files: list[Path] = field(default_factory=list)


def pearson(x: list[float], y: list[float]) -> float | None:
    """Pearson's r, or None with fewer than 3 pairs or no spread."""
    return stats.pearson(x, y) if len(x) >= 3 else None


def pearson_p(r: float | None, n: int) -> float | None:
    """Two-sided p-value of Pearson's r over ``n`` pairs against no correlation
    (t = r·√((n−2)/(1−r²)), Student's t with n − 2 degrees of freedom); None when undefined."""
    if r is None or n < 3:
        return None
    if abs(r) >= 1:
        return 0.0
    t = abs(r) * ((n - 2) / (1 - r * r)) ** 0.5
    return min(1.0, 2 * stats.t_sf(t, n - 2))


def predictor_text(corr: dict[str, float | None], n: int, alpha: float = 0.05) -> str:
    """Which complexity measure predicts training time, claimed only when its correlation is
    distinguishable from noise (p < ``alpha``, two-sided, over ``n`` trials)."""
    ps = {k: pearson_p(r, n) for k, r in corr.items()}
    found: dict[str, float] = {}
    for k, r in corr.items():
        p = ps[k]
        if r is not None and r > 0 and p is not None and p < alpha:
            found[k] = r
    if found:
        k = max(found, key=lambda name: found[name])
        return (f"  best predictor of training time here: {k} (r = {found[k]:+.3f}, "
                f"p = {ps[k]:.2g}, n = {n})")
    if not any(r is not None for r in corr.values()):
        return "  no predictor: too few trained trials or no spread"
    return (f"  no predictor is distinguishable from noise here (every p ≥ {alpha:g} or r ≤ 0, "
            f"n = {n})")


def facts(search, records=None, confirmed=None) -> dict[str, Any]:
    """What the summary, the dashboard note and ``report --json`` say, for any kind of study.
    ``records`` / ``confirmed``: the search's and the confirmation's trials, if already read."""
    study = search.study(create=False)
    records = read(study) if records is None else records
    if confirmed is None:       # read once: the selection and the selected trial's figures
        confirm = search.confirmation()
        confirmed = read(confirm) if confirm is not None else []
    counts = {s: 0 for s in STATES}
    for r in records:
        counts[r.state] = counts.get(r.state, 0) + 1
    timed = [r for r in records if r.state == "COMPLETE" and r.train_seconds is not None
             and all(getattr(r, k) is not None for k in PREDICTORS)]
    secs = [float(r.train_seconds) for r in timed]
    corr = {k: pearson([float(getattr(r, k)) for r in timed], secs) for k in PREDICTORS}
    frozen = stored_frozen(study)
    out: dict[str, Any] = {"study": study.study_name, "metric": search.cfg.train.metric,
                           "direction": search.cfg.train.direction,
                           "trials": len(records), "counts": counts,
                           "timed_trials": len(timed), "pearson_r_vs_train_seconds": corr,
                           "best": None, "selection": None,
                           "frozen": frozen.as_dict() if frozen else None}
    try:
        sel = search.selection(records, confirmed)
    except GridsearchError:
        return out
    out["best"] = selected_export(search, sel, records, confirmed)
    out["selection"] = sel.as_dict()
    out["selection"]["ties_text"] = sel.ties_text()
    return out


def accuracy_text(best: dict[str, Any]) -> str:
    """The selected point's value over seeds in :func:`facts` as every screen prints it
    (``stats.Summary.text``: ``0.8672 ± 0.0123 (n=3)``, ``0.8672 (n=1)``)."""
    m = best["metric"]
    return stats.Summary(best[f"{m}_mean"], best[f"{m}_std"], best[f"{m}_n"],
                         *best[f"{m}_ci95"]).text()


def summary_text(f: dict[str, Any]) -> str:
    c = f["counts"]
    lines = [f"study {f['study']}: {f['trials']} trials: {c['COMPLETE']} complete, "
             f"{c['INFEASIBLE']} infeasible (budget), {c['PRUNED']} pruned, {c['FAIL']} failed"
             + (f", {c['RUNNING']} running" if c.get("RUNNING") else "")]
    b = f["best"]
    if b:
        acc = accuracy_text(b)
        line = (f"best ({b['source']}): trial {b['trial']}  {Point.from_dict(b).label()}  "
                f"accuracy {acc}")
        if b.get("resolution") is not None:
            line += (f"  resolution {b['resolution']} (effective γ {b['effective_gamma']:g})"
                     f"  FLOPs ratio {b['flops_ratio']:.3f}")
        lines.append(line)
        sel = f["selection"]
        if sel["margin"] is not None:
            p = "n/a" if sel["p_value"] is None else f"{sel['p_value']:.3g}"
            lines.append(f"  margin over the runner-up {sel['margin']:+.4f} (Welch p = {p}); "
                         f"ties: {len(sel['ties'])}; {sel['verdict']}")
        if b["ladder"]:
            lines.append(f"ladder: {b['ladder']}")
        lines.append(f"one φ up: {b['checked']}")
    else:
        lines.append("best: no feasible finished trial yet")
    if f.get("frozen"):
        lines.append(Frozen.from_dict(f["frozen"]).text())
    lines.append(f"training time vs complexity over {f['timed_trials']} trained trials (Pearson r):")
    for k in PREDICTORS:
        r = f["pearson_r_vs_train_seconds"][k]
        pv = pearson_p(r, f["timed_trials"])
        lines.append(f"  {k:>11}: " + ("n/a (fewer than 3 trials or no spread)" if r is None
                                       else f"{r:+.3f} (p = {pv:.2g})"))
    lines.append(predictor_text(f["pearson_r_vs_train_seconds"], f["timed_trials"]))
    return "\n".join(lines)


def family_text(members: list[dict[str, Any]], tolerance: float | None = None) -> str:
    """The family in a few lines: φ, resolution, measured FLOPs (and ratio), params, activations;
    a member outside the tolerance of its target is flagged, as ``scale`` flags it."""
    lines = ["family (measured):"]
    for m in sorted(members, key=lambda m: m["phi"]):
        parts = [f"  φ={m['phi']:g}"]
        if m.get("resolution") is not None:
            parts.append(f"{m['resolution']} px")
        if m.get("flops") is not None:
            parts.append(f"FLOPs {m['flops']:,}" + (f" ({m['flops_ratio']:.3g}×)"
                                                     if m.get("flops_ratio") is not None else ""))
        for k in ("params", "activations"):
            if m.get(k) is not None:
                parts.append(f"{k} {m[k]:,}")
        if m.get("within_tolerance") is False:
            dev = m.get("deviation")
            parts.append("OUTSIDE the tolerance" + (f" ({dev:+.1%} from target "
                                                     f"{m.get('target', 0):.3g})" if dev is not None
                                                     else ""))
        lines.append("  ".join(parts))
    return "\n".join(lines)


def fidelity(cfg, short: bool = False) -> str:
    """How a study's trials were trained, for titles: epochs, data sizes and seeds (a race's
    first stage and cap); ``short``: the epochs only (legends, axis labels)."""
    if cfg is None:
        return ""
    if short:
        return f"{cfg.train.epochs} epoch{'s' * (cfg.train.epochs != 1)}"
    seeds = (f"race of {cfg.select.n0}–{cfg.select.max_seeds} seeds" if cfg.select.mode == "race"
             else f"{cfg.train.seeds} seed{'s' * (cfg.train.seeds != 1)}")
    sizes = "/".join(str(v) if v else "all" for v in (cfg.data.train_size, cfg.data.val_size))
    return f"{cfg.train.epochs} epoch{'s' * (cfg.train.epochs != 1)}, {seeds}, train/val {sizes}"


def build(search, out_dir: str | Path) -> Report:
    """Write trials.csv, the PNG plots and summary.txt for ``search``'s study into ``out_dir``:
    the trained value named and ranked as the config's ``[train] metric`` / ``direction`` say."""
    from gridsearch.study import ranking, stored_config
    from gridsearch.viz import _plots as plots

    cfg = search.cfg
    how = ranking(cfg)
    metric, maximize = cfg.train.metric, cfg.train.maximize
    study = search.study(create=False)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    records = read(study)                      # every figure below from this one read
    confirm = search.confirmation()
    confirmed = read(confirm) if confirm is not None else []
    ccfg = stored_config(confirm) if confirm is not None else None
    fid, cfid = fidelity(cfg), fidelity(ccfg)
    short, cshort = fidelity(cfg, short=True), fidelity(ccfg, short=True)
    df = trials_table(records)
    files = []
    df.to_csv(out / "trials.csv", index=False)
    files.append(out / "trials.csv")
    f = facts(search, records, confirmed)
    for col in ("alpha", "beta", "gamma", "flops_ratio", "accuracy"):
        df[col] = pd.to_numeric(df[col], errors="coerce")
    per_point = _per_point(df, records, how)
    best = f["best"]
    chosen = None
    if best:
        by = f"the confirmation ({cshort})" if best["source"] == "confirmation" else "the search"
        chosen = {**{k: best[k] for k in ("alpha", "beta", "gamma")}, "value": best["value"],
                  "label": f"selected by {by}, mean {best['value']:.4f}\n({best['trial']})"}
    common = dict(metric=metric, study=cfg.name)
    files.append(plots.accuracy_vs_flops(per_point, cfg.target_multiplier, cfg.budget.tolerance,
                                         out / "accuracy_vs_flops.png", chosen,
                                         maximize=maximize, fidelity=fid, **common))
    files.append(plots.alpha_beta_plane(per_point, out / "alpha_beta.png", maximize=maximize,
                                        fidelity=fid, chosen=chosen, **common))
    files.append(plots.learning_curves(_curve_groups(records, confirmed, best, short, cshort),
                                       out / "learning_curves.png", **common))
    rows = confirmation_rows(records, confirmed, how)
    if rows:
        files.append(plots.confirmation_plot(rows, out / "confirmation.png", cshort,
                                             search_fidelity=short, **common))
    for name, race, study_name, trained in (
            ("race", search.race(records), cfg.name, fid),
            ("race_confirmation", _confirm_race(search), confirm.study_name if confirm else "",
             cfid)):
        if race is not None:
            d = race.decision
            standings = [{"name": f"{s.candidate.alpha:g},{s.candidate.beta:g},"
                                  f"{s.candidate.gamma:g}", "values": s.values,
                          "eliminated_after": s.eliminated_after} for s in d.standings]
            what = "the confirmation's race" if name == "race_confirmation" else "the search's race"
            files.append(plots.race_plot(standings, out / f"{name}.png", d.delta,
                                         title=f"{what} (KN, δ = {d.delta:g}); × = eliminated",
                                         metric=metric, study=study_name, fidelity=trained,
                                         bounds=how["bounds"]))
    ladder = _ladder_rows(search)
    if ladder is not None:
        rows_, verdict = ladder
        files.append(plots.ladder_plot(rows_, out / "ladder.png", metric=metric, study=cfg.name,
                                       verdict=verdict, bounds=how["bounds"]))
    check = study.user_attrs.get(CHECK_ATTR)
    if isinstance(check, dict) and check.get("rows"):
        files.append(plots.phi_up_plot(check["rows"], out / "phi_up.png", check["phi"],
                                       metric=metric, study=str(check.get("study", "")),
                                       fidelity=f"trained at the fidelity of "
                                                f"{check.get('rung', 'the search')}",
                                       verdict=(f"reversed by {check['by']}" if check.get("by")
                                                else str(check.get("verdict", ""))),
                                       bounds=how["bounds"]))
    if len(study.directions) > 1 and study.best_trials:  # Optuna's own Pareto-front plot
        front = plots.pareto_front(study, objective_names(study), out / "pareto_front.png", fid)
        files += [front] if front else []
    members, baseline = stored_family(study)
    text = summary_text(f)
    if members:
        text += "\n" + family_text(members, cfg.budget.tolerance)
        files.append(plots.family_plot(members, out / "family.png", baseline, cfg.search.target))
    else:
        text += "\nfamily: none stored (freeze and scale the study to plot one)"
    (out / "summary.txt").write_text(text + "\n")
    files.append(out / "summary.txt")
    return Report(text, f, files)


def _curve_groups(records, confirmed, best, fid: str, cfid: str):
    """The learning curves in groups, one legend entry each: the search's trials, the
    confirmation's, and the selected point's among each."""
    key = Point.from_dict(best).key() if best else None

    def selected(r) -> bool:
        return key is not None and r.point is not None and r.point.key() == key

    def curves(rs, pick):
        return [list(r.history) for r in rs if r.history and selected(r) == pick]

    where = f" {best['alpha']:g},{best['beta']:g},{best['gamma']:g}" if best else ""
    return [(f"search, other points ({fid})", curves(records, False)),
            (f"confirmation, other points ({cfid})", curves(confirmed, False)),
            (f"search, the selected point{where} ({fid})", curves(records, True)),
            (f"confirmation, the selected point ({cfid})", curves(confirmed, True))]


def _confirm_race(search):
    """The race of the study's confirmation, if it raced."""
    from gridsearch.study import decision_of, read

    confirm = search.confirmation()
    return decision_of(confirm, read(confirm)) if confirm is not None else None


def trials_table(records) -> pd.DataFrame:
    """Every trial as a row of the record's columns (the report's trials.csv)."""
    rows = [r.row() for r in records]
    extra = sorted({k for r in records for k in (r.metrics or {})})
    for row, r in zip(rows, records, strict=True):      # the training function's other numbers, one column each
        row.update({f"metrics.{k}": (r.metrics or {}).get(k) for k in extra})
    return pd.DataFrame(rows, columns=[*COLUMNS, *(f"metrics.{k}" for k in extra)])


def _ladder_rows(search) -> tuple[list[dict[str, Any]], str] | None:
    """The rungs climbed (rung 0 up), each point's values per rung, and the ladder's sentence;
    None when no rung above the search has finished."""
    from gridsearch.study import climbed, ladder_of, stored_rung

    above = climbed(search)
    if not above:
        return None
    rows = []
    for rung in [stored_rung(search, 0), *above]:
        got = rung.result()
        if got is None:
            return None
        rows.append({"label": rung.label, "values": {
            Point(*k).label(): list(v) for k, v in got.values.items()}})
    lad = ladder_of(search, above)
    return rows, lad.text() if lad is not None else ""


def _per_point(df: pd.DataFrame, records, how: dict[str, Any] | None = None) -> pd.DataFrame:
    """The trials table with one COMPLETE row per point: mean accuracy and its std over seeds
    (``how``: :func:`gridsearch.study.ranking` of the study)."""
    ranked = rank(records, **(how or {}))
    rest = df[df["state"] != "COMPLETE"]
    rows = []
    for c in ranked:
        trial_row = df[df["number"] == c.trials[0]].iloc[0].to_dict()
        rows.append({**trial_row, "accuracy": c.value, "accuracy_std": c.summary.std, "n": c.runs})
    return pd.concat([pd.DataFrame(rows, columns=[*df.columns, "accuracy_std", "n"]), rest],
                     ignore_index=True) if rows else df


def confirmation_rows(records, confirmed,
                      how: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """One row per confirmed point: its search and confirmed mean ± std (n), from the search's
    and the confirmation's trials (``how``: :func:`gridsearch.study.ranking` of the study)."""
    found = {(c.point.alpha, c.point.beta, c.point.gamma): c for c in rank(records, **(how or {}))}
    rows = []
    for c in rank(confirmed, **(how or {})):
        s = found.get((c.point.alpha, c.point.beta, c.point.gamma))
        if s is None:
            continue
        rows.append({**c.point.as_dict(), "search_mean": s.value, "search_std": s.summary.std,
                     "search_n": s.runs, "confirm_mean": c.value, "confirm_std": c.summary.std,
                     "confirm_n": c.runs})
    return rows
