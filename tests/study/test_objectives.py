"""Objectives: accuracy alone, with activations / latency limits, or several at once (Pareto).
The subject is the objectives, not training: the studies train with the tests' own function
(tests/helpers.py OWN_TRAIN: a value that grows with the network's parameters)."""

import json

import optuna
import pytest
from optuna.trial import TrialState

from gridsearch import config
from gridsearch.cli import main
from gridsearch.cli.common import write_json
from gridsearch.errors import ConfigError
from gridsearch.measure import ComplexityCounter
from gridsearch.selection import dominates, front
from gridsearch.study import Search, _objectives as objectives, pareto
from helpers import cli, own_training

MO = """
name = "{name}"
[model]
name = "resnet18"
base_resolution = 32
num_classes = 10
width_mult = 0.25

[data]
source = "digits"
train_size = 128
val_size = 64

[train]
epochs = 1
batch_size = 32
lr = 0.1
device = "cpu"

[search]
{space}
target = 2.0
sampler = "{sampler}"
n_trials = 3
seed = 1

[budget]
mode = "reject"
tolerance = 0.95

[objectives]
{objectives}
latency_batch = 2
latency_repeats = 2
latency_warmup = 1
"""
# Tiny networks round coarsely (any depth > 1 is a third block per stage): at 32 px these shares
# all measure 3.1–3.3× the baseline's FLOPs, within the (wide) budget.
SHARES = "width_share = { min = 0.0, max = 0.3, step = 0.15 }"
COEFFICIENTS = ("alpha = { min = 1.0, max = 2.0, step = 1.0 }\n"
                "beta = { min = 1.0, max = 1.5, step = 0.5 }\n"
                "gamma = { min = 1.0, max = 1.5, step = 0.5 }\ntolerance = 0.15")


@pytest.fixture
def mo_config(tmp_path):
    def make(name="mo", sampler="grid", space=SHARES,
             objectives='minimize = ["activations", "latency_ms"]'):
        path = tmp_path / f"{name}.toml"
        path.write_text(MO.format(name=name, sampler=sampler, space=space, objectives=objectives))
        return own_training(path)

    return make


@pytest.fixture(scope="module")
def counter():
    """One fvcore counter for the module: the same structures are traced once."""
    return ComplexityCounter()


# -- pure parts ----------------------------------------------------------------------------------
def test_dominance_and_front():
    dirs = ["maximize", "minimize"]
    assert dominates((0.9, 10), (0.8, 10), dirs)
    assert not dominates((0.9, 10), (0.9, 10), dirs)       # equal: neither dominates
    assert not dominates((0.9, 20), (0.8, 10), dirs)       # a trade-off
    points = [(0.9, 20), (0.8, 10), (0.85, 30), (0.9, 20), (0.7, 10)]
    assert front(points, dirs) == [0, 1, 3]                # ties stay; 2 and 4 are dominated
    with pytest.raises(ValueError):
        dominates((1,), (1, 2), dirs)


def test_limits_say_why():
    o = config.ObjectivesConfig(max_activations=1000, max_latency_ms=2.0)
    over = objectives.limits(o, {"activations": 1500, "latency_ms": 1.0})
    assert [(x.name, x.feasible) for x in over] == [("max_activations", False),
                                                     ("max_latency_ms", True)]
    assert over[0].value == pytest.approx(0.5)
    assert over[0].reason == "activations 1500 over max_activations 1000"
    assert objectives.limits(config.ObjectivesConfig(), {"activations": 1e12}) == []


@pytest.mark.parametrize("text,key", [
    ('[objectives]\nminimize = ["flops_ratio"]', "objectives.minimize[0]"),
    ('[objectives]\nminimize = "activations"', "objectives.minimize"),
    ('[objectives]\nminimize = ["activations", "activations"]', "objectives.minimize[1]"),
    ('[objectives]\nmax_latency_ms = -1', "objectives.max_latency_ms"),
    ('[objectives]\nlatency_batch = 0', "objectives.latency_batch"),
    ('[search]\npruner = "median"\n[objectives]\nminimize = ["activations"]', "search.pruner"),
    ('[search]\nwidth_share = { min = 0.5, max = 1.5, step = 0.5 }', "search.width_share"),
])
def test_bad_objectives_are_one_line_errors(tmp_path, text, key):
    path = tmp_path / "bad.toml"
    path.write_text(f'name = "bad"\n{text}\n')
    with pytest.raises(ConfigError) as e:
        config.load(path)
    assert key in str(e.value) and "\n" not in str(e.value)


def test_bad_objectives_through_the_cli(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text('name = "bad"\n[objectives]\nminimize = ["flops_ratio"]\n')
    r = cli("run", path)
    assert r.returncode == 2 and "objectives.minimize[0]" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and not (tmp_path / "bad.db").exists()


def test_output_is_written_atomically_or_refused(tmp_path):
    target = tmp_path / "front.json"
    write_json(str(target), {"a": [1, 2]})
    assert json.loads(target.read_text()) == {"a": [1, 2]}
    assert [p.name for p in tmp_path.iterdir()] == ["front.json"]  # no temporary file left
    with pytest.raises(ConfigError, match="--output: no such directory"):
        write_json(str(tmp_path / "no" / "front.json"), {})
    with pytest.raises(ConfigError, match="is a directory"):
        write_json(str(tmp_path), {})


def test_width_share_points_lie_on_the_constraint():
    cfg = config.from_dict({"name": "a", "search": {"width_share": {"min": 0, "max": 1,
                                                                    "step": 0.25}}})
    assert cfg.width_shares() == [0.0, 0.25, 0.5, 0.75, 1.0]
    for p in cfg.points():
        assert p.nominal_multiplier == pytest.approx(2.0, rel=1e-5)
    assert cfg.points()[-1].as_dict() == {"alpha": 1.0, "beta": 1.414214, "gamma": 1.0}


# -- studies ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("sampler,space", [("grid", SHARES), ("tpe", SHARES), ("qmc", SHARES),
                                           ("random", COEFFICIENTS), ("tpe", COEFFICIENTS)])
