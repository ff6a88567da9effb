"""Compound scaling vs single-dimension scaling at the same measured FLOPs, as a plan.

For a φ the compound point (the frozen coefficients when the study has them, else the selected
point) is realised and measured; every other strategy (depth only, width only, resolution only:
:data:`gridsearch.scaling.SINGLE`) is solved so that its *measured* FLOPs match the compound
network's within the budget tolerance (where rounding allows; the verdict says when not).  The
networks are the items of a :class:`~gridsearch.study.FixedPlan` with the study's seeds, run by the
one loop in the study ``<name>-compare`` of the same store: each (strategy, seed) is trained exactly
once across workers (``compare --workers``), a failed unit fails alone, an interrupted comparison
resumes where it stopped, and a re-run reuses what is stored (``--rerun`` trains again).

A comparison's plan key names its φ and compound point (``phi=1;point=1,1.2,1.2``), so one store
holds comparisons at several φ; each trial records it as ``plan``.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from statistics import fmean
from typing import Any

from gridsearch import stats
from gridsearch.errors import ConfigError, GridsearchError
from gridsearch.family._freeze import stored_frozen
from gridsearch.scaling import REGISTRY, SINGLE, Point, Spec, named
from gridsearch.study import FixedPlan, Item, Param, Search, Store, compare_name, compare_plan_key

log = logging.getLogger(__name__)

COMPOUND = "compound"
CHOICES = (COMPOUND, *REGISTRY)      # the trial parameter ``strategy``
MAX_PHI = 8.0   # 2^8 × the baseline's FLOPs, each network proxy-trained: far enough
RUNS_ATTR = "runs"   # study attribute: how many times each comparison was started afresh


def check_phi(phi: float) -> float:
    """A φ to compare at: finite, not 0 (the baseline itself), |φ| ≤ MAX_PHI."""
    if not math.isfinite(phi) or abs(phi) > MAX_PHI:
        raise ConfigError(f"phi must be a number between {-MAX_PHI:g} and {MAX_PHI:g}, got {phi:g}")
    if phi == 0:
        raise ConfigError("phi = 0 is the baseline itself: nothing to compare (try --phi 1)")
    return phi


@dataclass
class Entry:
    """One network of the comparison as stored: how it was scaled, what it measured, how it
    trained over its seeds."""

    strategy: str
    phi: float
    attrs: dict[str, Any]                                        # the first trial's record row
    accuracies: dict[int, float] = field(default_factory=dict)   # seed → accuracy (latest run)
    history: list[float] | None = None
    trial: int | None = None
    study: str = ""
    plan: str = ""         # the comparison's plan key (its φ and compound point)

    @property
    def accuracy(self) -> float | None:
        """Mean over the seeds trained."""
        return fmean(self.accuracies.values()) if self.accuracies else None

    @property
    def summary(self) -> stats.Summary | None:
        return (stats.summarise(list(self.accuracies.values()), bounds=(0.0, 1.0))
                if self.accuracies else None)

    def row(self, against: Entry | None = None) -> dict[str, Any]:
        """The table row; with ``against`` (the compound entry), Welch's p of the difference."""
        a = self.attrs
        s = self.summary
        test = (stats.welch(list(self.accuracies.values()), list(against.accuracies.values()))
                if against is not None and against is not self and self.accuracies
                and against.accuracies else None)
        return {"strategy": self.strategy, "phi": self.phi, "s": a.get("s"),
                "d": a.get("d"), "w": a.get("w"),       # relative to the baseline: 1 = unchanged
                "resolution": a.get("resolution"), "flops": a.get("flops"),
                "flops_ratio": a.get("flops_ratio"), "params": a.get("params"),
                "activations": a.get("activations"), "within_tolerance": a.get("within_tolerance"),
                "train_seconds": a.get("train_seconds"), "accuracy": self.accuracy,
                "accuracy_std": s.std if s else None, "n": s.n if s else 0,
                "p_vs_compound": test.p if test else None,
                "trial": f"{self.study}#{self.trial}" if self.trial is not None else None}


def compound_point(search: Search) -> tuple[Point, str]:
    """The frozen coefficients if the study has them, else the selected point."""
    frozen = stored_frozen(search.study(create=False))
    if frozen is not None:
        return frozen.point, f"frozen ({frozen.study}#{frozen.trial})"
    sel = search.selection()
    w = sel.winner
    return w.point, f"selected point of the {sel.source} ({w.study}#{w.trials[0]})"


