"""The fidelity ladder on simulated banks: does climbing only while the ranking moves find the
top fidelity's answer for less than racing every point there?

    python benchmarks/ladder_simulation.py [--reps 1000] [--z 1.0] [--lead 0.02] [--sweep-reps 200]

Numpy only (no torch), seeded: the same command prints the same numbers. A bank is k = 20 points
(the feasible points of EfficientNet's grid: α, β, γ in 1.0, 1.1, …, 2.0 with α·β²·γ² within 0.1
of 2) with known true accuracies at the top fidelity, and three rungs, 3 / 9 / 27 epochs (a run
costs its epochs: "epoch-units"). Lower rungs are biased (a common shift, and the flips below)
and noisier: seed standard deviation 0.045 / 0.03 / 0.02 (0.045 is the quickstart's measured
seed noise at 3 epochs; benchmarks/data/quickstart_seeds5.json). Results are normal and
independent across seeds (the quickstart's seed correlation is nil).

True accuracies at the top rung: 0.700, 0.685, 0.670, 0.655, 0.640, 0.625, then 14 points from
0.600 down to 0.450. With δ = 0.02 the correct choices are the first two. The banks differ in
what the lower rungs get wrong (a "flip" places a wrong point ``--lead`` above the true best at
that rung):

  none          every rung ranks the points as the top rung does (shifted down);
  0→1 only      at rung 0 the 4th point (0.045 behind) leads; rungs 1 and 2 agree;
  every rung    at rung 0 the 4th point leads, at rung 1 the 3rd (0.030 behind): each rung's
                answer differs from the next one's, and only the top rung's is right.

Procedures (every rung decides by KN's race, gridsearch.selection.Race: δ = 0.02, confidence
0.95, n0 = 5, max_seeds = 12; rung 0 is the search, a race over all 20 points):

  ladder        rung 0, then the top 4 (gridsearch.selection.carry: survivors first) raced at
                rung 1; climb to rung 2 only when gridsearch.selection.stability says rung 1
                did not keep rung 0's top group; the answer is the highest rung's winner.
                Two ladders: above rung 0 a race per rung, or 5 fixed seeds and the best mean;
  (a) rung 0    the search's winner;
  (b) top rung  every point raced at the top rung (the reference);
  (c) confirm   today's `confirm`: the search's top 3 re-trained at the top rung with 3 fixed
                seeds, the best mean.

Reported: P(correct) — the chosen point's true top-rung accuracy within δ of the best (strictly,
as in race_simulation.py) — and the mean cost in epoch-units, each with its ratio to (b) measured
in the same run; for the ladder, where it stopped. Then P and cost against the flip size and z.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gridsearch.selection import DEFAULT_Z, Race, RungResult, carry, stability

K = 20
EPOCHS = (3, 9, 27)                   # cost of one run at each rung, in epoch-units
SIGMA = (0.045, 0.03, 0.02)           # seed standard deviation at each rung
SHIFT = (0.15, 0.05, 0.0)             # how much lower each rung's accuracies are
DELTA, CONFIDENCE, N0, MAX_SEEDS = 0.02, 0.95, 5, 12
TOP = 4                               # points carried up
CONFIRM_TOP, CONFIRM_SEEDS = 3, 3     # today's confirm
LADDERS = (("ladder (race)", 0), ("ladder (5 seeds)", 5))   # above rung 0: a race, or S seeds


def true_means() -> np.ndarray:
    head = 0.700 - 0.015 * np.arange(6)
    return np.concatenate([head, np.linspace(0.600, 0.450, K - 6)])


def bank(kind: str, lead: float) -> list[np.ndarray]:
    """The true means at rungs 0, 1, 2 for a bank ("none", "0→1 only", "every rung")."""
    top = true_means()
    rungs = [top - s for s in SHIFT]
    best = top.max()
    if kind in ("0→1 only", "every rung"):
        rungs[0][3] = best - SHIFT[0] + lead          # the 4th point leads at rung 0
    if kind == "every rung":
        rungs[1][2] = best - SHIFT[1] + lead          # the 3rd point leads at rung 1
    return rungs


BANKS = ("none", "0→1 only", "every rung")


def run_race(means: np.ndarray, sigma: float, points: list[int], rng: np.random.Generator
             ) -> tuple[RungResult, int, int]:
    """A KN race at one rung over ``points``: (its RungResult, the winner, runs)."""
    x = means[points][:, None] + sigma * rng.standard_normal((len(points), MAX_SEEDS))
    race = Race(range(len(points)), delta=DELTA, confidence=CONFIDENCE, n0=N0,
                max_seeds=MAX_SEEDS)
    while not race.done:
        for c, s in race.next_units():
            race.add(c, s, x[c, s])
    d = race.decision()
    values = {points[s.candidate]: s.values for s in d.standings}
    return (RungResult(0, values, tuple(points[c] for c in d.survivors)), points[d.winner],
            d.runs)


def run_fixed(means: np.ndarray, sigma: float, points: list[int], seeds: int,
              rng: np.random.Generator) -> tuple[RungResult, int, int]:
    """Every point ``seeds`` seeds at one rung, the best mean: (its RungResult, winner, runs)."""
    x = means[points][:, None] + sigma * rng.standard_normal((len(points), seeds))
    values = {p: tuple(row) for p, row in zip(points, x, strict=True)}
    return RungResult(0, values), points[int(np.argmax(x.mean(axis=1)))], len(points) * seeds


def replicate(rungs: list[np.ndarray], rng: np.random.Generator, z: float) -> dict:
    """One replication of every procedure on one bank: chosen point and cost of each."""
    everyone = list(range(K))
    r0, win0, runs0 = run_race(rungs[0], SIGMA[0], everyone, rng)
    cost0 = runs0 * EPOCHS[0]
    out = {"a": (win0, cost0)}
    # (b): every point raced at the top rung
    _, win_b, runs_b = run_race(rungs[2], SIGMA[2], everyone, rng)
    out["b"] = (win_b, runs_b * EPOCHS[2])
    # (c): today's confirm
    pts = list(carry(r0, CONFIRM_TOP))
    x = rungs[2][pts][:, None] + SIGMA[2] * rng.standard_normal((len(pts), CONFIRM_SEEDS))
    out["c"] = (pts[int(np.argmax(x.mean(axis=1)))],
                cost0 + len(pts) * CONFIRM_SEEDS * EPOCHS[2])
    for name, fixed in LADDERS:
        out[name] = climb(rungs, r0, win0, cost0, rng, z, fixed)
    return out


def climb(rungs: list[np.ndarray], r0: RungResult, win0: int, cost0: float,
          rng: np.random.Generator, z: float, fixed: int) -> tuple[int, float, int]:
    """The ladder from the search's rung 0: (chosen point, cost, the rung it stopped at)."""
    cost, prev, stop, win = cost0, r0, 0, win0
    for r in (1, 2):
        pts = list(carry(prev, TOP))
        res, win, runs = (run_fixed(rungs[r], SIGMA[r], pts, fixed, rng) if fixed
                          else run_race(rungs[r], SIGMA[r], pts, rng))
        res = RungResult(r, res.values, res.survivors)
        cost += runs * EPOCHS[r]
        stop = r
        if stability(prev, res, z=z, draws=0).stable:
            break
        prev = res
    return win, cost, stop


