"""Studies written without training, for tests of what the tool shows (plots, screens, exports).

Each trial's record goes into a real Optuna study (its config stored as a real run stores it)
through the project's own record writer (:class:`gridsearch.study.Recorder`), with accuracies
chosen here.  A plan's units are the units the study's own plan opens — a race's later seeds
too — so the race and its decision are the project's; a confirmation is the study
`gridsearch confirm` would create.  ``memory=False`` writes the config's own SQLite store (for the
CLI); by default the store is in memory.
"""

from __future__ import annotations

import math

import numpy as np
import optuna

from gridsearch import config
from gridsearch.scaling import Point
from gridsearch.study import Fidelity, Recorder, Search, Store, confirm_config, plan_of
from helpers import TINY

SEARCH = """alpha = {{ min = 1.0, max = 2.0, step = 1.0 }}
beta = {{ min = 1.0, max = 1.5, step = 0.5 }}
gamma = {{ min = 1.0, max = 1.5, step = 0.5 }}"""
FINE = """alpha = {{ min = 1.0, max = 1.6, step = 0.2 }}
beta = {{ min = 1.0, max = 1.3, step = 0.1 }}
gamma = {{ min = 1.0, max = 1.2, step = 0.1 }}"""


def config_text(name, tmp_path, *, seeds=3, search=FINE, extra_search="", extra="",
                tolerance=0.06):
    text = TINY.format(name=name, mode="reject", storage="")
    text = text.replace(SEARCH.replace("{{", "{").replace("}}", "}"),
                        search.replace("{{", "{").replace("}}", "}") + extra_search)
    text = text.replace("epochs = 2\n", f"epochs = 2\nseeds = {seeds}\n")
    text = text.replace("tolerance = 0.08", f"tolerance = {tolerance}")
    path = tmp_path / f"{name}.toml"
    path.write_text(text + extra)
    return config.load(path)


def ratio(p: Point) -> float:
    return p.alpha * p.beta ** 2 * p.gamma ** 2


def accuracy(p: Point, seed: int, equal: bool) -> float:
    if equal:   # the same value up to float noise, as a 45-image validation set gives
        return 0.9111111111111111 + 1e-15 * seed
    return 0.80 + 0.05 * (p.alpha - 1) + 0.08 * (p.beta - 1) - 0.04 * (p.gamma - 1) \
        + 0.004 * math.sin(7 * seed + 3 * p.alpha)


def add(study, cfg, p: Point, *, seeds, unit=None, index=None, values=None, epochs=2,
        extra_values=()):
    """One trial as the runner records it: COMPLETE with its seeds' accuracies, or INFEASIBLE."""
    r = ratio(p)
    feasible = abs(r / cfg.target_multiplier - 1) <= cfg.budget.tolerance
    dist = optuna.distributions.FloatDistribution(0.5, 4.0)
    t = optuna.trial.create_trial(
        state=optuna.trial.TrialState.COMPLETE if feasible else optuna.trial.TrialState.PRUNED,
        values=[float(np.mean(values)), *extra_values] if feasible else None,
        params={"alpha": p.alpha, "beta": p.beta, "gamma": p.gamma},
        distributions={k: dist for k in ("alpha", "beta", "gamma")},
        intermediate_values=({e: float(np.mean(values)) * (0.6 + 0.4 * e / epochs)
                              for e in range(1, epochs + 1)} if feasible else {}))
    rec = Recorder(t)
    flops = int(1e6 * r)
    rec.set(alpha=p.alpha, beta=p.beta, gamma=p.gamma, flops=flops, flops_ratio=r,
            params=int(1e5 * p.beta ** 2), activations=int(2e5 * p.alpha * p.gamma ** 2),
            resolution=round(32 * p.gamma), effective_gamma=p.gamma, feasible=feasible,
            verdict="feasible" if feasible else "infeasible", seeds=list(seeds))
    if unit is not None:
        rec.set(unit=unit, point_index=index, seed=seeds[0])
    if feasible:
        rec.set(accuracy=float(np.mean(values)), seed_accuracies=list(values),
                train_seconds=1.0 + flops / 1e6 + 0.01 * seeds[0], epochs_done=epochs)
    else:
        rec.set(budget_reason=f"FLOPs ratio {r:.3f} outside the budget")
    study.add_trial(t)
    return feasible


