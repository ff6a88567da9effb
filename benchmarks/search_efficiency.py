"""Search efficiency: the exhaustive grid vs TPE with median pruning, judged by a confirmation.

    python benchmarks/search_efficiency.py [--device cuda] [--fraction 0.4] [--seeds 3] [--top 3]

The grid runs once; TPE + median pruning runs with a budget of ``fraction`` of the grid's points.
Neither search's own best accuracy is trusted (one seed, a short proxy): the grid's best ``top``
points and TPE's best point are re-trained with ``seeds`` fresh seeds each (``gridsearch confirm``),
and TPE succeeds when its confirmed winner is statistically tied with the grid's confirmed winner
(Welch's t-test, p ≥ 0.05) or is the same point. Printed: both searches' training seconds and their
ratio, the confirmed accuracies (mean ± std) and the verdict.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import device_name, print_table
from gridsearch import (
    config,
    stats,
    study as confirm,
)
from gridsearch.selection import rank
from gridsearch.study import Search, read
from gridsearch.training import resolve_device


def study(folder: Path, name: str, seed: int, sampler: str, pruner: str, n_trials: int,
          gpu: bool) -> config.StudyConfig:
    return config.from_dict({
        "name": name,
        "storage": f"sqlite:///{folder / 'bench.db'}",
        "model": {"name": "resnet18", "base_resolution": 32, "num_classes": 10,
                  "width_mult": 0.5 if gpu else 0.25, "depth_mult": 0.5},
        "data": {"source": "digits", "train_size": 1024, "val_size": 512},
        "train": {"epochs": 4, "batch_size": 64, "lr": 0.05, "seed": seed},
        "search": {"alpha": {"min": 1.0, "max": 2.0, "step": 0.25},
                   "beta": {"min": 1.0, "max": 1.4, "step": 0.1},
                   "gamma": {"min": 1.0, "max": 1.4, "step": 0.1},
                   "target": 2.0, "tolerance": 0.1, "sampler": sampler, "pruner": pruner,
                   "n_trials": n_trials, "seed": seed},
        "budget": {"mode": "repair", "tolerance": 0.1},
    })


def summarise(search: Search) -> dict:
    trials = search.study().trials
    # pruned trials record the seconds they trained before they were stopped
    seconds = sum(t.user_attrs.get("train_seconds", 0.0) for t in trials)
    ranked = rank(read(search.study()))
    best = ranked[0].value if ranked else float("nan")
    pruned = sum(1 for t in trials if "pruned_reason" in t.user_attrs)
    return {"trials": len(trials), "pruned": pruned, "best_acc": best, "train_s": seconds}


def confirmed_winner(search: Search, top: int, seeds: int, device: str):
    """Re-train ``search``'s best ``top`` points with fresh seeds; the confirmed best and the
    training seconds the confirmation took."""
    c = confirm.confirm_plan(search, top, confirm.Fidelity(seeds))
    c.run(device=device)
    trials = c.study().trials
    return rank(read(c.study()))[0], sum(t.user_attrs.get("train_seconds", 0.0) for t in trials)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--device", default="auto")
    p.add_argument("--fraction", type=float, default=0.4)
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--top", type=int, default=3)
    args = p.parse_args()
    device = resolve_device(args.device)
    gpu = device.type == "cuda"
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        grid = Search(study(folder, "grid", 0, "grid", "none", 0, gpu))
        n_grid = len(grid.points)
        grid.run(device=str(device))
        budget = max(2, round(args.fraction * n_grid))
        tpe = Search(study(folder, "tpe-median", 0, "tpe", "median", budget, gpu))
        tpe.run(device=str(device))
        rows = [{"search": f"grid, {n_grid} points", **summarise(grid)},
                {"search": f"tpe + median pruning, {budget} trials", **summarise(tpe)}]
        g, g_s = confirmed_winner(grid, args.top, args.seeds, str(device))
        t, t_s = confirmed_winner(tpe, 1, args.seeds, str(device))
    rows[0].update(confirmed=g.summary.text(), point=_p(g), confirm_s=g_s)
    rows[1].update(confirmed=t.summary.text(), point=_p(t), confirm_s=t_s)
    for r in rows:
        r["time_ratio"] = r["train_s"] / rows[0]["train_s"]
    print(f"device: {device_name(device)}; grid of {n_grid} points; confirmation: the grid's top "
          f"{args.top} and TPE's best, {args.seeds} fresh seeds each")
    print_table(rows, ["search", "trials", "pruned", "best_acc", "train_s", "time_ratio", "point",
                       "confirmed", "confirm_s"])
    same = _p(g) == _p(t)
    test = stats.welch(t.accuracies, g.accuracies)
    tied = same or (test is not None and not test.significant)
    how = "the same point" if same else (f"Welch p = {test.p:.3g}" if test else "no noise estimate")
    print(f"TPE's confirmed winner vs the grid's: {t.value - g.value:+.4f} ({how}); "
          f"{'SUCCESS: statistically tied' if tied else 'FAIL: significantly different'}; "
          f"search time ratio {rows[1]['time_ratio']:.2f} (goal ≤ 0.40)")


def _p(r) -> str:
    return f"({r.point.alpha:g}, {r.point.beta:g}, {r.point.gamma:g})"


if __name__ == "__main__":
    main()