def simulate(kind: str, lead: float, reps: int, z: float, rng: np.random.Generator) -> dict:
    rungs = bank(kind, lead)
    top = rungs[2]
    correct = lambda i: top[i] > top.max() - DELTA  # noqa: E731
    names = ["a", "b", "c"] + [n for n, _ in LADDERS]
    hits = {p: 0 for p in names}
    costs = {p: 0.0 for p in names}
    stops = {n: [0, 0, 0] for n, _ in LADDERS}
    for _ in range(reps):
        out = replicate(rungs, rng, z)
        for p, v in out.items():
            hits[p] += bool(correct(v[0]))
            costs[p] += v[1]
        for n, _ in LADDERS:
            stops[n][out[n][2]] += 1
    return {"P": {p: h / reps for p, h in hits.items()},
            "cost": {p: c / reps for p, c in costs.items()},
            "stop1": {n: s[1] / reps for n, s in stops.items()},
            "stop2": {n: s[2] / reps for n, s in stops.items()}}


def table(rows: list[dict], columns: list[str]) -> None:
    def cell(v: object) -> str:
        if isinstance(v, float):
            return "—" if math.isnan(v) else f"{v:.3f}" if abs(v) < 10 else f"{v:,.0f}"
        return str(v)

    cells = [[cell(r.get(c)) for c in columns] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(columns)]
    print("  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)))
    for row in cells:
        print("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)))
    print()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--reps", type=int, default=1000, help="replications per bank")
    ap.add_argument("--lead", type=float, default=DELTA,
                    help="how far a flipped rung's wrong leader is above the true best (0.02)")
    ap.add_argument("--z", type=float, default=DEFAULT_Z, help="ε in standard errors")
    ap.add_argument("--sweep-reps", type=int, default=200,
                    help="replications per row of the lead and z sweeps (0: skip them)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    t0 = time.perf_counter()
    rng = np.random.default_rng(args.seed)

    print(f"# Fidelity ladder: k = {K}, rungs {' / '.join(map(str, EPOCHS))} epochs, seed sd "
          f"{' / '.join(map(str, SIGMA))}, KN δ = {DELTA}, n0 = {N0}, max_seeds = {MAX_SEEDS}, "
          f"top = {TOP}, z = {args.z}, lead = {args.lead}, {args.reps} replications\n")
    rows = []
    for kind in BANKS:
        s = simulate(kind, args.lead, args.reps, args.z, rng)
        P, C, ref = s["P"], s["cost"], s["cost"]["b"]
        for name, label in [(n, n) for n, _ in LADDERS] + [("a", "(a) rung 0 only"),
                                                            ("b", "(b) top rung only"),
                                                            ("c", "(c) today's confirm")]:
            rows.append({"bank": kind, "procedure": label, "P(correct)": P[name],
                         "P − (b)": P[name] - P["b"], "cost": C[name], "cost / (b)": C[name] / ref,
                         "stopped at rung 1": s["stop1"].get(name, math.nan),
                         "climbed to rung 2": s["stop2"].get(name, math.nan)})
    table(rows, ["bank", "procedure", "P(correct)", "P − (b)", "cost", "cost / (b)",
                 "stopped at rung 1", "climbed to rung 2"])
    for name, _ in LADDERS:
        mine = [r for r in rows if r["procedure"] == name]
        met = all(r["P − (b)"] >= -0.02 and r["cost / (b)"] <= 0.40
                  for r in mine if r["bank"] != "none")
        print(f"{name}: goal (flip banks: P ≥ (b)'s P − 0.02 at ≤ 40% of (b)'s cost) "
              f"{'met' if met else 'NOT met'}; on the bank without flips it stopped at rung 1 in "
              f"{mine[0]['stopped at rung 1']:.1%} of the replications")
    print(f"({time.process_time():.0f} CPU s so far)\n")

    if args.sweep_reps > 0:
        print(f"# Against the flip size (bank 'every rung', z = {args.z}, "
              f"{args.sweep_reps} replications)")
        rows = []
        for lead in (0.0, 0.01, 0.02, 0.04):
            s = simulate("every rung", lead, args.sweep_reps, args.z, rng)
            row = {"lead": lead, "(b) P": s["P"]["b"], "(a) P": s["P"]["a"]}
            for name, _ in LADDERS:
                row[f"{name} P"] = s["P"][name]
                row[f"{name} cost/(b)"] = s["cost"][name] / s["cost"]["b"]
                row[f"{name} at 2"] = s["stop2"][name]
            rows.append(row)
        table(rows, list(rows[0]))
        print(f"# Against z (ε = z·√(se_r² + se_(r+1)²); lead = {args.lead}, "
              f"{args.sweep_reps} replications)")
        rows = []
        for z in (0.5, 1.0, 1.5, 2.0):
            for name, _ in LADDERS:
                rows.append({"z": z, "ladder": name})
            for kind in BANKS:
                s = simulate(kind, args.lead, args.sweep_reps, z, rng)
                for row in rows[-len(LADDERS):]:
                    n = row["ladder"]
                    row[f"{kind}: P − (b)"] = s["P"][n] - s["P"]["b"]
                    row[f"{kind}: cost/(b)"] = s["cost"][n] / s["cost"]["b"]
                    row[f"{kind}: at 1"] = s["stop1"][n]
        table(rows, list(rows[0]))
    print(f"({time.perf_counter() - t0:.0f} s wall, {time.process_time():.0f} s CPU)")


if __name__ == "__main__":
    main()
