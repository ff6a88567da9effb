"""Seeds as part of a point: every (point, seed) trained exactly once, with two workers and across
an interrupted run; and a confirmation that resumes where it stopped.  The subject is the units,
not training: the studies train with the tests' own function (tests/helpers.py OWN_TRAIN)."""

from collections import Counter

import optuna
import pytest
from optuna.trial import TrialState

from gridsearch import config, study as confirm
from gridsearch.cli import main
from gridsearch.selection import rank
from gridsearch.study import Search, read
from helpers import TINY, cli, own_training

pytestmark = pytest.mark.slow


def _config(tmp_path, name, seeds=3):
    text = TINY.format(name=name, mode="repair", storage="").replace("epochs = 2", "epochs = 1")
    text = text.replace("train_size = 128", "train_size = 64")
    path = tmp_path / f"{name}.toml"
    path.write_text(text)
    return own_training(path, train=f"seeds = {seeds}")


def _units(study):
    """(point, seed) → how many finished (not failed) trials trained it."""
    return Counter((t.user_attrs["point_index"], t.user_attrs["seed"])
                   for t in study.get_trials(deepcopy=False) if t.state != TrialState.FAIL)


def test_each_point_seed_once_with_two_workers(tmp_path):
    path = _config(tmp_path, "two")
    r = cli("run", path, "--workers", "2", "--no-progress", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    cfg = config.load(path)
    study = optuna.load_study(study_name="two", storage=config.storage_url(cfg))
    units = _units(study)
    infeasible = {t.user_attrs["point_index"] for t in study.trials
                  if t.user_attrs.get("verdict") == "infeasible"}
    assert infeasible   # TINY has infeasible points: each is recorded once, with the first seed
    assert set(units) == {(p, s) for p in range(len(cfg.points())) for s in (0, 1, 2)
                          if p not in infeasible or s == 0}
    assert set(units.values()) == {1}
    assert len({t.user_attrs["worker"] for t in study.trials}) == 2
    # Every feasible point has 3 accuracies, one per seed; seeds give different networks.
    for c in rank(read(study)):
        assert c.runs == 3
    print(f"\nFIGURES seeds x workers: units={len(units)} trials={len(study.trials)} duplicates=0")


def test_each_point_seed_once_after_a_resume(tmp_path):
    path = _config(tmp_path, "resume")
    cfg = config.load(path)
    first = Search(cfg).run(max_trials=4)           # stopped part-way, as after Ctrl-C
    assert len(first) == 4
    Search(cfg).run()                               # the resume
    study = optuna.load_study(study_name="resume", storage=config.storage_url(cfg))
    units = _units(study)
    infeasible = {t.user_attrs["point_index"] for t in study.trials
                  if t.user_attrs.get("verdict") == "infeasible"}
    n = len(cfg.points())
    assert len(units) == (n - len(infeasible)) * 3 + len(infeasible) and set(units.values()) == {1}
    # Seed-major: the first pass gave every point its first seed before any point got a second.
    order = [(t.user_attrs["seed"]) for t in sorted(study.trials, key=lambda t: t.number)]
    assert order == sorted(order)


def test_seed_statistics_match_hand_computation(tmp_path):
    path = _config(tmp_path, "stats", seeds=2)
    cfg = config.load(path)
    search = Search(cfg)
    search.run()
    sel = search.selection()
    w = sel.winner
    by_hand = [t.value for t in search.study().trials if t.state == TrialState.COMPLETE
               and (t.params["alpha"], t.params["beta"], t.params["gamma"])
               == (w.point.alpha, w.point.beta, w.point.gamma)]
    assert sorted(w.accuracies) == sorted(by_hand)
    mean = sum(by_hand) / 2
    assert w.summary.mean == pytest.approx(mean)
    assert w.summary.std == pytest.approx(abs(by_hand[0] - by_hand[1]) / 2 ** 0.5)


def test_confirm_resumes_and_freeze_follows_it(tmp_path, capsys):
    path = _config(tmp_path, "conf", seeds=1)
    assert main(["run", str(path), "--no-progress"]) == 0
    cfg = config.load(path)
    search = Search(cfg)
    plan = confirm.confirm_plan(search, 2, confirm.Fidelity(seeds=2, epochs=2))
    done = plan.run(max_trials=1)                   # interrupted after one unit
    assert len(done) == 1
    capsys.readouterr()
    assert main(["confirm", str(path), "--top", "2", "--seeds", "2", "--epochs", "2",
                 "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "Kendall τ" in out and "verdict:" in out
    cstudy = optuna.load_study(study_name="conf-confirm", storage=config.storage_url(cfg))
    units = _units(cstudy)
    n = min(2, len(rank(read(search.study()))))
    assert len(units) == n * 2 and set(units.values()) == {1}   # resumed, nothing trained twice
    assert {s for _, s in units} == {1000, 1001}                 # fresh seeds, not the search's
    assert cstudy.user_attrs["config"]["train"]["epochs"] == 2
    # A different confirmation of the same study is refused, one line, store unchanged.
    assert main(["confirm", str(path), "--top", "2", "--seeds", "3"]) == 2
    assert "different config" in capsys.readouterr().err
    # freeze follows the confirmation.
    assert main(["freeze", str(path)]) == 0
    out = capsys.readouterr().out
    assert "[confirmation]" in out
    best_confirmed = rank(read(cstudy))[0].point
    assert f"α={best_confirmed.alpha:g} β={best_confirmed.beta:g} γ={best_confirmed.gamma:g}" in out
