"""The samplers and pruners a study config can name: one registry each, and the proposal of one
point under α·β²·γ² = target.

Adding a sampler is one entry in :data:`SAMPLERS` (its factory imports Optuna when called, so this
module stays light enough for config validation).  ``grid`` is not an Optuna sampler: the study's
plan assigns each trial its point (:class:`gridsearch.study._assigned.AssignedSampler`) after
claiming it.  The others propose α and β and solve γ, so every proposal meets the constraint
exactly; a width-share search proposes a and derives (α, β, γ) from it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from gridsearch.scaling import Point, beta_bounds, solve_gamma, width_share_point

if TYPE_CHECKING:
    import optuna

    from gridsearch.config import StudyConfig

COEFFICIENTS = ("alpha", "beta", "gamma")


class Infeasible(Exception):
    """The candidate cannot be trained: over the budget or a limit (the message says why)."""


@dataclass(frozen=True)
class Kind:
    """A registry entry: a name, what it does, and how to make it for a config."""

    description: str
    make: Callable[[StudyConfig], Any]


def _assigned(cfg):
    from gridsearch.study._assigned import AssignedSampler

    return AssignedSampler()


def _tpe(cfg):
    import optuna

    return optuna.samplers.TPESampler(seed=cfg.search.seed, n_startup_trials=4)


def _qmc(cfg):
    import optuna

    return optuna.samplers.QMCSampler(seed=cfg.search.seed, warn_independent_sampling=False)


def _random(cfg):
    import optuna

    return optuna.samplers.RandomSampler(seed=cfg.search.seed)


SAMPLERS: dict[str, Kind] = {
    "grid": Kind("every point of the constrained grid, each trained exactly once", _assigned),
    "tpe": Kind("Optuna's TPE proposes α and β; γ is solved", _tpe),
    "qmc": Kind("Optuna's quasi-Monte Carlo (Sobol) proposes α and β; γ is solved", _qmc),
    "random": Kind("random α and β; γ is solved", _random),
}


def _nop(cfg):
    import optuna

    return optuna.pruners.NopPruner()


def _median(cfg):
    import optuna

    return optuna.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=0)


def _hyperband(cfg):
    import optuna

    return optuna.pruners.HyperbandPruner(min_resource=1, max_resource=cfg.train.epochs)


PRUNERS: dict[str, Kind] = {
    "none": Kind("no pruning", _nop),
    "median": Kind("Optuna's median pruner over per-epoch accuracy", _median),
    "hyperband": Kind("Optuna's Hyperband over epochs", _hyperband),
}


def sampler(cfg: StudyConfig) -> optuna.samplers.BaseSampler:
    """The sampler of a study: an explicit point list (a confirmation) is assigned like a grid."""
    return SAMPLERS["grid" if cfg.search.points else cfg.search.sampler].make(cfg)


def pruner(cfg: StudyConfig) -> optuna.pruners.BasePruner:
    return PRUNERS[cfg.search.pruner].make(cfg)


def propose(trial: optuna.Trial, cfg: StudyConfig) -> tuple[Point, float | None]:
    """A sampler's point for ``trial`` (and its width share, if it searches those), suggested
    through Optuna so samplers and the dashboard see it; γ solved from α and β."""
    s = cfg.search
    if s.width_share is not None:
        share = trial.suggest_float("width_share", s.width_share.min, s.width_share.max)
        return width_share_point(share, s.target), share
    a = trial.suggest_float("alpha", s.alpha.min, s.alpha.max)
    bounds = beta_bounds(a, s.beta.to_range(), s.gamma.to_range(), s.target)
    if bounds is None:
        raise Infeasible(f"no beta in range gives gamma in range for alpha {a:.4f}")
    b = trial.suggest_float("beta", *bounds)
    g = solve_gamma(a, b, s.target)
    return Point(round(a, 6), round(b, 6), round(g, 6)), None
