"""Many workers on one study, on SQLite and on a real PostgreSQL: each grid point exactly once.

Real processes (the console script), real databases, a real SIGKILL.  Each test prints a FIGURES
line (trials, duplicates, retries) for the record.  The subject is the workers, not training: the
studies train with the tests' own function (tests/helpers.py OWN_TRAIN), each trial sleeping for
a set time (long enough to be shared out, killed or interrupted while it trains).
"""

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

from gridsearch import config
from gridsearch.storage import open_storage
from gridsearch.study import Search
from gridsearch.workers._pool import STOP_TIMEOUT_S
from helpers import OWN_TRAIN, TINY, cli, own_training

pytestmark = pytest.mark.slow

GRID = {  # 15 points on the constrained grid
    'alpha = { min = 1.0, max = 2.0, step = 1.0 }': 'alpha = { min = 1.0, max = 2.0, step = 0.2 }',
    'beta = { min = 1.0, max = 1.5, step = 0.5 }': 'beta = { min = 1.0, max = 1.5, step = 0.1 }',
    'gamma = { min = 1.0, max = 1.5, step = 0.5 }': 'gamma = { min = 1.0, max = 1.5, step = 0.1 }',
    'tolerance = 0.15': 'tolerance = 0.05',
    'epochs = 2': 'epochs = 1',
}


def grid_config(tmp_path, name, storage=None, mode="repair", extra="", sleep=0.3, min_points=12):
    """A study config on the 15-point grid (``min_points=12``), or on TINY's own 3-point grid;
    each trial trains for ``sleep`` seconds."""
    text = TINY.format(name=name, mode=mode, storage=f'storage = "{storage}"' if storage else "")
    for a, b in GRID.items():
        if min_points >= 12:  # the small grid keeps 2 epochs: long trials to interrupt
            text = text.replace(a, b)
    path = tmp_path / f"{name}.toml"
    path.write_text(text + extra)
    own_training(path, train=f"[train.args]\nsleep = {sleep}")
    assert len(config.load(path).points()) >= min_points
    return path


def figures(path, url=None):
    """(trials, duplicates, retries, skipped) of a finished grid study; asserts nothing RUNNING."""
    cfg = config.load(path)
    study = optuna.load_study(study_name=cfg.name,
                              storage=open_storage(url or config.storage_url(cfg), heartbeat=False))
    trials = study.get_trials(deepcopy=False)
    assert not [t for t in trials if t.state == TrialState.RUNNING]
    done = Counter(t.user_attrs["point_index"] for t in trials if t.state != TrialState.FAIL)
    n = len(cfg.points())
    duplicates = sum(c - 1 for c in done.values())
    skipped = n - len(done)
    retries = sum(1 for t in trials if t.state == TrialState.FAIL and "point_index" in t.user_attrs)
    return {"points": n, "trials": len(trials), "duplicates": duplicates, "retries": retries,
            "skipped": skipped, "workers": len({t.user_attrs.get("worker") for t in trials})}


def report(label, f):
    print(f"\nFIGURES {label}: " + " ".join(f"{k}={v}" for k, v in f.items()))


def _exe():
    return str(Path(sys.executable).parent / "gridsearch")


def _start(*args, cwd, preexec_fn=None):
    return subprocess.Popen([_exe(), *map(str, args)], cwd=cwd, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, preexec_fn=preexec_fn)


