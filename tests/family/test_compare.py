"""compare as a plan run by the one loop: with two worker processes each (strategy, seed) is trained
exactly once, an interrupted comparison resumes where it stopped, a failing unit fails alone, and
--rerun trains it all again."""

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
from gridsearch.study import Search
from helpers import TINY, cli

pytestmark = pytest.mark.slow


def _study(tmp_path, name="cmp"):
    path = tmp_path / f"{name}.toml"
    path.write_text(TINY.format(name=name, mode="repair", storage="")
                    .replace("epochs = 2", "epochs = 1"))
    cfg = config.load(path)
    Search(cfg).run(max_trials=2)     # a feasible point to compare against
    return path, cfg


def _trials(cfg):
    study = optuna.load_study(study_name=f"{cfg.name}-compare", storage=config.storage_url(cfg))
    return study.get_trials(deepcopy=False)


def _units(trials):
    return Counter((t.params["strategy"], t.user_attrs["seed"]) for t in trials
                   if t.state == TrialState.COMPLETE)


def test_compare_with_two_workers_trains_each_strategy_and_seed_once(tmp_path):
    path, cfg = _study(tmp_path)
    r = cli("compare", path, "--seeds", "2", "--workers", "2", "--no-progress",
            "-o", tmp_path / "out", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    trials = _trials(cfg)
    units = _units(trials)
    assert set(units) == {(s, seed) for s in ("compound", "depth", "width", "resolution")
                          for seed in (0, 1)}
    assert set(units.values()) == {1}
    assert len({t.user_attrs["worker"] for t in trials}) == 2
    assert "compound minus (accuracy):" in r.stdout and (tmp_path / "out" / "compare.csv").is_file()
    # run again: everything is stored, nothing is trained
    again = cli("compare", path, "--seeds", "2", "--no-progress", "-o", tmp_path / "out",
                cwd=tmp_path)
    assert again.returncode == 0 and "nothing to train" in again.stdout
    assert len(_trials(cfg)) == len(trials)


def test_compare_resumes_after_ctrl_c(tmp_path):
    path, cfg = _study(tmp_path, "resume")
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "gridsearch", "compare", str(path), "--seeds",
                             "2", "--no-progress", "-o", str(tmp_path / "out")], cwd=tmp_path,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 300
    while time.time() < deadline:
        try:
            done = [t for t in _trials(cfg) if t.state == TrialState.COMPLETE]
        except KeyError:                  # the comparison study is not created yet
            done = []
        if len(done) >= 2:
            break
        time.sleep(0.2)
    proc.send_signal(signal.SIGINT)       # Ctrl-C, part-way
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "interrupted" in err
    before = _trials(cfg)
    kept = _units(before)
    assert 2 <= sum(kept.values()) < 8
    assert not [t for t in before if t.state == TrialState.RUNNING]   # nothing left RUNNING
    r = cli("compare", path, "--seeds", "2", "--no-progress", "-o", tmp_path / "out",
            cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    units = _units(_trials(cfg))
    assert len(units) == 8 and set(units.values()) == {1}              # each unit once
    for unit, n in kept.items():                                       # the stored ones kept
        assert units[unit] == n


def test_a_failing_unit_fails_alone_and_rerun_trains_again(tmp_path, monkeypatch, capsys):
    from gridsearch.cli import main
    from gridsearch.training import _trainer

    path, cfg = _study(tmp_path, "fail")
    real = _trainer.train
    calls = {"n": 0}

    def flaky(*a, **kw):
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("boom in one unit")
        return real(*a, **kw)

    monkeypatch.setattr(_trainer, "train", flaky)
    assert main(["compare", str(path), "--no-progress", "-o", str(tmp_path / "o")]) == 0
    out = capsys.readouterr().out
    trials = _trials(cfg)
    failed = [t for t in trials if t.state == TrialState.FAIL]
    assert len(failed) == 1 and "boom in one unit" in failed[0].user_attrs["error"]
    assert len(_units(trials)) == 3                  # the three others trained
    assert "not trained (failed" in out
    monkeypatch.setattr(_trainer, "train", real)
    assert main(["compare", str(path), "--rerun", "--no-progress", "-o", str(tmp_path / "o")]) == 0
    trials = _trials(cfg)
    assert sum(t.state == TrialState.COMPLETE for t in trials) == 3 + 4    # all four again
