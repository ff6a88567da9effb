"""Running one trial: realise the proposed point, check the budget and limits, time it, train it
(once per seed), and record every figure on the trial.

The outcome of a trial is its Optuna state: COMPLETE with the accuracy (the mean over the trial's
seeds) as the first objective; PRUNED with ``verdict = infeasible`` and the reason when the budget or
a limit rejects it (not trained); PRUNED by the pruner; FAIL with the reason when anything raises
(a NaN loss, out of memory, a network that cannot be built): the study goes on.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable

import optuna
from optuna.trial import Trial, TrialState

from gridsearch import _compat
from gridsearch.config import StudyConfig
from gridsearch.errors import GridsearchError
from gridsearch.scaling._space import Point
from gridsearch.storage import redact
from gridsearch.study import _objectives as objectives
from gridsearch.study._sampling import Infeasible, propose
from gridsearch.study._trials import store_front

log = logging.getLogger(__name__)


@dataclass
class Prepared:
    device: Any
    subsets: Any


@dataclass
class TrialOutcome:
    number: int
    point: Point
    state: str                          # COMPLETE, INFEASIBLE, PRUNED, FAIL
    value: float | None                 # accuracy (mean over the trial's seeds)
    attrs: dict[str, Any]
    values: list[float] | None = None   # every objective, accuracy first


class Heartbeat:
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


class TrialRunner:
    """Realises, checks, times, trains and records the trials of one study config on one device."""

    def __init__(self, cfg: StudyConfig, realiser, storage, device, subsets) -> None:
        self.cfg, self.realiser, self.storage = cfg, realiser, storage
        self.device, self.subsets = device, subsets

    def run(self, study: optuna.Study, trial: Trial, seeds: list[int],
            on_start: Callable[[int, Point], None] | None = None) -> TrialOutcome:
        """Run ``trial`` to its end with ``seeds`` (one per training run). Ctrl-C propagates;
        the caller cleans up."""
        cfg = self.cfg
        attrs: dict[str, Any] = {}
        point = Point(0, 0, 0)
        started: float | None = None

        def record(**kv):
            for k, v in kv.items():
                trial.set_user_attr(k, v)
            attrs.update(kv)

        with Heartbeat(self.storage, _compat.trial_id(trial)):
            try:
                point = propose(trial, cfg)
                record(seeds=seeds, **({"seed": seeds[0]} if len(seeds) == 1 else {}))
                if on_start:
                    on_start(trial.number, point)
                cand = self.realiser.realise(point)
                record(**cand.attrs())
                v = cand.verdict
                trial.set_constraint("flops_budget", abs(v.deviation) - cfg.budget.tolerance)
                if not v.feasible:
                    raise Infeasible(v.reason)
                self._check_limits(trial, attrs)
                if cfg.objectives.timed:
                    record(**self._latency(cand, v.resolution))
                    self._check_limits(trial, attrs)
                started = time.perf_counter()
                accuracies = [self._train(trial, cand, seed, i == 0, record)
                              for i, seed in enumerate(seeds)]
                accuracy = sum(accuracies) / len(accuracies)
                record(accuracy=accuracy, train_seconds=round(time.perf_counter() - started, 3),
                       **({"seed_accuracies": accuracies} if len(seeds) > 1 else {}))
                values = objectives.values(cfg.objectives, accuracy, attrs)
                study.tell(trial, values if cfg.objectives.multi else values[0])
                if cfg.objectives.multi:
                    _best_effort(lambda: store_front(study))
                return TrialOutcome(trial.number, point, "COMPLETE", accuracy, attrs, values)
            except Infeasible as e:
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
                raise
            except Exception as e:  # noqa: BLE001 - one bad candidate must not stop the study
                reason = f"{type(e).__name__}: {e}".strip().splitlines()[0][:500]
                log.warning("trial %d failed: %s", trial.number, reason)
                record(error=redact(reason))
                study.tell(trial, state=TrialState.FAIL)
                return TrialOutcome(trial.number, point, "FAIL", None, attrs)

    def _train(self, trial: Trial, cand, seed: int, first: bool, record) -> float:
        """One training run; the first seed's epochs are the trial's intermediate values (what
        the dashboard plots and the pruner judges)."""
        from gridsearch.training import _trainer as trainer

        cfg = self.cfg
        history: list[float] = []

        def report(epoch: int, acc: float) -> None:
            if not first:
                return
            history.append(acc)
            record(epochs_done=epoch, accuracy_history=history)
            if cfg.objectives.multi:  # Optuna neither stores nor prunes these
                return
            trial.report(acc, epoch)
            if trial.should_prune():
                raise optuna.TrialPruned(f"pruned after epoch {epoch}")

        module = cand.realised.module  # built with the study's seed
        if seed != cfg.train.seed:      # initial weights from this run's seed
            module = self.realiser.build(cand.scaled.width_mult, cand.scaled.depth_mult,
                                         seed=seed).module
        res = trainer.train(module, self.subsets, cand.verdict.resolution,
                            trainer.Recipe.of(cfg.train, seed=seed),
                            self.device, report)
        if first:
            record(images_per_second=round(res.images_per_second, 1), device=res.device,
                   **res.resources())
        return res.accuracy

    def _latency(self, cand, resolution: int) -> dict[str, Any]:
        from gridsearch.measure import _latency as latency

        o = self.cfg.objectives
        lat = latency.measure(cand.realised.module, resolution, self.device,
                              batch_size=o.latency_batch, warmup=o.latency_warmup,
                              repeats=o.latency_repeats, num_classes=self.cfg.model.num_classes)
        return lat.attrs()

    def _check_limits(self, trial: Trial, attrs: dict[str, Any]) -> None:
        """Record the activations / latency limits that can be checked; over one: infeasible."""
        for limit in objectives.limits(self.cfg.objectives, attrs):
            trial.set_constraint(limit.name, limit.value)
            if not limit.feasible:
                raise Infeasible(limit.reason)


def _best_effort(fn: Callable[[], Any]) -> None:
    try:
        fn()
    except Exception:  # noqa: BLE001 - a derived attribute must not fail the trial
        log.debug("best-effort step failed", exc_info=True)


def prepare(cfg: StudyConfig, realiser, device: str | None = None) -> Prepared:
    """The device and the data subsets every trial of ``cfg`` needs, checked before the store is
    touched: a bad device, an unknown model or missing data fail here."""
    from gridsearch.training import _data as data_mod
    from gridsearch.training import _device as device_mod

    d = cfg.data
    dev = device_mod.prepare(device or cfg.train.device, cfg.train)
    _ = realiser.reference  # built and measured: an unknown model has failed by now
    subsets = data_mod.load(d.source, cfg.data_root() if d.root else "", d.train_size,
                            d.val_size, d.seed, d.image_size)
    if subsets.num_classes > cfg.model.num_classes:
        raise GridsearchError(f"model.num_classes: {cfg.model.num_classes} but {d.source} has "
                              f"{subsets.num_classes} classes")
    return Prepared(dev, subsets)