def new_search(cfg, memory: bool = True) -> Search:
    """A search on a store in memory (read as a database is read), or on the config's own."""
    if not memory:
        return Search(cfg)
    return Search(cfg, store=Store(cfg, "sqlite:///:memory:",
                                   storage=optuna.storages.InMemoryStorage()))


def fill_plan(cfg, study, *, equal=False, epochs=2):
    """Every unit the study's own plan opens, until it has none left (a race's too)."""
    from gridsearch.study import read

    plan = plan_of(cfg)
    items = plan.items
    while True:
        opening = plan.open(read(study))
        if not opening.units:
            return
        for u in opening.units:
            unit = plan.unit(u)
            p = items[unit.item].spec.point
            add(study, cfg, p, seeds=[unit.seed], unit=u, index=unit.item, epochs=epochs,
                values=[accuracy(p, unit.seed, equal)])


def grid(tmp_path, name="grid", equal=False, memory=True, **kw):
    search = new_search(config_text(name, tmp_path, **kw), memory)
    fill_plan(search.cfg, search.study(create=True), equal=equal)
    return search


def sampled(tmp_path, name="tpe"):
    search = new_search(config_text(name, tmp_path,
                                    extra_search='\nsampler = "random"\nn_trials = 12'))
    cfg, study = search.cfg, search.study(create=True)
    rng = np.random.default_rng(0)
    for _ in range(12):
        p = Point(*(round(float(x), 3) for x in rng.uniform([1, 1, 1], [1.6, 1.3, 1.2])))
        add(study, cfg, p, seeds=[0, 1, 2], values=[accuracy(p, s, False) for s in range(3)])
    return search


def width_share(tmp_path, name="share"):
    search = new_search(config_text(
        name, tmp_path, seeds=2, extra_search="\nwidth_share = { min = 0.0, max = 1.0, step = 0.25 }"))
    fill_plan(search.cfg, search.study(create=True))
    return search


def multi(tmp_path, name="multi"):
    search = new_search(config_text(name, tmp_path, seeds=1,
                                    extra='\n[objectives]\nminimize = ["activations"]\n'))
    cfg, study = search.cfg, search.study(create=True)
    for it in plan_of(cfg).items:
        p = it.spec.point
        add(study, cfg, p, seeds=[0], values=[accuracy(p, 0, False)],
            extra_values=[2e5 * p.alpha * p.gamma ** 2])
    return search


RACE = '\n[select]\nmode = "race"\nn0 = 2\nmax_seeds = 5\ndelta = 0.01\nconfidence = 0.8\n'


def race(tmp_path, name="race", equal=False, memory=True):
    search = new_search(config_text(name, tmp_path, extra=RACE), memory)
    fill_plan(search.cfg, search.study(create=True), equal=equal)
    return search


def confirmed(tmp_path, name="conf", raced=False, top=3, memory=True, **kw):
    """A grid (a race when ``raced``) confirmed by a 4-epoch confirmation of its top points
    (raced, or 3 seeds)."""
    search = (race(tmp_path, name, memory=memory) if raced
              else grid(tmp_path, name, seeds=2, memory=memory, **kw))
    cfg = search.cfg
    points = [c.point.key() for c in search.selection().ranked[:top]]
    ccfg = confirm_config(cfg, points, Fidelity(seeds=3, epochs=4, race=raced))
    study = search.store.derived(ccfg).study(create=True)
    plan = plan_of(ccfg)
    from gridsearch.study import read

    while True:
        opening = plan.open(read(study))
        if not opening.units:
            break
        for u in opening.units:
            unit = plan.unit(u)
            p = plan.items[unit.item].spec.point
            # the confirmation ranks the other way round from the search, at higher values
            v = 0.97 - 0.02 * unit.item + 0.002 * math.sin(unit.seed)
            add(study, ccfg, p, seeds=[unit.seed], unit=u, index=unit.item, values=[v],
                epochs=4)
    return search


KINDS = {
    "grid": grid,
    "grid-equal": lambda t: grid(t, "equal", equal=True),
    "grid-one-seed": lambda t: grid(t, "one", seeds=1),
    "sampled": sampled,
    "width-share": width_share,
    "multi-objective": multi,
    "race": race,
    "race-identical": lambda t: race(t, "same", equal=True),
    "confirmation": confirmed,
    "confirmation-one-point": lambda t: confirmed(t, "one", top=1),
    "confirmation-raced": lambda t: confirmed(t, "craced", raced=True),
}


