"""Running one trial: realise its item's spec, check the budget and the limits, time it, train it
(once per seed), and record every figure on the trial through the one record.

The outcome of a trial is its Optuna state: COMPLETE with the accuracy (the mean over the trial's
seeds) as the first objective; PRUNED with ``verdict = infeasible`` and the reason when the budget
or a limit rejects it (not trained); PRUNED by the pruner; FAIL with the reason and its kind when
anything raises (a NaN loss, out of memory after the trainer's retry, a network that cannot be
built): the study goes on.  A fault that leaves the device unusable (a sticky CUDA error) fails the
trial as the device's fault and is raised to the loop, which gives the unit back and stops the
worker (:class:`gridsearch.training.DeviceLost`).
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import optuna
from optuna.trial import Trial, TrialState

from gridsearch.config import StudyConfig
from gridsearch.errors import TrainingError
from gridsearch.scaling import Spec
from gridsearch.storage import redact
from gridsearch.study import _objectives as objectives
from gridsearch.study._front import store_front
from gridsearch.study._plan import Item
from gridsearch.study._record import Recorder
from gridsearch.study._sampling import Infeasible, propose

log = logging.getLogger(__name__)


@dataclass
class Prepared:
    """What every trial of a config needs, loaded once per process: the device, the data (None
    when the training function brings its own) and the training function."""

    device: Any
    data: Any
    fit: Any = None          # a training function (None: the built-in trainer)


@dataclass
class Outcome:
    number: int
    spec: Spec | None
    state: str                          # COMPLETE, INFEASIBLE, PRUNED, FAIL
    value: float | None                 # accuracy (the mean over the trial's seeds)
    attrs: dict[str, Any]
    values: list[float] | None = None   # every objective, accuracy first


def search_item(cfg: StudyConfig, spec: Spec, params: dict | None = None, label: str = "") -> Item:
    """An item of a study that searches (or confirms) points: the config's target and budget."""
    return Item(spec, params or {}, target=cfg.search.target ** spec.phi
                if spec.phi is not None else cfg.target_multiplier,
                mode=cfg.budget.mode, enforce=True, label=label)