def _ignore_sigint():  # as a shell's background job starts: SIGINT ignored, inherited by workers
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _default_sigint():  # as a terminal's foreground job starts, whatever started the tests
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _finish(procs, timeout=400):
    outs = [p.communicate(timeout=timeout) for p in procs]
    for p, (_, err) in zip(procs, outs, strict=True):
        assert p.returncode == 0, err
        assert "Traceback" not in err
    return outs


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_four_workers_first_start_together_each_point_once(backend, tmp_path, request):
    """4 `gridsearch run` processes started at the same moment on an empty store: no crash (the
    study is created once, whoever comes first), and every point is trained exactly once."""
    url = request.getfixturevalue("postgres_url") if backend == "postgres" else None
    path = grid_config(tmp_path, f"first_{backend}", storage=url)
    procs = [_start("run", path, "--no-progress", "--threads", "1", cwd=tmp_path)
             for _ in range(4)]
    _finish(procs)
    f = figures(path)
    report(f"concurrent first start, 4 workers, {backend}", f)
    assert f["duplicates"] == 0 and f["skipped"] == 0
    assert f["trials"] == f["points"]
    assert f["workers"] >= 2  # the work really was shared


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_run_with_four_workers_each_point_once(backend, tmp_path, request):
    """`gridsearch run --workers 4`: one init, four worker processes, each point exactly once;
    a late worker then finds nothing left and exits 0."""
    url = request.getfixturevalue("postgres_url") if backend == "postgres" else None
    path = grid_config(tmp_path, f"pool_{backend}", storage=url)
    r = cli("run", path, "--workers", "4", "--no-progress", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "4 workers on cpu" in r.stdout
    f = figures(path)
    report(f"run --workers 4, {backend}", f)
    assert f["duplicates"] == 0 and f["skipped"] == 0 and f["trials"] == f["points"]
    late = cli("worker", path, cwd=tmp_path)
    assert late.returncode == 0 and "nothing left" in late.stdout, late.stderr
    assert figures(path)["trials"] == f["points"]


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_sigkill_mid_trial_point_is_retried(backend, tmp_path, request):
    """SIGKILL one of 3 workers while it trains: its trial is failed by heartbeat (1 s beats, 3 s
    grace) and another worker trains the point; the study completes with every point once."""
    url = request.getfixturevalue("postgres_url") if backend == "postgres" else None
    extra = "\n[workers]\nheartbeat_interval = 1.0\ngrace_period = 3.0\n"
    path = grid_config(tmp_path, f"kill_{backend}", storage=url, extra=extra, sleep=1.0)
    r = cli("init", path, cwd=tmp_path)
    assert r.returncode == 0 and "created" in r.stdout, r.stderr
    procs = [_start("worker", path, "--no-progress", "--threads", "1", cwd=tmp_path)
             for _ in range(3)]
    pids = {p.pid: p for p in procs}
    storage = open_storage(url or config.storage_url(config.load(path)), heartbeat=False)
    victim = None
    deadline = time.time() + 300
    while victim is None and time.time() < deadline:  # a trial that is training, in one of ours
        for t in storage.get_all_trials(storage.get_study_id_from_name(f"kill_{backend}"),
                                        deepcopy=False, states=(TrialState.RUNNING,)):
            pid = int(t.user_attrs.get("worker", ":0").rsplit(":", 1)[1])
            if t.user_attrs.get("feasible") and pid in pids:
                victim, victim_pid = t, pid
                os.kill(pid, signal.SIGKILL)
                break
        time.sleep(0.05)
    assert victim is not None, "no trial was seen training"
    killed = pids.pop(victim_pid)
    killed.wait(30)
    assert killed.returncode == -signal.SIGKILL
    _finish(list(pids.values()))
    after = storage.get_trial(victim._trial_id)
    assert after.state == TrialState.FAIL and "error" not in after.user_attrs  # by heartbeat
    f = figures(path)
    report(f"SIGKILL of 1 of 3 workers mid-trial, {backend}", f)
    assert f["duplicates"] == 0 and f["skipped"] == 0
    assert f["retries"] == 1 and f["trials"] == f["points"] + 1


@pytest.mark.parametrize("how", ["SIGINT", "SIGTERM, SIGINT ignored"])
def test_ctrl_c_stops_the_workers_cleanly(tmp_path, how):
    """SIGINT to `run --workers 2` (or SIGTERM to one started as a background job, ignoring SIGINT,
    which its workers inherit): the workers stop within seconds, their running trials are FAIL
    (interrupted), none is left RUNNING, the exit status is 130; a re-run then completes every
    point once."""
    path = grid_config(tmp_path, "ctrlc", sleep=1.5, min_points=3)  # long trials, few points
    p = _start("run", path, "--workers", "2", "--no-progress", cwd=tmp_path,
               preexec_fn=_default_sigint if how == "SIGINT" else _ignore_sigint)
    storage = None
    deadline = time.time() + 300
    while time.time() < deadline:
        if (tmp_path / "ctrlc.db").exists():
            storage = storage or open_storage(config.storage_url(config.load(path)), heartbeat=False)
            try:
                sid = storage.get_study_id_from_name("ctrlc")
            except KeyError:
                continue
            if storage.get_all_trials(sid, deepcopy=False, states=(TrialState.RUNNING,)):
                break
        time.sleep(0.1)
    p.send_signal(signal.SIGINT if how == "SIGINT" else signal.SIGTERM)
    t0 = time.time()
    out, err = p.communicate(timeout=120)
    assert p.returncode == 130, err
    assert time.time() - t0 < STOP_TIMEOUT_S / 2  # stopped, not killed after the timeout
    assert "Traceback" not in err
    trials = storage.get_all_trials(sid, deepcopy=False)
    assert not [t for t in trials if t.state == TrialState.RUNNING]
    interrupted = [t for t in trials if t.user_attrs.get("interrupted")]
    assert interrupted and all(t.state == TrialState.FAIL for t in interrupted)
    Search(config.load(path)).run()
    f = figures(path)
    report("Ctrl-C of run --workers 2, then resume", f)
    assert f["duplicates"] == 0 and f["skipped"] == 0


FAILING = OWN_TRAIN + '''

def failing(model, ctx):
    """Fails while a file named FAIL lies beside this module."""
    import os

    if os.path.exists(os.path.join(os.path.dirname(__file__), "FAIL")):
        raise RuntimeError("the FAIL file is there")
    return fit(model, ctx)
'''


def test_retry_failed_reruns_error_failed_points_once(tiny_config):
    """Points whose trial failed with an error stay failed on a plain re-run, and are trained again
    (once each, even when they fail again) with retry_failed / --retry-failed."""
    path = own_training(tiny_config(name="retry", mode="repair"), text=FAILING, function="failing")
    cfg = config.load(path)
    (path.parent / "FAIL").write_text("")
    first = Search(cfg).run()
    failed = {o.number for o in first if o.state == "FAIL"}
    assert failed and all("the FAIL file is there" in o.attrs["error"]
                          for o in first if o.state == "FAIL")
    assert Search(cfg).run() == []                        # not retried unless asked
    again = Search(cfg).run(retry_failed=True)            # still failing: each retried once
    assert len(again) == len(failed) and all(o.state == "FAIL" for o in again)
    (path.parent / "FAIL").unlink()
    r = cli("run", cfg.path, "--retry-failed", "--no-progress")
    assert r.returncode == 0, r.stderr
    study = Search(cfg).study(create=False)
    ok = Counter(t.user_attrs["point_index"] for t in study.trials if t.state != TrialState.FAIL)
    assert sorted(ok) == list(range(len(cfg.points()))) and set(ok.values()) == {1}
