"""PNG plots of a study with matplotlib's Agg backend (no display needed).

Every function takes plain data (a trials DataFrame, lists of dicts) and a path, writes one PNG
and returns its path.  What they share: the trained value is named by one ``metric`` (the axis
label :func:`axis_label`), a title says which study and at what fidelity, values closer than
:data:`RESOLUTION` are equal (no colour scale over noise, overlapping points said), and point
labels are placed where they collide with no other (:func:`label_points`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.colors
import matplotlib.pyplot as plt
import matplotlib.ticker
import matplotlib.transforms
import numpy as np
import pandas as pd

from gridsearch.scaling import Point

DPI = 110
# The smallest difference the figures show (labels print 4 decimals): values closer than this are
# "equal" here, and a colour scale over a smaller range would only colour noise.
RESOLUTION = 1e-4


def axis_label(metric: str = "accuracy") -> str:
    """The one axis label of the trained value (``[train] metric``), on every plot that shows it."""
    return f"validation {metric}"


def fidelity_text(epochs: int | None = None, seeds: int | None = None) -> str:
    """``2 epochs, 3 seeds``: how the values on a plot were trained (titles say it)."""
    parts = [f"{epochs} epoch{'s' * (epochs != 1)}" if epochs else "",
             f"{seeds} seed{'s' * (seeds != 1)}" if seeds else ""]
    return ", ".join(p for p in parts if p)


def _title(ax, what: str, study: str = "", fidelity: str = "") -> None:
    where = "; ".join(p for p in (f"study {study}" if study else "", fidelity) if p)
    ax.set_title(what + (f"\n{where}" if where else ""), fontsize=10)


def _save(fig, path: str | Path) -> Path:
    """Lay the figure out, then place the point labels (in pixels: after the layout, so no later
    change of scale moves them onto each other), and write it."""
    path = Path(path)
    fig.set_label(path.stem)
    fig.tight_layout()
    for place in getattr(fig, "_gridsearch_labels", []):
        place()
    fig.savefig(path, dpi=DPI)
    plt.close(fig)
    return path


# Offsets (points) tried in turn for a label: beside the point first, then further out.
_OFFSETS = [(5, 4), (5, -12), (-5, 4), (-5, -12), (5, 14), (5, -22), (-5, 14), (-5, -22),
            (12, 26), (12, -34), (-12, 26), (-12, -34)]


def label_points(ax, labels: list[tuple[str, float, float]], fontsize: float = 7) -> None:
    """Annotate ``(text, x, y)`` points so that no two label boxes overlap: each label takes the
    first offset whose box is clear of the labels already placed, of the points' markers and of
    the legend, and inside the axes; a label that fits nowhere is left out and counted in a note
    (the full table is trials.csv)."""
    fig = ax.figure

    def place() -> None:
        renderer = fig.canvas.get_renderer()
        frame = ax.get_window_extent(renderer)
        legend = ax.get_legend()
        boxes = [legend.get_window_extent(renderer)] if legend is not None else []
        r = 4.0 * fig.dpi / 72                      # a marker's half width, in pixels
        markers = []                                # no label over another point's marker
        for _, x, y in labels:
            px, py = ax.transData.transform((x, y))
            markers.append(matplotlib.transforms.Bbox.from_extents(px - r, py - r, px + r, py + r))
        left = 0
        for i, (text, x, y) in enumerate(labels):
            others = boxes + markers[:i] + markers[i + 1:]
            for dx, dy in _OFFSETS:
                ann = ax.annotate(text, (x, y), xytext=(dx, dy), textcoords="offset points",
                                  fontsize=fontsize, ha="left" if dx >= 0 else "right",
                                  va="bottom" if dy >= 0 else "top", gid="label",
                                  arrowprops=None if (dx, dy) == _OFFSETS[0] else
                                  dict(arrowstyle="-", lw=0.5, color="0.5", shrinkA=0,
                                       shrinkB=3))
                ann.set_in_layout(False)
                box = ann.get_window_extent(renderer)
                if frame.contains(box.x0, box.y0) and frame.contains(box.x1, box.y1) \
                        and not any(box.overlaps(b) for b in others):
                    boxes.append(box)
                    break
                ann.remove()
            else:
                left += 1
        if left:
            ax.text(0.99, 0.01, f"{left} label(s) left out (no room): see trials.csv",
                    transform=ax.transAxes, ha="right", va="bottom", fontsize=6, color="0.4")

    fig._gridsearch_labels = [*getattr(fig, "_gridsearch_labels", []), place]


def _coords(p: dict[str, Any]) -> str:
    return f"{p['alpha']:.4g},{p['beta']:.4g},{p['gamma']:.4g}"


def _same(df: pd.DataFrame, p: dict[str, Any]) -> pd.Series:
    """Which rows of ``df`` are the point ``p`` (matched by :meth:`Point.key`)."""
    k = Point.from_dict(p).key()
    rows = zip(df["alpha"], df["beta"], df["gamma"], strict=True)
    return pd.Series([Point(a, b, g).key() == k for a, b, g in rows], index=df.index, dtype=bool)


def _frontier(xs: np.ndarray, ys: np.ndarray, maximize: bool) -> list[int]:
    """Indices of the points no other point beats: fewer FLOPs and a better value."""
    xs = np.round(xs, 6)                 # one FLOPs ratio, however it was computed
    order = np.lexsort((-ys if maximize else ys, xs))
    out, best = [], None
    for i in order:
        if best is None or (ys[i] > best if maximize else ys[i] < best):
            out.append(int(i))
            best = ys[i]
    return out


def _spot(x: float, y: float) -> tuple[float, float]:
    """Where a point is drawn, to the figures' resolution: points at one spot cover each other."""
    return round(float(x), 4), round(float(y) / RESOLUTION) * RESOLUTION