class Runner:
    """Realises, checks, times, trains and records the trials of one study config on one device.
    ``load``: how many workers share this device (recorded with a latency timed on it)."""

    def __init__(self, cfg: StudyConfig, realiser, prepared: Prepared, load: int = 1) -> None:
        self.cfg, self.realiser = cfg, realiser
        self.device, self.data, self.load = prepared.device, prepared.data, load
        if prepared.fit is None:
            from gridsearch.training import builtin_fit

            prepared.fit = builtin_fit
        self.fit = prepared.fit

    def run(self, study: optuna.Study, trial: Trial, item: Item | None, seeds: list[int],
            on_start: Callable[[int, Item], None] | None = None) -> Outcome:
        """Run ``trial`` to its end: ``item`` (None: the sampler proposes the point) with
        ``seeds`` (one training run each). Ctrl-C and DeviceLost propagate; the loop cleans up."""
        from gridsearch.training import DeviceLost, fault_kind, probe_device

        cfg = self.cfg
        rec = Recorder(trial)
        started: float | None = None
        spec: Spec | None = item.spec if item is not None else None
        try:
            if item is None:
                point, share = propose(trial, cfg)
                item = search_item(cfg, Spec.compound(point, cfg.search.phi, share))
            else:
                _suggest(trial, item)
            spec = item.spec
            rec.set(seeds=seeds, **({"seed": seeds[0]} if len(seeds) == 1 else {}))
            if on_start:
                on_start(trial.number, item)
            m = self.realiser.realise(spec, target=item.target, tolerance=cfg.budget.tolerance,
                                      mode=item.mode)
            rec.set(**m.as_dict())
            v = m.verdict
            if v is not None:
                trial.set_constraint("flops_budget", abs(v.deviation) - cfg.budget.tolerance)
                if item.enforce and not v.feasible:
                    raise Infeasible(v.reason)
            self._check_limits(trial, rec)
            if cfg.objectives.timed:
                m = self.realiser.time(m, self.device, batch_size=cfg.objectives.latency_batch,
                                       warmup=cfg.objectives.latency_warmup,
                                       repeats=cfg.objectives.latency_repeats)
                rec.set(**m.latency.attrs(), latency_load=self.load)
                self._check_limits(trial, rec)
            rec.set(feasible=True, verdict="feasible")
            started = time.perf_counter()
            results = [self._train(trial, m, seed, i == 0, rec) for i, seed in enumerate(seeds)]
            accuracies = [r.value for r in results]
            accuracy = sum(accuracies) / len(accuracies)
            peak = max((r for r in results if r.peak_memory_mb is not None),
                       key=lambda r: r.peak_memory_mb or 0.0, default=None)
            extras = _mean_metrics([r.metrics for r in results])
            rec.set(accuracy=accuracy, train_seconds=round(time.perf_counter() - started, 3),
                    **({"seed_accuracies": accuracies} if len(seeds) > 1 else {}),
                    **({"metrics": extras} if extras else {}),
                    **({"peak_memory_mb": peak.peak_memory_mb,
                        "peak_memory_kind": peak.peak_memory_kind} if peak else {}))
            values = objectives.values(cfg.objectives, accuracy, rec.attrs)
            study.tell(trial, values if cfg.objectives.multi else values[0])
            if cfg.objectives.multi:
                _best_effort(lambda: store_front(study))
            return Outcome(trial.number, spec, "COMPLETE", accuracy, rec.attrs, values)
        except Infeasible as e:
            rec.set(feasible=False, verdict="infeasible", budget_reason=str(e))
            study.tell(trial, state=TrialState.PRUNED)
            return Outcome(trial.number, spec, "INFEASIBLE", None, rec.attrs)
        except optuna.TrialPruned as e:
            rec.set(pruned_reason=str(e))
            if started is not None:
                rec.set(train_seconds=round(time.perf_counter() - started, 3))
            study.tell(trial, state=TrialState.PRUNED)
            return Outcome(trial.number, spec, "PRUNED", None, rec.attrs)
        except KeyboardInterrupt:
            raise
        except Exception as e:  # one bad candidate must not stop the study
            kind = fault_kind(e)
            if kind != "device" and probe_device(self.device) is not None:
                kind = "device"      # the error left the device unusable: not this trial's fault
            from gridsearch.training import FunctionError

            reason = (str(e) if isinstance(e, FunctionError)
                      else f"{type(e).__name__}: {e}").strip().splitlines()[0][:500]
            log.warning("trial %d failed (%s): %s", trial.number, kind, reason)
            rec.set(error=redact(reason), error_kind=kind)
            study.tell(trial, state=TrialState.FAIL)
            if kind == "device":
                raise DeviceLost(reason) from e
            return Outcome(trial.number, spec, "FAIL", None, rec.attrs)

    def _train(self, trial: Trial, m, seed: int, first_seed: bool, rec: Recorder) -> Run:
        """One training run of the study's training function; the first seed's epochs are the
        trial's intermediate values (what the dashboard plots and the pruner judges).  A user's
        function that runs out of memory is retried once, after the memory is released, from the
        same initial weights (the built-in trainer retries in micro-batches itself)."""
        from gridsearch.training import (
            PeakMemory,
            builtin_fit,
            call_fit,
            classify,
            reason as fault_reason,
            release,
            result_of,
        )

        cfg = self.cfg
        history: list[float] = []

        def report(epoch: int, value: float) -> None:
            if not first_seed or (history and epoch <= len(history)):   # a retry's epochs again
                return
            history.append(float(value))
            rec.set(epochs_done=epoch, accuracy_history=history)
            if cfg.objectives.multi:  # Optuna neither stores nor prunes these
                return
            trial.report(float(value), epoch)
            if trial.should_prune():
                raise optuna.TrialPruned(f"pruned after epoch {epoch}")

        oom = None
        for attempt in (0, 1):
            module = (m.realised.module if seed == self.realiser.seed and attempt == 0
                      else self.realiser.build(m.spec, seed=seed).module)
            ctx = context(cfg, m, seed, self.device, self.data, report)
            peak = PeakMemory(self.device)
            try:
                with peak:
                    trained = result_of(call_fit(self.fit, module, ctx), cfg.train.metric)
                break
            except Exception as e:  # out of memory: once more, else re-raised
                if self.fit is builtin_fit or classify(e) != "oom":
                    raise
                if attempt:
                    raise TrainingError(f"out of memory also when retried after releasing memory: "
                                        f"{fault_reason(e)}") from e
                oom = fault_reason(e)
            del module
            release(self.device)          # the exception and its frames are gone by now
        else:
            raise AssertionError("unreachable: the second attempt returns or raises")
        res = trained.result
        if res is not None:
            if first_seed:
                rec.set(images_per_second=round(res.images_per_second, 1), device=res.device,
                        **res.resources())
            return Run(trained.value, trained.metrics, res.peak_memory_mb, res.peak_memory_kind)
        if first_seed:
            rec.set(device=str(self.device), **({"oom_retry": oom} if oom else {}))
        return Run(trained.value, trained.metrics, peak.megabytes, peak.kind)

    def _check_limits(self, trial: Trial, rec: Recorder) -> None:
        """Record the activations / latency limits that can be checked; over one: infeasible."""
        for limit in objectives.limits(self.cfg.objectives, rec.attrs):
            trial.set_constraint(limit.name, limit.value)
            if not limit.feasible:
                raise Infeasible(limit.reason)


