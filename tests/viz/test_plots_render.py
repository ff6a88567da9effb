"""Every plot of the report, on every kind of study, checked on the figure objects themselves.

The studies are written without training (tests/synthetic.py: records through the project's
own Recorder, a race's units as its own plan opens them).  :func:`gridsearch.viz.build` writes
the report, and the figures are kept (``plt.close`` is patched) to check:

* the "selected" marker sits at the selected point's mean (a confirmation's mean when the
  confirmation chose it);
* no colour bar spans less than the figures' resolution (near-equal values get none);
* no two point labels overlap (their boxes, from the renderer);
* infeasible points are never drawn on the value axis; titles name the study.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import pytest

from gridsearch.viz import RESOLUTION, build, compare_plot
from synthetic import KINDS, grid, race


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
    assert y == pytest.approx(best["value"], abs=1e-12)
    assert best["value"] == pytest.approx(search.selection().winner.value)
    # infeasible points: a cross each in the strip below, none on the value axis
    def crosses(a):
        return sum(len(line.get_xdata()) for line in a.lines if line.get_marker() == "x")

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
    import dataclasses

    search = grid(tmp_path, "metric")      # as if trained by a function minimising its metric
    search.cfg = dataclasses.replace(search.cfg, train=dataclasses.replace(
        search.cfg.train, function="own:fit", metric="top1_error", direction="minimize"))
    build(search, tmp_path / "r")
    for name in ("accuracy_vs_flops", "learning_curves"):
        assert kept[name].axes[0].get_ylabel() == "validation top1_error"


def test_compare_plot(tmp_path, kept):
    rows = [{"strategy": s, "flops": f, "accuracy": a, "accuracy_std": 0.01}
            for s, f, a in (("compound", 2e6, 0.9), ("depth", 2.1e6, 0.88),
                            ("width", 1.9e6, 0.89), ("resolution", 2e6, 0.87))]
    compare_plot(rows, tmp_path / "compare.png", 0.1, study="x-compare", fidelity="2 epochs")
    _check_figure("compare", kept["compare"], "x-compare")
