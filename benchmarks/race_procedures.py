"""KN against Frazier's BIZ on race_simulation.py's banks: P(correct selection) and runs.

    python benchmarks/race_procedures.py [--reps 2000] [--delta 0.02,0.05] [--n0 5]
                                         [--n0-sweep 10,20] [--sweep-reps 1000]

Frazier, P. I. (2014), "A fully sequential elimination procedure for indifference-zone ranking and
selection with tight bounds on probability of correct selection", Operations Research 62(4),
926–942 — BIZ ("Bayes-inspired indifference zone"), written here from the paper's description:

* Every system x keeps n_x results, their mean W̄_x and a variance λ²_x. With β = Σ n_x / Σ λ²_x
  over the survivors, q_x ∝ exp(δ·β·W̄_x) (normalised over the survivors): the posterior
  probability that x is the best under a prior that puts the best δ ahead of all the others.
* Elimination: while the smallest share q_x is ≤ c, x leaves and the stopping level P (P* at the
  start) is divided by (1 − q_x), the shares of the rest renormalised; c = 1 − P*^(1/(k−1)), the
  largest c the paper's bound allows (it keeps P ≤ 1: a lone survivor always stops).
* Stop once the largest share is ≥ P; choose the survivor with the largest mean.
* Otherwise sample: the survivor z with the smallest n_z / λ²_z is raised by one result and every
  other survivor to ⌈λ²_x·(n_z + 1)/λ²_z⌉ (n_x ∝ λ²_x, the paper's allocation with a batch of 1;
  with equal variances one result per survivor per round, as in KN).

The paper's PCS bound is proved for known variances (tight in continuous time; in discrete time
when the variances have an integer-multiple structure), with independent normal results. With
unknown variances the procedure plugs in sample variances from a first stage of n0 results each
(here also re-estimated from all results after every step, which the paper's algorithm allows;
"first stage" keeps them, as KN does) and has no proof: its PCS is what this script measures.
Three versions run:
``known σ`` (the banks' true variances, one result each to start; not usable by a study, whose σ is
unknown), ``estimated σ, updated`` and ``estimated σ, first stage`` (n0 = --n0).

Every replication draws one matrix of results (candidate × seed, common random numbers: seed r is
shared by every candidate, correlation ρ as in race_simulation.py) and feeds the SAME matrix to KN
(gridsearch.selection.Race, no cap) and to each BIZ version: candidate x's j-th result is seed j,
whichever procedure asks. So the runs are compared pair by pair, and the printed ratio is the mean
of BIZ's runs over the mean of KN's, both measured in this run. Numpy only; seeded.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from gridsearch.selection import DEFAULT_N0, Race
from race_simulation import NO_CAP, Bank, measured, table

MAX_RUNS = 10 ** 6          # a safety stop for a BIZ run (counted and printed if ever reached)


class Results:
    """One replication's results, candidate × seed, drawn in blocks as a procedure asks for more."""

    def __init__(self, bank: Bank, rng: np.random.Generator, width: int = 64) -> None:
        self.bank, self.rng = bank, rng
        self.x = bank.draw(rng, bank.k, width)

    def upto(self, n: int) -> np.ndarray:
        while self.x.shape[1] < n:
            self.x = np.concatenate([self.x, self.bank.draw(self.rng, self.bank.k,
                                                            self.x.shape[1])], axis=1)
        return self.x


def kn(res: Results, *, delta: float, confidence: float, n0: int) -> tuple[int, int]:
    """The project's KN on these results, no cap: (winner, runs)."""
    race = Race(range(res.bank.k), delta=delta, confidence=confidence, n0=n0, max_seeds=NO_CAP)
    while not race.done:
        for c, s in race.next_units():
            race.add(c, s, res.upto(s + 1)[c, s])
    d = race.decision()
    return int(d.winner), d.runs


