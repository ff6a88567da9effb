"""Search efficiency: the exhaustive grid vs TPE with median pruning, on one fixed study.

    python benchmarks/search_efficiency.py [--device cuda] [--fraction 0.4]

The grid runs twice (two training seeds) to measure seed-to-seed noise of the best accuracy;
TPE + pruning then runs with a trial budget of ``fraction`` of the grid's points. Printed: the best
accuracy each found, the training seconds spent, and the ratio of the seconds.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import device_name, print_table  # noqa: E402
from gridsearch import config  # noqa: E402
from gridsearch.training import _trainer as trainer  # noqa: E402
from gridsearch.study._trials import rank, read  # noqa: E402
from gridsearch.study._search import Search  # noqa: E402


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


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--device", default="auto")
    p.add_argument("--fraction", type=float, default=0.4)
    args = p.parse_args()
    device = trainer.resolve_device(args.device)
    gpu = device.type == "cuda"
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        rows = []
        n_grid = 0
        for seed in (0, 1):
            s = Search(study(folder, f"grid-seed{seed}", seed, "grid", "none", 0, gpu))
            n_grid = len(s.points)
            s.run(device=str(device))
            rows.append({"search": f"grid, seed {seed}", **summarise(s)})
        budget = max(2, round(args.fraction * n_grid))
        s = Search(study(folder, "tpe-median", 0, "tpe", "median", budget, gpu))
        s.run(device=str(device))
        rows.append({"search": f"tpe + median pruning, {budget} trials", **summarise(s)})
    noise = abs(rows[0]["best_acc"] - rows[1]["best_acc"])
    grid_s = (rows[0]["train_s"] + rows[1]["train_s"]) / 2
    for r in rows:
        r["time_ratio"] = r["train_s"] / grid_s
    print(f"device: {device_name(device)}; grid of {n_grid} points")
    print_table(rows, ["search", "trials", "pruned", "best_acc", "train_s", "time_ratio"])
    gap = rows[0]["best_acc"] - rows[2]["best_acc"]
    print(f"seed-to-seed noise of the grid's best: {noise:.4f}; TPE's best is {gap:+.4f} below the "
          f"grid's (seed 0); time ratio {rows[2]['time_ratio']:.2f} (goal ≤ 0.40 within the noise)")


if __name__ == "__main__":
    main()
