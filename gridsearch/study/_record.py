"""The one trial record: what a trial of any gridsearch study holds, typed.

:class:`TrialRecord` lists every field a trial can carry — the unit it trained, the network (the
spec and every measured figure, as :meth:`gridsearch.measure.Measured.as_dict` gives them), the
budget and limit verdict, latency, training results and resources, and how it ended.  The runner
writes fields through :class:`Recorder` (an unknown name is an error at once, not a column that
stays empty), every reader builds records with :func:`from_trial`, and the names users see — the
trials table's columns (``status --json``, ``report``'s trials.csv), the user attributes in
optuna-dashboard and in Optuna's ``trials_dataframe()`` — are these field names.

Trials written by earlier versions read through the same function: ``peak_gpu_memory_bytes``
becomes ``peak_memory_mb``, the grid index once stored as ``point`` becomes ``point_index``, a
solved ``gamma_solved`` is ``gamma``, and a compare trial's ``phi`` / ``compound_point`` become its
``plan``.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from statistics import fmean
from typing import TYPE_CHECKING, Any

from gridsearch.scaling import Point

if TYPE_CHECKING:
    import optuna
    from optuna.trial import FrozenTrial

STATES = ("COMPLETE", "INFEASIBLE", "PRUNED", "FAIL", "RUNNING", "WAITING")


@dataclass(frozen=True)
class TrialRecord:
    """One trial as gridsearch reads it.  Fields after ``sampled`` are stored as user attributes
    under their own names; ``None`` means not recorded."""

    number: int
    study: str                               # the study the trial belongs to
    state: str                               # one of STATES (INFEASIBLE: pruned by the budget)
    values: tuple[float, ...] | None = None  # every objective, accuracy first (COMPLETE only)
    history: tuple[float, ...] = ()          # accuracy after each epoch (the first seed's)
    sampled: Mapping[str, Any] = field(default_factory=dict)  # Optuna's parameters (α, β, γ, …)
    # -- the unit of work ------------------------------------------------------------------------
    unit: int | None = None                  # index in the claims table of its plan
    plan: str | None = None                  # a derived study's plan (compare: φ and point)
    point_index: int | None = None           # index of the point (grid or explicit list)
    seed: int | None = None                  # the seed of a one-seed unit
    seeds: tuple[int, ...] = ()              # every seed the trial trained
    worker: str | None = None                # host:pid
    # -- the network: the spec ------------------------------------------------------------------
    strategy: str | None = None              # compound, or a named strategy
    alpha: float | None = None
    beta: float | None = None
    gamma: float | None = None
    phi: float | None = None
    width_share: float | None = None
    d: float | None = None                   # depth, width, resolution multipliers of the spec
    w: float | None = None
    r: float | None = None
    s: float | None = None                   # its nominal FLOPs multiplier
    # -- the network: measured ------------------------------------------------------------------
    depth_mult: float | None = None          # what the builder got (the baseline's × the spec's)
    width_mult: float | None = None
    nominal_resolution: int | None = None
    resolution: int | None = None
    repaired: bool | None = None
    effective_gamma: float | None = None
    flops: int | None = None
    params: int | None = None
    activations: int | None = None
    flops_ratio: float | None = None
    params_ratio: float | None = None
    activations_ratio: float | None = None
    target: float | None = None              # the FLOPs ratio it had to meet
    deviation: float | None = None
    within_tolerance: bool | None = None
    layout: Any = None                       # stem, depths, widths, head
    torchvision: Any = None                  # arguments that rebuild it with torchvision
    timm: Any = None
    # -- feasibility ----------------------------------------------------------------------------
    feasible: bool | None = None             # within the budget and every limit
    verdict: str | None = None               # feasible | infeasible
    budget_reason: str | None = None         # why infeasible (the budget or a limit)
    # -- latency --------------------------------------------------------------------------------
    latency_ms: float | None = None
    train_step_ms: float | None = None
    latency_batch: int | None = None
    latency_repeats: int | None = None
    latency_device: str | None = None
    latency_load: int | None = None          # workers sharing the device while it was timed
    # -- training -------------------------------------------------------------------------------
    # ``accuracy`` is the value of the study's metric ([train] metric: the built-in trainer's
    # validation accuracy, or what a training function returns), whatever its name
    accuracy: float | None = None            # mean over the trial's seeds
    seed_accuracies: tuple[float, ...] = ()
    accuracy_history: tuple[float, ...] = ()
    metrics: Any = None                      # other numbers the training function returned (means)
    epochs_done: int | None = None
    train_seconds: float | None = None
    images_per_second: float | None = None
    device: str | None = None
    precision: str | None = None             # bf16, fp16 or fp32
    threads: int | None = None               # torch CPU threads
    peak_memory_mb: float | None = None      # the largest seed's peak
    peak_memory_kind: str | None = None      # cuda (allocated by torch) or rss (the process)
    micro_batch: int | None = None           # trained in micro-batches after running out of memory
    oom_retry: str | None = None             # why the first attempt ran out of memory
    # -- how it ended ---------------------------------------------------------------------------
    error: str | None = None
    error_kind: str | None = None            # oom | device | trial
    pruned_reason: str | None = None
    interrupted: bool | None = None

    # -- derived --------------------------------------------------------------------------------
    @property
    def point(self) -> Point | None:
        """(α, β, γ): sampled, or derived (a width share's point, TPE's solved γ)."""
        if self.alpha is None or self.beta is None or self.gamma is None:
            return None
        return Point(float(self.alpha), float(self.beta), float(self.gamma))

    @property
    def accuracies(self) -> tuple[float, ...]:
        """One accuracy per seed the trial trained (none unless COMPLETE)."""
        if self.state != "COMPLETE" or self.values is None:
            return ()
        return tuple(self.seed_accuracies) or (float(self.values[0]),)

    @property
    def mean_accuracy(self) -> float | None:
        a = self.accuracies
        return fmean(a) if a else None

    @property
    def ref(self) -> str:
        """How outputs name this trial: its study and number, e.g. ``tex-confirm#3``."""
        return trial_ref(self.study, self.number)

    def to_attrs(self) -> dict[str, Any]:
        """The fields stored as user attributes (the inverse of :func:`from_trial`), JSON-ready;
        fields not recorded are left out."""
        return {f.name: _plain(getattr(self, f.name)) for f in ATTR_FIELDS
                if getattr(self, f.name) not in (None, ())}

    def row(self) -> dict[str, Any]:
        """One flat row of the trials table: every column of :data:`COLUMNS`."""
        out = {"study": self.study, "number": self.number, "state": self.state}
        for f in ATTR_FIELDS:
            v = getattr(self, f.name)
            out[f.name] = list(v) if isinstance(v, tuple) else v
        out["accuracy"] = self.mean_accuracy if self.state == "COMPLETE" else self.accuracy
        return out