def _identical(xs, ys) -> list[tuple[float, float, int]]:
    """Points drawn on top of each other (same x and y to the figures' resolution): (x, y, count)."""
    seen: dict[tuple[float, float], int] = {}
    for x, y in zip(xs, ys, strict=True):
        k = _spot(x, y)
        seen[k] = seen.get(k, 0) + 1
    return [(x, y, n) for (x, y), n in seen.items() if n > 1]


def accuracy_vs_flops(df: pd.DataFrame, target: float, tolerance: float, path: str | Path,
                      chosen: dict[str, Any] | None = None, metric: str = "accuracy",
                      maximize: bool = True, study: str = "", fidelity: str = "") -> Path:
    """The trained value (mean ± std over seeds, one point per point) against the measured FLOPs
    ratio; infeasible points in a strip of their own below (they were not trained: no value).

    ``chosen`` (α, β, γ, ``value`` and a ``label``) is circled at ``value``: the selected mean,
    which is a confirmation's mean when a confirmation chose it.  Only the selection, the
    runner-up and the frontier (no point has fewer FLOPs and a better value) are labelled."""
    bad = df[(df["state"] == "INFEASIBLE") & df["flops_ratio"].notna()]
    if len(bad):
        fig, (ax, strip) = plt.subplots(2, 1, figsize=(6.8, 5.0), sharex=True,
                                        gridspec_kw={"height_ratios": [6, 1]})
    else:
        fig, ax = plt.subplots(figsize=(6.8, 4.6))
        strip = None
    for a in (ax, strip) if strip is not None else (ax,):
        a.axvspan(target * (1 - tolerance), target * (1 + tolerance), color="tab:green",
                  alpha=0.12, label=f"budget {target:g} ± {tolerance:.0%}" if a is ax else None)
        a.axvline(target, color="tab:green", lw=1)
    done = df[df["state"] == "COMPLETE"].reset_index(drop=True)
    if len(done):
        yerr = done["accuracy_std"].fillna(0) if "accuracy_std" in done else None
        n = int(done["n"].max()) if "n" in done else None
        ax.errorbar(done["flops_ratio"], done["accuracy"], yerr=yerr, fmt="o", color="tab:blue",
                    ms=5, capsize=3, label=f"trained: mean ± std over seeds (up to {n})"
                    if n and n > 1 else "trained (one seed each)")
        spread = yerr if yerr is not None else 0
        shown = [*(done["accuracy"] - spread), *(done["accuracy"] + spread)]
        labels: list[tuple[str, float, float]] = []
        xs, ys = done["flops_ratio"].to_numpy(float), done["accuracy"].to_numpy(float)
        mine = (_same(done, chosen).to_numpy() if chosen is not None
                else np.zeros(len(done), dtype=bool))
        others = [int(i) for i in np.argsort(-ys if maximize else ys, kind="stable")
                  if not mine[int(i)]]
        runner = others[:1] if chosen is not None else others[1:2]
        if chosen is not None and mine.any():
            x = float(xs[mine][0])
            y = float(chosen.get("value", ys[mine][0]))
            ax.scatter([x], [y], s=170, facecolors="none", edgecolors="tab:red", lw=2,
                       zorder=5, gid="selected", label=chosen.get("label", "selected"))
            labels.append((f"selected {_coords(chosen)}: {y:.4f}", x, y))
            shown.append(y)
            if abs(y - float(ys[mine][0])) >= RESOLUTION:   # chosen at another fidelity
                ax.plot([x, x], [float(ys[mine][0]), y], ls=":", color="tab:red", lw=1)
        for i in dict.fromkeys([*runner, *_frontier(xs, ys, maximize)]):
            if mine[i]:
                continue
            r = done.iloc[i]
            tag = "runner-up " if i in runner else ""
            labels.append((f"{tag}{_coords(r)}: {ys[i]:.4f}", float(xs[i]), float(ys[i])))
        for x, y, k in _identical(xs, ys):     # points drawn on top of each other: said
            at = [i for i, (_, lx, ly) in enumerate(labels)
                  if round(lx, 4) == x and abs(ly - y) < RESOLUTION]
            if at:
                text, lx, ly = labels[at[0]]
                labels[at[0]] = (f"{text} (×{k} identical points)", lx, ly)
            else:
                labels.append((f"×{k} identical points", x, y))
        label_points(ax, labels)
        _value_limits(ax, shown, headroom=0.3)
    if strip is not None:
        strip.plot(bad["flops_ratio"], np.zeros(len(bad)), "x", ms=8, color="tab:red",
                   label=f"infeasible ({len(bad)}): not trained, no {metric}")
        strip.legend(fontsize=7, loc="upper left")
        strip.set_yticks([])
        strip.set_ylim(-1, 1.6)
        strip.set_ylabel("infeasible", fontsize=7)
    (strip if strip is not None else ax).set_xlabel("measured FLOPs / baseline FLOPs (fvcore)")
    ax.set_ylabel(axis_label(metric))
    _title(ax, f"{metric} vs measured FLOPs", study, fidelity)
    ax.legend(fontsize=7, loc="upper left")     # in the room left above the values
    ax.grid(alpha=0.3)
    return _save(fig, path)


