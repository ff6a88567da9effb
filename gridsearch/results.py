"""Reading a study back: the trials table and the best feasible trial."""

from __future__ import annotations

from typing import Any

import optuna
import pandas as pd
from optuna.trial import FrozenTrial, TrialState

from .errors import GridsearchError

COLUMNS = ["number", "alpha", "beta", "gamma", "resolution", "effective_gamma", "flops_ratio",
           "flops", "params", "activations", "accuracy", "state", "verdict"]


def state_of(t: FrozenTrial) -> str:
    """A trial's state as users read it: INFEASIBLE is a pruned trial the budget rejected."""
    if t.state == TrialState.PRUNED and t.user_attrs.get("verdict") == "infeasible":
        return "INFEASIBLE"
    return t.state.name


def trials_table(study: optuna.Study) -> pd.DataFrame:
    rows = []
    for t in study.get_trials(deepcopy=False):
        u = t.user_attrs
        rows.append({
            "number": t.number,
            **{k: t.params.get(k) for k in ("alpha", "beta", "gamma")},
            **{k: u.get(k) for k in ("resolution", "effective_gamma", "flops_ratio", "flops",
                                     "params", "activations", "verdict", "train_seconds",
                                     "depth_mult", "width_mult", "layout", "error")},
            "accuracy": t.value if t.state == TrialState.COMPLETE else None,
            "state": state_of(t),
        })
    df = pd.DataFrame(rows, columns=COLUMNS + ["train_seconds", "depth_mult", "width_mult",
                                               "layout", "error"])
    return df


def feasible_complete(study: optuna.Study) -> list[FrozenTrial]:
    return [t for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
            if t.user_attrs.get("feasible", False) and t.value is not None]


def best_trial(study: optuna.Study) -> FrozenTrial:
    """The best feasible, finished trial; ties go to fewer measured FLOPs.

    Chosen here, not by the dashboard (which ignores Optuna 5 constraints).
    """
    trials = feasible_complete(study)
    if not trials:
        raise GridsearchError(f"study {study.study_name!r} has no feasible finished trial yet")
    return max(trials, key=lambda t: (t.value, -t.user_attrs.get("flops", 0), -t.number))


def trial_summary(t: FrozenTrial) -> dict[str, Any]:
    u = t.user_attrs
    keys = ("depth_mult", "width_mult", "resolution", "effective_gamma", "flops", "flops_ratio",
            "params", "activations", "train_seconds", "layout")
    return {"trial": t.number, "accuracy": t.value, **t.params, **{k: u.get(k) for k in keys},
            "history": [t.intermediate_values[k] for k in sorted(t.intermediate_values)]}
