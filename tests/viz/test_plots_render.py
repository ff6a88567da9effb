"""Every plot of the report, on every kind of study, checked on the figure objects themselves.

The studies are written without training: each trial's record goes into a real Optuna study (its
config stored as a real run stores it) through the project's own record writer
(:class:`gridsearch.study.Recorder`), with accuracies chosen here.  A race's later seeds are the
units its own plan opens, so the race and its decision are the project's; a confirmation is
the study `gridsearch confirm` would create.  Then :func:`gridsearch.viz.build` writes the
report, and the figures are kept (``plt.close`` is patched) to check:

* the "selected" marker sits at the selected point's mean (a confirmation's mean when the
  confirmation chose it);
* no colour bar spans less than the figures' resolution (near-equal values get none);
* no two point labels overlap (their boxes, from the renderer);
* infeasible points are never drawn on the value axis; titles name the study.
"""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np
import optuna
import pytest

from gridsearch import config
from gridsearch.scaling import Point
from gridsearch.study import (Fidelity, Recorder, Search, Store, confirm_config, plan_of,
                              points_of)
from gridsearch.viz import RESOLUTION, build, compare_plot

from helpers import TINY

SEARCH = """alpha = {{ min = 1.0, max = 2.0, step = 1.0 }}
beta = {{ min = 1.0, max = 1.5, step = 0.5 }}
gamma = {{ min = 1.0, max = 1.5, step = 0.5 }}"""
FINE = """alpha = {{ min = 1.0, max = 1.6, step = 0.2 }}
beta = {{ min = 1.0, max = 1.3, step = 0.1 }}
gamma = {{ min = 1.0, max = 1.2, step = 0.1 }}"""


def config_text(name, tmp_path, *, seeds=3, search=FINE, extra_search="", extra="",
                tolerance=0.06):
    text = TINY.format(name=name, mode="reject", storage="")
    text = text.replace(SEARCH.replace("{{", "{").replace("}}", "}"),
                        search.replace("{{", "{").replace("}}", "}") + extra_search)
    text = text.replace("epochs = 2\n", f"epochs = 2\nseeds = {seeds}\n")
    text = text.replace("tolerance = 0.08", f"tolerance = {tolerance}")
    path = tmp_path / f"{name}.toml"
    path.write_text(text + extra)
    return config.load(path)


def ratio(p: Point) -> float:
    return p.alpha * p.beta ** 2 * p.gamma ** 2


def accuracy(p: Point, seed: int, equal: bool) -> float:
    if equal:   # the same value up to float noise, as a 45-image validation set gives
        return 0.9111111111111111 + 1e-15 * seed
    return 0.80 + 0.05 * (p.alpha - 1) + 0.08 * (p.beta - 1) - 0.04 * (p.gamma - 1) \
        + 0.004 * math.sin(7 * seed + 3 * p.alpha)


def add(study, cfg, p: Point, *, seeds, unit=None, index=None, values=None, epochs=2,
        extra_values=()):
    """One trial as the runner records it: COMPLETE with its seeds' accuracies, or INFEASIBLE."""
    r = ratio(p)
    feasible = abs(r / cfg.target_multiplier - 1) <= cfg.budget.tolerance
    dist = optuna.distributions.FloatDistribution(0.5, 4.0)
    t = optuna.trial.create_trial(
        state=optuna.trial.TrialState.COMPLETE if feasible else optuna.trial.TrialState.PRUNED,
        values=[float(np.mean(values)), *extra_values] if feasible else None,
        params={"alpha": p.alpha, "beta": p.beta, "gamma": p.gamma},
        distributions={k: dist for k in ("alpha", "beta", "gamma")},
        intermediate_values=({e: float(np.mean(values)) * (0.6 + 0.4 * e / epochs)
                              for e in range(1, epochs + 1)} if feasible else {}))
    rec = Recorder(t)
    flops = int(1e6 * r)
    rec.set(alpha=p.alpha, beta=p.beta, gamma=p.gamma, flops=flops, flops_ratio=r,
            params=int(1e5 * p.beta ** 2), activations=int(2e5 * p.alpha * p.gamma ** 2),
            resolution=round(32 * p.gamma), effective_gamma=p.gamma, feasible=feasible,
            verdict="feasible" if feasible else "infeasible", seeds=list(seeds))
    if unit is not None:
        rec.set(unit=unit, point_index=index, seed=seeds[0])
    if feasible:
        rec.set(accuracy=float(np.mean(values)), seed_accuracies=list(values),
                train_seconds=1.0 + flops / 1e6 + 0.01 * seeds[0], epochs_done=epochs)
    else:
        rec.set(budget_reason=f"FLOPs ratio {r:.3f} outside the budget")
    study.add_trial(t)
    return feasible


def new_search(cfg) -> Search:
    """A search on a store in memory (the report reads it as it reads a database)."""
    return Search(cfg, store=Store(cfg, "sqlite:///:memory:",
                                   storage=optuna.storages.InMemoryStorage()))