def _value_limits(ax, values, least: float = 0.01, headroom: float = 0.0) -> None:
    """A value axis over ``values`` with a margin, at least ``least`` tall (values equal to the
    last digit would otherwise get an axis of 1e-12 with an offset), and no offset notation;
    ``headroom``: room above the values for the legend, as a fraction of the axis."""
    values = [float(v) for v in values if v is not None and np.isfinite(v)]
    if values:
        lo, hi = min(values), max(values)
        pad = max((hi - lo) * 0.12, (least - (hi - lo)) / 2, 0)
        lo, hi = lo - pad, hi + pad
        ax.set_ylim(lo, hi + (hi - lo) * headroom / (1 - headroom))
    ax.ticklabel_format(axis="y", useOffset=False, style="plain")


def alpha_beta_plane(df: pd.DataFrame, path: str | Path, metric: str = "accuracy",
                     maximize: bool = True, study: str = "", fidelity: str = "",
                     chosen: dict[str, Any] | None = None) -> Path:
    """Each (α, β) coloured and labelled by its mean over seeds (the value the tool ranks by), at
    the best γ there; filled contours where the points span a plane.  Values that differ by less
    than :data:`RESOLUTION` get no colour scale (it would only colour noise): they are said equal."""
    fig, ax = plt.subplots(figsize=(6.0, 4.8))
    done = df[df["state"] == "COMPLETE"]
    if "accuracy_std" not in done:      # a trials table: the mean over each point's trials
        done = done.groupby(["alpha", "beta", "gamma"], as_index=False)["accuracy"].mean()
    pick = done.sort_values("accuracy", ascending=not maximize)
    grid = pick.drop_duplicates(["alpha", "beta"]).reset_index(drop=True)
    equal = False
    if len(grid):
        lo, hi = float(grid["accuracy"].min()), float(grid["accuracy"].max())
        equal = hi - lo < RESOLUTION
        if equal:
            ax.scatter(grid["alpha"], grid["beta"], color="tab:blue", edgecolors="k", s=70,
                       zorder=3, label=f"all {len(grid)} equal: {metric} {lo:.4f}")
        else:
            norm = matplotlib.colors.Normalize(lo, hi)
            spans = len(grid) >= 3 and grid["alpha"].nunique() > 1 and grid["beta"].nunique() > 1
            if spans:
                try:
                    ax.tricontourf(grid["alpha"], grid["beta"], grid["accuracy"], levels=12,
                                   cmap="viridis", norm=norm, alpha=0.55)
                except (ValueError, RuntimeError):  # collinear points: no triangulation
                    pass
            sc = ax.scatter(grid["alpha"], grid["beta"], c=grid["accuracy"], cmap="viridis",
                            norm=norm, edgecolors="k", s=70, zorder=3)
            bar = fig.colorbar(sc, ax=ax, label=f"{axis_label(metric)} (mean over seeds)")
            bar.formatter = matplotlib.ticker.FormatStrFormatter("%.4f")
            bar.update_ticks()
            label_points(ax, [(f"{r['accuracy']:.4f}", r["alpha"], r["beta"])
                              for _, r in grid.iterrows()])
    if chosen is not None:
        ax.scatter([chosen["alpha"]], [chosen["beta"]], s=190, facecolors="none", zorder=5,
                   edgecolors="tab:red", lw=2, label=f"selected (γ = {chosen['gamma']:g})")
    bad = df[df["state"] == "INFEASIBLE"].drop_duplicates(["alpha", "beta"])
    if len(bad):
        ax.scatter(bad["alpha"], bad["beta"], marker="x", color="tab:red",
                   label="infeasible (not trained)", zorder=4)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=8)
    _pad(ax, df["alpha"], df["beta"])
    ax.set_xlabel("α (depth)")
    ax.set_ylabel("β (width)")
    _title(ax, f"mean {metric} over the (α, β) plane ({'best' if maximize else 'lowest'} γ at "
               "each)" + (": every point equal" if equal else ""), study, fidelity)
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


