"""PNG plots of a study with matplotlib's Agg backend (no display needed).

Every function takes plain data (a trials DataFrame, lists of dicts) and a path, writes one PNG
and returns its path.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

DPI = 110


def _save(fig, path: str | Path) -> Path:
    path = Path(path)
    fig.tight_layout()
    fig.savefig(path, dpi=DPI)
    plt.close(fig)
    return path


def accuracy_vs_flops(df: pd.DataFrame, target: float, tolerance: float, path: str | Path,
                      chosen: dict[str, Any] | None = None) -> Path:
    """Validation accuracy against the measured FLOPs ratio; infeasible points as a rug below.
    ``chosen`` (α, β, γ and a ``label``) is circled: the selection rule's point, never simply the
    highest single value."""
    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    ax.axvspan(target * (1 - tolerance), target * (1 + tolerance), color="tab:green", alpha=0.12,
               label=f"budget {target:g} ± {tolerance:.0%}")
    ax.axvline(target, color="tab:green", lw=1)
    done = df[df["state"] == "COMPLETE"]
    if len(done):
        yerr = done["accuracy_std"] if "accuracy_std" in done else None
        ax.errorbar(done["flops_ratio"], done["accuracy"], yerr=yerr, fmt="o", color="tab:blue",
                    capsize=3, label="trained (mean ± std over seeds)" if yerr is not None
                    else "trained")
        if chosen is not None:
            hit = done[(done["alpha"].round(6) == round(chosen["alpha"], 6))
                       & (done["beta"].round(6) == round(chosen["beta"], 6))
                       & (done["gamma"].round(6) == round(chosen["gamma"], 6))]
            if len(hit):
                best = hit.iloc[0]
                ax.scatter([best["flops_ratio"]], [best["accuracy"]], s=160, facecolors="none",
                           edgecolors="tab:red", lw=2, label=chosen.get("label", "selected"))
        for _, r in done.iterrows():
            ax.annotate(f"{r['alpha']:g},{r['beta']:g},{r['gamma']:g}", (r["flops_ratio"], r["accuracy"]),
                        fontsize=7, xytext=(3, 3), textcoords="offset points")
    bad = df[(df["state"] == "INFEASIBLE") & df["flops_ratio"].notna()]
    if len(bad):
        ax.plot(bad["flops_ratio"], np.full(len(bad), 0.03), "x", ms=8, color="tab:red",
                transform=ax.get_xaxis_transform(), label="infeasible (not trained)")
    ax.set_xlabel("measured FLOPs / baseline FLOPs (fvcore)")
    ax.set_ylabel("validation accuracy")
    ax.set_title("accuracy vs measured FLOPs")
    ax.legend(fontsize=8, loc="best")
    ax.grid(alpha=0.3)
    return _save(fig, path)


def alpha_beta_plane(df: pd.DataFrame, path: str | Path) -> Path:
    """Best accuracy at each (α, β), filled contours where the points span a plane."""
    fig, ax = plt.subplots(figsize=(6.0, 4.8))
    done = df[df["state"] == "COMPLETE"]
    grid = done.groupby(["alpha", "beta"], as_index=False)["accuracy"].max()
    if len(grid) >= 3 and grid["alpha"].nunique() > 1 and grid["beta"].nunique() > 1:
        try:
            cs = ax.tricontourf(grid["alpha"], grid["beta"], grid["accuracy"], levels=12,
                                cmap="viridis", alpha=0.55)
            fig.colorbar(cs, ax=ax, label="validation accuracy")
        except (ValueError, RuntimeError):  # collinear points: no triangulation
            pass
    if len(grid):
        sc = ax.scatter(grid["alpha"], grid["beta"], c=grid["accuracy"], cmap="viridis",
                        edgecolors="k", s=70, zorder=3)
        if not ax.collections[:-1]:
            fig.colorbar(sc, ax=ax, label="validation accuracy")
        for _, r in grid.iterrows():
            ax.annotate(f"{r['accuracy']:.3f}", (r["alpha"], r["beta"]), fontsize=7,
                        xytext=(4, 4), textcoords="offset points")
    bad = df[df["state"] == "INFEASIBLE"].drop_duplicates(["alpha", "beta"])
    if len(bad):
        ax.scatter(bad["alpha"], bad["beta"], marker="x", color="tab:red", label="infeasible",
                   zorder=4)
        ax.legend(fontsize=8)
    _pad(ax, df["alpha"], df["beta"])
    ax.set_xlabel("α (depth)")
    ax.set_ylabel("β (width)")
    ax.set_title("accuracy over the (α, β) plane (best γ at each)")
    ax.grid(alpha=0.3)
    return _save(fig, path)


def _pad(ax, xs: pd.Series, ys: pd.Series, frac: float = 0.08) -> None:
    """Limits with a margin, so points on the edge of the grid (and their labels) stay visible."""
    xs, ys = pd.to_numeric(xs, errors="coerce").dropna(), pd.to_numeric(ys, errors="coerce").dropna()
    for values, setter in ((xs, ax.set_xlim), (ys, ax.set_ylim)):
        if len(values):
            lo, hi = float(values.min()), float(values.max())
            pad = (hi - lo) * frac or 0.05
            setter(lo - pad, hi + pad)


def learning_curves(curves: list[tuple[str, list[float]]], path: str | Path,
                    highlight: str | None = None) -> Path:
    """Validation accuracy after every epoch, one line per trial."""
    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    for label, ys in curves:
        if not ys:
            continue
        strong = label == highlight
        ax.plot(range(1, len(ys) + 1), ys, marker="o", ms=3, lw=2.5 if strong else 1,
                alpha=1 if strong else 0.6, label=label if strong or len(curves) <= 12 else None)
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("epoch")
    ax.set_ylabel("validation accuracy")
    ax.set_title("learning curves")
    ax.grid(alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=7, ncol=2)
    return _save(fig, path)


def family_plot(members: list[dict[str, Any]], path: str | Path, baseline: dict[str, Any] | None = None,
           target: float | None = None) -> Path:
    """FLOPs, params and activations of the scaled family against φ (log scale).

    With the baseline's FLOPs and the ``target`` multiplier, the nominal FLOPs (target^φ ×
    baseline) are drawn beside the measured ones.
    """
    members = sorted(members, key=lambda m: m["phi"])
    phis = [m["phi"] for m in members]
    fig, axes = plt.subplots(1, 3, figsize=(11, 3.6))
    for ax, key in zip(axes, ("flops", "params", "activations")):
        pts = [(p, m[key]) for p, m in zip(phis, members) if m.get(key) is not None]
        if pts:
            ax.plot(*zip(*pts), marker="o", label="measured")
        base = baseline.get(key) if baseline else None
        if base:
            ax.axhline(base, color="tab:gray", ls="--", lw=1, label="baseline")
            if key == "flops" and target:
                xs = np.linspace(min(phis), max(phis), 50)
                ax.plot(xs, base * target ** xs, color="tab:green", lw=1, ls=":",
                        label=f"nominal {target:g}^φ")
        ax.set_yscale("log")
        ax.set_xlabel("φ")
        ax.set_title(key)
        ax.grid(alpha=0.3, which="both")
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=7)
    fig.suptitle("the scaled family, measured")
    return _save(fig, path)


def _si(x: float, _pos=None) -> str:
    for scale, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(x) >= scale:
            return f"{x / scale:.3g}{suffix}"
    return f"{x:.3g}"


def compare_plot(rows: list[dict[str, Any]], path: str | Path, tolerance: float | None = None) -> Path:
    """Accuracy against measured FLOPs, one line (over φ) and marker per strategy.

    With ``tolerance``, the band of FLOPs that counts as "the same" around each compound point.
    """
    from matplotlib.ticker import FuncFormatter

    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    markers = {"compound": "*", "depth": "s", "width": "^", "resolution": "o"}
    strategies = list(dict.fromkeys(r["strategy"] for r in rows))
    flops = [r["flops"] for r in rows if r.get("flops")]
    if tolerance:
        for r in rows:
            if r["strategy"] == "compound" and r.get("flops"):
                ax.axvspan(r["flops"] * (1 - tolerance), r["flops"] * (1 + tolerance),
                           color="tab:blue", alpha=0.08, lw=0)
    for s in strategies:
        pts = sorted((r["flops"], r["accuracy"], r.get("accuracy_std") or 0.0) for r in rows
                     if r["strategy"] == s and r.get("accuracy") is not None)
        if not pts:
            continue
        xs, ys, es = zip(*pts)
        ax.errorbar(xs, ys, yerr=es if any(es) else None, marker=markers.get(s, "D"),
                    ms=14 if s == "compound" else 8, lw=1.5, capsize=4, label=s)
    if flops and max(flops) / min(flops) > 4:
        ax.set_xscale("log")
    ax.xaxis.set_major_formatter(FuncFormatter(_si))
    ax.xaxis.set_minor_formatter(FuncFormatter(lambda *_: ""))
    ax.set_xlabel("measured FLOPs (fvcore, multiply-adds)"
                  + (f"; band: compound ± {tolerance:.0%}" if tolerance else ""))
    ax.set_ylabel("validation accuracy")
    ax.set_title("compound vs single-dimension scaling at equal FLOPs")
    ax.grid(alpha=0.3, which="both")
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=8)
    return _save(fig, path)


def confirmation_plot(rows: list[dict[str, Any]], path: str | Path, fidelity: str = "") -> Path:
    """Search accuracy against confirmed accuracy, one point per confirmed candidate, error bars
    of one standard deviation on both axes; the diagonal is perfect agreement."""
    fig, ax = plt.subplots(figsize=(5.2, 5.0))
    xs = [r["search_mean"] for r in rows]
    ys = [r["confirm_mean"] for r in rows]
    ax.errorbar(xs, ys, xerr=[r["search_std"] for r in rows], yerr=[r["confirm_std"] for r in rows],
                fmt="o", capsize=4, color="tab:blue")
    for r in rows:
        ax.annotate(f"{r['alpha']:g},{r['beta']:g},{r['gamma']:g}", (r["search_mean"],
                    r["confirm_mean"]), fontsize=7, xytext=(4, 4), textcoords="offset points")
    if xs:
        lo, hi = min(xs + ys), max(xs + ys)
        pad = (hi - lo) * 0.1 or 0.01
        ax.plot([lo - pad, hi + pad], [lo - pad, hi + pad], color="grey", lw=1, ls="--")
    ax.set_xlabel("search accuracy (proxy, mean ± std)")
    ax.set_ylabel("confirmed accuracy (mean ± std)" + (f", {fidelity}" if fidelity else ""))
    ax.set_title("does the proxy rank like the confirmation?")
    ax.grid(alpha=0.3)
    return _save(fig, path)


def pareto_front(study, names: list[str], path: str | Path) -> Path | None:
    """A multi-objective study's trials with Optuna's Pareto front highlighted: Optuna's own
    ``optuna.visualization.matplotlib.plot_pareto_front`` (2 or 3 objectives; None otherwise).

    Infeasible candidates are *Pruned* here, so the front is over feasible, complete trials only:
    the same front as ``gridsearch best``.
    """
    import warnings

    import optuna
    from optuna.visualization.matplotlib import plot_pareto_front

    if len(study.directions) not in (2, 3):
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        ax = plot_pareto_front(study, target_names=list(names))
    ax.set_title("Pareto front (feasible, complete trials)")
    return _save(ax.figure, path)
