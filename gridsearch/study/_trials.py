"""Reading a study back: the trials table, the best feasible trial, and the Pareto front."""

from __future__ import annotations

from typing import Any

import optuna
import pandas as pd
from optuna.trial import FrozenTrial, TrialState

from gridsearch.errors import GridsearchError
from gridsearch.study._pareto import front

COLUMNS = ["number", "alpha", "beta", "gamma", "resolution", "effective_gamma", "flops_ratio",
           "flops", "params", "activations", "accuracy", "state", "verdict"]
EXTRA = ["width_share", "latency_ms", "train_step_ms", "train_seconds", "depth_mult", "width_mult",
         "layout", "error"]


def state_of(t: FrozenTrial) -> str:
    """A trial's state as users read it: INFEASIBLE is a pruned trial the budget rejected."""
    if t.state == TrialState.PRUNED and t.user_attrs.get("verdict") == "infeasible":
        return "INFEASIBLE"
    return t.state.name


def accuracy_of(t: FrozenTrial) -> float | None:
    """The validation accuracy of a complete trial (its first objective), else None."""
    if t.state != TrialState.COMPLETE or t.values is None:
        return None
    return t.values[0]


def _coefficient(t: FrozenTrial, key: str) -> Any:
    # Sampled (α, β, γ), or derived from the sampled width share (then a user attribute).
    return t.params.get(key, t.user_attrs.get(key))


def trials_table(study: optuna.Study) -> pd.DataFrame:
    rows = []
    for t in study.get_trials(deepcopy=False):
        u = t.user_attrs
        rows.append({
            "number": t.number,
            **{k: _coefficient(t, k) for k in ("alpha", "beta", "gamma")},
            **{k: u.get(k) for k in ("resolution", "effective_gamma", "flops_ratio", "flops",
                                     "params", "activations", "verdict", "latency_ms",
                                     "train_step_ms", "train_seconds", "depth_mult", "width_mult",
                                     "layout", "error")},
            "width_share": t.params.get("width_share"),
            "accuracy": accuracy_of(t),
            "state": state_of(t),
        })
    return pd.DataFrame(rows, columns=COLUMNS + EXTRA)


def feasible_complete(study: optuna.Study) -> list[FrozenTrial]:
    return [t for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
            if t.user_attrs.get("feasible", False) and t.values is not None]


def best_trial(study: optuna.Study) -> FrozenTrial:
    """The best feasible, finished trial by accuracy; ties go to fewer measured FLOPs.

    Chosen here, not by the dashboard (which ignores Optuna 5 constraints).
    """
    trials = feasible_complete(study)
    if not trials:
        raise GridsearchError(f"study {study.study_name!r} has no feasible finished trial yet")
    return max(trials, key=lambda t: (t.values[0], -t.user_attrs.get("flops", 0), -t.number))


def objective_names(study: optuna.Study) -> list[str]:
    names = study.user_attrs.get("objectives")
    return list(names) if names else ["accuracy"] + [f"objective_{i}"
                                                     for i in range(1, len(study.directions))]


def pareto_trials(study: optuna.Study) -> list[FrozenTrial]:
    """The non-dominated feasible, complete trials, most accurate first."""
    trials = feasible_complete(study)
    if not trials:
        raise GridsearchError(f"study {study.study_name!r} has no feasible finished trial yet")
    dirs = [d.name.lower() for d in study.directions]
    on_front = [trials[i] for i in front([t.values for t in trials], dirs)]
    return sorted(on_front, key=lambda t: (-t.values[0], t.number))


def trial_summary(t: FrozenTrial) -> dict[str, Any]:
    u = t.user_attrs
    keys = ("depth_mult", "width_mult", "resolution", "effective_gamma", "flops", "flops_ratio",
            "params", "activations", "train_seconds", "layout")
    timed = {k: u[k] for k in ("latency_ms", "train_step_ms", "latency_batch", "latency_device")
             if k in u}
    coefficients = {k: _coefficient(t, k) for k in ("alpha", "beta", "gamma")}
    history = ([t.intermediate_values[k] for k in sorted(t.intermediate_values)]
               or list(u.get("accuracy_history", [])))
    return {"trial": t.number, "accuracy": accuracy_of(t), **coefficients, **t.params,
            **{k: u.get(k) for k in keys}, **timed, "history": history}


def store_front(study: optuna.Study) -> dict[str, Any]:
    """Store the current Pareto front as the study user attribute ``pareto`` (objective names,
    directions, each front trial's number and values) and return it."""
    names = objective_names(study)
    try:
        trials = sorted(pareto_trials(study), key=lambda t: t.number)
    except GridsearchError:
        trials = []
    stored = {"objectives": names, "directions": [d.name.lower() for d in study.directions],
              "trials": [{"number": t.number, "values": dict(zip(names, t.values))}
                         for t in trials]}
    study.set_user_attr("pareto", stored)
    return stored


def front_export(study: optuna.Study) -> dict[str, Any]:
    """The Pareto front as exported by ``gridsearch best --json``: objectives, directions, and each
    front trial's objective values and summary."""
    names = objective_names(study)
    dirs = [d.name.lower() for d in study.directions]
    return {"study": study.study_name,
            "objectives": [{"name": n, "direction": d} for n, d in zip(names, dirs)],
            "front": [{"trial": t.number, "values": dict(zip(names, t.values)), **trial_summary(t)}
                      for t in pareto_trials(study)],
            "n_complete": len(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)))}
