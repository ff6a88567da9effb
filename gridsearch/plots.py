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


def accuracy_vs_flops(df: pd.DataFrame, target: float, tolerance: float, path: str | Path) -> Path:
    """Validation accuracy against the measured FLOPs ratio; infeasible points as a rug below."""
    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    ax.axvspan(target * (1 - tolerance), target * (1 + tolerance), color="tab:green", alpha=0.12,
               label=f"budget {target:g} ± {tolerance:.0%}")
    ax.axvline(target, color="tab:green", lw=1)
    done = df[df["state"] == "COMPLETE"]
    if len(done):
        best = done.loc[done["accuracy"].idxmax()]
        ax.scatter(done["flops_ratio"], done["accuracy"], c="tab:blue", label="trained")
        ax.scatter([best["flops_ratio"]], [best["accuracy"]], s=160, facecolors="none",
                   edgecolors="tab:red", lw=2, label=f"best (trial {int(best['number'])})")
        for _, r in done.iterrows():
            ax.annotate(f"{r['alpha']:g},{r['beta']:g},{r['gamma']:g}", (r["flops_ratio"], r["accuracy"]),
                        fontsize=7, xytext=(3, 3), textcoords="offset points")
    bad = df[(df["state"] == "INFEASIBLE") & df["flops_ratio"].notna()]
    if len(bad):
        ax.plot(bad["flops_ratio"], np.zeros(len(bad)), "|", ms=14, color="tab:gray",
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
    ax.set_xlabel("α (depth)")
    ax.set_ylabel("β (width)")
    ax.set_title("accuracy over the (α, β) plane (best γ at each)")
    ax.grid(alpha=0.3)
    return _save(fig, path)


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
    ax.set_xlabel("epoch")
    ax.set_ylabel("validation accuracy")
    ax.set_title("learning curves")
    ax.grid(alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=7, ncol=2)
    return _save(fig, path)


def family(members: list[dict[str, Any]], path: str | Path, baseline: dict[str, Any] | None = None
           ) -> Path:
    """FLOPs, params and activations of the scaled family against φ (log scale)."""
    members = sorted(members, key=lambda m: m["phi"])
    phis = [m["phi"] for m in members]
    fig, axes = plt.subplots(1, 3, figsize=(11, 3.6))
    for ax, key in zip(axes, ("flops", "params", "activations")):
        ys = [m.get(key) for m in members]
        ax.plot(phis, ys, marker="o")
        ax.set_yscale("log")
        ax.set_xlabel("φ")
        ax.set_title(key)
        ax.grid(alpha=0.3, which="both")
        if baseline and baseline.get(key):
            ax.axhline(baseline[key], color="tab:gray", ls="--", lw=1, label="baseline")
            ax.legend(fontsize=7)
    fig.suptitle("the scaled family, measured")
    return _save(fig, path)


def compare(rows: list[dict[str, Any]], path: str | Path) -> Path:
    """Accuracy against measured FLOPs, one line (over φ) and marker per strategy."""
    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    markers = {"compound": "*", "depth": "s", "width": "^", "resolution": "o"}
    strategies = list(dict.fromkeys(r["strategy"] for r in rows))
    for s in strategies:
        pts = sorted((r["flops"], r["accuracy"]) for r in rows
                     if r["strategy"] == s and r.get("accuracy") is not None)
        if not pts:
            continue
        xs, ys = zip(*pts)
        ax.plot(xs, ys, marker=markers.get(s, "D"), ms=12 if s == "compound" else 8,
                lw=1.5, label=s)
    ax.set_xscale("log")
    ax.set_xlabel("measured FLOPs (fvcore, multiply-adds)")
    ax.set_ylabel("validation accuracy")
    ax.set_title("compound vs single-dimension scaling at equal FLOPs")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    return _save(fig, path)
