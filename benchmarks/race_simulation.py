"""Ranking and selection on simulated banks: KN's race against a fixed design and today's rule.

    python benchmarks/race_simulation.py [--reps 1000] [--delta 0.02,0.05] [--sweep-reps 300]
                                         [--n0-reps 200]

Numpy only (no torch). Banks with known true means, normal results with common random numbers
(seed r shares a standard normal across candidates, correlation ρ):

  (i)   slippage: the best exactly δ ahead of all others (KN's least favourable configuration);
        k and σ from the quickstart (its feasible points; the pooled seed standard deviation);
  (ii)  all equal: every choice is correct, what matters is what the race spends;
  (iii) measured: the quickstart's per-point means and standard deviations with 5 seeds each
        (benchmarks/data/quickstart_seeds5.json, and how it was produced).

Per bank: P(correct selection) — the chosen candidate's true mean within δ of the true best — and
mean runs for the race (KN, gridsearch.selection.Race, no cap and at the default cap), the fixed
design (every candidate S seeds, the best mean) at the smallest S that reaches the race's PCS, and
today's rule (the best mean, with Welch's test against the runner-up saying whether it is
significant) with the race's runs spread evenly. Then the runs a decision needs against δ/σ, and
PCS and runs against n0. Everything is seeded: the same command prints the same numbers.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gridsearch import stats
from gridsearch.selection import (
    DEFAULT_MAX_SEEDS,
    DEFAULT_N0,
    Race,
    forecast,
    h2 as kn_h2,
)

DATA = Path(__file__).resolve().parent / "data" / "quickstart_seeds5.json"
NO_CAP = 10 ** 6
FIXED_REPS_FACTOR = 20    # replications of a fixed design per replication of a race


# -- the measured study --------------------------------------------------------------------------
def measured() -> dict:
    """The quickstart with 5 seeds: means, standard deviations, and the paired seed effect."""
    doc = json.loads(DATA.read_text())
    x = np.array([p["accuracy_by_seed"] for p in doc["points"]])
    names = [f"α={p['alpha']:g} β={p['beta']:g} γ={p['gamma']:g}" for p in doc["points"]]
    k, n = x.shape
    resid = x - x.mean(axis=1, keepdims=True)
    corr = np.corrcoef(resid)[np.triu_indices(k, 1)]
    # Two-way layout (point × seed, one value per cell): the seed's share of the variance.
    grand = x.mean()
    seed_eff = x.mean(axis=0) - grand
    inter = x - x.mean(axis=1, keepdims=True) - x.mean(axis=0, keepdims=True) + grand
    ms_seed = k * float((seed_eff ** 2).sum()) / (n - 1)
    ms_err = float((inter ** 2).sum()) / ((k - 1) * (n - 1))
    var_seed = (ms_seed - ms_err) / k
    rho_anova = var_seed / (var_seed + ms_err)
    var = x.var(axis=1, ddof=1)
    d = x[:, None, :] - x[None, :, :]
    paired = d.var(axis=2, ddof=1)[np.triu_indices(k, 1)]
    unpaired = (var[:, None] + var[None, :])[np.triu_indices(k, 1)]
    return {"names": names, "x": x, "means": x.mean(axis=1), "sds": np.sqrt(var),
            "pooled_sd": float(np.sqrt(var.mean())), "corr_mean": float(corr.mean()),
            "corr_median": float(np.median(corr)), "rho_anova": rho_anova,
            "f_seed": ms_seed / ms_err, "paired_over_unpaired": float(paired.mean() / unpaired.mean()),
            "sd_diff": float(np.sqrt(np.median(paired)))}


# -- simulation ----------------------------------------------------------------------------------
class Bank:
    """True means and standard deviations; results normal with CRN correlation ρ."""

    def __init__(self, name: str, means, sds, rho: float) -> None:
        self.name, self.means, self.sds, self.rho = name, np.asarray(means, float), \
            np.asarray(sds, float), rho
        self.k = len(self.means)

    def draw(self, rng: np.random.Generator, *shape: int) -> np.ndarray:
        """Results of shape (*shape_lead, k, seeds): seeds is the last axis."""
        *lead, k, n = shape
        common = rng.standard_normal((*lead, 1, n))
        own = rng.standard_normal((*lead, k, n))
        noise = math.sqrt(self.rho) * common + math.sqrt(1 - self.rho) * own
        return self.means[:, None] + self.sds[:, None] * noise

    def correct(self, chosen: np.ndarray | int, delta: float) -> np.ndarray | bool:
        """Strictly within δ of the true best: in the slippage configuration the others sit
        exactly δ behind, and choosing one of them is the error KN bounds."""
        return self.means[chosen] > self.means.max() - delta


def run_race(bank: Bank, delta: float, reps: int, rng: np.random.Generator, *, n0: int,
             max_seeds: int, confidence: float, with_p_best: bool = False) -> dict:
    """``reps`` races on ``bank``; PCS, runs, rounds, share undecided, P(best) of the winner."""
    ok, runs, rounds, capped, pbest = 0, [], [], 0, []
    for _ in range(reps):
        x = bank.draw(rng, bank.k, 64)
        race = Race(range(bank.k), delta=delta, confidence=confidence, n0=n0,
                    max_seeds=max_seeds)
        while not race.done:
            for c, s in race.next_units():
                if s >= x.shape[1]:
                    x = np.concatenate([x, bank.draw(rng, bank.k, x.shape[1])], axis=1)
                race.add(c, s, x[c, s])
        d = race.decision()
        ok += bool(bank.correct(d.winner, delta))
        runs.append(d.runs)
        rounds.append(d.seeds)
        capped += d.status == "capped"
        if with_p_best:
            pbest.append(d[d.winner].p_best)
    return {"pcs": ok / reps, "runs": float(np.mean(runs)), "seeds": float(np.mean(rounds)),
            "undecided": capped / reps, "p_best": float(np.mean(pbest)) if pbest else math.nan}


def fixed_pcs_curve(bank: Bank, delta: float, reps: int, rng: np.random.Generator, target: float,
                    s_max: int = 4000) -> tuple[int | None, float]:
    """The smallest S whose fixed design (every candidate S seeds, best mean) reaches ``target``
    PCS over ``reps`` replications (nested: seed S+1 adds to the sums of the first S)."""
    sums = np.zeros((reps, bank.k))
    s, best_pcs = 0, 0.0
    while s < s_max:
        block = bank.draw(rng, reps, bank.k, 50)
        for j in range(block.shape[-1]):
            sums += block[..., j]
            s += 1
            pcs = float(bank.correct(sums.argmax(axis=1), delta).mean())
            best_pcs = pcs
            if pcs >= target:
                return s, pcs
    return None, best_pcs


def fixed_at(bank: Bank, delta: float, reps: int, rng: np.random.Generator, seeds: int) -> float:
    """PCS of the fixed design with ``seeds`` per candidate (the best mean)."""
    total = np.zeros((reps, bank.k))
    for start in range(0, seeds, 100):
        total += bank.draw(rng, reps, bank.k, min(100, seeds - start)).sum(axis=2)
    return float(bank.correct(total.argmax(axis=1), delta).mean())


def welch_rule(bank: Bank, delta: float, reps: int, rng: np.random.Generator, seeds: int) -> dict:
    """Today's rule with ``seeds`` per point: the best mean; Welch's test against the runner-up
    says whether the winner is significantly better (p < 0.05)."""
    x = bank.draw(rng, reps, bank.k, seeds)
    means = x.mean(axis=2)
    ok = sig = 0
    for rep in range(reps):
        order = np.argsort(-means[rep], kind="stable")
        ok += bool(bank.correct(order[0], delta))
        test = stats.welch(list(x[rep, order[0]]), list(x[rep, order[1]]))
        sig += test is not None and test.significant
    return {"pcs": ok / reps, "significant": sig / reps, "runs": seeds * bank.k}


# -- printing ------------------------------------------------------------------------------------
def table(rows: list[dict], columns: list[str]) -> None:
    def cell(v: object) -> str:
        if isinstance(v, float):
            return "—" if math.isnan(v) else f"{v:.4g}"
        return "—" if v is None else str(v)

    cells = [[cell(r.get(c)) for c in columns] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(columns)]
    print("  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)))
    for row in cells:
        print("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)))
    print()


def main_table(m: dict, delta: float, conf: float, rho: float, reps: int,
               rng: np.random.Generator) -> list[Bank]:
    k = len(m["means"])
    banks = [
        Bank("(i) slippage", [delta] + [0.0] * (k - 1), [m["pooled_sd"]] * k, rho),
        Bank("(ii) all equal", [0.0] * k, [m["pooled_sd"]] * k, rho),
        Bank("(iii) measured", m["means"], m["sds"], rho),
    ]
    print(f"# P(correct selection) and runs: δ = {delta}, confidence {conf}, n0 = {DEFAULT_N0}, "
          f"k = {k}, {reps} replications")
    # The fixed design that carries the same guarantee: S for the least favourable configuration
    # (slippage) with σ known — Bechhofer's single-stage procedure, its S found by simulation.
    many = FIXED_REPS_FACTOR * reps          # the fixed design is cheap: a smoother PCS curve
    s_guarantee, _ = fixed_pcs_curve(banks[0], delta, many, rng, conf)
    rows = []
    for bank in banks:
        live = run_race(bank, delta, reps, rng, n0=DEFAULT_N0, max_seeds=NO_CAP,
                        confidence=conf, with_p_best=True)
        cap = run_race(bank, delta, reps, rng, n0=DEFAULT_N0, max_seeds=DEFAULT_MAX_SEEDS,
                       confidence=conf)
        # A race PCS of 1 over `reps` only says ≥ 1 − 1/reps or so: aim at 1 − 1/(2 reps) then.
        target = min(live["pcs"], 1 - 0.5 / reps)
        s_fixed, pcs_fixed = fixed_pcs_curve(bank, delta, many, rng, target)
        s_w = max(2, round(live["runs"] / bank.k))
        w = welch_rule(bank, delta, reps, rng, s_w)
        fixed_runs = None if s_fixed is None else s_fixed * bank.k
        g = fixed_at(bank, delta, many, rng, s_guarantee)
        trivial = bank.name.startswith("(ii)")      # every choice is correct: no ratio
        rows.append({"bank": bank.name, "race PCS": live["pcs"], "race runs": live["runs"],
                     "race seeds": live["seeds"], "P(best) of winner": live["p_best"],
                     "cap PCS": cap["pcs"], "cap runs": cap["runs"],
                     "cap undecided": cap["undecided"],
                     "fixed S": s_fixed, "fixed PCS": pcs_fixed, "fixed runs": fixed_runs,
                     "race/fixed runs": (math.nan if trivial or not fixed_runs
                                         else live["runs"] / fixed_runs),
                     "guarantee S": s_guarantee, "guarantee PCS": g,
                     "guarantee runs": s_guarantee * bank.k,
                     "race/guarantee runs": live["runs"] / (s_guarantee * bank.k),
                     "Welch S": s_w, "Welch runs": w["runs"], "Welch PCS": w["pcs"],
                     "Welch significant": w["significant"]})
    table(rows, ["bank", "race PCS", "race runs", "race seeds", "P(best) of winner",
                 "fixed S", "fixed PCS", "fixed runs", "race/fixed runs"])
    table(rows, ["bank", "guarantee S", "guarantee PCS", "guarantee runs",
                 "race/guarantee runs"])
    table(rows, ["bank", "cap PCS", "cap runs", "cap undecided", "Welch S", "Welch runs",
                 "Welch PCS", "Welch significant"])
    print(f"  race: KN without a cap; race seeds: seeds per survivor when it ended. fixed S: the "
          f"smallest seeds per point whose fixed design (best mean) reaches the race's PCS on "
          f"this bank (chosen in hindsight; {FIXED_REPS_FACTOR * reps:,} replications of the "
          f"fixed design; a race PCS of 1 is taken as 1 − 1/(2·{reps})). guarantee S: the fixed design with the race's "
          f"guarantee — S reaching PCS {conf} on the slippage bank with σ known (Bechhofer's "
          f"single-stage procedure), used on every bank. cap: KN with max_seeds = "
          f"{DEFAULT_MAX_SEEDS} (undecided: the share stopped there with several survivors, "
          f"then the best mean). Welch: today's rule, the best mean with the race's runs spread "
          f"evenly; 'significant' = Welch p < 0.05 against the runner-up.\n")
    return banks


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--reps", type=int, default=1000, help="replications per bank")
    ap.add_argument("--sweep-reps", type=int, default=300,
                    help="replications per row of the δ/σ table")
    ap.add_argument("--delta", default="0.02,0.05",
                    help="indifference zones for the main table (comma-separated); the n0 table "
                         "uses the last")
    ap.add_argument("--n0-reps", type=int, default=200, help="replications per row of the n0 "
                    "table (a tenth of it for n0 = 2, whose h² is about 100 times n0 = 5's)")
    ap.add_argument("--confidence", type=float, default=0.95)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    t0 = time.perf_counter()
    rng = np.random.default_rng(args.seed)
    deltas = [float(d) for d in args.delta.split(",")]
    conf, alpha = args.confidence, 1 - args.confidence

    m = measured()
    k = len(m["means"])
    rho = max(0.0, m["rho_anova"])
    print(f"# The measured study: {DATA.name} (quickstart on shapes, {k} feasible points × 5 seeds)")
    for name, mu, sd in zip(m["names"], m["means"], m["sds"], strict=True):
        print(f"  {name:24s} mean {mu:.4f}  sd {sd:.4f}")
    print(f"  pooled seed sd σ = {m['pooled_sd']:.4f}; σ of paired differences (median pair) "
          f"= {m['sd_diff']:.4f}")
    print(f"  paired seed effects: mean pairwise correlation of the residuals "
          f"{m['corr_mean']:+.3f} (median {m['corr_median']:+.3f}); two-way layout: "
          f"F(seed) = {m['f_seed']:.2f}, ρ = {m['rho_anova']:+.3f}")
    print(f"  variance of a paired difference / variance of an unpaired one = "
          f"{m['paired_over_unpaired']:.2f} (CRN helps when < 1)")
    print(f"  simulated with ρ = {rho:.2f} (the estimate, clipped at 0)\n")

    banks = []
    for delta in deltas:
        banks = main_table(m, delta, conf, rho, args.reps, rng)
        print(f"  ({time.process_time():.0f} CPU s so far)\n")

    # -- runs against δ/σ (slippage, σ of a paired difference = 1) ------------------------------
    print(f"# Runs a decision needs against δ/σ (slippage, k = {k}, n0 = {DEFAULT_N0}, no cap, "
          f"confidence {conf}, {args.sweep_reps} replications; σ = sd of a paired difference)")
    h_squared = kn_h2(alpha, k, DEFAULT_N0)
    rows = []
    for ratio in (0.25, 0.5, 0.75, 1.0, 1.5, 2.0):
        sd = 1 / math.sqrt(2)                       # independent: paired difference sd = 1
        bank = Bank("slip", [ratio] + [0.0] * (k - 1), [sd] * k, 0.0)
        r = run_race(bank, ratio, args.sweep_reps, rng, n0=DEFAULT_N0, max_seeds=NO_CAP,
                     confidence=conf)
        f = forecast(np.full((k, k), 1.0), delta=ratio, confidence=conf, n0=DEFAULT_N0,
                     max_seeds=DEFAULT_MAX_SEEDS)
        rows.append({"δ/σ": ratio, "PCS": r["pcs"], "runs": r["runs"],
                     "runs per candidate": r["runs"] / k, "seeds to the end": r["seeds"],
                     "forecast seeds (δ behind)": f.seeds_close,
                     "KN bound": f.seeds_bound})
    table(rows, ["δ/σ", "PCS", "runs", "runs per candidate", "seeds to the end",
                 "forecast seeds (δ behind)", "KN bound"])
    print(f"  h² = {h_squared:.2f}; the forecast is h²/(3(δ/σ)²), the bound ⌊h²/(δ/σ)²⌋ + 1 "
          f"(with the true σ; a race uses the first stage's estimate). ({time.process_time():.0f} CPU s "
          f"so far)\n")

    # -- PCS and runs against n0 -----------------------------------------------------------------
    for delta in reversed(deltas):
        coarse = delta == deltas[-1]
        n0s = (2, 3, 5, 8, 10) if coarse else (5, 8, 10)
        print(f"# PCS and runs against n0 (δ = {delta}, no cap, {args.n0_reps} replications"
              f"{f'; {max(1, args.n0_reps // 10)} for n0 = 2' if coarse else ''})")
        slip = Bank("(i) slippage", [delta] + [0.0] * (k - 1), [m["pooled_sd"]] * k, rho)
        rows = []
        for n0 in n0s:
            reps = max(1, args.n0_reps // 10) if n0 == 2 else args.n0_reps
            row = {"n0": n0, "h²": kn_h2(alpha, k, n0), "replications": reps}
            for bank in (slip, banks[2]):
                r = run_race(bank, delta, reps, rng, n0=n0, max_seeds=NO_CAP, confidence=conf)
                row[f"{bank.name} PCS"], row[f"{bank.name} runs"] = r["pcs"], r["runs"]
                r = run_race(bank, delta, reps, rng, n0=n0, max_seeds=DEFAULT_MAX_SEEDS,
                             confidence=conf)
                row[f"{bank.name} cap PCS"], row[f"{bank.name} cap runs"] = r["pcs"], r["runs"]
            rows.append(row)
        table(rows, ["n0", "h²", "replications", "(i) slippage PCS", "(i) slippage runs",
                     "(i) slippage cap PCS", "(i) slippage cap runs", "(iii) measured PCS",
                     "(iii) measured runs", "(iii) measured cap PCS", "(iii) measured cap runs"])
    print(f"  cap: max_seeds = {DEFAULT_MAX_SEEDS}.\n")
    print(f"({time.perf_counter() - t0:.0f} s wall, {time.process_time():.0f} s CPU)")


if __name__ == "__main__":
    main()
