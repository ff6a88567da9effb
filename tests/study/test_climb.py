"""The fidelity ladder (``gridsearch climb``) and the check one φ up (``gridsearch verify``),
trained by a function of the tests' own whose values the tests know: every point's value is a
fixed function of (α, β) plus a small per-seed deviation, and from ``flip_at`` epochs up the
ranking reverses (1 − value): a rung at or above it moves the answer.

One search (rung 0) is run once and its store copied into each test: [fidelity] is not part of
what the search measures, so configs that differ only there share it."""

import json
import shutil
from pathlib import Path

import pytest

from gridsearch import cli
from gridsearch.config import load_config
from gridsearch.study import Climb, Search
from helpers import cli as run_cli, error_lines, sql_dumps

TRAIN = '''
import zlib


def fit(model, ctx):
    noise = (zlib.crc32(f"{ctx.alpha}-{ctx.beta}-{ctx.seed}".encode()) % 1000 / 1000 - 0.5) * 0.002
    if ctx.alpha is None:             # depth-, width- or resolution-only: always far behind
        return {ctx.metric: 0.1 + noise}
    v = 0.5 + 0.1 * ctx.beta + 0.07 * ctx.alpha - 0.3 * (ctx.gamma - 1)
    if ctx.epochs >= ctx.args["flip_at"]:
        v = 1.0 - v                   # from this fidelity up the ranking is reversed
    return {ctx.metric: v + noise}
'''

CONFIG = """
name = "lad"
[model]
name = "resnet18"
base_resolution = 32
num_classes = 10
width_mult = 0.25
depth_mult = 0.5
[data]
source = "external"
[train]
epochs = 1
seeds = 2
device = "cpu"
function = "ladtrain:fit"
[train.args]
flip_at = 3
[search]
points = [[1.6, 1.0, 1.0], [1.4, 1.1, 1.0], [1.0, 1.3, 1.0], [1.2, 1.1, 1.0]]
target = 1.5
[budget]
mode = "reject"
tolerance = 0.6
[select]
delta = 0.002
confidence = 0.6     # KN with 2 seeds separates a 0.05 gap at this confidence
n0 = 2               # verify's first stage (the search and the rungs use fixed seeds)
"""

# values at rung 0 (no flip): 1.6/1 0.712 > 1.4/1.1 0.708 > 1/1.3 0.700 > 1.2/1.1 0.694
TOP3 = {(1.6, 1.0, 1.0), (1.4, 1.1, 1.0), (1.0, 1.3, 1.0)}
STABLE = '[fidelity]\nrungs = [{}, { epochs = 2 }, { epochs = 4 }]\ntop = 3\n'     # below flip_at
MOVES = '[fidelity]\nrungs = [{}, { epochs = 3 }, { epochs = 9 }]\ntop = 3\n'      # flips at rung 1


@pytest.fixture(scope="module")
def searched(tmp_path_factory):
    """The search (rung 0), run once: its folder (config, training module, store)."""
    folder = tmp_path_factory.mktemp("ladder")
    (folder / "ladtrain.py").write_text(TRAIN)
    (folder / "lad.toml").write_text(CONFIG)
    Search(load_config(folder / "lad.toml")).run()
    return folder


@pytest.fixture
def ladder(searched, tmp_path):
    """A copy of the searched study with a [fidelity] of the test's choosing."""

    def make(fidelity: str) -> Path:
        for f in ("ladtrain.py", "lad.db"):
            shutil.copy(searched / f, tmp_path / f)
        path = tmp_path / "lad.toml"
        path.write_text(CONFIG + fidelity)
        return path

    return make


def _units(path: Path, study: str) -> list[tuple]:
    """(point, seeds) of every COMPLETE trial of ``study`` in the store of the config ``path``."""
    search = Search(load_config(path))
    return sorted((tuple(r.point.as_dict().values()), tuple(r.seeds))
                  for r in search.records_of(study) if r.state == "COMPLETE")


def test_a_stable_ladder_stops_at_rung_1_with_the_top_points_carried(ladder, capsys):
    path = ladder(STABLE)
    assert cli.main(["climb", str(path), "--no-progress"]) == 0
    out = capsys.readouterr().out
    search = Search(load_config(path))
    r1 = search.store.load("lad-r1")
    carried = {tuple(p) for p in r1.user_attrs["config"]["search"]["points"]}
    assert carried == TOP3                               # the best 3 of rung 0, not the 4th
    assert search.store.load("lad-r2") is None           # stable: rung 2 never started
    assert "the answer is stable from rung 0" in out, out
    sel = search.selection()
    assert sel.source == "rung 1" and sel.study == "lad-r1"
    assert sel.winner.point.as_dict() == {"alpha": 1.6, "beta": 1.0, "gamma": 1.0}
    seeds = {s for _, s in _units(path, "lad-r1")}
    assert seeds == {(1000,), (1001,)}                   # fresh seeds: none of the search's

    # one φ up, raced: the single-dimension networks (0.1, far behind) leave after the first
    # stage's 2 seeds; the chosen point (0.712) holds against the next (0.708) and EfficientNet's
    assert cli.main(["verify", str(path), "--phi", "2", "--seeds", "4", "--json",
                     "--no-progress"]) == 0
    v = json.loads(capsys.readouterr().out)
    assert v["verdict"] == "holds" and v["short"] == "checked at φ = 2: holds", v["text"]
    n = {r["name"]: r["n"] for r in v["rows"]}
    assert n["depth only"] == n["width only"] == n["resolution only"] == 2, n
    out_after = {s["candidate"]: s["eliminated_after"] for s in v["race"]["candidates"]}
    assert out_after["depth"] == 2 and out_after["chosen"] is None, out_after
    trained = sum(r.state == "COMPLETE" for r in search.records_of("lad-phi2"))
    assert trained == sum(n.values()) < 7 * 4            # only what the race needed


