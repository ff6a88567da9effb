"""Confirmation: a one-rung climb given on the command line (``gridsearch confirm``).

It is rung 1 of the fidelity ladder (:mod:`gridsearch.study._climb`) with its fidelity given by
flags instead of ``[fidelity]``: the search's best ``--top`` points (carried by the ladder's rule,
:func:`gridsearch.selection.carry`: a race's survivors first, then by mean), re-trained with fresh
seeds (``train.seed + SEED_OFFSET``: none is a search seed), ``--seeds`` fixed or raced, at
``--epochs`` / ``--train-size`` / ``--val-size``. It is stored as ``<name>-confirm`` in the same
store and run by the one loop: it resumes, trains each (point, seed) exactly once and takes
workers like the search. Its verdict is the ladder's check between rung 0 and it
(:func:`gridsearch.selection.stability`: does it keep the search's top group within ε, and
Kendall's τ with its bootstrap interval), then the confirmation's own selection verdict. Once it
has finished, :meth:`Search.selection` (status, best, freeze, export, compare, report, the
dashboard) ranks by it, unless rungs of ``gridsearch climb`` are above it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gridsearch import stats
from gridsearch.config import StudyConfig
from gridsearch.errors import ConfigError, GridsearchError
from gridsearch.selection import Ranked, rank, select
from gridsearch.study._climb import Fidelity, point_name, rung_config, stored_confirmation, stored_rung
from gridsearch.study._search import Search, ranking


def confirm_config(cfg: StudyConfig, points, fidelity: Fidelity) -> StudyConfig:
    """The confirmation's study config: rung 1 over ``points`` at the flags' fidelity."""
    return rung_config(cfg, 1, points, given=fidelity)


def confirm_plan(search: Search, top: int, fidelity: Fidelity) -> Search:
    """The confirmation of ``search``'s ``top`` points (by the search's own seeds), as a Search on
    the same store.  An existing confirmation must have been started with the same arguments."""
    from gridsearch.selection import carry

    if isinstance(top, bool) or top < 1:
        raise ConfigError(f"--top: must be ≥ 1, got {top}")
    fidelity.check()
    result = stored_rung(search, 0).result()
    if result is None:
        raise GridsearchError(f"the search {search.cfg.name!r} has no feasible finished point "
                              "to confirm")
    cfg = confirm_config(search.cfg, carry(result, top, search.cfg.train.maximize), fidelity)
    return Search(cfg, store=search.store.derived(cfg), train=search._fit)


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
    check: Any = None                 # the ladder's Stability between rung 0 and it
    selection: Any = None             # the confirmation's Selection

    def eliminated_after(self, row: Row) -> int | None:
        """Seeds the point had when the race eliminated it (None: it survived, or no race)."""
        from gridsearch.scaling import Point

        return self.race.decision.eliminated_after(Point(*row.point)) if self.race else None

    def verdict(self) -> str:
        """The ladder's check (keeps the search's top group within ε, τ) and the
        confirmation's selection verdict: the sentences every rung and every study says."""
        done = [r for r in self.rows if r.confirmed is not None]
        if len(done) < 2 or self.check is None or self.selection is None:
            return "fewer than 2 points confirmed yet: nothing to rank"
        return f"{self.check.text(name=point_name)}; {self.selection.verdict()}"

    def as_dict(self) -> dict[str, Any]:
        return {"rows": [{"alpha": r.point[0], "beta": r.point[1], "gamma": r.point[2],
                          "search": r.search.summary.as_dict(), "search_rank": r.search_rank,
                          "confirmed": r.confirmed.summary.as_dict() if r.confirmed else None,
                          "confirmed_rank": r.confirmed_rank,
                          "eliminated_after": self.eliminated_after(r)} for r in self.rows],
                "race": self.race.as_dict() if self.race is not None else None,
                "check": self.check.as_dict(name=point_name) if self.check else None,
                "spearman": self.spearman, "kendall": self.kendall,
                "p_value": self.test.p if self.test else None, "verdict": self.verdict()}


def confirm_outcome(search: Search, confirmation: Search) -> ConfirmOutcome:
    """Compare the confirmation's per-point results with the search's: both read once, as the
    ladder reads its rungs (rung 0 and the confirmation's rung 1)."""
    from gridsearch.scaling import Point
    from gridsearch.selection import stability

    how = ranking(search.cfg)
    searched, rung = stored_rung(search, 0), stored_confirmation(search)
    if rung is None:
        raise GridsearchError(f"no confirmation of {search.cfg.name!r} is stored yet")
    found = {c.point.key(): (i + 1, c) for i, c in enumerate(rank(searched.records, **how))}
    try:
        confirmed_sel = select(rung.records, rung.name, race=rung.race, **how)
    except GridsearchError:
        confirmed_sel = None
    confirmed = {c.point.key(): (i + 1, c)
                 for i, c in enumerate(confirmed_sel.ranked if confirmed_sel else [])}
    rows = []
    for p in confirmation.cfg.search.points:
        k = Point(*p).key()
        if k not in found:
            raise GridsearchError(f"confirmed point {k} is no longer feasible and finished in the "
                                  f"search {search.cfg.name!r}")
        s_rank, s = found[k]
        c_rank, c = confirmed.get(k, (None, None))
        rows.append(Row(k, s, c, s_rank, c_rank))
    both = [(r.search.value, r.confirmed.value) for r in rows if r.confirmed is not None]
    rho = stats.spearman([x for x, _ in both], [y for _, y in both]) if len(both) >= 2 else None
    lower, upper = searched.result(), rung.result()
    check = (stability(lower, upper, maximize=search.cfg.train.maximize)
             if lower is not None and upper is not None and len(both) >= 2 else None)
    return ConfirmOutcome(rows, rho, check.agreement.tau if check else None,
                          confirmed_sel.test if confirmed_sel else None,
                          confirmation.cfg.train.epochs, search.cfg.train.epochs,
                          len(confirmed_sel.ties) if confirmed_sel else 0, rung.race, check,
                          confirmed_sel)
