"""A whole small study on SQLite, through the library and the real CLI.  The end-to-end run and
the NaN loss train for real; the tests of resuming and interrupting train with the tests' own
function (tests/helpers.py OWN_TRAIN)."""

import json

import optuna
import pytest

from gridsearch import config
from gridsearch.study import Search
from helpers import OWN_TRAIN, cli, own_training


@pytest.mark.slow
def test_tiny_study_end_to_end_through_cli(tiny_config, tmp_path):
    path = tiny_config(name="e2e", mode="reject")
    n_points = len(config.load(path).points())
    plan = cli("plan", path, "--json")
    assert plan.returncode == 0, plan.stderr
    planned = json.loads(plan.stdout)["candidates"]
    assert len(planned) == n_points

    r = cli("run", path, "--no-progress")
    assert r.returncode == 0, r.stderr
    assert "Traceback" not in r.stderr
    assert (tmp_path / "e2e.db").exists()

    status = json.loads(cli("status", path, "--json").stdout)
    assert len(status) == n_points
    assert {s["state"] for s in status} <= {"COMPLETE", "INFEASIBLE"}
    for row, p in zip(sorted(status, key=lambda s: s["number"]), planned, strict=True):
        assert row["flops_ratio"] == pytest.approx(p["ratio"], abs=1e-3)  # measured, same figures
        assert (row["state"] == "INFEASIBLE") == (p["verdict"] != "ok")

    study = optuna.load_study(study_name="e2e", storage=f"sqlite:///{tmp_path / 'e2e.db'}")
    done = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    assert done
    for t in done:
        for key in ("depth_mult", "width_mult", "resolution", "effective_gamma", "flops",
                    "flops_ratio", "params", "activations", "verdict", "train_seconds",
                    "images_per_second", "device"):
            assert key in t.user_attrs, key
        assert sorted(t.intermediate_values) == [1, 2]
        assert set(t.params) == {"alpha", "beta", "gamma"}

    best = json.loads(cli("best", path, "--json").stdout)
    assert best["accuracy"] == max(t.value for t in done)

    again = cli("run", path)
    assert again.returncode == 0 and "nothing left" in again.stdout
    assert len(optuna.load_study(study_name="e2e", storage=f"sqlite:///{tmp_path / 'e2e.db'}").trials) == n_points


@pytest.mark.slow
def test_resume_trains_only_what_is_left(tiny_config):
    cfg = config.load(own_training(tiny_config(name="resume", mode="repair")))
    first = Search(cfg).run(max_trials=2)
    assert len(first) == 2
    rest = Search(cfg).run()
    assert len(rest) == len(cfg.points()) - 2
    study = Search(cfg).study(create=False)
    points = [t.user_attrs["point_index"] for t in study.trials]
    assert sorted(points) == list(range(len(cfg.points())))  # each point exactly once


INTERRUPTING = OWN_TRAIN + '''

calls = []


def interrupting(model, ctx):
    """Ctrl-C in the first training run of this process, as a user presses it."""
    calls.append(ctx.seed)
    if len(calls) == 1:
        raise KeyboardInterrupt
    return fit(model, ctx)
'''


def test_interrupted_trial_is_failed_and_rerun(tiny_config):
    cfg = config.load(own_training(tiny_config(name="ctrlc"), text=INTERRUPTING,
                                   function="interrupting"))
    with pytest.raises(KeyboardInterrupt):
        Search(cfg).run()
    study = Search(cfg).study(create=False)
    failed = [t for t in study.trials if t.state == optuna.trial.TrialState.FAIL]
    assert len(failed) == 1 and failed[0].user_attrs["interrupted"]
    assert not [t for t in study.trials if t.state == optuna.trial.TrialState.RUNNING]
    Search(cfg).run()
    study = Search(cfg).study(create=False)
    finished = [t.user_attrs["point_index"] for t in study.trials
                if t.state != optuna.trial.TrialState.FAIL]
    assert sorted(finished) == list(range(len(cfg.points())))
    assert all(t.user_attrs.get("metrics", {}).get("train_loss") for t in study.trials
               if t.state == optuna.trial.TrialState.COMPLETE)   # trained by the function


