"""Compound scaling vs single-dimension scaling at the same measured FLOPs.

For a target φ the compound point (the frozen coefficients when the study has them, else its best
feasible trial) is realised and measured; every other strategy (depth only, width only, resolution
only, see :mod:`gridsearch.strategies`) is solved so its *measured* FLOPs match the compound
network's within the budget tolerance.  Each network is proxy-trained with the study's recipe,
seeds and data subsets, and stored as a trial of its own study ``<study>-compare`` in the same
store (param ``strategy``; user attributes as in the search, plus ``phi``, ``knob`` and
``compound_point``, the (α, β, γ) compared against).  A re-run reuses the stored networks of the
same φ and compound point without measuring anything again.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from statistics import fmean
from typing import Any, Callable

import optuna
from optuna.distributions import CategoricalDistribution
from optuna.trial import TrialState

from gridsearch import stats
from gridsearch.errors import ConfigError, GridsearchError
from gridsearch.family._freeze import stored_frozen
from gridsearch.scaling import _strategies as strategies
from gridsearch.scaling._space import Point
from gridsearch.scaling._strategies import Setting
from gridsearch.study._search import Search
from gridsearch.study._trials import read

log = logging.getLogger(__name__)

COMPOUND = "compound"
MAX_PHI = 8.0   # 2^8 × the baseline's FLOPs, each network proxy-trained: far enough


def check_phi(phi: float) -> float:
    """A φ to compare at: finite, not 0 (the baseline itself), |φ| ≤ MAX_PHI."""
    if not math.isfinite(phi) or abs(phi) > MAX_PHI:
        raise ConfigError(f"phi must be a number between {-MAX_PHI:g} and {MAX_PHI:g}, got {phi:g}")
    if phi == 0:
        raise ConfigError("phi = 0 is the baseline itself: nothing to compare (try --phi 1)")
    return phi


def compare_study_name(study_name: str) -> str:
    return f"{study_name}-compare"


@dataclass
class Entry:
    """One network of the comparison: how it was scaled, what it measured, how it trained."""

    strategy: str
    phi: float
    setting: Setting
    attrs: dict[str, Any]
    accuracies: dict[int, float] = field(default_factory=dict)   # seed → accuracy
    history: list[float] | None = None
    trial: int | None = None
    reused: bool = False

    @property
    def accuracy(self) -> float | None:
        """Mean over the seeds trained."""
        return fmean(self.accuracies.values()) if self.accuracies else None

    @property
    def summary(self) -> stats.Summary | None:
        return stats.summarise(list(self.accuracies.values())) if self.accuracies else None

    def row(self, against: "Entry | None" = None) -> dict[str, Any]:
        """The table row; with ``against`` (the compound entry), Welch's p of the difference."""
        a = self.attrs
        s = self.summary
        test = (stats.welch(list(self.accuracies.values()), list(against.accuracies.values()))
                if against is not None and against is not self and self.accuracies
                and against.accuracies else None)
        return {"strategy": self.strategy, "phi": self.phi,
                "depth_mult": round(self.setting.depth_mult, 4),
                "width_mult": round(self.setting.width_mult, 4),
                "resolution": self.setting.resolution, "flops": a.get("flops"),
                "flops_ratio": a.get("flops_ratio"), "params": a.get("params"),
                "activations": a.get("activations"), "within_tolerance": a.get("feasible"),
                "train_seconds": a.get("train_seconds"), "accuracy": self.accuracy,
                "accuracy_std": s.std if s else None, "n": s.n if s else 0,
                "p_vs_compound": test.p if test else None, "trial": self.trial}


def compound_point(search: Search) -> tuple[Point, str]:
    """The frozen coefficients if the study has them, else the selected point."""
    frozen = stored_frozen(search.study(create=False))
    if frozen is not None:
        return frozen.point, f"frozen (trial {frozen.trial})"
    sel = search.selection()
    return sel.winner.point, f"selected point of the {sel.source} (trial {sel.winner.trials[0]})"


