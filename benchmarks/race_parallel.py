"""A race on N workers: how busy the workers are and how long it takes, on a simulated clock.

    python benchmarks/race_parallel.py [--reps 40] [--delta 0.05] [--workers 1,2,4,8]
                                       [--store sqlite:///study.db --study NAME]

Drives the plans that ship — :class:`gridsearch.study.FixedPlan` and
:class:`gridsearch.study.RacePlan`, through ``plan.open(records)`` on synthetic
:class:`gridsearch.study.TrialRecord` s — with a simulated clock: each free worker takes the
first open unit nobody holds (what the claims table gives it), trains it for a simulated time and
adds its record. Three designs, each with 1, 2, 4 and 8 workers:

  (a) fixed: every point × max_seeds seeds (FixedPlan);
  (b) barrier: the race as it was at 37b1639 — only the current round's units are open, so a
      worker with nothing in that round waits for it to close (RacePlan with its units cut to the
      race's ``next_units()`` and, in the first stage, to seeds 0..n0−1);
  (c) race: RacePlan as it ships — after the round's units, the survivors' later seeds.

Results: the quickstart's measured means and seed standard deviations
(benchmarks/data/quickstart_seeds5.json), normal, independent across seeds. Unit time: each
point's mean time (proportional to its FLOPs, mean 1.0) times a lognormal factor whose
coefficient of variation is the measured spread of train_seconds over units of one point —
from ``--store`` (a study's records) when given, else the default below and where it came from.

Printed per design and worker count: wall time (in mean unit times), busy fraction (time
training / (workers × wall)), units trained and units the decision used; and the issue's goal:
busy ≥ 90% with 2, 4, 8 workers, and race wall ≤ 1.1 × (race units / fixed units) × fixed wall.
Seeded: the same command prints the same numbers.
"""

from __future__ import annotations

import argparse
import heapq
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gridsearch.config import SelectConfig
from gridsearch.scaling import Point, Spec
from gridsearch.study import FixedPlan, Item, RacePlan, TrialRecord

DATA = Path(__file__).resolve().parent / "data" / "quickstart_seeds5.json"
# Coefficient of variation of train_seconds across the units of one point, measured on tiny real
# race studies (tests/study/test_race_study.py's reference: TINY of tests/helpers.py, 1 epoch,
# CPU, one process on a 2-core machine shared with other work): 0.31 and 0.40 (the larger is
# used; a dedicated GPU spreads less). See benchmarks/README.md. Override with --store or --cv.
DEFAULT_CV = 0.40


def bank() -> tuple[list[Point], np.ndarray, np.ndarray, np.ndarray]:
    doc = json.loads(DATA.read_text())
    pts = [Point(p["alpha"], p["beta"], p["gamma"]) for p in doc["points"]]
    x = np.array([p["accuracy_by_seed"] for p in doc["points"]])
    flops = np.array([p["flops"] for p in doc["points"]], dtype=float)
    return pts, x.mean(axis=1), x.std(axis=1, ddof=1), flops / flops.mean()


def measured_cv(url: str, study: str) -> float:
    """The pooled within-point coefficient of variation of train_seconds in a stored study."""
    import optuna

    from gridsearch.study import read

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    recs = read(optuna.load_study(study_name=study, storage=url))
    by: dict = {}
    for r in recs:
        if r.state == "COMPLETE" and r.train_seconds:
            by.setdefault(r.point_index, []).append(r.train_seconds)
    cvs = [np.std(v, ddof=1) / np.mean(v) for v in by.values() if len(v) > 1]
    return float(np.sqrt(np.mean(np.square(cvs))))


class BarrierRacePlan(RacePlan):
    """The race with round barriers (as at 37b1639): only the units of the current round open."""

    def open(self, records, ranks=None):
        out = super().open(records)
        n, n0 = len(self.items), self.select.n0
        got = self.race(records)
        if got is None:
            out.units = [u for u in out.units if u < n0 * n]
        else:
            race, _ = got
            index = {it.spec.point: i for i, it in enumerate(self.items)}
            now = {self.index(index[p], k) for p, k in race.next_units()}
            out.units = [u for u in out.units if u in now]
        return out


