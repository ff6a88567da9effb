"""One φ up: does the chosen (α, β, γ) still beat its rivals at a larger network?

``gridsearch verify --phi N`` realises, at φ = N, the chosen point (the frozen coefficients, else
the selected point: :func:`gridsearch.family.compound_point`) and its rivals, every rival solved
to the chosen network's *measured* FLOPs by the comparison's one mechanism
(:func:`gridsearch.family._compare.matched`):

* the next points of the highest rung climbed (its ranking after the winner, ``[fidelity] top``
  − 1 of them, 2 without a ladder), as coefficient sets;
* EfficientNet's α = 1.2, β = 1.1, γ = 1.15 (unless it is one of the above);
* depth only, width only, resolution only.

Each is trained at the highest rung's fidelity (its epochs and data sizes), as the study
``<name>-phiN`` of the same store, and *raced*: Kim & Nelson's sequential procedure
(:class:`gridsearch.selection.Race`, common random numbers: seed k is seed k for every network)
run by the one loop as the search's race is (:class:`gridsearch.study.RacePlan`: each (network,
seed) once, resumable, workers busy). A first stage of ``min(n0, S)`` seeds, then a seed at a
time for the networks still in the race, up to ``S`` (``--seeds``, default ``max_seeds``): a
rival far behind stops training after the first stage.

The verdict: the choice *holds* when the procedure kept it alone (the best within δ with the
stated confidence) or chose it; it is *reversed* when the procedure eliminated it — by the best
survivor, with the paired mean difference ± its standard error over their common seeds;
*undecided* when it survived with others at ``S`` seeds (more seeds may separate them).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from statistics import fmean, stdev
from typing import Any

from gridsearch.errors import ConfigError, GridsearchError
from gridsearch.family._compare import check_phi, compound_point, matched, unmatched_sentence
from gridsearch.family._freeze import FROZEN_ATTR, stored_frozen
from gridsearch.scaling import SINGLE, Point, from_coefficients, named
from gridsearch.study import CHECK_ATTR, Plan, RacePlan, Search, climbed, compare_plan_key, rung_label, verify_name

CHOSEN = "chosen"
EFFICIENTNET = Point(1.2, 1.1, 1.15)   # Tan & Le 2019, found at φ = 1 on ImageNet
MAX_RIVALS = 8
CHOICES = (CHOSEN, *(f"rival{i}" for i in range(1, MAX_RIVALS + 1)), "efficientnet", *SINGLE)
SEED_OFFSET = 7000     # the check's seeds: train.seed + SEED_OFFSET + k, never a search's


@dataclass
class VerifyRow:
    label: str                 # the trial parameter ``strategy``
    name: str                  # how it reads
    values: dict[int, float] = field(default_factory=dict)   # seed rank -> metric
    attrs: dict[str, Any] = field(default_factory=dict)      # the first trial's record row

    @property
    def mean(self) -> float | None:
        return fmean(self.values.values()) if self.values else None


@dataclass
class VerifyOutcome:
    phi: float
    chosen: Point
    origin: str
    rows: list[VerifyRow]
    seeds: int                     # the most seeds a network gets (the race's max_seeds)
    decision: Any = None           # the race's Decision over the labels, None until it is done
    verdict: str | None = None     # "holds", "reversed" or "undecided"; None until all trained
    by: VerifyRow | None = None
    diff: tuple[float, float, int] | None = None   # paired mean, its standard error, n
    ratio: float | None = None     # the chosen network's measured FLOPs ratio
    rung: str = "search"

    @property
    def holds(self) -> bool | None:
        return None if self.verdict is None else self.verdict == "holds"

    def _reversal(self) -> tuple[VerifyRow, tuple[float, float, int]]:
        """The rival that reversed the choice and the paired difference (set with "reversed")."""
        if self.by is None or self.diff is None:
            raise ValueError(f"no reversal: the verdict is {self.verdict!r}")
        return self.by, self.diff

    def _open(self) -> str:
        names = {r.label: r.name for r in self.rows}
        return ", ".join(names[c] for c in self.decision.survivors if c != CHOSEN)

    def short(self) -> str:
        """What every screen says: ``checked at φ = 2: holds`` / ``… reversed by …`` /
        ``… not separated from …``."""
        if self.verdict is None:
            return "not checked"
        if self.verdict == "holds":
            return f"checked at φ = {self.phi:g}: holds"
        if self.verdict == "undecided":
            return (f"checked at φ = {self.phi:g}: not separated from {self._open()} at "
                    f"{self.seeds} seeds (raise --seeds)")
        by, (m, se, n) = self._reversal()
        return (f"checked at φ = {self.phi:g}: reversed by {by.name} (better by {m:.4f} ± "
                f"{se:.4f}, paired, n = {n})")

    def text(self, delta: float) -> str:
        if self.decision is None:
            return "the race has not finished: no verdict"
        rivals = ", ".join(r.name for r in self.rows[1:])
        at = (f"at φ = {self.phi:g} (measured {self.ratio:.2f}× the baseline's FLOPs)"
              if self.ratio else f"at φ = {self.phi:g}")
        if self.verdict == "holds":
            return (f"{at} {self.chosen.label()} is still the best within δ = {delta:g} of: "
                    f"{rivals} (KN, paired seeds, {self._seeds()}): holds")
        if self.verdict == "undecided":
            alive = set(self.decision.survivors)
            out = ", ".join(r.name for r in self.rows[1:] if r.label not in alive)
            return (f"{at} {self.chosen.label()} is not separated from {self._open()} (KN, "
                    f"paired seeds, {self._seeds()}, δ = {delta:g}): undecided"
                    + (f"; out: {out}" if out else ""))
        by, (m, se, n) = self._reversal()
        return (f"{at}: reversed: {by.name} is better than {self.chosen.label()} by "
                f"{m:.4f} ± {se:.4f} (paired, n = {n}); rivals: {rivals}")

    def unmatched_note(self, tolerance: float) -> str | None:
        """The rivals whose solved network missed the chosen network's measured FLOPs by more
        than ``tolerance``, in a sentence; None when every one matched."""
        return unmatched_sentence([r.name for r in self.rows[1:]
                                   if r.attrs.get("within_tolerance") is False], tolerance,
                                  "the chosen network's")

    def eliminated_after(self, row: VerifyRow) -> int | None:
        """The seeds a network had when the race eliminated it (None: it stayed, or no race)."""
        return self.decision.eliminated_after(row.label) if self.decision is not None else None

    def _seeds(self) -> str:
        """How many seeds the networks trained: "6 seeds" or "2–6 seeds"."""
        got = sorted({len(r.values) for r in self.rows if r.values})
        span = f"{got[0]}–{got[-1]}" if got and got[0] != got[-1] else f"{got[-1] if got else 0}"
        return f"{span} seeds"

    def as_dict(self) -> dict[str, Any]:
        return {"phi": self.phi, "chosen": self.chosen.as_dict(), "origin": self.origin,
                "seeds": self.seeds, "verdict": self.verdict, "holds": self.holds, "short": self.short(),
                "by": self.by.name if self.by else None,
                "paired_difference": None if self.diff is None else
                {"mean": self.diff[0], "se": self.diff[1], "n": self.diff[2]},
                "flops_ratio": self.ratio, "rung": self.rung,
                "rows": [{"strategy": r.label, "name": r.name, "mean": r.mean, "n": len(r.values),
                          "values": [r.values[k] for k in sorted(r.values)],
                          "eliminated_after": self.eliminated_after(r),
                          "flops_ratio": r.attrs.get("flops_ratio"),
                          "within_tolerance": r.attrs.get("within_tolerance"),
                          "resolution": r.attrs.get("resolution"), "d": r.attrs.get("d"),
                          "w": r.attrs.get("w")} for r in self.rows],
                "race": self.decision.as_dict() if self.decision is not None else None}


class Verify:
    """The check of ``search``'s choice at ``phi`` with ``seeds`` paired seeds."""

    def __init__(self, search: Search, phi: float, seeds: int | None = None) -> None:
        check_phi(phi)
        cfg = search.cfg
        seeds = cfg.select.max_seeds if seeds is None else seeds
        if isinstance(seeds, bool) or not 2 <= seeds <= 1000:
            raise ConfigError(f"--seeds: must be 2 to 1000 (paired seeds need a spread), "
                              f"got {seeds}")
        self.search, self.cfg, self.phi, self.seeds = search, cfg, float(phi), int(seeds)
        self.point, self.origin = compound_point(search)
        rungs = climbed(search)
        top = rungs[-1].cfg if rungs else cfg
        self.rung = (f"rung {rungs[-1].rung} ({rungs[-1].label})" if rungs else
                     f"the search ({rung_label(top)})")
        self.rivals = self._rivals()
        t = cfg.train
        self.inner_cfg = dataclasses.replace(
            cfg, name=verify_name(cfg.name, self.phi), fidelity=None,
            train=dataclasses.replace(t, epochs=top.train.epochs, seed=t.seed + SEED_OFFSET,
                                      seeds=self.seeds),
            data=dataclasses.replace(cfg.data, train_size=top.data.train_size,
                                     val_size=top.data.val_size),
            search=dataclasses.replace(cfg.search, sampler="grid", pruner="none", points=(),
                                       width_share=None),
            objectives=dataclasses.replace(cfg.objectives, minimize=()),
            select=dataclasses.replace(cfg.select, mode="race", n0=min(cfg.select.n0, self.seeds),
                                       max_seeds=self.seeds))
        self.store = search.store.derived(self.inner_cfg, attrs={"source_study": cfg.name},
                                          check=False)
        self.key = compare_plan_key(self.phi, self.point)

    def _rivals(self) -> list[tuple[str, str, Any]]:
        """(label, name, strategy) of every rival, in the table's order."""
        sel = self.search.selection()
        top = self.cfg.fidelity.top if self.cfg.fidelity is not None else 3
        mine = self.point.key()
        nxt = [c.point for c in sel.ranked if c.point.key() != mine][:min(top - 1, MAX_RIVALS)]
        out = [(f"rival{i + 1}", p.label(), from_coefficients(p.alpha, p.beta, p.gamma))
               for i, p in enumerate(nxt)]
        if EFFICIENTNET.key() not in {mine, *(p.key() for p in nxt)}:
            out.append(("efficientnet", f"EfficientNet {EFFICIENTNET.label()}",
                        from_coefficients(EFFICIENTNET.alpha, EFFICIENTNET.beta, EFFICIENTNET.gamma)))
        out += [(n, f"{n} only", named(n)) for n in SINGLE]
        return out

    def names(self) -> dict[str, str]:
        return {CHOSEN: f"{self.point.label()} (chosen)", **{lb: nm for lb, nm, _ in self.rivals}}

    def search_for(self) -> Search:
        """The check as a runnable study: its store and its plan (measures every network)."""
        items = matched(self.search.realiser(), self.cfg, self.point, self.phi,
                        [(lb, s) for lb, _, s in self.rivals], compound_label=CHOSEN, choices=CHOICES)
        return Search(self.inner_cfg, store=self.store, plan=self.plan(items),
                      realiser=self.search.realiser(), train=self.search._fit)

    def plan(self, items) -> RacePlan:
        """The race over the measured networks ``items`` (the chosen one first, then the
        rivals in the table's order), paired by seed."""
        from gridsearch.study import quantum_of

        return RacePlan(items, self.inner_cfg.train.seed, self.inner_cfg.select, key=self.key,
                        maximize=self.cfg.train.maximize, quantum=quantum_of(self.inner_cfg),
                        candidates=[CHOSEN, *(lb for lb, _, _ in self.rivals)], merge=False,
                        names=self.names())

    def outcome(self, plan: Plan | None = None) -> VerifyOutcome:
        """The table and the verdict from what is stored (``plan``: the check's, from
        :meth:`search_for`; without it the networks are measured again)."""
        plan = plan if plan is not None else self.search_for().plan
        if not isinstance(plan, RacePlan):
            raise TypeError(f"a check's plan is a race, got {type(plan).__name__}")
        labels = plan.candidates
        names = self.names()
        rows = {lb: VerifyRow(str(lb), names[str(lb)]) for lb in labels}
        n = len(labels)
        records = self.store.records() if self.store.exists() else []
        for r in sorted(records, key=lambda r: r.number):
            u = plan.unit_index(r) if plan.mine(r) else None
            if u is None:
                continue
            row = rows[labels[u % n]]
            if not row.attrs:
                row.attrs = r.row()
            if r.state == "COMPLETE" and r.mean_accuracy is not None:
                row.values[u // n] = float(r.mean_accuracy)
        out = VerifyOutcome(self.phi, self.point, self.origin, list(rows.values()), self.seeds,
                            rung=self.rung, ratio=rows[CHOSEN].attrs.get("flops_ratio"))
        race = plan.outcome(records)
        if race is None or race.first_stage is not None or not race.done \
                or CHOSEN not in race.decision.candidates:
            return out
        d = race.decision
        out.decision = d
        out.verdict = ("reversed" if CHOSEN not in d.survivors else
                       "holds" if d.decided or len(d.survivors) == 1 else "undecided")
        if out.verdict == "reversed":
            sign = 1.0 if self.cfg.train.maximize else -1.0
            mine = rows[CHOSEN].values
            by = max((rows[str(c)] for c in d.survivors), key=lambda r: sign * (r.mean or 0.0))
            common = sorted(set(by.values) & set(mine))
            diffs = [sign * (by.values[k] - mine[k]) for k in common]
            out.by = by
            out.diff = (fmean(diffs), stdev(diffs) / math.sqrt(len(diffs)) if len(diffs) > 1
                        else math.nan, len(diffs))
        return out

    def record(self, out: VerifyOutcome) -> None:
        """Store the verdict on the search's study, and on its frozen coefficients when they are
        the point checked: every screen then says "checked at φ = N: …"."""
        if out.verdict is None:
            return
        study = self.search.study(create=False)
        study.set_user_attr(CHECK_ATTR, {"phi": self.phi, "point": list(self.point.key()),
                                         "verdict": out.verdict, "short": out.short(),
                                         "text": out.text(self.cfg.select.delta),
                                         "by": out.by.name if out.by else None,
                                         "study": self.store.name, "rung": out.rung,
                                         "rows": out.as_dict()["rows"]})
        frozen = stored_frozen(study)
        if frozen is not None and frozen.point.key() == self.point.key():
            study.set_user_attr(FROZEN_ATTR, {**frozen.as_dict(), "checked": out.short()})


def verify(search: Search, phi: float, seeds: int | None = None) -> VerifyOutcome:
    """Run (or resume) the check at ``phi`` in this process and record its verdict."""
    v = Verify(search, phi, seeds)
    inner = v.search_for()
    inner.run()
    out = v.outcome(inner.plan)
    if out.verdict is None:
        raise GridsearchError("the check's race has not finished (failed trials: see "
                              "`gridsearch status`)")
    v.record(out)
    return out