def learning_curves(groups: list[tuple[str, list[list[float]]]], path: str | Path,
                    metric: str = "accuracy", study: str = "") -> Path:
    """The value after every epoch, one line per trial, one colour and one legend entry per group
    (``(label, curves)``: e.g. the search's trials, the selected point's, the confirmation's)."""
    from matplotlib.ticker import MaxNLocator

    fig, ax = plt.subplots(figsize=(6.6, 4.4))
    styles: list[dict[str, Any]] = [dict(color="0.6", lw=0.8, alpha=0.6),
                                    dict(color="tab:blue", lw=1.0, alpha=0.7),
                                    dict(color="tab:red", lw=2.2), dict(color="tab:orange", lw=2.2)]
    for i, (label, curves) in enumerate(groups):
        curves = [c for c in curves if c]
        for j, ys in enumerate(curves):
            ax.plot(range(1, len(ys) + 1), ys, marker="o", ms=2.5, **styles[i % len(styles)],
                    label=f"{label} ({len(curves)} trial{'s' * (len(curves) != 1)})"
                    if j == 0 else None)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("epoch")
    ax.set_ylabel(axis_label(metric))
    _title(ax, "learning curves (the first seed of each trial)", study)
    ax.grid(alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=7)
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
    for ax, key in zip(axes, ("flops", "params", "activations"), strict=True):
        pts = [(p, m[key]) for p, m in zip(phis, members, strict=True) if m.get(key) is not None]
        if pts:
            ax.plot(*zip(*pts, strict=True), marker="o", label="measured")
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


