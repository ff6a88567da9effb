"""The faster search (issue 6): constrained samplers, pruner records, fast vs simple training path.
The pruner's tests train with the tests' own function (tests/helpers.py OWN_TRAIN: its epoch
values climb to the final value), the training paths with the built-in trainer."""

import math
import statistics

import optuna
import pytest
from optuna.distributions import FloatDistribution

from gridsearch import config, models
from gridsearch.study import Search
from gridsearch.study._loop import _ask
from gridsearch.study._sampling import propose
from gridsearch.training import _data as data, _reference as reference, _trainer as trainer
from helpers import TINY, own_training


def _config(tmp_path, name, search_extra="", pruner="none", own=False):
    text = TINY.format(name=name, mode="reject", storage="").replace(
        "target = 2.0", f'target = 2.0\npruner = "{pruner}"\n{search_extra}')
    path = tmp_path / f"{name}.toml"
    path.write_text(text)
    if own:           # each epoch lasts 10 ms: a pruned trial has trained for a measurable time
        own_training(path, train="[train.args]\nsleep = 0.01")
    return config.load(path)


@pytest.mark.parametrize("sampler", ["tpe", "qmc", "random"])
def test_every_proposal_meets_the_constraint(tmp_path, sampler):
    """Continuous samplers propose α and β and solve γ: α·β²·γ² = target, all inside the ranges."""
    cfg = _config(tmp_path, sampler, f'sampler = "{sampler}"\nn_trials = 30')
    search = Search(cfg)
    study = search.study()
    s = cfg.search
    seen = set()
    for _ in range(30):
        trial = _ask(study, search.storage)
        p, share = propose(trial, cfg)
        assert share is None
        assert p.alpha * p.beta**2 * p.gamma**2 == pytest.approx(s.target, rel=1e-5)
        for v, r in ((p.alpha, s.alpha), (p.beta, s.beta), (p.gamma, s.gamma)):
            assert r.min - 1e-6 <= v <= r.max + 1e-6
        assert trial.params["alpha"] == pytest.approx(p.alpha, abs=1e-6)
        seen.add(p)
        study.tell(trial, -abs(p.alpha - 1.4))  # a signal for TPE to follow
    assert len(seen) >= 25  # proposals, not one point repeated


def _finished(study, value, epochs):
    dist = {k: FloatDistribution(1.0, 2.0) for k in ("alpha", "beta", "gamma")}
    study.add_trial(optuna.trial.create_trial(
        params={"alpha": 1.0, "beta": 1.0, "gamma": 1.0}, distributions=dist, value=value,
        intermediate_values={e: value for e in range(1, epochs + 1)}))


@pytest.mark.slow
def test_median_pruner_prunes_and_records_the_epoch(tmp_path):
    """Two finished trials at 100% accuracy every epoch: a run falls below their median after
    epoch 1 and is pruned there, recorded as such."""
    cfg = _config(tmp_path, "pruned", pruner="median", own=True)
    search = Search(cfg)
    study = search.study()
    for _ in range(2):
        _finished(study, 1.0, cfg.train.epochs)
    feasible = [i for i, c in enumerate(search.plan_candidates()) if c.verdict.feasible]
    outcomes = search.run(max_trials=len(feasible) + 5)
    trained = [o for o in outcomes if o.state != "INFEASIBLE"]
    assert trained and all(o.state == "PRUNED" for o in trained)
    for o in trained:
        t = study._storage.get_trial(study._storage.get_trial_id_from_study_id_trial_number(
            study._study_id, o.number))
        assert t.state == optuna.trial.TrialState.PRUNED
        assert t.user_attrs["epochs_done"] == 1 and list(t.intermediate_values) == [1]
        assert t.user_attrs["pruned_reason"] == "pruned after epoch 1"
        assert t.user_attrs["train_seconds"] > 0 and t.user_attrs["feasible"] is True
    assert search.remaining() == 0  # a pruned point is done, not retried


def test_no_pruner_trains_every_epoch(tmp_path):
    cfg = _config(tmp_path, "unpruned", pruner="none", own=True)
    search = Search(cfg)
    study = search.study()
    for _ in range(2):
        _finished(study, 1.0, cfg.train.epochs)
    done = [o for o in search.run(max_trials=2) if o.state == "COMPLETE"]
    assert done and all(o.attrs["epochs_done"] == cfg.train.epochs for o in done)


@pytest.mark.slow
def test_fast_path_matches_the_simple_path_on_cpu():
    """bf16 autocast + channels_last (the GPU path, run on the CPU) and the naive DataLoader loop
    reach the plain trainer's accuracy within the seed-to-seed noise measured here."""
    subsets = data.load_data("digits", train_size=256, val_size=128, seed=0)
    recipe = dict(epochs=2, batch_size=32, optimizer="adamw", lr=3e-3)
    acc = {"plain": [], "fast": [], "naive": []}
    for seed in (0, 1, 2):
        r = trainer.Recipe(**recipe, seed=seed)

        def net():
            return models.build("resnet18", 0.25, 0.5, 10).module

        acc["plain"].append(trainer.train(net(), subsets, 16, r, "cpu", precision="fp32").accuracy)
        acc["fast"].append(trainer.train(net(), subsets, 16, r, "cpu", precision="bf16").accuracy)
        acc["naive"].append(reference.naive_train(net(), subsets, 16, r, "cpu").accuracy)
    mean = {k: statistics.mean(v) for k, v in acc.items()}
    noise = max(statistics.stdev(v) for v in acc.values())
    print(acc, noise)
    assert mean["plain"] > 0.5  # it learns: a comparison of chance levels would prove nothing
    # the difference of two 3-seed means has a standard deviation of σ·√(2/3): allow 3 of them
    bound = max(3 * noise * math.sqrt(2 / 3), 0.05)
    assert abs(mean["fast"] - mean["plain"]) <= bound, (acc, bound)
    assert abs(mean["naive"] - mean["plain"]) <= bound, (acc, bound)
