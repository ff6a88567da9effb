"""What a trial is given to train: the samplers and pruners of a study config, and the proposal of
one point under α·β²·γ² = target.

Grid points are not sampled: the study loop claims a point (see :class:`~gridsearch.storage.
PointClaims`) and :class:`PointSampler` hands its coordinates to the trial.  TPE, QMC and random
propose α and β and solve γ, so every proposal meets the constraint exactly; a width-share search
proposes a and derives (α, β, γ) from it.
"""

from __future__ import annotations

import optuna

from gridsearch.config import StudyConfig
from gridsearch.scaling._space import Point, beta_bounds, solve_gamma, width_share_point

COEFFICIENTS = ("alpha", "beta", "gamma")


class Infeasible(Exception):
    """The candidate cannot be trained: over the budget or a limit (the message says why)."""


class PointSampler(optuna.samplers.BaseSampler):
    """Returns the parameters assigned to a trial number (a grid point's (α, β, γ) or width share);
    samples nothing itself."""

    def __init__(self) -> None:
        self._assigned: dict[int, dict[str, float]] = {}

    def assign(self, number: int, params: dict[str, float]) -> None:
        self._assigned[number] = params

    def infer_relative_search_space(self, study, trial):
        return {}

    def sample_relative(self, study, trial, search_space):
        return {}

    def sample_independent(self, study, trial, param_name, param_distribution):
        return self._assigned[trial.number][param_name]


def sampler(cfg: StudyConfig) -> optuna.samplers.BaseSampler:
    s = cfg.search
    if s.sampler == "grid":
        return PointSampler()
    if s.sampler == "tpe":
        return optuna.samplers.TPESampler(seed=s.seed, n_startup_trials=4)
    if s.sampler == "qmc":
        return optuna.samplers.QMCSampler(seed=s.seed, warn_independent_sampling=False)
    return optuna.samplers.RandomSampler(seed=s.seed)


def pruner(cfg: StudyConfig) -> optuna.pruners.BasePruner:
    p = cfg.search.pruner
    if p == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=0)
    if p == "hyperband":
        return optuna.pruners.HyperbandPruner(min_resource=1, max_resource=cfg.train.epochs)
    return optuna.pruners.NopPruner()


def grid_params(cfg: StudyConfig, index: int) -> dict[str, float]:
    """What :class:`PointSampler` hands the trial of grid point ``index``."""
    if cfg.search.width_share is not None and not cfg.search.points:
        return {"width_share": cfg.width_shares()[index]}
    return cfg.points()[index].as_dict()


def propose(trial: optuna.Trial, cfg: StudyConfig) -> Point:
    """The trial's point, suggested through Optuna (so samplers and the dashboard see it)."""
    s = cfg.search
    if s.width_share is not None and not s.points:
        share = trial.suggest_float("width_share", s.width_share.min, s.width_share.max)
        point = width_share_point(share, s.target)
        for k, v in point.as_dict().items():
            trial.set_user_attr(k, v)
        return point
    if s.points:  # an explicit list (a confirmation): the distributions span the listed points
        pts = cfg.points()
        return Point(*(trial.suggest_float(k, min(getattr(p, k) for p in pts),
                                           max(getattr(p, k) for p in pts)) for k in COEFFICIENTS))
    if s.sampler == "grid":
        return Point(*(trial.suggest_float(k, getattr(s, k).min, getattr(s, k).max)
                       for k in COEFFICIENTS))
    a = trial.suggest_float("alpha", s.alpha.min, s.alpha.max)
    bounds = beta_bounds(a, s.beta.to_range(), s.gamma.to_range(), s.target)
    if bounds is None:
        raise Infeasible(f"no beta in range gives gamma in range for alpha {a:.4f}")
    b = trial.suggest_float("beta", *bounds)
    g = solve_gamma(a, b, s.target)
    trial.set_user_attr("gamma", round(g, 6))   # solved, not sampled: a user attribute
    return Point(round(a, 6), round(b, 6), round(g, 6))