def biz(res: Results, *, delta: float, confidence: float, n0: int,
        variances: np.ndarray | None = None, update: bool = True) -> tuple[int, int]:
    """BIZ on these results: (winner, runs). ``variances``: known λ²_x (else the sample variances
    of the first n0 results, re-estimated from all results so far when ``update``)."""
    k = res.bank.k
    c = 1.0 - confidence ** (1.0 / (k - 1))
    level = confidence
    x = res.upto(n0)
    n = np.full(k, n0)
    sums = x[:, :n0].sum(axis=1)
    squares = (x[:, :n0] ** 2).sum(axis=1)
    if variances is None:
        lam = (squares - sums ** 2 / n) / (n - 1)
    else:
        lam = np.asarray(variances, dtype=float).copy()
    alive = np.arange(k)
    while True:
        a = alive
        beta = n[a].sum() / lam[a].sum()
        z = delta * beta * sums[a] / n[a]
        share = np.exp(z - z.max())
        share /= share.sum()
        while len(a) > 1:                        # eliminate the smallest share while it is ≤ c
            j = int(np.argmin(share))
            if share[j] > c:
                break
            level /= 1.0 - share[j]
            keep = np.arange(len(a)) != j
            a, share = a[keep], share[keep] / (1.0 - share[j])
        alive = a
        if share.max() >= level or n.sum() >= MAX_RUNS:
            break
        ratio = n[a] / lam[a]
        zi = int(np.argmin(ratio))
        target = np.ceil(lam[a] * (n[a][zi] + 1) / lam[a][zi] - 1e-9).astype(int)
        target[zi] = n[a][zi] + 1
        x = res.upto(int(target.max()))
        for i, t in zip(a, target, strict=True):
            if t > n[i]:
                new = x[i, n[i]:t]
                sums[i] += new.sum()
                squares[i] += (new ** 2).sum()
                n[i] = t
        if variances is None and update:
            lam[a] = (squares[a] - sums[a] ** 2 / n[a]) / (n[a] - 1)
    means = sums[alive] / n[alive]
    return int(alive[int(np.argmax(means))]), int(n.sum())


