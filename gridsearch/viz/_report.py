"""A study report: the trials table (CSV), PNG plots, and a short text summary.

The summary answers: which point is best, how many trials were infeasible, pruned or failed, and
how well each complexity measure (FLOPs, params, activations) predicts measured training time
across trials: Pearson r, the question of Dollár et al., "Fast and Accurate Model Scaling" (2021).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import optuna
import pandas as pd
from optuna.trial import TrialState

from gridsearch.viz import _plots as plots
from gridsearch.errors import GridsearchError
from gridsearch.study._trials import best_trial, objective_names, state_of, trials_table

PREDICTORS = ("flops", "params", "activations")
STATES = ("COMPLETE", "INFEASIBLE", "PRUNED", "FAIL", "RUNNING", "WAITING")


@dataclass
class Report:
    summary: str
    facts: dict[str, Any]
    files: list[Path] = field(default_factory=list)


def pearson(x: list[float], y: list[float]) -> float | None:
    """Pearson's r, or None with fewer than 3 pairs or no spread."""
    if len(x) < 3:
        return None
    a, b = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if np.std(a) == 0 or np.std(b) == 0:
        return None
    return float(np.corrcoef(a, b)[0, 1])


def family_members(study: optuna.Study) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """The stored family (study user attr ``family``): its members with φ and counts, if any.

    Accepts a list of members or a dict with ``members`` (and optionally ``baseline``).
    """
    fam = study.user_attrs.get("family")
    baseline = None
    if isinstance(fam, dict):
        baseline = fam.get("baseline") if isinstance(fam.get("baseline"), dict) else None
        fam = fam.get("members")
    if not isinstance(fam, list):
        return [], None
    members = [m for m in fam if isinstance(m, dict) and "phi" in m
               and any(m.get(k) is not None for k in PREDICTORS)]
    return members, baseline


def facts(study: optuna.Study) -> dict[str, Any]:
    trials = study.get_trials(deepcopy=False)
    counts = {s: 0 for s in STATES}
    for t in trials:
        counts[state_of(t)] = counts.get(state_of(t), 0) + 1
    timed = [t for t in trials if t.state == TrialState.COMPLETE
             and t.user_attrs.get("train_seconds") is not None]
    secs = [float(t.user_attrs["train_seconds"]) for t in timed]
    corr = {k: pearson([float(t.user_attrs[k]) for t in timed], secs) for k in PREDICTORS}
    out: dict[str, Any] = {"study": study.study_name, "trials": len(trials), "counts": counts,
                           "timed_trials": len(timed), "pearson_r_vs_train_seconds": corr,
                           "best": None, "frozen": study.user_attrs.get("frozen")}
    try:
        b = best_trial(study)
    except GridsearchError:
        return out
    u = b.user_attrs
    out["best"] = {"trial": b.number, "accuracy": b.values[0],
                   **{k: b.params.get(k) for k in ("alpha", "beta", "gamma")},
                   **{k: u.get(k) for k in ("resolution", "effective_gamma", "flops_ratio", "flops",
                                            "params", "activations", "train_seconds", "layout")}}
    return out


def summary_text(f: dict[str, Any]) -> str:
    c = f["counts"]
    lines = [f"study {f['study']}: {f['trials']} trials: {c['COMPLETE']} complete, "
             f"{c['INFEASIBLE']} infeasible (budget), {c['PRUNED']} pruned, {c['FAIL']} failed"
             + (f", {c['RUNNING']} running" if c.get("RUNNING") else "")]
    b = f["best"]
    if b:
        lines.append(f"best: trial {b['trial']}  α={b['alpha']:g} β={b['beta']:g} γ={b['gamma']:g}"
                     f"  accuracy {b['accuracy']:.4f}  resolution {b['resolution']}"
                     f" (effective γ {b['effective_gamma']:g})  FLOPs ratio {b['flops_ratio']:.3f}"
                     f"  params {b['params']:,}  activations {b['activations']:,}")
    else:
        lines.append("best: no feasible finished trial yet")
    fr = frozen_of(f)
    if fr:
        lines.append(frozen_text(fr))
    lines.append(f"training time vs complexity over {f['timed_trials']} trained trials (Pearson r):")
    for k in PREDICTORS:
        r = f["pearson_r_vs_train_seconds"][k]
        lines.append(f"  {k:>11}: " + ("n/a (fewer than 3 trials or no spread)" if r is None
                                       else f"{r:+.3f}"))
    rs = {k: v for k, v in f["pearson_r_vs_train_seconds"].items() if v is not None}
    if rs:
        lines.append(f"  best predictor of training time here: {max(rs, key=rs.get)}")
    return "\n".join(lines)