@pytest.mark.slow
def test_nan_loss_fails_the_trial_and_the_study_goes_on(tiny_config, tmp_path, monkeypatch):
    """A network whose loss is not finite (here a user model that outputs NaN once it is wider
    than the baseline) fails its trial with the reason; the other points still train."""
    (tmp_path / "nanet.py").write_text(
        "import torch\nfrom torch import nn\n"
        "class Net(nn.Module):\n"
        "    def __init__(self, c, k, bad):\n"
        "        super().__init__()\n"
        "        self.body = nn.Sequential(nn.Conv2d(3, c, 3, padding=1), nn.ReLU(),\n"
        "                                  nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(c, k))\n"
        "        self.bad = bad\n"
        "    def forward(self, x):\n"
        "        y = self.body(x)\n"
        "        return y * float('nan') if self.bad else y\n"
        "def make(width_mult, depth_mult, num_classes):\n"
        "    return Net(max(1, int(16 * width_mult)), num_classes, width_mult > 0.3)\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    path = tiny_config(name="nan", mode="repair")
    path.write_text(path.read_text().replace('name = "resnet18"', 'name = "nanet:make"'))
    cfg = config.load(path)
    outcomes = Search(cfg).run()
    assert len(outcomes) == len(cfg.points())
    fails = [o for o in outcomes if o.state == "FAIL"]
    assert fails and all("non-finite" in o.attrs["error"] for o in fails)
    assert any(o.state != "FAIL" for o in outcomes)   # the study went on


def test_study_with_other_space_is_refused(tiny_config):
    cfg = config.load(tiny_config(name="same"))
    Search(cfg).study()
    raw = _raw(cfg)
    raw["search"]["tolerance"] = 0.3
    other = config.from_dict(raw, cfg.path)
    with pytest.raises(Exception, match="different config"):
        Search(other).study()


def _raw(cfg):
    d = cfg.as_dict()
    return {**d, "storage": cfg.storage}


def test_a_point_gets_the_same_initial_weights_whatever_ran_before(tiny_config):
    """Initial weights come from the study's seed, not from the process's random state, so a
    search and a later compare (or a re-run) train the same network."""
    import torch

    from gridsearch.measure import Realiser
    from gridsearch.scaling import Spec

    cfg = config.load(tiny_config())
    realiser = Realiser.of(cfg.model, seed=cfg.train.seed)
    spec = Spec.compound(cfg.points()[0])
    first = realiser.realise(spec).realised.module.state_dict()
    torch.randn(1000)  # move the global generator, as training another candidate would
    again = realiser.realise(spec).realised.module.state_dict()
    assert first.keys() == again.keys()
    assert all(torch.equal(first[k], again[k]) for k in first)
    state = torch.random.get_rng_state()
    realiser.realise(spec)
    assert torch.equal(state, torch.random.get_rng_state())  # and leaves the process's alone


def test_an_interrupt_while_a_trial_is_created_arrives_after_it():
    """Ctrl-C or SIGTERM inside study.ask() used to leave the new trial RUNNING (nobody held it):
    the search defers them over trial creation and delivers them right after."""
    import os
    import signal

    from gridsearch.study._loop import _interrupts_deferred

    done = []
    with pytest.raises(KeyboardInterrupt):
        with _interrupts_deferred():
            os.kill(os.getpid(), signal.SIGINT)
            done.append("trial held")
    assert done == ["trial held"]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler   # restored
    previous = signal.signal(signal.SIGTERM, signal.SIG_IGN)
    try:   # an ignored signal stays ignored
        with _interrupts_deferred():
            os.kill(os.getpid(), signal.SIGTERM)
        assert signal.getsignal(signal.SIGTERM) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGTERM, previous)
