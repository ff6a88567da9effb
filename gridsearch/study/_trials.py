"""Reading a study back, one way for every kind of study.

:func:`read` turns Optuna's trials into :class:`Record`\\ s: the state as users read it (INFEASIBLE
is a pruned trial the budget rejected), the point (α, β, γ) whether it was sampled or derived from a
width share, the accuracy (the first objective, also of a multi-objective study), the seed(s) it was
trained with, and every measured figure.  :func:`rank` merges the records of one point (several seeds,
re-runs by workers) into one :class:`Ranked` candidate with its mean, spread and n, and
:func:`select` is THE selection rule every command uses (freeze, export, compare, report, best,
the dashboard notes):

* the candidates are the confirmation study's points when there is one, else the search's;
* the winner has the best mean accuracy (ties: fewer measured FLOPs, then the earlier trial);
* every candidate whose accuracies are not significantly lower than the winner's (Welch's t-test,
  p ≥ 0.05) is named a tie; with a single seed there is no noise estimate and nothing is a tie,
  which :class:`Selection` says.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from statistics import fmean
from typing import TYPE_CHECKING, Any, Iterable

from optuna.trial import FrozenTrial, TrialState

from gridsearch import stats
from gridsearch.errors import GridsearchError
from gridsearch.scaling._space import Point
from gridsearch.study._pareto import front

if TYPE_CHECKING:
    import optuna
    import pandas as pd

COLUMNS = ["number", "alpha", "beta", "gamma", "seed", "resolution", "effective_gamma",
           "flops_ratio", "flops", "params", "activations", "accuracy", "state", "verdict"]
EXTRA = ["width_share", "strategy", "latency_ms", "train_step_ms", "peak_memory_mb",
         "train_seconds", "depth_mult", "width_mult", "layout", "error"]
FIGURES = ("resolution", "effective_gamma", "flops_ratio", "flops", "params", "activations",
           "verdict", "latency_ms", "train_step_ms", "peak_memory_mb", "train_seconds",
           "depth_mult", "width_mult", "layout", "error")
COEFFICIENTS = ("alpha", "beta", "gamma")


@dataclass(frozen=True)
class Record:
    """One trial as gridsearch reads it."""

    number: int
    state: str                         # COMPLETE, INFEASIBLE, PRUNED, FAIL, RUNNING, WAITING
    point: Point | None                # None for a compare study's trial (see ``strategy``)
    accuracy: float | None             # mean over the trial's seeds; None unless COMPLETE
    accuracies: tuple[float, ...]      # one per seed the trial trained
    values: tuple[float, ...] | None   # every objective, accuracy first
    seeds: tuple[int, ...]
    attrs: dict[str, Any]
    params: dict[str, Any]
    history: tuple[float, ...]         # accuracy after each epoch (the first seed's)

    @property
    def feasible(self) -> bool:
        return bool(self.attrs.get("feasible", False))

    @property
    def strategy(self) -> str | None:
        return self.params.get("strategy")

    @property
    def width_share(self) -> float | None:
        return self.params.get("width_share")

    def get(self, key: str, default: Any = None) -> Any:
        return self.attrs.get(key, default)


def state_of(t: FrozenTrial) -> str:
    if t.state == TrialState.PRUNED and t.user_attrs.get("verdict") == "infeasible":
        return "INFEASIBLE"
    return t.state.name


def record(t: FrozenTrial) -> Record:
    u = t.user_attrs
    # Sampled, or derived (a width share's point, TPE's solved γ; "gamma_solved" in older studies).
    coefficients = [t.params.get(k, u.get(k, u.get(f"{k}_solved"))) for k in COEFFICIENTS]
    point = Point(*map(float, coefficients)) if None not in coefficients else None
    accuracies: tuple[float, ...] = ()
    values = tuple(t.values) if t.state == TrialState.COMPLETE and t.values is not None else None
    if values is not None:
        accuracies = tuple(float(a) for a in u.get("seed_accuracies") or [values[0]])
    seeds = tuple(int(s) for s in u.get("seeds") or ([u["seed"]] if "seed" in u else []))
    history = tuple(t.intermediate_values[k] for k in sorted(t.intermediate_values)) \
        or tuple(u.get("accuracy_history", ()))
    return Record(t.number, state_of(t), point, fmean(accuracies) if accuracies else None,
                  accuracies, values, seeds, dict(u), dict(t.params), history)


def read(study: "optuna.Study", states: Iterable[TrialState] | None = None) -> list[Record]:
    """Every trial of ``study`` (or those in ``states``), as records, by number."""
    return [record(t) for t in study.get_trials(deepcopy=False,
                                                states=tuple(states) if states else None)]


def rows(records: list[Record]) -> list[dict[str, Any]]:
    """One flat row per trial, every column of :data:`COLUMNS` and :data:`EXTRA`."""
    out = []
    for r in records:
        p = r.point.as_dict() if r.point else dict.fromkeys(COEFFICIENTS)
        out.append({"number": r.number, **p, "seed": ",".join(map(str, r.seeds)) or None,
                    **{k: r.attrs.get(k) for k in FIGURES}, "width_share": r.width_share,
                    "strategy": r.strategy, "accuracy": r.accuracy, "state": r.state})
    return out


def trials_table(records: list[Record]) -> "pd.DataFrame":
    """:func:`rows` as a DataFrame (the report's trials.csv)."""
    import pandas as pd

    return pd.DataFrame(rows(records), columns=COLUMNS + EXTRA)


# -- one point over its seeds -------------------------------------------------------------------
def key(point: Point) -> tuple[float, float, float]:
    """How trials of one point are matched (rounded against float noise)."""
    return (round(point.alpha, 6), round(point.beta, 6), round(point.gamma, 6))


@dataclass(frozen=True)
class Ranked:
    """One point among the feasible, finished trials, every seed and re-run merged."""

    point: Point
    accuracies: tuple[float, ...]
    trials: tuple[int, ...]
    flops: int
    effective_gamma: float
    width_share: float | None = None

    @cached_property
    def summary(self) -> stats.Summary:
        """Mean, std, n and 95% CI of the accuracies, the CI within [0, 1] (computed once: the CI
        inverts Student's t)."""
        return stats.summarise(self.accuracies, bounds=(0.0, 1.0))

    @property
    def value(self) -> float:
        return self.summary.mean

    @property
    def runs(self) -> int:
        return len(self.accuracies)


def rank(records: Iterable[Record]) -> list[Ranked]:
    """Feasible, complete points, best first (mean accuracy ↓, measured FLOPs ↑, first trial ↑)."""
    groups: dict[tuple[float, float, float], list[Record]] = {}
    for r in records:
        if r.state == "COMPLETE" and r.feasible and r.point is not None and r.accuracies:
            groups.setdefault(key(r.point), []).append(r)
    out = []
    for k, rs in groups.items():
        rs.sort(key=lambda r: r.number)
        first = rs[0]
        out.append(Ranked(Point(*k), tuple(a for r in rs for a in r.accuracies),
                          tuple(r.number for r in rs), int(first.get("flops", 0) or 0),
                          float(first.get("effective_gamma", k[2])), first.width_share))
    out.sort(key=lambda c: (-c.value, c.flops, c.trials[0]))
    return out


@dataclass(frozen=True)
class Selection:
    """The chosen point, how sure the choice is, and what it rests on."""

    source: str                     # "search" or "confirmation"
    study: str                      # the study whose trials were ranked
    ranked: list[Ranked]            # best first
    ties: list[Ranked] = field(default_factory=list)   # not significantly worse than the winner
    test: stats.Test | None = None  # winner vs runner-up

    @property
    def winner(self) -> Ranked:
        return self.ranked[0]

    @property
    def runner_up(self) -> Ranked | None:
        return self.ranked[1] if len(self.ranked) > 1 else None

    @property
    def margin(self) -> float | None:
        return None if self.runner_up is None else self.winner.value - self.runner_up.value

    def verdict(self) -> str:
        """One plain sentence on how sure the winner is."""
        if self.runner_up is None:
            return "only one feasible point: nothing to compare it with"
        if self.test is None:
            return ("no noise estimate (one seed per point): set [train] seeds ≥ 2 or run "
                    "`gridsearch confirm` before trusting the margin")
        if not self.ties:
            return (f"the winner is significantly better than the runner-up "
                    f"(Welch p = {self.test.p:.3g})")
        n = len(self.ties) + 1
        return (f"the top {n} are indistinguishable at this noise (runner-up p = {self.test.p:.3g}):"
                " raise seeds or fidelity")


def select(search_records: list[Record], study_name: str,
           confirmation: list[Record] | None = None, confirm_name: str = "") -> Selection:
    """The selection rule (see the module docstring). :class:`GridsearchError` when nothing is
    feasible and finished."""
    source, name, ranked = "search", study_name, rank(search_records)
    if confirmation:
        confirmed = rank(confirmation)
        if confirmed:
            source, name, ranked = "confirmation", confirm_name, confirmed
    if not ranked:
        counts: dict[str, int] = {}
        for r in search_records:
            counts[r.state] = counts.get(r.state, 0) + 1
        seen = ", ".join(f"{n} {s.lower()}" for s, n in sorted(counts.items())) or "no trials"
        raise GridsearchError(f"study {study_name!r}: no trial is both feasible and finished "
                              f"({seen}); run or resume the search first")
    best = ranked[0]
    tests = {i: stats.welch(best.accuracies, c.accuracies) for i, c in enumerate(ranked[1:], 1)}
    ties = [ranked[i] for i, t in tests.items() if t is not None and not t.significant]
    return Selection(source, name, ranked, ties, tests.get(1))


# -- multi-objective: the Pareto front ----------------------------------------------------------
def objective_names(study: "optuna.Study") -> list[str]:
    names = study.user_attrs.get("objectives")
    return list(names) if names else ["accuracy"] + [f"objective_{i}"
                                                     for i in range(1, len(study.directions))]


def pareto(study: "optuna.Study") -> list[Record]:
    """The non-dominated feasible, complete trials, most accurate first."""
    done = [r for r in read(study, (TrialState.COMPLETE,)) if r.feasible and r.values]
    if not done:
        raise GridsearchError(f"study {study.study_name!r} has no feasible finished trial yet")
    dirs = [d.name.lower() for d in study.directions]
    on_front = [done[i] for i in front([r.values for r in done], dirs)]
    return sorted(on_front, key=lambda r: (-r.values[0], r.number))


def summary(r: Record) -> dict[str, Any]:
    """A record as ``best`` prints and exports it."""
    u = r.attrs
    keys = ("depth_mult", "width_mult", "resolution", "effective_gamma", "flops", "flops_ratio",
            "params", "activations", "train_seconds", "layout", "latency_ms", "train_step_ms",
            "latency_batch", "latency_device", "peak_memory_mb")
    return {"trial": r.number, "accuracy": r.accuracy,
            **(r.point.as_dict() if r.point else {}), **r.params,
            **{k: u[k] for k in keys if k in u}, "seeds": list(r.seeds),
            "history": list(r.history)}


def store_front(study: "optuna.Study") -> dict[str, Any]:
    """Store the Pareto front as the study user attribute ``pareto`` and return it."""
    names = objective_names(study)
    try:
        members = sorted(pareto(study), key=lambda r: r.number)
    except GridsearchError:
        members = []
    stored = {"objectives": names, "directions": [d.name.lower() for d in study.directions],
              "trials": [{"number": r.number, "values": dict(zip(names, r.values))}
                         for r in members]}
    study.set_user_attr("pareto", stored)
    return stored


def front_export(study: "optuna.Study") -> dict[str, Any]:
    """The Pareto front as ``gridsearch best --json`` exports it."""
    names = objective_names(study)
    dirs = [d.name.lower() for d in study.directions]
    return {"study": study.study_name,
            "objectives": [{"name": n, "direction": d} for n, d in zip(names, dirs)],
            "front": [{"trial": r.number, "values": dict(zip(names, r.values)), **summary(r)}
                      for r in pareto(study)],
            "n_complete": len(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)))}