def compare_plot(rows: list[dict[str, Any]], path: str | Path, tolerance: float | None = None,
                 metric: str = "accuracy", study: str = "", fidelity: str = "") -> Path:
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
        xs, ys, es = zip(*pts, strict=True)
        ax.errorbar(xs, ys, yerr=es if any(es) else None, marker=markers.get(s, "D"),
                    ms=14 if s == "compound" else 8, lw=1.5, capsize=4, label=s)
    if flops and max(flops) / min(flops) > 4:
        ax.set_xscale("log")
    ax.xaxis.set_major_formatter(FuncFormatter(_si))
    ax.xaxis.set_minor_formatter(FuncFormatter(lambda *_: ""))
    ax.set_xlabel("measured FLOPs (fvcore, multiply-adds)"
                  + (f"; band: compound ± {tolerance:.0%}" if tolerance else ""))
    ax.set_ylabel(axis_label(metric) + " (mean ± std over seeds)")
    _title(ax, "compound vs single-dimension scaling at equal FLOPs", study, fidelity)
    ax.grid(alpha=0.3, which="both")
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=8)
    return _save(fig, path)


def confirmation_plot(rows: list[dict[str, Any]], path: str | Path, fidelity: str = "",
                      metric: str = "accuracy", study: str = "",
                      search_fidelity: str = "") -> Path:
    """Search value against confirmed value, one point per confirmed candidate, error bars of one
    standard deviation on both axes; the diagonal is perfect agreement.  Square limits with a
    margin of at least 0.02, so that one point (or a few close ones) still reads."""
    from matplotlib.ticker import MaxNLocator

    fig, ax = plt.subplots(figsize=(5.6, 5.4))
    xs = [r["search_mean"] for r in rows]
    ys = [r["confirm_mean"] for r in rows]
    ax.errorbar(xs, ys, xerr=[r["search_std"] for r in rows], yerr=[r["confirm_std"] for r in rows],
                fmt="o", capsize=4, color="tab:blue")
    if xs:
        ends = [m + k * (sd or 0) for r in rows for m, sd in ((r["search_mean"], r["search_std"]),
                                                              (r["confirm_mean"], r["confirm_std"]))
                for k in (-1, 1)]
        lo, hi = min(ends), max(ends)       # the error bars inside the frame too
        pad = max((hi - lo) * 0.08, 0.02)
        ax.plot([lo - pad, hi + pad], [lo - pad, hi + pad], color="grey", lw=1, ls="--",
                label="confirmed = search")
        ax.set_xlim(lo - pad, hi + pad)
        ax.set_ylim(lo - pad, hi + pad)
        ax.set_aspect("equal")
        ax.legend(fontsize=7, loc="upper left")
    for a in (ax.xaxis, ax.yaxis):
        a.set_major_locator(MaxNLocator(5))
    label_points(ax, [(_coords(r), r["search_mean"], r["confirm_mean"]) for r in rows])
    ax.set_xlabel(f"search {metric}, mean ± std" + (f" ({search_fidelity})"
                                                   if search_fidelity else ""))
    ax.set_ylabel(f"confirmed {metric}, mean ± std" + (f" ({fidelity})" if fidelity else ""))
    _title(ax, "does the search rank like the confirmation?", study,
           " vs ".join(f for f in (search_fidelity, fidelity) if f))
    ax.grid(alpha=0.3)
    return _save(fig, path)