def matched(realiser, cfg, point: Point, phi: float, rivals, compound_label: str = COMPOUND,
            choices: tuple[str, ...] = CHOICES) -> list[Item]:
    """The items of a comparison at ``phi`` (``compare``, ``verify``): the compound network of
    ``point``, budget-checked as the search's are (``cfg``'s target^φ, tolerance and mode), first;
    then every rival ``(label, strategy)`` — a single dimension, or other coefficients
    (:func:`gridsearch.scaling.from_coefficients`) — solved so that its *measured* FLOPs match the
    compound network's (within the tolerance where rounding allows: its verdict says when not).
    Each item's trial parameter ``strategy`` is its label (one of ``choices``)."""
    target = cfg.search.target ** phi
    compound = realiser.realise(Spec.compound(point, phi), target=target,
                                tolerance=cfg.budget.tolerance, mode=cfg.budget.mode)
    ratio = compound.ratio("flops")
    items = [Item(compound.spec, {"strategy": Param(compound_label, choices=choices)}, target,
                  cfg.budget.mode, enforce=False, label=compound_label)]
    for label, strategy in rivals:
        m = realiser.match(strategy, ratio, cfg.budget.tolerance)
        items.append(Item(m.spec, {"strategy": Param(label, choices=choices)}, ratio, "reject",
                          enforce=False, label=label))
    return items


def compare_config(cfg):
    """The comparison's study config: the search's recipe, data and budget; one objective, no
    sampler of its own (the plan assigns each trial its strategy)."""
    s = dataclasses.replace(cfg.search, sampler="grid", pruner="none", points=(), width_share=None)
    return dataclasses.replace(cfg, name=compare_name(cfg.name), search=s,
                               objectives=dataclasses.replace(cfg.objectives, minimize=()),
                               select=dataclasses.replace(cfg.select, mode="fixed"))


class Compare:
    """The comparison of one study (see the module docstring)."""

    def __init__(self, search: Search, names: tuple[str, ...] = SINGLE) -> None:
        self.search = search
        self.cfg = search.cfg
        self.names = tuple(names)
        for n in self.names:
            named(n)
        self.inner_cfg = compare_config(self.cfg)
        self.store: Store = search.store.derived(
            self.inner_cfg, attrs={"source_study": self.cfg.name,
                                   "objective": "validation accuracy (maximize)"}, check=False)
        self._realiser = None

    # -- the plan -------------------------------------------------------------------------------
    def point(self) -> tuple[Point, str]:
        """The compound point compared against, and where it comes from."""
        return compound_point(self.search)

    def base_key(self, phi: float, point: Point) -> str:
        return compare_plan_key(phi, point)

    def plan(self, phi: float, seeds: int, point: Point | None = None,
             generation: int | None = None) -> FixedPlan:
        """Measure the compound network at ``phi`` and solve every strategy to its measured FLOPs;
        the plan of those networks × ``seeds`` seeds (train.seed, +1, …)."""
        point = point or self.point()[0]
        cfg = self.cfg
        items = matched(self.realiser(), cfg, point, phi,
                        [(name, named(name)) for name in self.names])
        order = [COMPOUND, *self.names]
        key = self.base_key(phi, point)
        g = self.generation(key) if generation is None else generation
        return FixedPlan(items, [cfg.train.seed + i for i in range(seeds)],
                         key=key if g <= 1 else f"{key};run={g}",
                         item_of=lambda r: order.index(r.strategy) if r.strategy in order else None,
                         merge=False)

    def generation(self, key: str) -> int:
        if not self.store.exists():
            return 1
        return int(self.store.study().user_attrs.get(RUNS_ATTR, {}).get(key, 1))

    def fresh(self, phi: float, point: Point) -> int:
        """Start the comparison at ``phi`` afresh (``--rerun``): a new generation of its plan."""
        key = self.base_key(phi, point)
        study = self.store.study(create=True)
        runs = dict(study.user_attrs.get(RUNS_ATTR, {}))
        runs[key] = int(runs.get(key, 1)) + 1
        study.set_user_attr(RUNS_ATTR, runs)
        return runs[key]

    def realiser(self):
        """The search's realiser (one counter: the compound network is measured once)."""
        return self.search.realiser()

    # -- running --------------------------------------------------------------------------------
    def search_for(self, phi: float, seeds: int = 1, rerun: bool = False) -> Search:
        """The comparison at ``phi`` as a runnable study: its store and its plan (a Search, so
        the CLI runs it like any other: in this process or with workers)."""
        check_phi(phi)
        if isinstance(seeds, bool) or seeds < 1:
            raise ConfigError(f"--seeds: must be ≥ 1, got {seeds}")
        point = self.point()[0]
        if rerun:
            self.fresh(phi, point)
        return Search(self.inner_cfg, store=self.store, plan=self.plan(phi, seeds, point),
                      realiser=self.realiser())

    def run(self, phi: float, seeds: int = 1, rerun: bool = False, device: str | None = None,
            on_trial: Callable | None = None, wait: bool = True, load: int = 1) -> list[Entry]:
        """Train every (network, seed) of the comparison at ``phi`` not yet trained; return the
        entries.  When everything is stored (and not ``rerun``) nothing is trained."""
        inner = self.search_for(phi, seeds, rerun)
        if not self.store.exists() or self.left(inner):
            inner.run(device=device, on_trial=on_trial, wait=wait, load=load)
        return self.entries(phi, self.point()[0])

    def missing(self, entries: list[Entry]) -> list[str]:
        """The strategies of one comparison without a finished trial (each of them failed)."""
        return sorted({COMPOUND, *self.names} - {e.strategy for e in entries})

    def left(self, inner: Search) -> int:
        p = inner.plan.progress(self.store.records())
        return p["left"] + p["running"]

    # -- reading --------------------------------------------------------------------------------
    def entries(self, phi: float | None = None, point: Point | None = None) -> list[Entry]:
        """The finished comparison trials merged per (φ, strategy): the latest run per seed.
        With ``phi`` and ``point``, only that comparison."""
        if not self.store.exists():
            raise GridsearchError(f"no comparison yet for study {self.cfg.name!r} "
                                  "(run `gridsearch compare` first)")
        want = self.base_key(phi, point) if phi is not None and point is not None else None
        merged: dict[tuple[str, str], Entry] = {}
        for r in sorted(self.store.records(), key=lambda r: r.number):
            if (r.state != "COMPLETE" or not r.plan or r.strategy is None
                    or r.mean_accuracy is None):
                continue
            base = r.plan.split(";run=")[0]
            if want is not None and base != want:
                continue
            k = (base, r.strategy)
            e = merged.get(k)
            if e is None:
                e = merged[k] = Entry(r.strategy, _phi_of(base), r.row(), {}, list(r.history),
                                      r.number, r.study, base)
            seed = r.seed if r.seed is not None else self.cfg.train.seed
            e.accuracies[seed] = r.mean_accuracy     # records in order: the latest run wins
        order = {n: i for i, n in enumerate(CHOICES)}
        return sorted(merged.values(), key=lambda e: (e.phi, order.get(e.strategy, 99)))


