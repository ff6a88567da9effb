"""The search: an Optuna study over (α, β, γ) whose trials are realised, measured and trained.

Grid points are handed out through :class:`~gridsearch.storage.PointClaims` (each point trained
exactly once, whatever the number of workers); other samplers (TPE, QMC, random) propose α and β
and solve γ so every proposal meets α·β²·γ² = target.  Every measured figure is a user attribute
of its trial; accuracy after each epoch is an intermediate value.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import warnings
from dataclasses import dataclass
from typing import Any, Callable

import optuna
from optuna.trial import FrozenTrial, Trial, TrialState

from gridsearch.training import _data as data_mod
from gridsearch.measure import _latency as latency
from gridsearch.study import _objectives as objectives
from gridsearch.training import _trainer as trainer
from gridsearch.measure._candidate import Realiser
from gridsearch.measure._complexity import ComplexityCounter
from gridsearch.config import StudyConfig, from_dict
from gridsearch.errors import ConfigError, GridsearchError, StorageError
from gridsearch.study._trials import store_front
from gridsearch.scaling._space import Point, beta_bounds, solve_gamma, width_share_point
from gridsearch.storage import PointClaims, open_storage, redact, sqlite_path

log = logging.getLogger(__name__)

# Config keys that may differ between runs of one study without changing what it measures.
_VOLATILE = {("train", "device")}


class PointSampler(optuna.samplers.BaseSampler):
    """Returns the parameters of the grid point assigned to a trial number ((α, β, γ), or the
    width share); samples nothing itself."""

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


def _sampler(cfg: StudyConfig) -> optuna.samplers.BaseSampler:
    s = cfg.search
    if s.sampler == "grid":
        return PointSampler()
    if s.sampler == "tpe":
        return optuna.samplers.TPESampler(seed=s.seed, n_startup_trials=4)
    if s.sampler == "qmc":
        return optuna.samplers.QMCSampler(seed=s.seed, warn_independent_sampling=False)
    return optuna.samplers.RandomSampler(seed=s.seed)


def _pruner(cfg: StudyConfig) -> optuna.pruners.BasePruner:
    p = cfg.search.pruner
    if p == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=0)
    if p == "hyperband":
        return optuna.pruners.HyperbandPruner(min_resource=1, max_resource=cfg.train.epochs)
    return optuna.pruners.NopPruner()


class _Heartbeat:
    """Records a trial's heartbeat while it runs, so a killed worker's trial is failed and retried."""

    def __init__(self, storage, trial_id: int) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, args=(storage, trial_id), daemon=True)

    def _beat(self, storage, trial_id: int) -> None:
        while True:
            try:
                storage.record_heartbeat(trial_id)
            except Exception:  # noqa: BLE001 - a missed beat is retried; never kill the trial
                log.debug("heartbeat failed", exc_info=True)
            if self._stop.wait(storage.heartbeat_interval):
                return

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


@dataclass
class TrialOutcome:
    number: int
    point: Point
    state: str
    value: float | None            # accuracy
    attrs: dict[str, Any]
    values: list[float] | None = None  # every objective, accuracy first


class Search:
    """One study config bound to one storage URL."""

    def __init__(self, cfg: StudyConfig, storage_url: str | None = None,
                 counter: ComplexityCounter | None = None) -> None:
        self.cfg = cfg
        self.url = storage_url or cfg.storage_url()
        self.points = cfg.points() if cfg.search.sampler == "grid" else []
        self.counter = counter or ComplexityCounter()
        self._storage = None
        self._study: optuna.Study | None = None
        self._sampler = _sampler(cfg)

    # -- the study ------------------------------------------------------------------------------
    @property
    def storage(self):
        if self._storage is None:
            w = self.cfg.workers
            self._storage = open_storage(self.url, heartbeat_interval=w.heartbeat_interval,
                                         grace_period=w.grace_period)
        return self._storage

    def exists(self) -> bool:
        names = [s.study_name for s in optuna.study.get_all_study_summaries(self.storage)]
        return self.cfg.name in names

    def study(self, create: bool = True) -> optuna.Study:
        """Load the study, creating it (once, whoever comes first) when ``create``."""
        if self._study is not None:
            return self._study
        path = sqlite_path(self.url)
        if not create and path is not None and not path.exists():  # don't leave an empty file
            raise StorageError(f"no study {self.cfg.name!r} in {redact(self.url)} (no such file; "
                               "run `gridsearch init` or `gridsearch run` first)")
        kwargs = dict(study_name=self.cfg.name, storage=self.storage, sampler=self._sampler,
                      pruner=_pruner(self.cfg))
        try:
            study = optuna.load_study(**kwargs)
        except KeyError:
            if not create:
                raise StorageError(f"no study {self.cfg.name!r} in {redact(self.url)} "
                                   "(run `gridsearch run` first)") from None
            try:
                study = optuna.create_study(
                    directions=objectives.directions(self.cfg.objectives), **kwargs)
            except optuna.exceptions.DuplicatedStudyError:  # another worker created it first
                study = optuna.load_study(**kwargs)
        self._check_config(study)
        self._study = study
        return study

    def _check_config(self, study: optuna.Study) -> None:
        mine = self.cfg.as_dict()
        stored = study.user_attrs.get("config")
        if stored is None:
            study.set_user_attr("config", mine)
            study.set_user_attr("n_points", len(self.points))
            study.set_user_attr("objective", "validation " + objectives.describe(self.cfg.objectives))
            study.set_user_attr("objectives", objectives.names(self.cfg.objectives))
            return
        # Sections added since the study was created read as their defaults.
        defaults = from_dict({"name": self.cfg.name}).as_dict()
        stored = {**{k: v for k, v in defaults.items() if k not in stored}, **stored}
        diff = _first_difference(stored, mine)
        if diff:
            raise StorageError(f"study {self.cfg.name!r} already exists in {redact(self.url)} with a "
                               f"different config ({diff} differs): use a new name or the old config")

    # -- candidates -----------------------------------------------------------------------------
    def realiser(self) -> Realiser:
        if not hasattr(self, "_realiser"):
            self._realiser = Realiser(self.cfg, self.counter)
        return self._realiser

    def plan(self, on_candidate: Callable[[int, Any], None] | None = None) -> list:
        """Realise and measure every grid point, without training."""
        out = []
        for i, point in enumerate(self.points):
            cand = self.realiser().realise(point)
            out.append(cand)
            if on_candidate:
                on_candidate(i, cand)
        return out

    # -- before touching the store ----------------------------------------------------------
    def prepare(self, device: str | None = None) -> "Prepared":
        """Check and load what every trial needs (device, baseline, data), before the study is
        created or changed, so bad input leaves the store as it was."""
        if getattr(self, "_prepared", None) is not None:
            return self._prepared
        cfg, d = self.cfg, self.cfg.data
        name = device or cfg.train.device
        if not (name in ("auto", "cpu", "cuda") or (name.startswith("cuda:")
                                                   and name[5:].isdigit())):
            raise ConfigError(f"device: must be auto, cpu, cuda or cuda:N, got {name!r}")
        dev = trainer.resolve_device(name)
        if dev.type == "cuda" and dev.index is not None and dev.index >= _cuda_count():
            raise ConfigError(f"device: {name} requested but this host has {_cuda_count()} "
                              "CUDA device(s)")
        realiser = self.realiser()
        _ = realiser.reference  # builds and measures the baseline: an unknown model fails here
        subsets = data_mod.load(d.source, cfg.data_root() if d.root else "", d.train_size,
                                d.val_size, d.seed, d.image_size)
        if subsets.num_classes > cfg.model.num_classes:
            raise GridsearchError(f"model.num_classes: {cfg.model.num_classes} but {d.source} has "
                                  f"{subsets.num_classes} classes")
        self._prepared = Prepared(dev, subsets)
        return self._prepared

    def init(self) -> bool:
        """Check everything, then create the study (or check the existing one's config).
        Returns True if this call created it."""
        self.prepare(device="cpu")
        path = sqlite_path(self.url)
        existed = (path is None or path.exists()) and self.exists()
        self.study(create=True)
        return not existed

    def progress(self) -> dict[str, int]:
        """Grid points by what became of them: done (complete, pruned or infeasible), failed
        (with an error), running, and left (never claimed, or to be retried)."""
        out = {"points": len(self.points), "done": 0, "failed": 0, "running": 0, "left": 0}
        taken = PointClaims(self.storage, self.cfg.name).taken()
        for point in range(len(self.points)):
            t = taken.get(point)
            state = self.storage.get_trial(t) if t is not None else None
            if state is None:
                out["left"] += 1
            elif state.state == TrialState.RUNNING:
                out["running"] += 1
            elif state.state == TrialState.FAIL:
                out["failed" if "error" in state.user_attrs else "left"] += 1
            else:
                out["done"] += 1
        return out

    # -- running --------------------------------------------------------------------------------
    def remaining(self) -> int:
        """Grid points not yet finished (or trials left to run, for other samplers)."""
        study = self.study()
        if self.cfg.search.sampler != "grid":
            return max(0, self._n_trials() - len(self._finished_or_running(study)))
        taken = PointClaims(self.storage, self.cfg.name).taken()
        done = sum(1 for t in taken.values()
                   if t is not None and self.storage.get_trial(t).state != TrialState.FAIL)
        return len(self.points) - done

    def _n_trials(self) -> int:
        return self.cfg.search.n_trials or len(self.cfg.points())

    @staticmethod
    def _finished_or_running(study: optuna.Study) -> list[FrozenTrial]:
        return [t for t in study.get_trials(deepcopy=False)
                if t.state in (TrialState.COMPLETE, TrialState.PRUNED, TrialState.RUNNING)]

    def run(self, max_trials: int | None = None, retry_failed: bool = False,
            device: str | None = None,
            on_trial: Callable[[TrialOutcome], None] | None = None,
            on_start: Callable[[int, Point], None] | None = None,
            create: bool = True, wait: bool = True) -> list[TrialOutcome]:
        """Run trials until the grid is done (or ``max_trials`` ran). Resumable at any point.

        Several workers may run this on one study at once: each grid point is trained exactly once.
        With nothing left to claim, a worker waits while other workers' trials run (``wait``):
        one of them may be killed, and its point must then be retried by someone.
        """
        cfg = self.cfg
        prepared = self.prepare(device)
        subsets, dev = prepared.subsets, prepared.device
        study = self.study(create=create)
        realiser = self.realiser()
        study.set_user_attr("baseline", {"model": cfg.model.name,
                                         **realiser.reference.complexity.as_dict(),
                                         "layout": realiser.reference.layout.describe()})
        claims = PointClaims(self.storage, cfg.name) if cfg.search.sampler == "grid" else None
        retry_before = time.time() if retry_failed else None
        worker = f"{socket.gethostname()}:{os.getpid()}"
        outcomes: list[TrialOutcome] = []
        while max_trials is None or len(outcomes) < max_trials:
            with warnings.catch_warnings():  # experimental in Optuna: used on purpose
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                optuna.storages.fail_stale_trials(study)
            trial, index, owner = None, None, None
            try:
                if claims is not None:
                    got = claims.claim(len(self.points), retry_before)
                    if got is None:
                        if wait and claims.pending():
                            time.sleep(self.storage.heartbeat_interval)
                            continue
                        break
                    index, owner = got
                    trial = self._ask(study)
                    trial.set_user_attr("worker", worker)
                    if not claims.bind(index, owner, trial._trial_id):  # taken over meanwhile
                        study.tell(trial, state=TrialState.FAIL)
                        continue
                    trial.set_user_attr("point", index)
                    self._sampler.assign(trial.number, self._params(index))
                else:
                    if len(self._finished_or_running(study)) >= self._n_trials():
                        break
                    trial = self._ask(study)
                    trial.set_user_attr("worker", worker)
            except KeyboardInterrupt:  # between claiming and training: leave nothing RUNNING
                _interrupted(study, trial, claims, index, owner)
                raise
            outcome = self._run_trial(study, trial, subsets, dev, claims, index, owner, on_start)
            outcomes.append(outcome)
            if on_trial:
                on_trial(outcome)
        return outcomes

    def _ask(self, study: optuna.Study) -> Trial:
        with warnings.catch_warnings():
            # We keep heartbeats under ask/tell on purpose (our own thread beats; see _Heartbeat).
            warnings.filterwarnings("ignore", message="Heartbeat of storage is supposed")
            trial = study.ask()
        self.storage.record_heartbeat(trial._trial_id)
        return trial

    def _params(self, index: int) -> dict[str, float]:
        """What the sampler hands a trial for grid point ``index``."""
        if self.cfg.search.width_share is not None:
            return {"width_share": self.cfg.width_shares()[index]}
        return self.points[index].as_dict()

    def _propose(self, trial: Trial) -> Point:
        s = self.cfg.search
        if s.width_share is not None:
            share = trial.suggest_float("width_share", s.width_share.min, s.width_share.max)
            point = width_share_point(share, s.target)
            for k, v in point.as_dict().items():
                trial.set_user_attr(k, v)
            return point
        a = trial.suggest_float("alpha", s.alpha.min, s.alpha.max)
        if self.cfg.search.sampler == "grid":
            return Point(a, trial.suggest_float("beta", s.beta.min, s.beta.max),
                         trial.suggest_float("gamma", s.gamma.min, s.gamma.max))
        bounds = beta_bounds(a, s.beta.to_range(), s.gamma.to_range(), s.target)
        if bounds is None:
            raise _Infeasible(f"no beta in range gives gamma in range for alpha {a:.4f}")
        b = trial.suggest_float("beta", *bounds)
        g = solve_gamma(a, b, s.target)
        trial.set_user_attr("gamma_solved", g)
        return Point(round(a, 6), round(b, 6), round(g, 6))

    def _run_trial(self, study, trial: Trial, subsets, dev, claims, index, owner,
                   on_start) -> TrialOutcome:
        cfg = self.cfg
        attrs: dict[str, Any] = {}
        point = Point(0, 0, 0)
        started: float | None = None  # when training began

        def record(**kv):
            for k, v in kv.items():
                trial.set_user_attr(k, v)
            attrs.update(kv)

        with _Heartbeat(self.storage, trial._trial_id):
            try:
                point = self._propose(trial)
                if on_start:
                    on_start(trial.number, point)
                cand = self.realiser().realise(point)
                record(**cand.attrs())
                v = cand.verdict
                trial.set_constraint("flops_budget", abs(v.deviation) - cfg.budget.tolerance)
                if not v.feasible:
                    raise _Infeasible(v.reason)
                self._check_limits(trial, attrs)
                if cfg.objectives.timed:
                    o = cfg.objectives
                    lat = latency.measure(cand.realised.module, v.resolution, dev,
                                          batch_size=o.latency_batch, warmup=o.latency_warmup,
                                          repeats=o.latency_repeats,
                                          num_classes=cfg.model.num_classes)
                    record(**lat.attrs())
                    self._check_limits(trial, attrs)
                history: list[float] = []

                def report(epoch: int, acc: float) -> None:
                    history.append(acc)
                    record(epochs_done=epoch, accuracy_history=history)
                    if cfg.objectives.multi:  # Optuna neither stores nor prunes these
                        return
                    trial.report(acc, epoch)
                    if trial.should_prune():
                        raise optuna.TrialPruned(f"pruned after epoch {epoch}")

                recipe = trainer.Recipe(**{k: getattr(cfg.train, k) for k in (
                    "epochs", "batch_size", "optimizer", "lr", "momentum", "weight_decay",
                    "label_smoothing", "seed")})
                started = time.perf_counter()
                res = trainer.train(cand.realised.module, subsets, v.resolution, recipe, dev, report)
                record(train_seconds=round(res.seconds, 3),
                       images_per_second=round(res.images_per_second, 1), device=res.device,
                       accuracy=res.accuracy, **res.resources())
                values = objectives.values(cfg.objectives, res.accuracy, attrs)
                study.tell(trial, values if cfg.objectives.multi else values[0])
                if cfg.objectives.multi:
                    _safe(lambda: store_front(study))
                return TrialOutcome(trial.number, point, "COMPLETE", res.accuracy, attrs, values)
            except _Infeasible as e:
                record(feasible=False, verdict="infeasible", budget_reason=str(e))
                study.tell(trial, state=TrialState.PRUNED)
                return TrialOutcome(trial.number, point, "INFEASIBLE", None, attrs)
            except optuna.TrialPruned as e:
                record(pruned_reason=str(e))
                if started is not None:
                    record(train_seconds=round(time.perf_counter() - started, 3))
                study.tell(trial, state=TrialState.PRUNED)
                return TrialOutcome(trial.number, point, "PRUNED", None, attrs)
            except KeyboardInterrupt:
                _interrupted(study, trial, claims, index, owner)
                raise
            except Exception as e:  # noqa: BLE001 - one bad candidate must not stop the study
                reason = f"{type(e).__name__}: {e}".strip().splitlines()[0][:500]
                log.warning("trial %d failed: %s", trial.number, reason)
                record(error=redact(reason))
                study.tell(trial, state=TrialState.FAIL)
                return TrialOutcome(trial.number, point, "FAIL", None, attrs)


    def _check_limits(self, trial: Trial, attrs: dict[str, Any]) -> None:
        """Record the activations / latency limits that can be checked; over one: infeasible."""
        for limit in objectives.limits(self.cfg.objectives, attrs):
            trial.set_constraint(limit.name, limit.value)
            if not limit.feasible:
                raise _Infeasible(limit.reason)


class _Infeasible(Exception):
    pass


@dataclass
class Prepared:
    device: Any
    subsets: Any


def _cuda_count() -> int:
    import torch

    return torch.cuda.device_count() if torch.cuda.is_available() else 0


def _interrupted(study: optuna.Study, trial: Trial | None, claims, index, owner) -> None:
    """Ctrl-C: fail the trial (marked interrupted) and give its point back for another worker."""
    if trial is not None:
        _safe(lambda: trial.set_user_attr("interrupted", True))
        _safe(lambda: study.tell(trial, state=TrialState.FAIL))
    if claims is not None and index is not None:
        _safe(lambda: claims.release(index, owner))


def _safe(fn: Callable[[], Any]) -> None:
    try:
        fn()
    except Exception:  # noqa: BLE001 - best effort while interrupted
        log.debug("cleanup step failed", exc_info=True)


def _first_difference(a: Any, b: Any, prefix: str = "") -> str:
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b)):
            key = f"{prefix}{k}"
            if tuple(key.split(".")) in _VOLATILE:
                continue
            d = _first_difference(a.get(k), b.get(k), key + ".")
            if d:
                return d
        return ""
    return "" if a == b else prefix.rstrip(".")