def _key(point: Point) -> list[float]:
    """How a compound point is stored (a JSON list) and matched."""
    return [round(point.alpha, 6), round(point.beta, 6), round(point.gamma, 6)]


class Compare:
    """Runs and stores the comparison for one study config."""

    def __init__(self, search: Search, names: tuple[str, ...] = strategies.SINGLE) -> None:
        self.search = search
        self.cfg = search.cfg
        self.names = names
        for n in names:
            strategies.get(n)

    # -- the compare study --------------------------------------------------------------------
    def study(self, create: bool = True) -> optuna.Study:
        name = compare_study_name(self.cfg.name)
        try:
            return optuna.load_study(study_name=name, storage=self.search.storage)
        except KeyError:
            if not create:
                raise GridsearchError(f"no comparison yet for study {self.cfg.name!r} "
                                      "(run `gridsearch compare` first)") from None
        study = optuna.create_study(study_name=name, storage=self.search.storage,
                                    direction="maximize")
        study.set_user_attr("config", self.cfg.as_dict())
        study.set_user_attr("source_study", self.cfg.name)
        study.set_user_attr("objective", "validation accuracy (maximize)")
        return study

    def point(self) -> tuple[Point, str]:
        """The compound point compared against, and where it comes from."""
        return compound_point(self.search)

    def entries(self, study: optuna.Study | None = None, point: Point | None = None) -> list[Entry]:
        """The finished comparison trials merged per strategy and φ (the latest run per seed).

        With ``point``, only those compared against that compound point.
        """
        study = study or self.study(create=False)
        merged: dict[tuple[str, float], Entry] = {}
        for r in read(study, (TrialState.COMPLETE,)):
            u = r.attrs
            if point is not None and u.get("compound_point") != _key(point):
                continue
            k = (r.strategy, round(float(u["phi"]), 6))
            e = merged.get(k)
            if e is None:
                e = merged[k] = Entry(r.strategy, float(u["phi"]),
                                      Setting(u["depth_mult"], u["width_mult"], u["resolution"]),
                                      dict(u), {}, list(r.history), r.number, reused=True)
            e.accuracies[int(u.get("seed", self.cfg.train.seed))] = r.accuracy
        return list(merged.values())

    # -- running ------------------------------------------------------------------------------
    def plan(self, phi: float, compound: tuple[Point, str] | None = None) -> list[Entry]:
        """Realise and measure the compound network and solve every strategy to its FLOPs."""
        point, origin = compound or self.point()
        realiser = self.search.realiser()
        cand = realiser.realise(point, phi=phi)
        m = self.cfg.model
        compound = Entry(COMPOUND, phi, Setting(cand.scaled.depth_mult / m.depth_mult,
                                                cand.scaled.width_mult / m.width_mult,
                                                cand.verdict.resolution),
                         {**cand.attrs(), "alpha": point.alpha, "beta": point.beta,
                          "gamma": point.gamma, "origin": origin, "compound_point": _key(point)})
        target = cand.verdict.ratio
        entries = [compound]
        base_flops = realiser.reference.complexity.flops

        def measure(st: Setting):
            net = realiser.build(m.width_mult * st.width_mult, m.depth_mult * st.depth_mult)
            return net, realiser.counter.count(net.module, st.resolution)

        for name in self.names:
            sol = strategies.solve(strategies.get(name), lambda st: measure(st)[1].flops / base_flops,
                                   target, self.cfg.budget.tolerance, m.base_resolution)
            net, c = measure(sol.setting)
            attrs = {"depth_mult": m.depth_mult * sol.setting.depth_mult,
                     "width_mult": m.width_mult * sol.setting.width_mult,
                     "resolution": c.resolution, "flops": c.flops,
                     "flops_ratio": round(sol.ratio, 6), "params": c.params,
                     "activations": c.activations, "feasible": sol.within,
                     "verdict": "feasible" if sol.within else "off target",
                     "target_ratio": round(target, 6), "knob": round(sol.knob, 6),
                     "compound_point": _key(point),
                     "layout": net.layout.describe(),
                     "budget_reason": "" if sol.within else (
                         f"closest measured ratio {sol.ratio:.3f} vs compound {target:.3f} "
                         f"(more than {self.cfg.budget.tolerance:.0%} off)")}
            entries.append(Entry(name, phi, sol.setting, attrs))
        return entries

    def run(self, phi: float, rerun: bool = False, device: str | None = None,
            on_entry: Callable[[Entry], None] | None = None, seeds: int = 1) -> list[Entry]:
        """Plan, then train every (network, seed) not yet trained at this φ; returns all of them.

        Seeds are the study's ``train.seed``, +1, … (``seeds`` of them): the compound network's
        accuracies are comparable with the search's.  When every network of this φ and compound
        point is stored with every seed (and not ``rerun``), nothing is measured or trained.
        """
        check_phi(phi)
        if seeds < 1:
            raise ConfigError(f"--seeds: must be ≥ 1, got {seeds}")
        dev = self.device(device)   # a bad device stops here, before the store is touched
        wanted_seeds = [self.cfg.train.seed + i for i in range(seeds)]
        compound = self.point()
        study = self.study()
        done = {(e.strategy, round(e.phi, 6)): e for e in self.entries(study, compound[0])}
        wanted = [(n, round(phi, 6)) for n in (COMPOUND, *self.names)]

        def missing(k) -> list[int]:
            have = done[k].accuracies if k in done and not rerun else {}
            return [s for s in wanted_seeds if s not in have]

        if all(not missing(k) for k in wanted):
            for k in wanted:
                if on_entry:
                    on_entry(done[k])
            return [done[k] for k in wanted]
        planned = self.plan(phi, compound)
        subsets = self._subsets()
        out = []
        for e in planned:
            k = (e.strategy, round(phi, 6))
            if k in done and not rerun:
                e.accuracies.update(done[k].accuracies)
                e.reused = not missing(k)
            for seed in missing(k):
                self._train(study, e, subsets, seed, dev)
            out.append(e)
            if on_entry:
                on_entry(e)
        return out

    def device(self, device: str | None = None):
        """The device to train on (``device`` or the config's), checked as ``run`` checks it."""
        from gridsearch.training import _device as device_mod

        return device_mod.prepare(device or self.cfg.train.device, self.cfg.train)

    def _subsets(self):
        from gridsearch.training import _data as data_mod

        d = self.cfg.data
        return data_mod.load(d.source, self.cfg.data_root() if d.root else "", d.train_size,
                             d.val_size, d.seed, d.image_size)

    def _train(self, study: optuna.Study, e: Entry, subsets, seed: int, dev) -> None:
        """Train ``e`` with ``seed`` (initial weights and batch order) and store the trial."""
        from gridsearch.training import _trainer as trainer

        m = self.cfg.model
        net = self.search.realiser().build(e.attrs["width_mult"], e.attrs["depth_mult"], seed=seed)
        res = trainer.train(net.module, subsets, e.setting.resolution,
                            trainer.Recipe.of(self.cfg.train, seed=seed),
                            dev)
        e.accuracies[seed] = res.accuracy
        e.history = list(res.history)
        attrs = {**e.attrs, "phi": e.phi, "seed": seed, "train_seconds": round(res.seconds, 3),
                 "images_per_second": round(res.images_per_second, 1), "device": res.device,
                 **res.resources(),
                 "accuracy": res.accuracy, "base_resolution": m.base_resolution}
        e.attrs.update({k: v for k, v in attrs.items() if k not in ("seed", "accuracy")})
        choices = (COMPOUND, *strategies.REGISTRY)
        trial = optuna.trial.create_trial(
            params={"strategy": e.strategy},
            distributions={"strategy": CategoricalDistribution(choices)},
            value=res.accuracy, user_attrs=attrs,
            intermediate_values={i + 1: v for i, v in enumerate(res.history)})
        study.add_trial(trial)
        e.trial = study.get_trials(deepcopy=False)[-1].number
