"""The fidelity ladder as studies: rungs ``<name>-r1``, ``<name>-r2``, … climbed from the search.

Rung 0 is the search itself. Rung r ≥ 1 is a derived study in the same store, planned from rung
r − 1's decision: its best ``[fidelity] top`` points (a race's survivors first, then by mean:
:func:`gridsearch.selection.carry`; infeasible points never climb, they have no results), trained
with fresh seeds (``train.seed + SEED_OFFSET · r``) at the rung's fidelity (its ``[fidelity]
rungs`` table over the search's epochs, train_size, val_size), raced or fixed as ``[select]``
says. Each rung is a plan run by the one loop like the search: claims, workers, resume.

Once rung r has finished, :func:`gridsearch.selection.stability` says whether it keeps rung r −
1's top group; ``stop = "stable"`` ends the climb there, ``"all"`` climbs every rung. The answer is
the highest rung *finished* (:func:`climbed`): :meth:`Search.selection` ranks by it. The check of
that answer one φ up (``gridsearch verify``) is stored on the search's study (:data:`CHECK_ATTR`)
and read back by :func:`check_text`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, overload

from gridsearch.config import StudyConfig, fidelity_of
from gridsearch.errors import ConfigError, GridsearchError
from gridsearch.study._record import TrialRecord, read
from gridsearch.study._store import confirmation_name, rung_name

if TYPE_CHECKING:
    from gridsearch.selection import Ladder, RungResult
    from gridsearch.study._search import Search

SEED_OFFSET = 1000     # rung r's seeds start at train.seed + r · SEED_OFFSET: never a search seed
CHECK_ATTR = "phi_check"   # search study attribute: the last `verify --phi`'s verdict
MAX_RUNGS = 100


@dataclass(frozen=True)
class Fidelity:
    """A rung given on the command line (``gridsearch confirm``) instead of by ``[fidelity]``:
    what it changes about training (None: as in the search), its seeds, and whether it races."""

    seeds: int = 3
    epochs: int | None = None
    train_size: int | None = None
    val_size: int | None = None
    race: bool = False       # race the points (the config's [select]) instead of a fixed S

    def check(self) -> None:
        for name in ("seeds", "epochs", "train_size", "val_size"):
            v = getattr(self, name)
            if v is not None and (isinstance(v, bool) or v < 1):
                raise ConfigError(f"--{name.replace('_', '-')}: must be ≥ 1, got {v}")


def rung_config(cfg: StudyConfig, rung: int, points, given: Fidelity | None = None
                ) -> StudyConfig:
    """Rung ``rung``'s study config: the search's, over ``points``, at the rung's fidelity, with
    fresh seeds (no [fidelity] of its own: it is one rung). ``given``: a rung given on the
    command line (``confirm``: rung 1, stored as ``<name>-confirm``) — its fidelity the flags'
    (the search's where a flag is not given), its seeds ``given.seeds`` or a race."""
    t, d, o = cfg.train, cfg.data, cfg.objectives
    if given is None:
        name, how = rung_name(cfg.name, rung), cfg.select
        epochs, train_size, val_size = fidelity_of(cfg, rung)
        seeds = t.seeds
    else:
        name = confirmation_name(cfg.name)
        how = dataclasses.replace(cfg.select, mode="race" if given.race else "fixed")
        epochs, train_size, val_size = (given.epochs or t.epochs,
                                        given.train_size or d.train_size,
                                        given.val_size or d.val_size)
        seeds = given.seeds
    race = how.mode == "race"
    return dataclasses.replace(
        cfg, name=name, fidelity=None, select=how,
        train=dataclasses.replace(t, seed=t.seed + SEED_OFFSET * rung, epochs=epochs,
                                  seeds=cfg.select.max_seeds if race else seeds),
        data=dataclasses.replace(d, train_size=train_size, val_size=val_size),
        search=dataclasses.replace(cfg.search, points=tuple(tuple(p) for p in points),
                                   sampler="grid", pruner="none", width_share=None),
        objectives=dataclasses.replace(o, minimize=()))


def rung_label(cfg: StudyConfig, search: StudyConfig | None = None) -> str:
    """How a rung reads: ``9 epochs`` (and its data sizes where they differ from the search's)."""
    out = f"{cfg.train.epochs} epoch{'s' if cfg.train.epochs != 1 else ''}"
    if search is not None and cfg.data.train_size != search.data.train_size:
        out += f", {cfg.data.train_size:,} training images"
    if search is not None and cfg.data.val_size != search.data.val_size:
        out += f", {cfg.data.val_size:,} validation images"
    return out


@dataclass
class Rung:
    """One rung as stored: its study, config, records, race and whether its plan has finished."""

    rung: int
    study: Any                      # optuna.Study
    cfg: StudyConfig
    records: list[TrialRecord]
    race: Any                       # RaceOutcome or None
    finished: bool
    label: str = ""

    @property
    def name(self) -> str:
        return self.study.study_name

    def result(self) -> RungResult | None:
        """Its points' results per seed (feasible, finished), a race's survivors; None without
        any."""
        from gridsearch.selection import RungResult, rank
        from gridsearch.study._search import ranking

        ranked = rank(self.records, **ranking(self.cfg))
        if not ranked:
            return None
        survivors: tuple[tuple[float, float, float], ...] = ()
        if self.race is not None:
            have = {c.point.key() for c in ranked}
            survivors = tuple(k for k in (p.key() for p in self.race.decision.survivors)
                              if k in have)
        return RungResult(self.rung, {c.point.key(): c.accuracies for c in ranked}, survivors,
                          self.label)


@overload
def stored_rung(search: Search, r: Literal[0]) -> Rung: ...
@overload
def stored_rung(search: Search, r: int) -> Rung | None: ...
def stored_rung(search: Search, r: int) -> Rung | None:
    """Rung ``r`` of ``search`` as stored (r = 0: the search); None when it was never started."""
    from gridsearch.study._search import decision_of

    if r == 0:
        study = search.study(create=False)
        records = read(study)
        p = search.plan.progress(records)
        return Rung(0, study, search.cfg, records, decision_of(study, records),
                    p["left"] + p["running"] == 0, rung_label(search.cfg))
    return _stored(search, rung_name(search.cfg.name, r), r)


def stored_confirmation(search: Search) -> Rung | None:
    """The rung ``gridsearch confirm`` gave on the command line (``<name>-confirm``, rung 1), as
    stored; None when none was started."""
    return _stored(search, confirmation_name(search.cfg.name), 1)


def _stored(search: Search, name: str, r: int) -> Rung | None:
    from gridsearch.study._search import decision_of, plan_of
    from gridsearch.study._store import stored_config

    study = search.store.load(name)
    if study is None:
        return None
    cfg = stored_config(study)
    if cfg is None:
        return None
    records = read(study)
    p = plan_of(cfg).progress(records)
    return Rung(r, study, cfg, records, decision_of(study, records),
                p["left"] + p["running"] == 0 and any(x.state == "COMPLETE" for x in records),
                rung_label(cfg, search.cfg))


def climbed(search: Search) -> list[Rung]:
    """The rungs finished, from rung 0 up, stopping at the first that is not (or not there)."""
    out = []
    for r in range(1, MAX_RUNGS):
        got = stored_rung(search, r)
        if got is None or not got.finished:
            break
        out.append(got)
    return out


def ladder_of(search: Search, rungs: list[Rung] | None = None) -> Ladder | None:
    """The checks between the rungs climbed (rung 0 and those above it); None without a rung
    above the search."""
    from gridsearch.selection import ladder

    above = climbed(search) if rungs is None else rungs
    if not above:
        return None
    results = [x.result() for x in [stored_rung(search, 0), *above]]
    got = [r for r in results if r is not None]
    if len(got) < len(results):
        return None
    return ladder(got, maximize=search.cfg.train.maximize)


def point_name(p) -> str:
    """How a rung's point (its key: α, β, γ) reads."""
    from gridsearch.scaling import Point

    return Point(*p).label()


class Climb:
    """The climb of ``search``'s ladder (its ``[fidelity]``): which rung runs next, and each rung
    as a runnable :class:`Search`."""

    def __init__(self, search: Search) -> None:
        f = search.cfg.fidelity
        if f is None:
            raise ConfigError("fidelity: the config has no [fidelity] section; add one to climb, "
                              "e.g. rungs = [{}, { epochs = 9 }, { epochs = 27 }]")
        self.search, self.cfg, self.fidelity = search, search.cfg, f

    @property
    def rungs(self) -> int:
        return len(self.fidelity.rungs)

    def check_search(self) -> Rung:
        """Rung 0, which must have finished with at least 2 feasible points."""
        if not self.search.exists():
            raise GridsearchError(f"no study {self.cfg.name!r} yet: run the search first "
                                  f"(`gridsearch run`): it is rung 0")
        r0 = stored_rung(self.search, 0)
        if not r0.finished:
            p = self.search.progress()
            raise GridsearchError(f"the search {self.cfg.name!r} (rung 0) has {p['left']} "
                                  f"unit(s) left and {p['running']} running: finish it first "
                                  "(`gridsearch run`)")
        return r0

    def next_rung(self) -> int | None:
        """The rung to run now (unfinished or not started), or None: the climb is over (a rung
        kept the previous rung's top group with stop = "stable", or every rung was climbed)."""
        from gridsearch.selection import stability

        below = self.check_search()
        for r in range(1, self.rungs):
            got = stored_rung(self.search, r)
            if got is None or not got.finished:
                return r
            if self.fidelity.stop == "stable":
                lo, hi = below.result(), got.result()
                if lo is not None and hi is not None and \
                        stability(lo, hi, maximize=self.cfg.train.maximize, draws=0).stable:
                    return None
            below = got
        return None

    def carried(self, r: int) -> tuple[tuple[float, float, float], ...]:
        """The points rung ``r`` trains: rung r − 1's best ``top`` (it must have finished)."""
        from gridsearch.selection import carry

        below = stored_rung(self.search, r - 1) if r > 1 else self.check_search()
        if below is None or not below.finished:
            raise GridsearchError(f"rung {r - 1} of {self.cfg.name!r} has not finished: climb "
                                  "it first")
        result = below.result()
        points = carry(result, self.fidelity.top, self.cfg.train.maximize) if result else ()
        if len(points) < 2:
            raise GridsearchError(f"rung {r - 1} ({below.name}) has {len(points)} feasible "
                                  "finished point(s): nothing to climb")
        return tuple(points)

    def rung(self, r: int) -> Search:
        """Rung ``r`` ≥ 1 as a runnable Search on the same store (resumes where it stopped)."""
        from gridsearch.study._search import Search

        if not 1 <= r < self.rungs:
            raise ConfigError(f"--rung: must be 1 to {self.rungs - 1}, got {r}")
        cfg = rung_config(self.cfg, r, self.carried(r))
        return Search(cfg, store=self.search.store.derived(cfg), train=self.search._fit)


def check_text(search: Search, point=None) -> str:
    """What the last ``verify`` said about ``point`` (default: the answer's):
    "checked at φ = 2: holds", "checked at φ = 2: reversed by …", or "not checked"."""
    got = search.study(create=False).user_attrs.get(CHECK_ATTR)
    if not isinstance(got, dict):
        return "not checked"
    if point is None:
        try:
            point = search.selection().winner.point
        except GridsearchError:
            return "not checked"
    if tuple(got.get("point", ())) != point.key():
        return "not checked"
    return str(got.get("short", "not checked"))


def ladder_text(search: Search) -> str:
    """The ladder's sentence over the rungs climbed ("" when none was climbed above the
    search)."""
    lad = ladder_of(search)
    return lad.text(name=point_name) if lad is not None else ""
