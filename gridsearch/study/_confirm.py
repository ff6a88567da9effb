"""Confirmation: re-train the best K points of a finished search with S fresh seeds, optionally at a
higher fidelity, and say whether the proxy's ranking and its winner hold up.

A confirmation is an ordinary grid study over an explicit list of points (``search.points``), stored
as ``<name>-confirm`` in the same store: it resumes, trains each (point, seed) exactly once and takes
workers like the search.  Its seeds start at ``train.seed + SEED_OFFSET`` so none is a search seed.
Once it has results, :func:`gridsearch.selection.select` (freeze, export, compare, report,
the dashboard) ranks by the confirmation.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from gridsearch import stats
from gridsearch.config import StudyConfig
from gridsearch.errors import ConfigError, GridsearchError
from gridsearch.scaling import Point
from gridsearch.selection import Ranked, key, rank, select
from gridsearch.study._record import read
from gridsearch.study._search import Search, ranking
from gridsearch.study._store import confirmation_name

SEED_OFFSET = 1000


@dataclass(frozen=True)
class Fidelity:
    """What the confirmation changes about training (None: as in the search)."""

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


def confirm_config(cfg: StudyConfig, points: list[tuple[float, float, float]],
                   fidelity: Fidelity) -> StudyConfig:
    """The confirmation's study config: the search's, over ``points``, with fresh seeds."""
    t, d, o = cfg.train, cfg.data, cfg.objectives
    how = dataclasses.replace(cfg.select, mode="race" if fidelity.race else "fixed")
    seeds = cfg.select.max_seeds if fidelity.race else fidelity.seeds
    return dataclasses.replace(
        cfg, name=confirmation_name(cfg.name), select=how,
        train=dataclasses.replace(t, seed=t.seed + SEED_OFFSET, seeds=seeds,
                                  epochs=fidelity.epochs or t.epochs),
        data=dataclasses.replace(d, train_size=fidelity.train_size or d.train_size,
                                 val_size=fidelity.val_size or d.val_size),
        search=dataclasses.replace(cfg.search, points=tuple(points), sampler="grid",
                                   pruner="none", width_share=None),
        objectives=dataclasses.replace(o, minimize=()),
        storage=cfg.storage, path=cfg.path)


def confirm_plan(search: Search, top: int, fidelity: Fidelity) -> Search:
    """The confirmation of ``search``'s ``top`` points (by the search's own seeds), as a Search on
    the same store.  An existing confirmation must have been started with the same arguments."""
    if isinstance(top, bool) or top < 1:
        raise ConfigError(f"--top: must be ≥ 1, got {top}")
    fidelity.check()
    study = search.study(create=False)
    ranked = select(read(study), study.study_name,             # the search's ranking, never the
                    **ranking(search.cfg)).ranked
    points = [key(c.point) for c in ranked[:top]]            # confirmation's own
    cfg = confirm_config(search.cfg, points, fidelity)
    return Search(cfg, store=search.store.derived(cfg))


@dataclass(frozen=True)
class Row:
    point: tuple[float, float, float]
    search: Ranked
    confirmed: Ranked | None
    search_rank: int
    confirmed_rank: int | None


@dataclass(frozen=True)
class ConfirmOutcome:
    """The confirmation's table and its verdict."""

    rows: list[Row]
    spearman: float | None
    kendall: float | None
    test: stats.Test | None          # confirmed winner vs confirmed runner-up
    epochs: int
    search_epochs: int
    ties: int
    race: Any = None                  # the race's outcome, when the confirmation raced

    def eliminated_after(self, row: Row) -> int | None:
        """Seeds the point had when the race eliminated it (None: it survived, or no race)."""
        if self.race is None:
            return None
        from gridsearch.scaling import Point

        p = Point(*row.point)
        for s in self.race.decision.standings:
            if s.candidate == p:
                return s.eliminated_after
        return None

    def verdict(self) -> str:
        done = [r for r in self.rows if r.confirmed is not None]
        if len(done) < 2:
            return "fewer than 2 points confirmed yet: nothing to rank"
        fid = (f"{self.epochs}-epoch training" if self.epochs != self.search_epochs
               else "re-training with fresh seeds")
        if self.kendall is None:
            agreement = "rank agreement undefined (constant accuracies)"
        elif self.kendall >= 0.6:
            agreement = f"proxy ranking agrees with {fid} (τ = {self.kendall:.2f})"
        elif self.kendall > 0:
            agreement = f"proxy ranking agrees only weakly with {fid} (τ = {self.kendall:.2f})"
        else:
            agreement = f"proxy ranking does NOT agree with {fid} (τ = {self.kendall:.2f})"
        if self.race is not None:
            return f"{agreement}; {self.race.text()}"
        if self.test is None:
            winner = "no noise estimate for the winner (confirm with --seeds ≥ 2)"
        elif self.test.significant:
            winner = (f"the winner is significantly better than the runner-up "
                      f"(p = {self.test.p:.3g})")
        else:
            winner = (f"the top {self.ties + 1} are indistinguishable at this noise "
                      f"(p = {self.test.p:.3g}): raise seeds or fidelity")
        return f"{agreement}; {winner}"

    def as_dict(self) -> dict[str, Any]:
        return {"rows": [{"alpha": r.point[0], "beta": r.point[1], "gamma": r.point[2],
                          "search": r.search.summary.as_dict(), "search_rank": r.search_rank,
                          "confirmed": r.confirmed.summary.as_dict() if r.confirmed else None,
                          "confirmed_rank": r.confirmed_rank,
                          "eliminated_after": self.eliminated_after(r)} for r in self.rows],
                "race": self.race.as_dict() if self.race is not None else None,
                "spearman": self.spearman, "kendall": self.kendall,
                "p_value": self.test.p if self.test else None, "verdict": self.verdict()}


def confirm_outcome(search: Search, confirmation: Search) -> ConfirmOutcome:
    """Compare the confirmation's per-point accuracies with the search's."""
    study = confirmation.study(create=False)
    how = ranking(search.cfg)
    found = {key(c.point): (i + 1, c)
             for i, c in enumerate(rank(read(search.study(create=False)), **how))}
    confirmed_sel, race = None, None
    records = read(study)
    race = confirmation.race(records)
    try:
        confirmed_sel = select(records, study.study_name, race=race, **how)
    except GridsearchError:
        pass
    confirmed = {key(c.point): (i + 1, c)
                 for i, c in enumerate(confirmed_sel.ranked if confirmed_sel else [])}
    rows = []
    for p in confirmation.cfg.search.points:
        k = key(Point(*p))
        if k not in found:
            raise GridsearchError(f"confirmed point {k} is no longer feasible and finished in the "
                                  f"search {search.cfg.name!r}")
        s_rank, s = found[k]
        c_rank, c = confirmed.get(k, (None, None))
        rows.append(Row(k, s, c, s_rank, c_rank))
    both = [(r.search.value, r.confirmed.value) for r in rows if r.confirmed is not None]
    xs = [x for x, _ in both]
    ys = [y for _, y in both]
    rho = stats.spearman(xs, ys) if len(both) >= 2 else None
    tau = stats.kendall(xs, ys) if len(both) >= 2 else None
    return ConfirmOutcome(rows, rho, tau, confirmed_sel.test if confirmed_sel else None,
                          confirmation.cfg.train.epochs, search.cfg.train.epochs,
                          len(confirmed_sel.ties) if confirmed_sel else 0, race)
