"""The search: one study config bound to one store, and the loop that runs its trials.

A grid study's work is a list of units, (point, seed) pairs, seed-major (every point once with the
first seed, then again with the next): a worker claims a unit in the claims table (see
:class:`~gridsearch.storage.PointClaims`) before it trains it, so each unit is trained exactly once
whatever the number of workers and resumes.  Other samplers (TPE, QMC, random) propose points; each of
their trials trains its point with every seed.  :mod:`gridsearch.study._runner` runs one trial,
:mod:`gridsearch.study._sampling` proposes its point, :mod:`gridsearch.study._trials` reads them back.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
import time
import warnings
from contextlib import contextmanager
from typing import Any, Callable

import optuna
from optuna.trial import FrozenTrial, Trial, TrialState

from gridsearch import _compat
from gridsearch.config import StudyConfig, from_dict, with_defaults
from gridsearch.errors import StorageError
from gridsearch.scaling._space import Point
from gridsearch.storage import PointClaims, open_storage, redact, sqlite_path
from gridsearch.study import _objectives as objectives
from gridsearch.study import _sampling as sampling
from gridsearch.study._runner import Prepared, TrialOutcome, TrialRunner, prepare
from gridsearch.study._trials import Record, Selection, read, select

log = logging.getLogger(__name__)

# Config keys that may differ between runs of one study without changing what it measures.
_VOLATILE = {("train", "device")}
CONFIRM_SUFFIX = "-confirm"


def confirmation_name(study_name: str) -> str:
    """The study that confirms ``study_name`` (``gridsearch confirm``), in the same store."""
    return study_name + CONFIRM_SUFFIX


class Search:
    """One study config bound to one storage URL."""

    def __init__(self, cfg: StudyConfig, storage_url: str | None = None, counter=None) -> None:
        self.cfg = cfg
        self.url = storage_url or cfg.storage_url()
        self.points = cfg.points() if cfg.search.sampler == "grid" or cfg.search.points else []
        self.seeds = cfg.train.seed_list()
        self._counter = counter
        self._storage = None
        self._study: optuna.Study | None = None
        self._realiser = None
        self._prepared: Prepared | None = None
        self._sampler = sampling.sampler(cfg)

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
                      pruner=sampling.pruner(self.cfg))
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
        # Sections and keys added since the study was created read as their defaults.
        stored = with_defaults(stored, from_dict({"name": self.cfg.name}).as_dict())
        diff = _first_difference(stored, mine)
        if diff:
            raise StorageError(f"study {self.cfg.name!r} already exists in {redact(self.url)} with a "
                               f"different config ({diff} differs): use a new name or the old config")

    def confirmation(self) -> optuna.Study | None:
        """The study's confirmation (``<name>-confirm`` in the same store), if one was started."""
        try:
            return optuna.load_study(study_name=confirmation_name(self.cfg.name),
                                     storage=self.storage)
        except KeyError:
            return None

    def selection(self, records: list[Record] | None = None,
                  confirmed: list[Record] | None = None) -> Selection:
        """THE selection rule (see :func:`gridsearch.study._trials.select`): the confirmation's
        best mean when there is one, else the search's.  ``records`` / ``confirmed``: the search's
        and the confirmation's trials when the caller has read them already."""
        study = self.study(create=False)
        if confirmed is None:
            confirm = self.confirmation()
            confirmed = read(confirm) if confirm is not None else []
        return select(read(study) if records is None else records, study.study_name, confirmed,
                      confirmation_name(self.cfg.name))

    # -- candidates -----------------------------------------------------------------------------
    def realiser(self):
        if self._realiser is None:
            from gridsearch.measure._candidate import Realiser
            from gridsearch.measure._complexity import ComplexityCounter

            self._counter = self._counter or ComplexityCounter()
            self._realiser = Realiser(self.cfg, self._counter)
        return self._realiser

    @property
    def counter(self):
        return self.realiser().counter

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
    def prepare(self, device: str | None = None) -> Prepared:
        """Check and load what every trial needs (device, baseline, data), before the study is
        created or changed, so bad input leaves the store as it was."""
        if self._prepared is None:
            self._prepared = prepare(self.cfg, self.realiser(), device)
        return self._prepared

    def init(self) -> bool:
        """Check everything, then create the study (or check the existing one's config).
        Returns True if this call created it."""
        self.prepare(device="cpu")
        path = sqlite_path(self.url)
        existed = (path is None or path.exists()) and self.exists()
        self.study(create=True)
        return not existed

    # -- units of work: (point, seed) ---------------------------------------------------------
    @property
    def units(self) -> int:
        """Grid units: every point once per seed (0 for other samplers)."""
        return len(self.points) * len(self.seeds)

    def unit(self, index: int) -> tuple[int, int]:
        """(point index, seed) of unit ``index``: seed-major."""
        return index % len(self.points), self.seeds[index // len(self.points)]

    def total(self) -> int:
        """What ``run`` works through: grid units, or the trials of another sampler."""
        return self.units or self._n_trials()

    def progress(self) -> dict[str, int]:
        """Grid units by what became of them: done (complete, pruned or infeasible), failed
        (with an error), running, and left (never claimed, or to be retried)."""
        out = {"points": self.units, "done": 0, "failed": 0, "running": 0, "left": 0}
        taken = PointClaims(self.storage, self.cfg.name).taken()
        for unit in range(self.units):
            t = taken.get(unit)
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

    def remaining(self) -> int:
        """Grid units not yet finished (or trials left to run, for other samplers)."""
        study = self.study()
        if not self.units:
            return max(0, self._n_trials() - len(_finished_or_running(study)))
        taken = PointClaims(self.storage, self.cfg.name).taken()
        done = sum(1 for t in taken.values()
                   if t is not None and self.storage.get_trial(t).state != TrialState.FAIL)
        return self.units - done

    def _n_trials(self) -> int:
        return self.cfg.search.n_trials or len(self.cfg.points())

    # -- running --------------------------------------------------------------------------------
    def run(self, max_trials: int | None = None, retry_failed: bool = False,
            device: str | None = None,
            on_trial: Callable[[TrialOutcome], None] | None = None,
            on_start: Callable[[int, Point], None] | None = None,
            create: bool = True, wait: bool = True) -> list[TrialOutcome]:
        """Run trials until the grid is done (or ``max_trials`` ran). Resumable at any point.

        Several workers may run this on one study at once: each unit is trained exactly once.
        With nothing left to claim, a worker waits while other workers' trials run (``wait``):
        one of them may be killed, and its unit must then be retried by someone.
        """
        cfg = self.cfg
        prepared = self.prepare(device)
        study = self.study(create=create)
        realiser = self.realiser()
        study.set_user_attr("baseline", {"model": cfg.model.name,
                                         **realiser.reference.complexity.as_dict(),
                                         "layout": realiser.reference.layout.describe()})
        runner = TrialRunner(cfg, realiser, self.storage, prepared.device, prepared.subsets)
        claims = PointClaims(self.storage, cfg.name) if self.units else None
        retry_before = time.time() if retry_failed else None
        worker = f"{socket.gethostname()}:{os.getpid()}"
        outcomes: list[TrialOutcome] = []
        while max_trials is None or len(outcomes) < max_trials:
            with warnings.catch_warnings():  # experimental in Optuna: used on purpose
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                optuna.storages.fail_stale_trials(study)
            trial, index, owner, seeds = None, None, None, self.seeds
            try:
                if claims is not None:
                    got = claims.claim(self.units, retry_before)
                    if got is None:
                        if wait and claims.pending():
                            time.sleep(self.storage.heartbeat_interval)
                            continue
                        break
                    index, owner = got
                    with _interrupts_deferred():   # a trial created is a trial we hold
                        trial = self._ask(study)
                    trial.set_user_attr("worker", worker)
                    if not claims.bind(index, owner, _compat.trial_id(trial)):  # taken over
                        study.tell(trial, state=TrialState.FAIL)
                        continue
                    point_index, seed = self.unit(index)
                    trial.set_user_attr("unit", index)   # first: what the claims check
                    trial.set_user_attr("point", point_index)
                    self._sampler.assign(trial.number, sampling.grid_params(cfg, point_index))
                    seeds = [seed]
                else:
                    if len(_finished_or_running(study)) >= self._n_trials():
                        break
                    with _interrupts_deferred():   # a trial created is a trial we hold
                        trial = self._ask(study)
                    trial.set_user_attr("worker", worker)
                outcome = runner.run(study, trial, seeds, on_start)
            except KeyboardInterrupt:  # leave nothing RUNNING, give the unit back
                _interrupted(study, trial, claims, index, owner)
                raise
            outcomes.append(outcome)
            if on_trial:
                on_trial(outcome)
        return outcomes

    def _ask(self, study: optuna.Study) -> Trial:
        with warnings.catch_warnings():
            # We keep heartbeats under ask/tell on purpose (the runner's own thread beats).
            warnings.filterwarnings("ignore", message="Heartbeat of storage is supposed")
            trial = study.ask()
        self.storage.record_heartbeat(_compat.trial_id(trial))
        return trial


@contextmanager
def _interrupts_deferred():
    """Hold Ctrl-C / SIGTERM while a trial is being created, then deliver them: an interrupt that
    landed inside ``study.ask()`` left the new trial RUNNING with nobody to fail it (until the
    heartbeat grace period). Only in the main thread, where Python runs signal handlers."""
    held = (signal.SIGINT, signal.SIGTERM)
    if (threading.current_thread() is not threading.main_thread()
            or any(signal.getsignal(s) is None for s in held)):  # a handler Python cannot restore
        yield
        return
    pending: list[int] = []
    previous = {s: signal.signal(s, lambda signum, frame: pending.append(signum)) for s in held}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
        for s in pending:               # as if it arrived now: the handler it would have met
            signal.raise_signal(s)


def _finished_or_running(study: optuna.Study) -> list[FrozenTrial]:
    return [t for t in study.get_trials(deepcopy=False)
            if t.state in (TrialState.COMPLETE, TrialState.PRUNED, TrialState.RUNNING)]


def _interrupted(study: optuna.Study, trial: Trial | None, claims, index, owner) -> None:
    """Ctrl-C: fail the trial (marked interrupted) and give its unit back for another worker."""
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