def test_a_ladder_that_moves_climbs_to_the_top_and_every_screen_answers_with_it(ladder, capsys,
                                                                               tmp_path):
    path = ladder(MOVES)
    assert cli.main(["climb", str(path), "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "rung 1 (3 epochs) moves the ranking" in out and "stable from rung 1" in out, out
    # rung 1 reversed the order: rung 2 carries rung 1's best (the search's 3rd) first
    search = Search(load_config(path))
    answer = {"alpha": 1.0, "beta": 1.3, "gamma": 1.0}
    sel = search.selection()
    assert (sel.source, sel.study, sel.winner.point.as_dict()) == ("rung 2", "lad-r2", answer)

    assert cli.main(["status", str(path)]) == 0
    out = capsys.readouterr().out
    assert "selected (rung 2): α=1 β=1.3 γ=1" in out and "ladder: the answer is stable from " \
        "rung 1" in out and "one φ up: not checked" in out, out
    assert cli.main(["best", str(path), "--json"]) == 0
    best = json.loads(capsys.readouterr().out)
    assert {k: best[k] for k in answer} == answer and best["source"] == "rung 2"
    assert best["trial"].startswith("lad-r2#") and best["seeds"] == [2000, 2001]
    # the report's ladder plot: one coloured line per point carried to the top rung, its values
    # at each rung the rung's means
    import matplotlib.figure

    drawn = {}
    drawn_phi = []
    real_save = matplotlib.figure.Figure.savefig

    def keep(fig, *args, **kw):
        drawn[fig.get_label()] = [(c.get_label(), list(c.lines[0].get_ydata()))
                                  for c in fig.axes[0].containers]
        if "phi_up" in str(args[0]):
            drawn_phi.append(fig)
        return real_save(fig, *args, **kw)

    matplotlib.figure.Figure.savefig = keep
    try:
        assert cli.main(["report", str(path), "-o", str(tmp_path / "rep")]) == 0
    finally:
        matplotlib.figure.Figure.savefig = real_save
    capsys.readouterr()
    assert (tmp_path / "rep" / "ladder.png").is_file()
    top = {f"α={c.point.alpha:g} β={c.point.beta:g} γ={c.point.gamma:g}": c.value
           for c in sel.ranked}
    lines = {name: ys for name, ys in drawn["ladder"] if name and not name.startswith("_")}
    assert set(lines) == set(top)
    for name, ys in lines.items():
        assert ys[-1] == pytest.approx(top[name])      # the top rung's mean ends each line

    # one φ up: EfficientNet's 1.2/1.1/1.15 (γ = 1.15) is better once reversed: 0.351 vs 0.300
    assert cli.main(["freeze", str(path)]) == 0
    capsys.readouterr()
    assert cli.main(["verify", str(path), "--phi", "2", "--seeds", "2", "--json",
                     "--no-progress"]) == 0
    v = json.loads(capsys.readouterr().out)
    assert v["verdict"] == "reversed" and v["by"] == "EfficientNet α=1.2 β=1.1 γ=1.15", v["short"]
    assert v["rung"] == "rung 2 (9 epochs)"
    names = [r["name"] for r in v["rows"]]
    assert names == ["α=1 β=1.3 γ=1 (chosen)", "α=1.4 β=1.1 γ=1", "α=1.6 β=1 γ=1",
                     "EfficientNet α=1.2 β=1.1 γ=1.15", "depth only", "width only",
                     "resolution only"]
    chosen = v["rows"][0]["flops_ratio"]
    for row in v["rows"][1:]:      # every rival solved to the chosen network's measured FLOPs
        assert (abs(row["flops_ratio"] / chosen - 1) <= 0.6) == row["within_tolerance"], row
    assert sum(r["within_tolerance"] for r in v["rows"][1:]) >= 4
    assert v["paired_difference"]["n"] == 2 and v["paired_difference"]["mean"] > 0.004
    verify_cfg = search.store.load("lad-phi2").user_attrs["config"]
    assert verify_cfg["train"]["epochs"] == 9          # the highest rung's fidelity

    short = "checked at φ = 2: reversed by EfficientNet α=1.2 β=1.1 γ=1.15"
    assert cli.main(["status", str(path)]) == 0
    assert f"one φ up: {short}" in capsys.readouterr().out
    assert cli.main(["best", str(path), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["checked"].startswith(short)
    assert cli.main(["freeze", str(path), "--json"]) == 0
    frozen = json.loads(capsys.readouterr().out)["frozen"]
    assert frozen["checked"].startswith(short) and frozen["source"] == "rung 2"
    assert "stable from rung 1" in frozen["ladder"]
    doc = tmp_path / "family.json"
    assert cli.main(["export", str(path), "-o", str(doc), "--phi", "0,1", "--no-progress"]) == 0
    prov = json.loads(doc.read_text())["provenance"]
    assert prov["study"] == "lad-r2" and prov["selection"]["checked"].startswith(short)

    # the report and the dashboard note after the climb and the check: the rung's answer with its
    # measured network, the ladder's sentence, the verdict one φ up, and the φ-up plot whose
    # points are the check's networks at their measured FLOPs and means
    matplotlib.figure.Figure.savefig = keep
    try:
        assert cli.main(["report", str(path), "-o", str(tmp_path / "rep2")]) == 0
    finally:
        matplotlib.figure.Figure.savefig = real_save
    summary = capsys.readouterr().out
    assert "best (rung 2): trial lad-r2#" in summary and "FLOPs ratio" in summary, summary
    assert "ladder: the answer is stable from rung 1" in summary
    assert f"one φ up: {short}" in summary
    assert (tmp_path / "rep2" / "phi_up.png").is_file()
    points = {c.get_label().split(":")[0]: (c.lines[0].get_xdata()[0], c.lines[0].get_ydata()[0])
              for c in drawn_phi[0].axes[0].containers}
    assert set(points) == set(names)
    for row in v["rows"]:
        x, y = points[row["name"]]
        assert x == pytest.approx(row["flops_ratio"]) and y == pytest.approx(row["mean"])
    from gridsearch.viz import study_note

    note = study_note(search)
    assert "**Fidelity ladder:** the answer is stable from rung 1" in note, note
    assert f"**One φ up:** {short}" in note


def test_resume_mid_rung_then_two_workers_train_each_unit_once(ladder):
    path = ladder(STABLE)
    search = Search(load_config(path))
    first = Climb(search).rung(1)
    first.run(max_trials=2)                              # interrupted mid-rung: 2 of 6 units
    assert len(_units(path, "lad-r1")) == 2
    r = run_cli("climb", path, "--workers", "2", "--no-progress", cwd=path.parent)
    assert r.returncode == 0, r.stderr
    units = _units(path, "lad-r1")
    assert len(units) == 6 and len(set(units)) == 6      # exactly once per (point, seed, rung)
    assert {p for p, _ in units} == TOP3
    assert "the answer is stable from rung 0" in r.stdout, r.stdout


BAD = {
    "an unknown key in a rung": ("rungs = [{}, { epoch = 3 }]", "fidelity.rungs[1].epoch"),
    "top < 2": ("rungs = [{}, { epochs = 3 }]\ntop = 1", "fidelity.top"),
    "an empty rung list": ("rungs = []", "fidelity.rungs"),
    "a non-increasing fidelity": ("rungs = [{}, { epochs = 9 }, { epochs = 3 }]",
                                  "fidelity.rungs[2].epochs"),
    "the same fidelity twice": ("rungs = [{}, { epochs = 1 }]", "fidelity.rungs[1]"),
    "an unknown stop": ("rungs = [{}, { epochs = 3 }]\nstop = \"never\"", "fidelity.stop"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_fidelity_is_one_line_naming_the_key_exit_2_store_untouched(searched, tmp_path,
                                                                        capsys, case):
    text, key = BAD[case]
    for f in ("ladtrain.py", "lad.db"):
        shutil.copy(searched / f, tmp_path / f)
    path = tmp_path / "lad.toml"
    path.write_text(CONFIG + "[fidelity]\n" + text + "\n")
    before = sql_dumps(tmp_path)
    capsys.readouterr()
    assert cli.main(["climb", str(path)]) == 2
    lines = error_lines(capsys.readouterr().err)
    assert len(lines) == 1 and lines[0].startswith(f"gridsearch: error: {path}: {key}:"), lines
    assert sql_dumps(tmp_path) == before


def test_climb_without_a_fidelity_section_or_a_search_is_one_line(searched, tmp_path, capsys):
    shutil.copy(searched / "ladtrain.py", tmp_path / "ladtrain.py")
    path = tmp_path / "lad.toml"
    path.write_text(CONFIG)
    assert cli.main(["climb", str(path)]) == 2
    assert "fidelity: the config has no [fidelity] section" in capsys.readouterr().err
    path.write_text(CONFIG + MOVES)
    assert cli.main(["climb", str(path)]) == 2
    assert "run the search first" in capsys.readouterr().err
    assert not (tmp_path / "lad.db").exists()