def fill_plan(cfg, study, *, equal=False, epochs=2):
    """Every unit the study's own plan opens, until it has none left (a race's too)."""
    from gridsearch.study import read

    plan = plan_of(cfg)
    items = plan.items
    while True:
        opening = plan.open(read(study))
        if not opening.units:
            return
        for u in opening.units:
            unit = plan.unit(u)
            p = items[unit.item].spec.point
            add(study, cfg, p, seeds=[unit.seed], unit=u, index=unit.item, epochs=epochs,
                values=[accuracy(p, unit.seed, equal)])


def grid(tmp_path, name="grid", equal=False, **kw):
    search = new_search(config_text(name, tmp_path, **kw))
    fill_plan(search.cfg, search.study(create=True), equal=equal)
    return search


def sampled(tmp_path, name="tpe"):
    search = new_search(config_text(name, tmp_path,
                                    extra_search='\nsampler = "random"\nn_trials = 12'))
    cfg, study = search.cfg, search.study(create=True)
    rng = np.random.default_rng(0)
    for _ in range(12):
        p = Point(*(round(float(x), 3) for x in rng.uniform([1, 1, 1], [1.6, 1.3, 1.2])))
        add(study, cfg, p, seeds=[0, 1, 2], values=[accuracy(p, s, False) for s in range(3)])
    return search


def width_share(tmp_path, name="share"):
    search = new_search(config_text(
        name, tmp_path, seeds=2, extra_search="\nwidth_share = { min = 0.0, max = 1.0, step = 0.25 }"))
    fill_plan(search.cfg, search.study(create=True))
    return search


def multi(tmp_path, name="multi"):
    search = new_search(config_text(name, tmp_path, seeds=1,
                                    extra='\n[objectives]\nminimize = ["activations"]\n'))
    cfg, study = search.cfg, search.study(create=True)
    for it in plan_of(cfg).items:
        p = it.spec.point
        add(study, cfg, p, seeds=[0], values=[accuracy(p, 0, False)],
            extra_values=[2e5 * p.alpha * p.gamma ** 2])
    return search


RACE = '\n[select]\nmode = "race"\nn0 = 2\nmax_seeds = 5\ndelta = 0.01\nconfidence = 0.8\n'


def race(tmp_path, name="race", equal=False):
    search = new_search(config_text(name, tmp_path, extra=RACE))
    fill_plan(search.cfg, search.study(create=True), equal=equal)
    return search


def confirmed(tmp_path, name="conf", raced=False, top=3):
    """A grid (a race when ``raced``) confirmed by a 4-epoch confirmation of its top points
    (raced, or 3 seeds)."""
    from gridsearch.selection import key

    search = race(tmp_path, name) if raced else grid(tmp_path, name, seeds=2)
    cfg = search.cfg
    points = [key(c.point) for c in search.selection().ranked[:top]]
    ccfg = confirm_config(cfg, points, Fidelity(seeds=3, epochs=4, race=raced))
    study = search.store.derived(ccfg).study(create=True)
    plan = plan_of(ccfg)
    from gridsearch.study import read

    while True:
        opening = plan.open(read(study))
        if not opening.units:
            break
        for u in opening.units:
            unit = plan.unit(u)
            p = plan.items[unit.item].spec.point
            # the confirmation ranks the other way round from the search, at higher values
            v = 0.97 - 0.02 * unit.item + 0.002 * math.sin(unit.seed)
            add(study, ccfg, p, seeds=[unit.seed], unit=u, index=unit.item, values=[v],
                epochs=4)
    return search


KINDS = {
    "grid": grid,
    "grid-equal": lambda t: grid(t, "equal", equal=True),
    "grid-one-seed": lambda t: grid(t, "one", seeds=1),
    "sampled": sampled,
    "width-share": width_share,
    "multi-objective": multi,
    "race": race,
    "race-identical": lambda t: race(t, "same", equal=True),
    "confirmation": confirmed,
    "confirmation-one-point": lambda t: confirmed(t, "one", top=1),
    "confirmation-raced": lambda t: confirmed(t, "craced", raced=True),
}


@pytest.fixture
def kept(monkeypatch):
    """The report's figures, kept open (by their file's stem) instead of closed once saved.
    Writing the PNG is matplotlib's (and checked on real files by test_viz.py): here the figure is
    laid out and its labels placed as for the file, and the file is only touched."""
    from matplotlib.figure import Figure

    figs = {}
    monkeypatch.setattr(Figure, "savefig", lambda fig, path, **kw: open(path, "wb").close())

    def close(fig=None):
        figs[fig.get_label()] = fig

    close.original = plt.close
    monkeypatch.setattr(plt, "close", close)
    yield figs
    for fig in figs.values():
        close.original(fig)


def _labels(fig):
    return [t for ax in fig.axes for t in ax.texts if t.get_gid() == "label" and t.get_visible()]


def _check_figure(name, fig, study):
    renderer = fig.canvas.get_renderer()
    boxes = [t.get_window_extent(renderer) for t in _labels(fig)]
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            assert not a.overlaps(b), f"{name}: labels overlap"
    for ax in fig.axes:
        bar = getattr(ax, "_colorbar", None)
        if bar is not None:
            lo, hi = bar.mappable.norm.vmin, bar.mappable.norm.vmax
            assert hi - lo >= RESOLUTION, f"{name}: a colour bar over {lo!r}..{hi!r}"
            assert not bar.ax.yaxis.get_offset_text().get_text(), f"{name}: an offset on the bar"
    if name != "pareto_front":
        assert study in fig.axes[0].get_title(), (name, fig.axes[0].get_title())