def compare(bank: Bank, delta: float, confidence: float, n0: int, reps: int,
            rng: np.random.Generator, *, sweep: bool = False) -> list[dict]:
    """Every procedure on the same ``reps`` replications of ``bank``: PCS and runs (``sweep``:
    KN and the updated estimated-σ BIZ only)."""
    procs = {
        "KN (gridsearch)": lambda r: kn(r, delta=delta, confidence=confidence, n0=n0),
        "BIZ known σ": lambda r: biz(r, delta=delta, confidence=confidence, n0=1,
                                     variances=bank.sds ** 2),
        "BIZ estimated σ, updated": lambda r: biz(r, delta=delta, confidence=confidence, n0=n0),
        "BIZ estimated σ, first stage": lambda r: biz(r, delta=delta, confidence=confidence,
                                                      n0=n0, update=False),
    }
    if sweep:
        procs = {p: procs[p] for p in ("KN (gridsearch)", "BIZ estimated σ, updated")}
    ok = {p: 0 for p in procs}
    runs = {p: [] for p in procs}
    secs = {p: 0.0 for p in procs}
    for _ in range(reps):
        res = Results(bank, rng)
        for p, f in procs.items():
            t0 = time.process_time()
            w, n = f(res)
            secs[p] += time.process_time() - t0
            ok[p] += bool(bank.correct(w, delta))
            runs[p].append(n)
    base = np.array(runs["KN (gridsearch)"], dtype=float)
    rows = []
    for p in procs:
        r = np.array(runs[p], dtype=float)
        pcs = ok[p] / reps
        rows.append({"δ": delta, "bank": bank.name, "n0": n0 if p != "BIZ known σ" else 1,
                     "procedure": p, "PCS": pcs,
                     "± se": math.sqrt(max(pcs * (1 - pcs), 0.25 / reps) / reps),
                     "mean runs": float(r.mean()), "sd runs": float(r.std(ddof=1)),
                     "p10": float(np.percentile(r, 10)), "median": float(np.median(r)),
                     "p90": float(np.percentile(r, 90)),
                     "runs / KN's": float(r.mean() / base.mean()),
                     "paired: fewer than KN": float(np.mean(r < base)),
                     "capped": int(np.sum(r >= MAX_RUNS)), "CPU s": secs[p]})
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--reps", type=int, default=2000, help="replications per bank and δ")
    ap.add_argument("--delta", default="0.02,0.05", help="indifference zones (comma-separated)")
    ap.add_argument("--n0", type=int, default=DEFAULT_N0, help="first-stage results per system "
                    "for KN and the estimated-σ BIZ")
    ap.add_argument("--n0-sweep", default="10,20", help="further n0 for KN and the updated "
                    "estimated-σ BIZ on banks (i) and (iii) (comma-separated; empty: none)")
    ap.add_argument("--sweep-reps", type=int, default=1000, help="replications per n0 row")
    ap.add_argument("--confidence", type=float, default=0.95)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    t0 = time.perf_counter()
    rng = np.random.default_rng(args.seed)
    m = measured()
    k = len(m["means"])
    rho = max(0.0, m["rho_anova"])
    conf = args.confidence
    print(f"# KN vs BIZ: k = {k}, confidence {conf}, n0 = {args.n0}, ρ = {rho:.2f}, "
          f"{args.reps} replications per row (the same results fed to every procedure); "
          f"BIZ's c = 1 − P*^(1/(k−1)) = {1 - conf ** (1 / (k - 1)):.5f}\n")
    rows, sweep = [], []
    n0s = [int(v) for v in args.n0_sweep.split(",") if v.strip()]
    for delta in (float(d) for d in args.delta.split(",")):
        banks = [
            Bank("(i) slippage", [delta] + [0.0] * (k - 1), [m["pooled_sd"]] * k, rho),
            Bank("(ii) all equal", [0.0] * k, [m["pooled_sd"]] * k, rho),
            Bank("(iii) measured", m["means"], m["sds"], rho),
        ]
        for bank in banks:
            rows += compare(bank, delta, conf, args.n0, args.reps, rng)
            print(f"  δ = {delta} {bank.name}: done ({time.process_time():.0f} CPU s)",
                  file=sys.stderr)
        for n0 in n0s:
            for bank in (banks[0], banks[2]):
                sweep += compare(bank, delta, conf, n0, args.sweep_reps, rng, sweep=True)
    columns = ["δ", "bank", "n0", "procedure", "PCS", "± se", "mean runs", "sd runs", "p10",
               "median", "p90", "runs / KN's", "paired: fewer than KN"]
    table(rows, columns)
    capped = sum(r["capped"] for r in rows)
    print(f"  PCS: share of replications whose choice is strictly within δ of the true best "
          f"(± its standard error); runs: results used (Σ n_x); runs / KN's: mean over mean, "
          f"same replications; paired: share of replications where the procedure used fewer "
          f"runs than KN on the same results. BIZ runs stopped at {MAX_RUNS:,}: {capped}.")
    print("  CPU s per procedure: " + "; ".join(
        f"{r['procedure']} {r['CPU s']:.1f}" for r in rows[:4]) + " (first row group)")
    base = {(r["δ"], r["bank"]): r["mean runs"] for r in rows
            if r["procedure"] == "KN (gridsearch)"}
    for r in sweep:
        r[f"runs / KN's at n0 = {args.n0}"] = r["mean runs"] / base[(r["δ"], r["bank"])]
    if sweep:
        print(f"\n# Larger first stages: KN and BIZ (estimated σ, updated) at the same n0, "
              f"{args.sweep_reps} replications per row\n")
        table(sweep, columns + [f"runs / KN's at n0 = {args.n0}"])
        print(f"  runs / KN's: against KN at the same n0 on the same replications; at n0 = "
              f"{args.n0}: against the first table's KN (other replications).")
    print(f"\n({time.perf_counter() - t0:.0f} s wall, {time.process_time():.0f} s CPU)")


if __name__ == "__main__":
    main()