def frozen_of(f: dict[str, Any]) -> dict[str, Any] | None:
    """The frozen coefficients (study user attr ``frozen``) when they are usable."""
    fr = f.get("frozen")
    return fr if isinstance(fr, dict) and {"alpha", "beta", "gamma"} <= set(fr) else None


def frozen_text(fr: dict[str, Any]) -> str:
    """One line: α, β, γ (effective γ), the trial and its accuracy."""
    text = f"frozen: α={fr['alpha']:g} β={fr['beta']:g} γ={fr['gamma']:g}"
    if fr.get("effective_gamma") is not None:
        text += f" (effective γ {fr['effective_gamma']:g})"
    text += f", trial {fr.get('trial', '?')}"
    if isinstance(fr.get("value"), (int, float)):
        text += f", accuracy {fr['value']:.4f}"
    return text


def family_text(members: list[dict[str, Any]]) -> str:
    """The family in a few lines: φ, resolution, measured FLOPs (and ratio), params, activations."""
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
        lines.append("  ".join(parts))
    return "\n".join(lines)


def build(study: optuna.Study, out_dir: str | Path, target: float, tolerance: float,
          per_phi: float | None = None) -> Report:
    """Write trials.csv, the PNG plots and summary.txt into ``out_dir``.

    ``target`` and ``tolerance`` are the study's FLOPs budget; ``per_phi`` the FLOPs multiplier per
    unit of φ (the config's ``search.target``, default ``target``) for the family's nominal line.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    df = trials_table(study)
    files = []
    df.to_csv(out / "trials.csv", index=False)
    files.append(out / "trials.csv")
    f = facts(study)
    for col in ("alpha", "beta", "gamma", "flops_ratio", "accuracy"):
        df[col] = pd.to_numeric(df[col], errors="coerce")
    files.append(plots.accuracy_vs_flops(df, target, tolerance, out / "accuracy_vs_flops.png"))
    files.append(plots.alpha_beta_plane(df, out / "alpha_beta.png"))
    curves = [(f"#{t.number} ({t.params.get('alpha', 0):g},{t.params.get('beta', 0):g},"
               f"{t.params.get('gamma', 0):g})",
               [t.intermediate_values[k] for k in sorted(t.intermediate_values)])
              for t in study.get_trials(deepcopy=False) if t.intermediate_values]
    best = f["best"]
    highlight = next((c[0] for c in curves if best and c[0].startswith(f"#{best['trial']} ")), None)
    files.append(plots.learning_curves(curves, out / "learning_curves.png", highlight))
    if len(study.directions) > 1 and study.best_trials:  # Optuna's own Pareto-front plot
        front = plots.pareto_front(study, objective_names(study), out / "pareto_front.png")
        files += [front] if front else []
    members, baseline = family_members(study)
    text = summary_text(f)
    if members:
        text += "\n" + family_text(members)
        files.append(plots.family(members, out / "family.png", baseline,
                                  per_phi or target))
    else:
        text += "\nfamily: none stored (freeze and scale the study to plot one)"
    (out / "summary.txt").write_text(text + "\n")
    files.append(out / "summary.txt")
    return Report(text, f, files)
