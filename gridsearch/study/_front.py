"""A study's answer as ``gridsearch best --json`` exports it: the selected point with its value
over seeds and how sure the choice is (one objective; the report's ``best`` is the same
document), or the Pareto front of its feasible, finished trials (several objectives, stored on the
study as the user attribute ``pareto``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from optuna.trial import TrialState

from gridsearch.errors import GridsearchError
from gridsearch.selection import front
from gridsearch.study._record import TrialRecord, read

if TYPE_CHECKING:
    import optuna

    from gridsearch.selection import Selection
    from gridsearch.study._search import Search


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


def selected_export(search: Search, sel: Selection, records: list[TrialRecord],
                    confirmed: list[TrialRecord]) -> dict[str, Any]:
    """The selection's winner as ``best`` exports it: its first trial's :func:`summary`, the point,
    its value as ``[train] metric`` with mean, std, n and 95% CI over seeds, its trials and seeds,
    and the selection's source, margin, p-value, ties and verdict, the fidelity ladder's sentence
    and the check one φ up (the race's decision and the winner's P(best) when a race chose).
    ``records`` / ``confirmed``: the search's and the confirmation's trials, as ``sel`` was made
    from."""
    from gridsearch.study._climb import check_text, ladder_text

    w = sel.winner
    pool = (records if sel.source == "search" else confirmed if sel.source == "confirmation"
            else search.records_of(sel.study))      # a rung of the fidelity ladder
    mine = [r for r in pool if r.number in w.trials]
    metric = search.cfg.train.metric
    out = {**(summary(mine[0]) if mine else {}), **w.point.as_dict(),
           "metric": metric, "direction": search.cfg.train.direction, "value": w.value,
           metric: w.value, **{f"{metric}_{k}": v for k, v in w.summary.as_dict().items()},
           "study": w.study, "trial": w.refs[0], "trials": w.refs,
           "seeds": sorted(s for r in mine for s in r.seeds),
           "source": sel.source, "provisional": sel.provisional, "margin": sel.margin,
           "p_value": sel.test.p if sel.test else None,
           "ties": [t.point.as_dict() for t in sel.ties], "verdict": sel.verdict(),
           "ladder": ladder_text(search) or None, "checked": check_text(search, w.point)}
    if metric != "accuracy":
        out.pop("accuracy", None)      # summary()'s name for the first trial's value
    if sel.race is not None:
        out["race"] = sel.race.as_dict()
        out["p_best"] = _p_best(sel.race, w.point)
    return out


def _p_best(race: Any, point: Any) -> float | None:
    """The race's P(best) of ``point`` (None where it computed none)."""
    try:
        p: float | None = race.decision[point].p_best
        return p
    except (KeyError, AttributeError):
        return None


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