def trial_ref(study: str, number: int) -> str:
    return f"{study}#{number}"


# The fields stored as user attributes (under their own names): the trials table's columns.
ATTR_FIELDS = [f for f in fields(TrialRecord)
               if f.name not in ("number", "study", "state", "values", "history", "sampled")]
ATTRS = frozenset(f.name for f in ATTR_FIELDS)
_TUPLES = {f.name for f in ATTR_FIELDS if str(f.type).startswith("tuple")}
COLUMNS = ["study", "number", "state", *(f.name for f in ATTR_FIELDS)]


def _plain(v: Any) -> Any:
    if isinstance(v, tuple):
        return [_plain(x) for x in v]
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


class Recorder:
    """Writes record fields onto a live trial as user attributes, as the trial goes (a killed
    worker's trial keeps what it had measured).  Field names are checked: a misspelt one raises."""

    def __init__(self, trial: optuna.Trial) -> None:
        self.trial = trial
        self.attrs: dict[str, Any] = {}

    def set(self, **kv: Any) -> None:
        for k, v in kv.items():
            if k not in ATTRS:
                raise KeyError(f"not a trial record field: {k!r}")
            v = _plain(v)
            self.trial.set_user_attr(k, v)
            self.attrs[k] = v

    def get(self, key: str, default: Any = None) -> Any:
        return self.attrs.get(key, default)


