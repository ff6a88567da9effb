"""The search: a study config's store, its plan and the loop, behind one object.

:class:`Search` is what the CLI and library users hold: it opens the store
(:class:`~gridsearch.study._store.Store`), builds the plan the config asks for (a grid of points,
a race over them, or a sampler's trials: :func:`plan_of`), prepares the device and the data once,
runs the plan through the one loop (:func:`gridsearch.study._loop.run`) and reads the selection
back.  A confirmation is a Search over a derived config (:mod:`gridsearch.study._confirm`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from gridsearch.config import StudyConfig
from gridsearch.study import _loop as loop
from gridsearch.study._plan import FixedPlan, Item, Param, Plan, SampledPlan
from gridsearch.study._record import TrialRecord, read
from gridsearch.study._runner import Outcome, Prepared, Runner, prepare, search_item
from gridsearch.study._store import Store, confirmation_name

RACE_ATTR = "race"   # study attribute: the race's decision, as of the last run
DATA_ATTR = "data"   # study attribute: what was loaded (the data's manifest record)
# What must not change between runs of one study: the same classes, drawn the same way.
_SAME_DATA = ("source", "layout", "classes", "subset", "seed", "image_size", "crop")


def check_data(study, data) -> None:
    """Record what was loaded on the study the first time; later, refuse data that differ in what
    a trial learns from (classes, per-class subset counts, image size, crop): the study's trials
    would otherwise mix two data sets silently."""
    from gridsearch.errors import DataError

    manifest = getattr(data, "manifest", None)
    if manifest is None:
        return
    mine = manifest.record()
    stored = study.user_attrs.get(DATA_ATTR)
    if not isinstance(stored, dict):
        study.set_user_attr(DATA_ATTR, mine)
        return
    for k in _SAME_DATA:
        if k in stored and stored[k] != mine.get(k):
            raise DataError(f"data: {k} is not what study {study.study_name!r} was trained on "
                            f"({_short(stored[k])} then, {_short(mine.get(k))} now); restore the "
                            "data or start a study of another name")
    if stored.get("cache", {}).get("key") != mine.get("cache", {}).get("key"):
        study.set_user_attr(DATA_ATTR, mine)   # files touched, same classes and subsets: go on


def _short(v) -> str:
    text = str(v)
    return text if len(text) <= 60 else text[:57] + "…"


def points_of(cfg: StudyConfig) -> list[Item]:
    """The items of a study over explicit points: its grid, its width shares or its list."""
    from gridsearch.scaling import Spec

    s, pts = cfg.search, cfg.points()
    if s.points:          # a list (a confirmation): the distributions span the listed points
        span = {k: (min(getattr(p, k) for p in pts), max(getattr(p, k) for p in pts))
                for k in ("alpha", "beta", "gamma")}
    else:
        span = {k: (getattr(s, k).min, getattr(s, k).max) for k in ("alpha", "beta", "gamma")}
    shares = cfg.width_shares() if not s.points else []
    items = []
    for i, p in enumerate(pts):
        if shares and s.width_share is not None:
            params = {"width_share": Param(shares[i], s.width_share.min, s.width_share.max)}
        else:
            params = {k: Param(getattr(p, k), *span[k]) for k in ("alpha", "beta", "gamma")}
        spec = Spec.compound(p, s.phi, shares[i] if shares else None)
        items.append(search_item(cfg, spec, params, label=f"a={shares[i]:g}" if shares else
                                 f"a={p.alpha:g} b={p.beta:g} g={p.gamma:g}"))
    return items


def ranking(cfg: StudyConfig) -> dict[str, Any]:
    """How a study's values are ranked, as :func:`gridsearch.selection.rank` and ``select`` take
    it: the direction, and the range intervals are clipped to (the built-in trainer's accuracy
    lies in [0, 1]; a training function's metric has no known range)."""
    return {"maximize": cfg.train.maximize,
            "bounds": None if cfg.train.function else (0.0, 1.0)}


def quantum_of(cfg: StudyConfig) -> float | None:
    """The resolution of the study's results: the built-in trainer's accuracy over val_size images
    moves in steps of 1 / val_size (None for a training function's metric: its own data and
    scale are not known here)."""
    if cfg.train.function:
        return None
    n = cfg.data.val_size
    return 1.0 / n if n else None


def plan_of(cfg: StudyConfig) -> Plan:
    """The plan a config asks for: every point × every seed, a race, or a sampler's trials."""
    seeds = cfg.train.seed_list()
    if cfg.search.sampler != "grid" and not cfg.search.points:
        return SampledPlan(cfg.search.n_trials or len(cfg.points()), seeds)
    items = points_of(cfg)
    if cfg.select.mode == "race":
        from gridsearch.study._race import RacePlan

        return RacePlan(items, cfg.train.seed, cfg.select, maximize=cfg.train.maximize,
                        quantum=quantum_of(cfg))
    return FixedPlan(items, seeds)


def finished_of(study, records: list[TrialRecord]) -> bool:
    """Whether a stored study (a confirmation) has run every unit it will run: none left or
    running (failed ones count as run). True when its config is not stored (nothing to go on)."""
    from gridsearch.study._store import stored_config

    cfg = stored_config(study)
    if cfg is None:
        return True
    p = plan_of(cfg).progress(records)
    return p["left"] == 0 and p["running"] == 0


def decision_of(study, records: list[TrialRecord]):
    """The race a stored study ran (a search or a confirmation), from its stored config and its
    records; None when it ran none (or its first stage has not finished)."""
    from gridsearch.study._race import RacePlan
    from gridsearch.study._store import stored_config

    cfg = stored_config(study)
    if cfg is None or cfg.select.mode != "race":
        return None
    plan = plan_of(cfg)
    return plan.outcome(records) if isinstance(plan, RacePlan) else None


class Search:
    """One study config bound to one storage URL, with its plan.  ``train``: a training function
    ``fit(model, ctx)`` (:class:`gridsearch.TrainContext`) instead of ``[train] function`` / the
    built-in trainer."""

    def __init__(self, cfg: StudyConfig, storage_url: str | None = None, counter=None,
                 store: Store | None = None, plan: Plan | None = None, realiser=None,
                 train=None) -> None:
        self.cfg = cfg
        self._fit = train
        self.store = store or Store(cfg, storage_url)
        self.url = self.store.url
        self.plan = plan or plan_of(cfg)
        self._counter = counter
        self._realiser = realiser
        self._prepared: Prepared | None = None

    # -- the store ------------------------------------------------------------------------------
    @property
    def storage(self):
        return self.store.storage

    @property
    def items(self) -> list[Item]:
        """The planned items, one per point (empty for a sampler's study)."""
        return self.plan.items

    def exists(self) -> bool:
        return self.store.exists()

    def study(self, create: bool = True):
        return self.store.study(create=create)

    def records(self) -> list[TrialRecord]:
        return read(self.study(create=False))

    def confirmation(self):
        """The study's confirmation (``<name>-confirm`` in the same store), if one was started."""
        return self.store.load(confirmation_name(self.cfg.name))

    def selection(self, records: list[TrialRecord] | None = None,
                  confirmed: list[TrialRecord] | None = None):
        """THE selection rule (:func:`gridsearch.selection.select`) over the highest rung of the
        fidelity ladder climbed (``gridsearch climb``: its race's decision, else its best mean),
        else over the confirmation when there is one, else over the search (a race's decision
        when one ran, else the best mean). ``records`` / ``confirmed``: the search's and the
        confirmation's trials, if read."""
        from gridsearch.selection import select

        top = self.top_rung()
        if top is not None:
            sel = select(top.records, top.name, race=top.race, **ranking(self.cfg))
            return dataclasses.replace(sel, source=f"rung {top.rung}")
        study = self.study(create=False)
        records = read(study) if records is None else records
        confirm = None
        if confirmed is None:
            confirm = self.confirmation()
            confirmed = read(confirm) if confirm is not None else []
        confirm_race, finished = None, True
        if confirmed:
            confirm = confirm or self.confirmation()
            if confirm is not None:
                confirm_race = decision_of(confirm, confirmed)
                finished = finished_of(confirm, confirmed)
        return select(records, study.study_name, confirmed, confirmation_name(self.cfg.name),
                      race=decision_of(study, records), confirm_race=confirm_race,
                      confirm_finished=finished, **ranking(self.cfg))

    def top_rung(self):
        """The highest rung of the fidelity ladder climbed above the search (a finished
        ``<name>-rN`` study), or None."""
        from gridsearch.study._climb import climbed

        rungs = climbed(self)
        return rungs[-1] if rungs else None

    def records_of(self, study_name: str) -> list[TrialRecord]:
        """The trials of a study of this store by name (the search, a rung, a confirmation)."""
        if study_name == self.cfg.name:
            return self.records()
        other = self.store.load(study_name)
        return read(other) if other is not None else []

    # -- candidates -------------------------------------------------------------------------------
    def realiser(self):
        if self._realiser is None:
            from gridsearch.measure import ComplexityCounter, Realiser

            self._realiser = Realiser.of(self.cfg.model, seed=self.cfg.train.seed,
                                         counter=self._counter or ComplexityCounter(),
                                         folder=self.cfg.folder())
        return self._realiser

    @property
    def counter(self):
        return self.realiser().counter

    def training_function(self):
        """The study's training function, imported and checked (a :class:`ConfigError` naming
        ``train.function`` when it cannot be used): what ``plan`` checks before measuring."""
        if self._fit is None:
            from gridsearch.training import load_fit

            self._fit = load_fit(self.cfg)
        return self._fit

    def plan_candidates(self, on_candidate: Callable[[int, Any], None] | None = None) -> list:
        """Realise and measure every planned item, without training (``gridsearch plan``)."""
        self.training_function()
        out = []
        tol = self.cfg.budget.tolerance
        for i, item in enumerate(self.plan.items):
            m = self.realiser().realise(item.spec, target=item.target, tolerance=tol,
                                        mode=item.mode)
            out.append(m)
            if on_candidate:
                on_candidate(i, m)
        return out

    # -- before touching the store ----------------------------------------------------------------
    def prepare(self, device: str | None = None) -> Prepared:
        """Check and load what every trial needs (device, baseline, data), before the study is
        created or changed, so bad input leaves the store as it was."""
        if self._prepared is None:
            self._prepared = prepare(self.cfg, self.realiser(), device, self.training_function())
        return self._prepared

    def init(self) -> bool:
        """Check everything, then create the study (or check the existing one's config).
        Returns True if this call created it."""
        prepared = self.prepare(device="cpu")
        existed = self.store.exists()
        check_data(self.study(create=True), prepared.data)
        return not existed

    # -- progress ---------------------------------------------------------------------------------
    @property
    def units(self) -> int:
        """Planned units (0 for a sampler's study)."""
        return self.plan.size if self.plan.claims else 0

    def total(self) -> int:
        """What ``run`` works through: units, or the trials of a sampler."""
        return self.plan.size

    def progress(self) -> dict[str, int]:
        """Units (or trials) by what became of them: done, failed, running and left."""
        return self.plan.progress(read(self.study(create=False)))

    def remaining(self) -> int:
        p = self.progress()
        return p["left"] + p["running"]

    # -- running ----------------------------------------------------------------------------------
    def run(self, max_trials: int | None = None, retry_failed: bool = False,
            device: str | None = None, on_trial: Callable[[Outcome], None] | None = None,
            on_start: Callable[[int, Item], None] | None = None, create: bool = True,
            wait: bool = True, load: int = 1) -> list[Outcome]:
        """Run the plan until it is done or ``max_trials`` ran. Resumable at any point; several
        workers may run it on one study at once: each unit is trained exactly once."""
        prepared = self.prepare(device)
        study = self.study(create=create)
        check_data(study, prepared.data)
        study.set_user_attr("baseline", self.realiser().baseline_dict())
        runner = Runner(self.cfg, self.realiser(), prepared, load=load)
        outcomes = loop.run(self.store, self.plan, runner, max_trials=max_trials,
                            retry_failed=retry_failed, wait=wait, create=create,
                            on_trial=on_trial, on_start=on_start)
        race = self.race()
        if race is not None:   # the decision so far, where the dashboard and exports see it
            study.set_user_attr(RACE_ATTR, race.as_dict())
        return outcomes

    def race(self, records: list[TrialRecord] | None = None):
        """The race this study runs (``[select] mode = "race"``): its decision and forecast so
        far, or None (no race, or its first stage is still running)."""
        from gridsearch.study._race import RacePlan

        if not isinstance(self.plan, RacePlan):
            return None
        return self.plan.outcome(self.records() if records is None else records)