def compare_rows(entries: list[Entry]) -> list[dict[str, Any]]:
    """The entries' table rows (compare.csv), each with Welch's p against the compound network of
    its own comparison (the same φ and compound point)."""
    compound = {e.plan: e for e in entries if e.strategy == COMPOUND}
    return [e.row(compound.get(e.plan)) for e in entries]


def compare_verdict(rows: list[dict[str, Any]], metric: str = "accuracy") -> str | None:
    """Compound's gap to each strategy of one comparison and whether it is significant (Welch's
    t-test, p < :data:`gridsearch.stats.ALPHA`); None without a compound row."""
    base = next((r for r in rows if r["strategy"] == COMPOUND), None)
    if base is None:
        return None
    if base["n"] < 2:
        return "no noise estimate (one seed each): re-run with --seeds 3 to test the gaps"
    parts = []
    for r in rows:
        if r["strategy"] == COMPOUND or r["accuracy"] is None:
            continue
        gap = base["accuracy"] - r["accuracy"]
        p = r["p_vs_compound"]
        sig = "significant" if p is not None and p < stats.ALPHA else "not significant"
        parts.append(f"{r['strategy']} {gap:+.4f} (p = {'n/a' if p is None else f'{p:.3g}'}, {sig})")
    return f"compound minus ({metric}): " + "; ".join(parts)


def unmatched_note(rows: list[dict[str, Any]], tolerance: float) -> str | None:
    """The strategies whose solved network missed the compound FLOPs by more than ``tolerance``
    (rounding), in a sentence; None when every one matched."""
    return unmatched_sentence([r["strategy"] for r in rows if r["within_tolerance"] is False
                               and r["strategy"] != COMPOUND], tolerance, "the compound")


def unmatched_sentence(names: list[str], tolerance: float, against: str) -> str | None:
    """That the networks ``names`` missed ``against``'s measured FLOPs by more than ``tolerance``
    (their depth or width rounds), in a sentence (``compare``, ``verify``); None without any."""
    if not names:
        return None
    return (f"note: {', '.join(names)} could not match {against} FLOPs within {tolerance:.0%} "
            "(rounding); compared at the closest measured FLOPs")


def _phi_of(key: str) -> float:
    return float(key.split(";")[0].removeprefix("phi="))