def simulate(plan, values, durations, workers: int) -> dict:
    """Run ``plan`` on ``workers`` simulated workers; values[i][k], durations[i][k]."""
    n = len(plan.items)
    records: list[TrialRecord] = []
    held: set[int] = set()
    running: list[tuple[float, int]] = []        # (finish time, unit)
    free, clock, busy = workers, 0.0, 0.0
    while True:
        opening = plan.open(records)
        while free:
            unit = next((u for u in opening.units if u not in held), None)
            if unit is None:
                break
            held.add(unit)
            i, k = unit % n, unit // n
            heapq.heappush(running, (clock + durations[i][k], unit))
            busy += durations[i][k]
            free -= 1
        if not running:
            break
        clock, unit = heapq.heappop(running)
        free += 1
        i, k = unit % n, unit // n
        p = plan.items[i].spec.point
        records.append(TrialRecord(len(records), "sim", "COMPLETE", values=(values[i][k],),
                                   unit=unit, point_index=i, seed=k, seeds=(k,), alpha=p.alpha,
                                   beta=p.beta, gamma=p.gamma, feasible=True, flops=1000 + i,
                                   layout={"point": i}, resolution=32))
    out = getattr(plan, "outcome", None)
    used = out(records).decision.runs if out else len(records)
    winner = out(records).winner if out else None
    return {"wall": clock, "busy": busy / (workers * clock), "trained": len(records),
            "used": used, "winner": winner}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--reps", type=int, default=40)
    ap.add_argument("--delta", type=float, default=0.05)
    ap.add_argument("--confidence", type=float, default=0.95)
    ap.add_argument("--n0", type=int, default=5)
    ap.add_argument("--max-seeds", type=int, default=12)
    ap.add_argument("--workers", default="1,2,4,8")
    ap.add_argument("--cv", type=float, default=None, help="spread of unit times (CV)")
    ap.add_argument("--store", help="a study's storage URL to measure the spread from")
    ap.add_argument("--study", help="its study name")
    args = ap.parse_args()
    t0 = time.perf_counter()
    cv = args.cv if args.cv is not None else (
        measured_cv(args.store, args.study) if args.store else DEFAULT_CV)
    pts, means, sds, speed = bank()
    k, m = len(pts), args.max_seeds
    items = [Item(Spec.compound(p), {}) for p in pts]
    sel = SelectConfig(mode="race", delta=args.delta, confidence=args.confidence, n0=args.n0,
                       max_seeds=m)
    sigma = np.sqrt(np.log(1 + cv ** 2))
    designs = {"fixed": lambda: FixedPlan(items, list(range(m))),
               "barrier": lambda: BarrierRacePlan(items, 0, sel, quantum=1 / 256),
               "race": lambda: RacePlan(items, 0, sel, quantum=1 / 256)}
    workers = [int(w) for w in args.workers.split(",")]
    rows = []
    for w in workers:
        acc: dict = {d: [] for d in designs}
        for rep in range(args.reps):
            rng = np.random.default_rng(1000 + rep)
            values = means[:, None] + sds[:, None] * rng.standard_normal((k, m))
            durations = speed[:, None] * rng.lognormal(-sigma ** 2 / 2, sigma, (k, m))
            for d, make in designs.items():
                acc[d].append(simulate(make(), values, durations, w))
        for d in designs:
            rs = acc[d]
            rows.append({"design": d, "workers": w,
                         "wall": float(np.mean([r["wall"] for r in rs])),
                         "busy": float(np.mean([r["busy"] for r in rs])),
                         "trained": float(np.mean([r["trained"] for r in rs])),
                         "used": float(np.mean([r["used"] for r in rs]))})
    print(f"quickstart bank: {k} points, δ = {args.delta}, confidence {args.confidence}, "
          f"n0 = {args.n0}, max_seeds = {m}; unit time CV {cv:.2f}; {args.reps} replications; "
          "wall in mean unit times")
    print(f"{'design':8} {'workers':>7} {'wall':>7} {'busy':>6} {'trained':>8} {'used':>6} "
          f"{'goal wall':>9} {'wall/goal':>9}")
    fixed = {r["workers"]: r for r in rows if r["design"] == "fixed"}
    for r in rows:
        f = fixed[r["workers"]]
        goal = 1.1 * r["trained"] / f["trained"] * f["wall"]
        print(f"{r['design']:8} {r['workers']:>7} {r['wall']:>7.2f} {r['busy']:>6.1%} "
              f"{r['trained']:>8.1f} {r['used']:>6.1f} {goal:>9.2f} {r['wall'] / goal:>9.2f}")
    print("goal: busy ≥ 90% with 2, 4, 8 workers; wall/goal ≤ 1.0 (race wall ≤ 1.1 × "
          "(its trained units / the fixed design's) × the fixed design's wall)")
    for r in rows:
        if r["design"] == "race" and r["workers"] > 1:
            f = fixed[r["workers"]]
            goal = 1.1 * r["trained"] / f["trained"] * f["wall"]
            ok = r["busy"] >= 0.9 and r["wall"] <= goal
            print(f"  race, {r['workers']} workers: busy {r['busy']:.1%}, wall/goal "
                  f"{r['wall'] / goal:.2f}: {'met' if ok else 'NOT met'}")
    print(f"({time.perf_counter() - t0:.0f} s wall)")


if __name__ == "__main__":
    main()