def race_plot(standings: list[dict[str, Any]], path: str | Path, delta: float,
              title: str = "", metric: str = "accuracy", study: str = "",
              fidelity: str = "", bounds: tuple[float, float] | None = (0.0, 1.0)) -> Path:
    """A race: each point's running mean ± its 95% interval (error bars) against the seeds it was
    trained with; an eliminated point's line ends with a cross at the seeds it had then.  Points
    with the same values seed for seed are one line, named together.  The y range is the values'
    own (a 2-seed interval can run far past them; its bar is cut at the frame).
    ``standings``: ``{"name", "values" (in seed order), "eliminated_after"}`` per point."""
    from matplotlib.ticker import MaxNLocator

    from gridsearch import stats

    fig, ax = plt.subplots(figsize=(7.0, 4.8))
    lines: dict[tuple, list[dict[str, Any]]] = {}
    for st in standings:
        k = (tuple(round(float(v), 12) for v in st["values"]), st.get("eliminated_after"))
        lines.setdefault(k, []).append(st)
    seen: list[float] = []
    for i, same in enumerate(lines.values()):
        st = same[0]
        vals = [float(v) for v in st["values"]]
        ns = list(range(2, len(vals) + 1))
        if not ns:
            continue
        seen += vals
        sums = [stats.summarise(vals[:n], bounds=bounds) for n in ns]
        color = plt.cm.tab10(i % 10)
        means = np.array([s.mean for s in sums])
        err = [means - [s.ci_low for s in sums], [s.ci_high for s in sums] - means]
        names = ", ".join(s["name"] for s in same[:3]) + (f" and {len(same) - 3} more"
                                                          if len(same) > 3 else "")
        label = names if len(same) == 1 else f"{names} (×{len(same)}, identical values)"
        if st.get("eliminated_after"):
            label += f"; out after {st['eliminated_after']} seeds"
        off = (i - (len(lines) - 1) / 2) * 0.06        # side by side, not on top of each other
        ax.errorbar(np.array(ns) + off, means, yerr=err, fmt="-o", color=color, ms=3, lw=1.5,
                    capsize=2, elinewidth=0.8, label=label)
        out = st.get("eliminated_after")
        if out:
            ax.plot([out + off], [stats.summarise(vals[:out]).mean], "x", color=color, ms=10,
                    mew=2)
    _value_limits(ax, seen)
    most = max((len(st["values"]) for st in standings), default=2)
    ax.set_xlim(1.5, max(most, 2) + 0.5)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("seeds per point (runs)")
    ax.set_ylabel(f"{axis_label(metric)}: running mean, 95% CI")
    _title(ax, title or f"the race (KN, δ = {delta:g}); × = eliminated", study, fidelity)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="best")
    return _save(fig, path)


def ladder_plot(rungs: list[dict[str, Any]], path: str | Path, metric: str = "accuracy",
                study: str = "", verdict: str = "",
                bounds: tuple[float, float] | None = (0.0, 1.0)) -> Path:
    """The fidelity ladder: each point's mean ± 95% CI (over its seeds) at every rung it was
    trained at, one line joining the same point across rungs; the points carried to the top rung
    are drawn in colour, the others (left behind lower down) in grey.  ``rungs``: ``{"label",
    "values": {name: [values]}}`` from rung 0 up; ``verdict``: the ladder's sentence (shortened
    into the title)."""
    from gridsearch import stats

    fig, ax = plt.subplots(figsize=(7.0, 4.8))
    top = set(rungs[-1]["values"]) if rungs else set()
    names = list(dict.fromkeys(n for r in rungs for n in r["values"]))
    seen: list[float] = []
    for i, name in enumerate(sorted(names, key=lambda n: (n not in top, n))):
        xs, means, lo, hi = [], [], [], []
        for x, r in enumerate(rungs):
            vals = [float(v) for v in r["values"].get(name, [])]
            if not vals:
                continue
            s = stats.summarise(vals, bounds=bounds)
            xs.append(x + (i - len(names) / 2) * 0.03)   # side by side, not on top of each other
            means.append(s.mean)
            lo.append(s.mean - s.ci_low)        # 0 with one seed: its interval is its mean
            hi.append(s.ci_high - s.mean)
            seen += vals
        carried = name in top
        ax.errorbar(xs, means, yerr=[lo, hi], fmt="-o", ms=3.5 if carried else 2.5,
                    lw=1.6 if carried else 0.8, capsize=2, elinewidth=0.8,
                    color=plt.cm.tab10(i % 10) if carried else "0.7",
                    label=name if carried else None)
    _value_limits(ax, seen)
    ax.set_xticks(range(len(rungs)))
    ax.set_xticklabels([f"rung {x}\n{r['label']}" for x, r in enumerate(rungs)], fontsize=8)
    ax.set_xlim(-0.4, len(rungs) - 0.6)
    ax.set_ylabel(f"{axis_label(metric)}: mean, 95% CI over seeds")
    short = verdict.split(":")[0] if verdict else ""
    _title(ax, "the fidelity ladder" + (f": {short}" if short else ""), study)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="best", title="carried to the top rung", title_fontsize=7)
    return _save(fig, path)