# -- reading ------------------------------------------------------------------------------------
def state_of(t: FrozenTrial) -> str:
    if t.state.name == "PRUNED" and t.user_attrs.get("verdict") == "infeasible":
        return "INFEASIBLE"
    return t.state.name


def _legacy(u: Mapping[str, Any], params: Mapping[str, Any]) -> dict[str, Any]:
    """User attributes as written by earlier versions, under today's names."""
    u = dict(u)
    if "peak_gpu_memory_bytes" in u and "peak_memory_mb" not in u:
        u["peak_memory_mb"] = round(u.pop("peak_gpu_memory_bytes") / 2**20, 1)
        u.setdefault("peak_memory_kind", "cuda")
    if "point" in u and "point_index" not in u and isinstance(u["point"], int):
        u["point_index"] = u.pop("point")
    if "gamma_solved" in u and "gamma" not in u:
        u["gamma"] = u.pop("gamma_solved")
    if "nominal_multiplier" in u and "s" not in u:
        u["s"] = u.pop("nominal_multiplier")
    if "compound_point" in u and "plan" not in u and "phi" in u:   # a compare trial
        u["plan"] = compare_plan_key(float(u["phi"]), Point(*u["compound_point"]))
        if params.get("strategy") not in (None, "compound"):
            u.pop("phi", None)          # φ was the comparison's; the spec is the strategy at s
        if "knob" in u and "s" not in u:
            u["s"] = u["knob"]
    if "strategy" in params and "strategy" not in u:
        u["strategy"] = params["strategy"]
    return u


def compare_plan_key(phi: float, point: Point) -> str:
    """The plan of a comparison: the φ and the compound point every strategy is matched to."""
    return f"phi={round(phi, 6):g};point=" + ",".join(f"{v:g}" for v in point.key())


def from_trial(t: FrozenTrial, study: str) -> TrialRecord:
    """The record of one Optuna trial of ``study``."""
    u = _legacy(t.user_attrs, t.params)
    kw: dict[str, Any] = {}
    for name in ATTRS & u.keys():
        v = u[name]
        kw[name] = tuple(v) if name in _TUPLES and isinstance(v, list) else v
    for k in ("alpha", "beta", "gamma", "width_share"):   # sampled: Optuna's parameters win
        if k in t.params:
            kw[k] = float(t.params[k])
    if "seed" in kw and not kw.get("seeds"):
        kw["seeds"] = (int(kw["seed"]),)
    done = t.state.name == "COMPLETE" and t.values is not None
    history = tuple(t.intermediate_values[k] for k in sorted(t.intermediate_values)) \
        or tuple(u.get("accuracy_history") or ())
    return TrialRecord(number=t.number, study=study, state=state_of(t),
                       values=tuple(t.values) if done else None, history=history,
                       sampled=dict(t.params), **kw)


def read(study: optuna.Study, states: Iterable[Any] | None = None) -> list[TrialRecord]:
    """Every trial of ``study`` (or those in ``states``), as records, by number."""
    trials = study.get_trials(deepcopy=False, states=tuple(states) if states else None)
    return [from_trial(t, study.study_name) for t in trials]


def unit_of(t: FrozenTrial, default: int) -> int:
    """The claims-table index a trial was bound to: its ``unit`` (a (point, seed) pair), else the
    grid index of older single-seed studies."""
    u = t.user_attrs
    return u.get("unit", u.get("point_index", u.get("point", default)))


def replace(record: TrialRecord, **kw: Any) -> TrialRecord:
    return dataclasses.replace(record, **kw)
