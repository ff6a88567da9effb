"""A race as a study (``[select] mode = "race"``): each (point, seed) trained exactly once with
workers (SQLite and PostgreSQL), a killed worker's unit retried, a resumed race, and in every case
the same decision — the one the recorded results give when the race is replayed from them.

The subject is the race, not training: the studies train with the tests' own function
(tests/helpers.py OWN_TRAIN), whose values are the same on every machine, so the reference race,
run once in this process, is what every other run must decide."""

import os
import signal
import subprocess
import sys
import time
from collections import Counter

import optuna
import pytest
from optuna.trial import TrialState

from gridsearch import config
from gridsearch.cli import main
from gridsearch.scaling import Point
from gridsearch.selection import Race
from gridsearch.study import Search
from helpers import TINY, cli, own_training

pytestmark = pytest.mark.slow

# At δ = 0.005 the tests' own function's values (three points, a per-seed deviation of ±0.005)
# take TINY's race past its first stage (3 seeds), where a kill or a resume can land.
DELTA = 0.005
SELECT = ('\n[select]\nmode = "race"\ndelta = {delta}\nconfidence = 0.9\nn0 = 3\nmax_seeds = 6\n'
          "\n[workers]\nheartbeat_interval = 1\ngrace_period = 3\n")


def _config(folder, name, storage="", delta=DELTA, sleep=0):
    """TINY as a race; ``sleep``: seconds each trial trains (long enough to be killed mid-trial)."""
    text = TINY.format(name=name, mode="repair", storage=f'storage = "{storage}"' if storage else "")
    text = text.replace("epochs = 2", "epochs = 1").replace("tolerance = 0.08", "tolerance = 0.15")
    path = folder / f"{name}.toml"
    path.write_text(text + SELECT.format(delta=delta))
    return own_training(path, train=f"[train.args]\nsleep = {sleep}" if sleep else "")


def _summary(search):
    """The race's decision as plain data: what a resumed or a retried race must reproduce."""
    out = search.race()
    d = out.decision
    return {"winner": d.winner, "status": d.status, "runs": d.runs,
            "eliminated": {s.candidate: s.eliminated_after for s in d.standings},
            "means": {s.candidate: round(s.mean, 6) for s in d.standings}}


def _units(study):
    """(point index, seed) → trials that finished it (failed ones left out)."""
    return Counter((t.user_attrs["point_index"], t.user_attrs["seed"])
                   for t in study.get_trials(deepcopy=False) if t.state != TrialState.FAIL)