def phi_up_plot(rows: list[dict[str, Any]], path: str | Path, phi: float, metric: str = "accuracy",
                study: str = "", fidelity: str = "", verdict: str = "",
                bounds: tuple[float, float] | None = (0.0, 1.0)) -> Path:
    """The check one φ up: each network's mean ± 95% CI (over the seeds it trained) against its
    *measured* FLOPs (× the baseline's); the chosen coefficients first, in colour; a network the
    race eliminated is drawn hollow, with the seeds it had. ``rows``: ``{"name", "values",
    "flops_ratio", "eliminated_after"}``, the chosen network first."""
    from gridsearch import stats

    fig, ax = plt.subplots(figsize=(7.0, 6.0))
    seen: list[float] = []
    spots: dict[tuple[float, float], list[str]] = {}     # networks drawn on one spot: one label
    for i, r in enumerate(rows):
        vals = [float(v) for v in r.get("values") or []]
        x = r.get("flops_ratio")
        if not vals or x is None:
            continue
        s = stats.summarise(vals, bounds=bounds)
        lo, hi = s.mean - s.ci_low, s.ci_high - s.mean     # 0 with one seed
        out = r.get("eliminated_after")
        color = "black" if i == 0 else plt.cm.tab10((i - 1) % 10)
        ax.errorbar([x], [s.mean], yerr=[[lo], [hi]], fmt="o", ms=7 if i == 0 else 5,
                    capsize=3, color=color, mfc="white" if out else color,
                    zorder=3 if i == 0 else 2,         # the chosen network on top
                    label=f"{r['name']}: {s.mean:.4f} (n={s.n})"
                          + (f", out after {out} seeds" if out else ""))
        short = r["name"].removesuffix(" (chosen)").split(" α=")[0] or r["name"]
        spots.setdefault(_spot(x, s.mean), []).append(short)   # "EfficientNet": α β γ in the legend
        seen += vals
    labels = [(" = ".join(names), x, y) for (x, y), names in spots.items()]
    _value_limits(ax, seen)
    ax.margins(x=0.15)                   # room beside the outermost points for their labels
    label_points(ax, labels)
    ax.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _p: f"{v:g}×"))
    ax.set_xlabel(f"measured FLOPs at φ = {phi:g} (× the baseline's)")
    ax.set_ylabel(f"{axis_label(metric)}: mean, 95% CI over seeds")
    _title(ax, f"one φ up (φ = {phi:g}), paired race" + (f": {verdict}" if verdict else ""),
           study, fidelity)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=2)
    return _save(fig, path)


def pareto_front(study, names: list[str], path: str | Path, fidelity: str = "") -> Path | None:
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
    with warnings.catch_warnings(), matplotlib.rc_context():   # Optuna sets a style globally
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        ax = plot_pareto_front(study, target_names=list(names))
        _title(ax, "Pareto front (feasible, complete trials)", study.study_name, fidelity)
        return _save(ax.figure, path)