def test_multi_objective_with_every_sampler(mo_config, counter, sampler, space):
    cfg = config.load(mo_config(name=f"mo_{sampler}", sampler=sampler, space=space,
                                objectives='minimize = ["activations"]'))
    outcomes = Search(cfg, counter=counter).run()
    study = Search(cfg).study(create=False)
    assert [d.name for d in study.directions] == ["MAXIMIZE", "MINIMIZE"]
    assert len(outcomes) == 3
    done = [t for t in study.trials if t.state == TrialState.COMPLETE]
    assert done, [o.attrs.get("budget_reason") for o in outcomes]
    for t in done:
        assert t.values == [t.user_attrs["accuracy"], t.user_attrs["activations"]]
    stored = study.user_attrs["pareto"]
    assert [x["number"] for x in stored["trials"]] == sorted(r.number for r in pareto(study))
    optuna_front = {t.number for t in study.best_trials if t.user_attrs.get("feasible")}
    assert {x["number"] for x in stored["trials"]} == optuna_front


def test_single_objective_is_unchanged(mo_config, counter):
    cfg = config.load(mo_config(name="single", objectives="latency = true"))
    outcomes = Search(cfg, counter=counter).run()
    study = Search(cfg).study(create=False)
    assert study.direction == optuna.study.StudyDirection.MAXIMIZE and len(study.directions) == 1
    assert "pareto" not in study.user_attrs
    for o in outcomes:
        if o.state == "COMPLETE":
            assert o.attrs["latency_ms"] > 0 and o.attrs["train_step_ms"] > 0
            assert o.attrs["latency_device"] == "cpu" and o.attrs["latency_batch"] == 2


def test_limits_make_candidates_infeasible_with_the_reason(mo_config, counter):
    cfg = config.load(mo_config(name="lim", objectives="max_latency_ms = 1e-9"))
    outcomes = Search(cfg, counter=counter).run()
    assert outcomes and all(o.state == "INFEASIBLE" for o in outcomes)
    assert all("over max_latency_ms" in o.attrs["budget_reason"] for o in outcomes)
    study = Search(cfg).study(create=False)
    for t in study.trials:
        assert t.state == TrialState.PRUNED and t.user_attrs["feasible"] is False
        assert "train_seconds" not in t.user_attrs  # not trained

    cfg = config.load(mo_config(name="acts", objectives="max_activations = 28000"))
    outcomes = {o.attrs["activations"]: o for o in Search(cfg, counter=counter).run()}
    assert min(outcomes) < 28000 < max(outcomes)
    for acts, o in outcomes.items():
        assert (o.state == "INFEASIBLE") == (acts > 28000), (acts, o.state)
        if acts > 28000:
            assert o.attrs["budget_reason"] == f"activations {acts} over max_activations 28000"
    assert "latency_ms" not in next(iter(outcomes.values())).attrs  # not timed unless asked


@pytest.mark.slow
def test_multi_objective_study_end_to_end_exports_its_front(mo_config, tmp_path, capsys):
    """Through the command line (in-process): run, then best, best --json --output."""
    path = mo_config(name="e2e_mo")
    assert main(["run", str(path), "--no-progress"]) == 0
    assert main(["best", str(path)]) == 0
    assert "Pareto front" in capsys.readouterr().out
    out = tmp_path / "front.json"
    assert main(["best", str(path), "--json", "--output", str(out)]) == 0
    export = json.loads(capsys.readouterr().out)
    assert json.loads(out.read_text()) == export

    study = optuna.load_study(study_name="e2e_mo", storage=f"sqlite:///{tmp_path / 'e2e_mo.db'}")
    names = ["accuracy", "activations", "latency_ms"]
    assert [o["name"] for o in export["objectives"]] == names
    dirs = [o["direction"] for o in export["objectives"]]
    assert dirs == ["maximize", "minimize", "minimize"]
    trials = {t.number: t for t in study.trials}
    feasible = [t for t in trials.values()
                if t.state == TrialState.COMPLETE and t.user_attrs["feasible"]]
    assert len(feasible) == 3
    on_front = [x["trial"] for x in export["front"]]
    vectors = {x["trial"]: [x["values"][n] for n in names] for x in export["front"]}
    for n, v in vectors.items():  # the export is what the store holds
        assert v == trials[n].values
        assert trials[n].user_attrs["latency_ms"] > 0
    for a in on_front:            # non-dominated …
        assert not any(dominates(vectors[b], vectors[a], dirs) for b in on_front)
    for t in feasible:            # … and everything left off is dominated
        if t.number not in on_front:
            assert any(dominates(vectors[b], t.values, dirs) for b in on_front)
    assert sorted(on_front) == [x["number"] for x in study.user_attrs["pareto"]["trials"]]


def test_report_of_a_multi_objective_study_draws_optunas_pareto_front(mo_config, counter,
                                                                       tmp_path, capsys):
    path = mo_config(name="mo_report", sampler="grid", space=COEFFICIENTS,
                     objectives='minimize = ["activations"]')
    cfg = config.load(path)
    Search(cfg, counter=counter).run()
    assert main(["report", str(path), "-o", str(tmp_path / "report")]) == 0, capsys.readouterr().err
    png = tmp_path / "report" / "pareto_front.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 5000
    import matplotlib.image
    import numpy as np

    img = matplotlib.image.imread(png)
    assert float(np.std(img[..., :3])) > 0.01