def _replayed(search):
    """The decision rebuilt from the stored accuracies alone, by the library's own replay."""
    cfg = search.cfg
    by_point: dict[Point, dict[int, float]] = {}
    for r in search.records():
        if r.state == "COMPLETE":
            by_point.setdefault(r.point, {})[r.seed - cfg.train.seed] = r.mean_accuracy
    n0 = cfg.select.n0
    candidates = [p for p in (i.spec.point for i in search.plan.items)
                  if all(k in by_point.get(p, {}) for k in range(n0))]
    flops = {r.point: r.flops for r in search.records() if r.flops is not None}
    race = Race.replay({(p, k): v for p, vs in by_point.items() if p in candidates
                        for k, v in vs.items()}, candidates, delta=cfg.select.delta,
                       confidence=cfg.select.confidence, n0=n0, max_seeds=cfg.select.max_seeds,
                       cost={p: flops[p] for p in candidates})
    return race.decision()


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The race run once in this process: (its decision, its δ)."""
    search = Search(config.load(_config(tmp_path_factory.mktemp("race_ref"), "ref")))
    search.run()
    summary = _summary(search)
    assert summary["status"] in ("decided", "capped")
    assert summary["runs"] > 3 * len(search.plan.items), summary    # past the first stage
    return summary, DELTA


def _check(search, reference):
    reference, _ = reference
    study = search.study(create=False)
    units = _units(study)
    assert set(units.values()) == {1}, units                  # each (point, seed) once
    infeasible = [t for t in study.trials if t.user_attrs.get("verdict") == "infeasible"]
    assert len({t.user_attrs["point_index"] for t in infeasible}) == len(infeasible)  # once each
    summary = _summary(search)
    assert summary == reference
    replayed = _replayed(search)
    assert (replayed.winner, replayed.runs) == (summary["winner"], summary["runs"])
    assert search.selection().winner.point == summary["winner"]   # the selection is the race's


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_race_with_two_workers_each_unit_once(backend, tmp_path, request, reference):
    url = request.getfixturevalue("postgres_url") if backend == "postgres" else ""
    delta = reference[1]
    path = _config(tmp_path, "ref", url, delta)
    r = cli("run", path, "--workers", "2", "--no-progress", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert f"is the best within δ = {delta:.3f}" in r.stdout + r.stderr or "undecided" in r.stdout + r.stderr
    search = Search(config.load(path))
    _check(search, reference)
    trials = search.study(create=False).trials
    assert len({t.user_attrs["worker"] for t in trials}) == 2
    decision = search.race().decision
    assert decision.runs < len(search.plan.items) * search.cfg.select.max_seeds or \
        decision.status == "capped"
    print(f"\nFIGURES race {backend}: {len(trials)} trials, {decision.runs} runs, "
          f"{decision.status}, winner {decision.winner}")


def test_race_resumed_mid_way_decides_the_same(tmp_path, reference):
    cfg = config.load(_config(tmp_path, "ref", delta=reference[1]))
    first = Search(cfg).run(max_trials=5)          # stopped in the first stage, as by Ctrl-C
    assert len(first) == 5
    second = Search(cfg).run(max_trials=5)         # stopped again, mid-race
    assert len(second) == 5
    Search(cfg).run()                              # the resume
    _check(Search(cfg), reference)


def test_a_killed_worker_s_unit_is_retried_and_the_race_decides_the_same(tmp_path, reference):
    path = _config(tmp_path, "ref", delta=reference[1], sleep=0.5)
    cfg = config.load(path)
    Search(cfg).init()
    worker = subprocess.Popen([sys.executable, "-m", "gridsearch", "worker", str(path),
                               "--no-progress"], cwd=tmp_path, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, start_new_session=True)
    study = optuna.load_study(study_name="ref", storage=config.storage_url(cfg))
    first_stage = 3 * len(cfg.points())
    killed = None
    deadline = time.time() + 300
    while time.time() < deadline and worker.poll() is None:
        running = [t for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
                   if t.user_attrs.get("unit", -1) >= first_stage]
        if running:                                # a unit of the race proper, mid-training
            os.killpg(worker.pid, signal.SIGKILL)
            break
        time.sleep(0.05)
    worker.wait(30)
    left = study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
    assert len(left) == 1, "the worker finished before it could be killed mid-race"
    killed = left[0].user_attrs["unit"]            # killed mid-trial: RUNNING, no heartbeat
    assert killed >= first_stage
    assert main(["worker", str(path), "--no-progress"]) == 0   # fails the stale trial, retries it
    search = Search(cfg)
    trials = search.study(create=False).trials
    failed = [t for t in trials if t.state == TrialState.FAIL]
    assert [t.user_attrs["unit"] for t in failed] == [killed]    # the killed one, failed by the
    assert "error" not in failed[0].user_attrs                   # heartbeat, not an error
    assert sum(t.user_attrs.get("unit") == killed for t in trials) == 2   # and trained again
    _check(search, reference)


def test_status_best_and_freeze_while_a_worker_s_race_is_undecided(tmp_path, reference, capsys):
    """Watching a race is what status is for (at 37b1639 it ended in 'unexpected error')."""
    path = _config(tmp_path, "ref", delta=reference[1])
    first_stage = 3 * len(config.load(path).points())
    assert main(["init", str(path)]) == 0
    assert main(["worker", str(path), "--no-progress", "--max-trials", str(first_stage + 1)]) == 0
    search = Search(config.load(path))
    assert not search.race().done       # the reference race runs past the first stage + 1 trial
    shown = {}
    for command in ("status", "best", "freeze"):
        capsys.readouterr()
        code = main([command, str(path)])
        out, err = capsys.readouterr()
        assert code == 0, (command, err)
        assert "unexpected error" not in out + err
        assert "provisional" in out, (command, out)
        shown[command] = out
    out = shown["status"]
    assert "race: round" in out and "survivor(s)" in out and "forecast:" in out
    assert "leading for now" in out


def test_two_workers_print_the_forecast_and_the_decision_once(tmp_path, reference):
    path = _config(tmp_path, "ref", delta=reference[1])
    r = cli("run", path, "--workers", "2", "--no-progress", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    out = r.stdout + r.stderr
    decision = Search(config.load(path)).race().text()
    assert out.count(decision) == 1, out
    assert out.count("first stage done") <= 1, out