@dataclass(frozen=True)
class Run:
    """One training run as a trial records it: the metric, the other numbers, the peak memory."""

    value: float
    metrics: dict[str, float]
    peak_memory_mb: float | None
    peak_memory_kind: str | None


def context(cfg: StudyConfig, m, seed: int, device, data,
            report: Callable[[int, float], None]):
    """The :class:`gridsearch.TrainContext` of one run of the measured network ``m``."""
    from gridsearch.training import TrainContext

    p, t, d = m.spec.point, cfg.train, cfg.data
    return TrainContext(
        alpha=p.alpha if p else None, beta=p.beta if p else None, gamma=p.gamma if p else None,
        phi=m.spec.phi, spec=m.spec, resolution=m.resolution, seed=seed, epochs=t.epochs,
        train_size=d.train_size, val_size=d.val_size, batch_size=t.batch_size, lr=t.lr,
        device=device, data=data, args=t.args, metric=t.metric,
        recipe=dataclasses.replace(t, seed=seed), report=report)


def _mean_metrics(runs: list[dict[str, float]]) -> dict[str, float]:
    """The extra numbers a training function returned, each the mean over the runs that gave it."""
    keys = {k for r in runs for k in r}
    return {k: sum(r[k] for r in runs if k in r) / sum(k in r for r in runs) for k in sorted(keys)}


def _suggest(trial: Trial, item: Item) -> None:
    """Suggest the item's parameters, so Optuna records them (the sampler returns the assigned
    values)."""
    for name, p in item.params.items():
        if p.choices:
            trial.suggest_categorical(name, list(p.choices))
        elif p.low is not None and p.high is not None:
            trial.suggest_float(name, p.low, p.high)
        else:
            raise ValueError(f"parameter {name!r} has neither choices nor a range")


def _best_effort(fn: Callable[[], Any]) -> None:
    try:
        fn()
    except Exception:  # a derived attribute must not fail the trial
        log.debug("best-effort step failed", exc_info=True)


def prepare(cfg: StudyConfig, realiser, device: str | None = None, fit=None) -> Prepared:
    """The training function, the device and the data every trial of ``cfg`` needs, checked
    before the store is touched: a training function that cannot be imported or called, a bad
    device (or a precision it cannot run), an unknown model or missing data fail here."""
    from gridsearch.training import for_config, load_fit, prepare_device

    fit = fit or load_fit(cfg)
    dev = prepare_device(device or cfg.train.device, cfg.train)
    _ = realiser.reference  # built and measured: an unknown model has failed by now
    return Prepared(dev, for_config(cfg), fit)   # data checked against model.num_classes
