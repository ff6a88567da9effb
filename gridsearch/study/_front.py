"""A multi-objective study's answer: the Pareto front of its feasible, finished trials, stored on
the study (user attribute ``pareto``) and exported by ``gridsearch best --json``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from optuna.trial import TrialState

from gridsearch.errors import GridsearchError
from gridsearch.selection import front
from gridsearch.study._record import TrialRecord, read

if TYPE_CHECKING:
    import optuna


def objective_names(study: optuna.Study) -> list[str]:
    names = study.user_attrs.get("objectives")
    return list(names) if names else ["accuracy"] + [f"objective_{i}"
                                                     for i in range(1, len(study.directions))]


def pareto(study: optuna.Study) -> list[TrialRecord]:
    """The non-dominated feasible, complete trials, best in the first objective first."""
    done = [(r, r.values) for r in read(study, (TrialState.COMPLETE,)) if r.feasible and r.values]
    if not done:
        raise GridsearchError(f"study {study.study_name!r} has no feasible finished trial yet")
    dirs = [d.name.lower() for d in study.directions]
    on_front = [done[i] for i in front([values for _, values in done], dirs)]
    sign = -1.0 if dirs[0] == "maximize" else 1.0
    return [r for r, _ in sorted(on_front, key=lambda rv: (sign * rv[1][0], rv[0].number))]


SUMMARY = ("depth_mult", "width_mult", "resolution", "effective_gamma", "flops", "flops_ratio",
           "params", "activations", "train_seconds", "layout", "latency_ms", "train_step_ms",
           "latency_batch", "latency_device", "peak_memory_mb", "peak_memory_kind")


def summary(r: TrialRecord) -> dict[str, Any]:
    """A trial as ``best`` prints and exports it."""
    row = r.row()
    return {"study": r.study, "trial": r.number, "accuracy": r.mean_accuracy,
            **(r.point.as_dict() if r.point else {}), **r.sampled,
            **{k: row[k] for k in SUMMARY if row.get(k) is not None}, "seeds": list(r.seeds),
            "history": list(r.history)}


def store_front(study: optuna.Study) -> dict[str, Any]:
    """Store the Pareto front as the study user attribute ``pareto`` and return it."""
    names = objective_names(study)
    try:
        members = sorted(pareto(study), key=lambda r: r.number)
    except GridsearchError:
        members = []
    stored = {"objectives": names, "directions": [d.name.lower() for d in study.directions],
              "trials": [{"number": r.number, "values": dict(zip(names, r.values or (), strict=True))}
                         for r in members]}
    study.set_user_attr("pareto", stored)
    return stored


def front_export(study: optuna.Study) -> dict[str, Any]:
    """The Pareto front as ``gridsearch best --json`` exports it."""
    names = objective_names(study)
    dirs = [d.name.lower() for d in study.directions]
    return {"study": study.study_name,
            "objectives": [{"name": n, "direction": d} for n, d in zip(names, dirs, strict=True)],
            "front": [{"values": dict(zip(names, r.values or (), strict=True)), **summary(r)}
                      for r in pareto(study)],
            "n_complete": len(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)))}