@pytest.mark.parametrize("kind", KINDS)
def test_every_plot_of_every_study_kind(kind, tmp_path, kept):
    search = KINDS[kind](tmp_path)
    cfg = search.cfg
    rep = build(search, tmp_path / "report")
    names = {p.stem for p in rep.files if p.suffix == ".png"}
    assert names == set(kept), (names, set(kept))
    assert {"accuracy_vs_flops", "alpha_beta", "learning_curves"} <= names
    if kind.startswith("race") or kind == "confirmation-raced":
        assert "race" in names
    if kind.startswith("confirmation"):
        assert "confirmation" in names
    if kind == "confirmation-raced":
        assert "race_confirmation" in names
        assert kept["race"].axes[0].get_title() != kept["race_confirmation"].axes[0].get_title()
        assert "4 epochs" in kept["race_confirmation"].axes[0].get_title()
    if kind == "multi-objective":
        assert "pareto_front" in names
    for name, fig in kept.items():
        _check_figure(name, fig, cfg.name)

    best = rep.facts["best"]
    ax = kept["accuracy_vs_flops"].axes[0]
    marks = [c for c in ax.collections if c.get_gid() == "selected"]
    assert len(marks) == 1
    x, y = marks[0].get_offsets()[0]
    assert y == pytest.approx(best["mean"], abs=1e-12)
    assert best["mean"] == pytest.approx(search.selection().winner.value)
    # infeasible points: a cross each in the strip below, none on the value axis
    crosses = lambda a: sum(len(line.get_xdata()) for line in a.lines if line.get_marker() == "x")
    infeasible = rep.facts["counts"]["INFEASIBLE"]
    assert crosses(ax) == 0
    if infeasible:
        assert crosses(kept["accuracy_vs_flops"].axes[1]) == infeasible
    # the legend of the learning curves: one entry per group, each saying what it is
    legend = kept["learning_curves"].axes[0].get_legend()
    texts = [t.get_text() for t in legend.get_texts()]
    assert any(t.startswith("search") for t in texts)
    if kind.startswith("confirmation"):
        assert any(t.startswith("confirmation") for t in texts)
        assert best["source"] == "confirmation"


def test_near_equal_values_get_no_colour_scale_and_mean_labels(tmp_path, kept):
    build(grid(tmp_path, "eq", equal=True), tmp_path / "r")
    fig = kept["alpha_beta"]
    assert not any(getattr(ax, "_colorbar", None) for ax in fig.axes)
    assert "equal" in fig.axes[0].get_title()
    # identical points are said, not silently drawn on top of each other
    ax = kept["accuracy_vs_flops"].axes[0]
    assert any("identical points" in t.get_text() for t in _labels(kept["accuracy_vs_flops"]))


def test_alpha_beta_labels_are_means_over_seeds(tmp_path, kept):
    from gridsearch.selection import rank
    from gridsearch.study import read

    search = grid(tmp_path)
    build(search, tmp_path / "r")
    means = {f"{c.value:.4f}" for c in rank(read(search.study(create=False)))}
    shown = {t.get_text() for t in _labels(kept["alpha_beta"])}
    assert shown and shown <= means
    fig = kept["alpha_beta"]
    assert any(getattr(ax, "_colorbar", None) for ax in fig.axes)


def test_the_race_of_identical_points_says_so(tmp_path, kept):
    build(race(tmp_path, "same", equal=True), tmp_path / "r")
    texts = [t.get_text() for t in kept["race"].axes[0].get_legend().get_texts()]
    assert len(texts) == 1 and "identical values" in texts[0]


def test_summary_claims_no_predictor_from_noise(tmp_path):
    from gridsearch.viz import predictor_text

    assert "no predictor is distinguishable" in predictor_text(
        {"flops": 0.055, "params": 0.055, "activations": -0.055}, 43)
    claim = predictor_text({"flops": 0.9, "params": 0.2, "activations": None}, 12)
    assert "best predictor of training time here: flops" in claim and "n = 12" in claim


def test_metric_names_the_value_axis(tmp_path, kept):
    build(grid(tmp_path, "metric"), tmp_path / "r", metric="top-1 error", maximize=False)
    for name in ("accuracy_vs_flops", "learning_curves"):
        assert kept[name].axes[0].get_ylabel() == "validation top-1 error"


def test_compare_plot(tmp_path, kept):
    rows = [{"strategy": s, "flops": f, "accuracy": a, "accuracy_std": 0.01}
            for s, f, a in (("compound", 2e6, 0.9), ("depth", 2.1e6, 0.88),
                            ("width", 1.9e6, 0.89), ("resolution", 2e6, 0.87))]
    compare_plot(rows, tmp_path / "compare.png", 0.1, study="x-compare", fidelity="2 epochs")
    _check_figure("compare", kept["compare"], "x-compare")
