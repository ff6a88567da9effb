"""The one loop that runs a plan against a study: claims, heartbeats, retries, interrupts.

Every study that trains goes through :func:`run`: the search, a confirmation, a comparison and a
race.  For a planned study (units) each pass fails stale trials (a killed worker's, after the
heartbeat grace period), asks the plan which units are open given the records so far, claims the
first free one in the claims table (exactly one worker wins it), asks Optuna for a trial, binds it
to the claim and hands it to the runner.  With nothing to claim the worker waits while others'
trials run — one of them may be killed and its unit must then be retried — and stops when the plan
has nothing left.  A sampled study (TPE, QMC, random) asks Optuna for trials until it has run
``n_trials``.

Ctrl-C or SIGTERM fails the running trial (marked ``interrupted``) and gives its unit back; a
device that became unusable (:class:`gridsearch.training.DeviceLost`) does the same and stops
the worker with that error, so the unit goes to a healthy worker.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
import time
import warnings
from collections.abc import Callable
from contextlib import contextmanager
from typing import Any

import optuna
from optuna.trial import Trial, TrialState

from gridsearch import _compat
from gridsearch.storage import Claims
from gridsearch.study._plan import Item, Plan
from gridsearch.study._record import Recorder, read, unit_of
from gridsearch.study._runner import Outcome, Runner

log = logging.getLogger(__name__)


class Heartbeat:
    """Records a trial's heartbeat while it runs, so a killed worker's trial is failed and retried."""

    def __init__(self, storage, trial_id: int) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, args=(storage, trial_id), daemon=True)

    def _beat(self, storage, trial_id: int) -> None:
        while True:
            try:
                storage.record_heartbeat(trial_id)
            except Exception:  # a missed beat is retried; never kill the trial
                log.debug("heartbeat failed", exc_info=True)
            if self._stop.wait(storage.heartbeat_interval):
                return

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def claims_of(store, plan: Plan) -> Claims:
    return Claims(store.storage, store.name, plan.key, unit_of)


def run(store, plan: Plan, runner: Runner, *, max_trials: int | None = None,
        retry_failed: bool = False, wait: bool = True, create: bool = True,
        on_trial: Callable[[Outcome], None] | None = None,
        on_start: Callable[[int, Item], None] | None = None) -> list[Outcome]:
    """Run ``plan``'s open units (or sampled trials) until none is left or ``max_trials`` ran.
    Resumable at any point; any number of workers may run it on one study at once."""
    study = store.study(create=create)
    storage = store.storage
    claims = claims_of(store, plan) if plan.claims else None
    retry_before = time.time() if retry_failed else None
    worker = f"{socket.gethostname()}:{os.getpid()}"
    outcomes: list[Outcome] = []
    while max_trials is None or len(outcomes) < max_trials:
        with warnings.catch_warnings():  # experimental in Optuna: used on purpose
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            optuna.storages.fail_stale_trials(study)
        records = read(study)
        trial, unit, owner = None, None, None
        try:
            if claims is not None:
                opening = plan.open(records)
                got = claims.claim(opening.units, retry_before) if opening.units else None
                if got is None:
                    if wait and (claims.pending() or _waiting_on_others(plan, opening, records)):
                        time.sleep(storage.heartbeat_interval)
                        continue
                    break
                index, owner = got
                unit = plan.unit(index)
                item = plan.items[unit.item]
                with _interrupts_deferred():   # a trial created is a trial we hold
                    trial = _ask(study, storage)
                rec = Recorder(trial)
                rec.set(worker=worker)
                if not claims.bind(index, owner, _compat.trial_id(trial)):  # taken over
                    study.tell(trial, state=TrialState.FAIL)
                    continue
                rec.set(unit=index, point_index=unit.item, **({"plan": plan.key} if plan.key else {}))
                study.sampler.assign(trial.number, {k: p.value for k, p in item.params.items()})
                seeds = [unit.seed]
            else:
                if plan.open(records).finished:
                    break
                with _interrupts_deferred():
                    trial = _ask(study, storage)
                Recorder(trial).set(worker=worker)
                item, seeds = None, plan.seeds
            with Heartbeat(storage, _compat.trial_id(trial)):
                outcome = runner.run(study, trial, item, seeds, on_start)
        except BaseException as e:  # Ctrl-C, or the device is gone: give the unit back
            from gridsearch.training import DeviceLost

            if isinstance(e, (KeyboardInterrupt, DeviceLost)):
                _give_back(study, trial, claims, unit, owner,
                           interrupted=isinstance(e, KeyboardInterrupt))
            raise
        outcomes.append(outcome)
        if on_trial:
            on_trial(outcome)
    return outcomes


def _waiting_on_others(plan: Plan, opening, records) -> bool:
    """Units that will open once running ones finish (a later seed, a race's next round)."""
    return not opening.finished and any(r.state == "RUNNING" for r in records if plan.mine(r))


def _ask(study: optuna.Study, storage) -> Trial:
    with warnings.catch_warnings():
        # Heartbeats are kept under ask/tell on purpose (the loop's own thread beats).
        warnings.filterwarnings("ignore", message="Heartbeat of storage is supposed")
        trial = study.ask()
    storage.record_heartbeat(_compat.trial_id(trial))
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
        for signum in pending:          # as if it arrived now: the handler it would have met
            signal.raise_signal(signum)


def _give_back(study: optuna.Study, trial: Trial | None, claims, unit, owner,
               interrupted: bool) -> None:
    """Fail the trial (marked interrupted, unless the runner already failed it) and give its unit
    back at once for another worker."""
    if trial is not None:
        if interrupted:
            _safe(lambda: Recorder(trial).set(interrupted=True))
        _safe(lambda: study.tell(trial, state=TrialState.FAIL))
    if claims is not None and unit is not None:
        _safe(lambda: claims.release(unit.index, owner))


def _safe(fn: Callable[[], Any]) -> None:
    try:
        fn()
    except Exception:  # best effort while interrupted
        log.debug("cleanup step failed", exc_info=True)
