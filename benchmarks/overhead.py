"""Bookkeeping overhead: the share of each trial's wall time spent outside training
(building the network, counting it with fvcore, the budget check, storing attributes).

    python benchmarks/overhead.py [--device cuda]
    python benchmarks/overhead.py --quick --json    # 3 trials of 1 epoch on 128 images, as JSON

Runs a small grid study in a temporary SQLite file and prints, per trial, its wall time, the
training seconds and the share outside training; the ratio is measured in the same run.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import device_name, print_table
from gridsearch import (
    config,
    training as trainer,
)
from gridsearch.study import Search


def study_config(folder: Path, gpu: bool, name: str = "overhead",
                 quick: bool = False) -> config.StudyConfig:
    cfg = _config(folder, gpu, name)
    if quick:
        cfg["data"]["train_size"], cfg["train"]["epochs"] = 128, 1
    return config.from_dict(cfg)


def _config(folder: Path, gpu: bool, name: str) -> dict:
    return {
        "name": name,
        "storage": f"sqlite:///{folder / (name + '.db')}",
        "model": {"name": "efficientnet_b0", "base_resolution": 64 if gpu else 48, "num_classes": 10,
                  "width_mult": 1.0 if gpu else 0.5, "depth_mult": 1.0 if gpu else 0.5},
        "data": {"source": "digits", "train_size": 1400 if gpu else 512, "val_size": 256},
        "train": {"epochs": 3, "batch_size": 256 if gpu else 32, "optimizer": "adamw", "lr": 3e-3},
        "search": {"alpha": {"min": 1.0, "max": 1.4, "step": 0.2},
                   "beta": {"min": 1.0, "max": 1.2, "step": 0.1},
                   "gamma": {"min": 1.0, "max": 1.4, "step": 0.1}, "tolerance": 0.1},
        "budget": {"mode": "repair", "tolerance": 0.05},
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--device", default="auto")
    p.add_argument("--quick", action="store_true",
                   help="3 trials of 1 epoch on 128 images (checks the script, not the goal)")
    p.add_argument("--json", action="store_true", help="the totals as one JSON line")
    args = p.parse_args()
    device = trainer.resolve_device(args.device)
    with tempfile.TemporaryDirectory() as tmp:
        cfg = study_config(Path(tmp), device.type == "cuda", quick=args.quick)
        search = Search(cfg)
        search.run(device=str(device), max_trials=3 if args.quick else None)
        rows = []
        for t in search.study().trials:
            if "train_seconds" not in t.user_attrs:
                continue
            wall = (t.datetime_complete - t.datetime_start).total_seconds()
            train = t.user_attrs["train_seconds"]
            rows.append({"trial": t.number, "wall_s": wall, "train_s": train,
                         "outside_s": wall - train, "outside_share": (wall - train) / wall})
    wall = sum(r["wall_s"] for r in rows)
    outside = sum(r["outside_s"] for r in rows)
    if args.json:
        print(json.dumps({"device": device_name(device), "trials": len(rows), "wall_s": wall,
                          "outside_s": outside, "share": outside / wall if wall else None}))
        return
    print(f"device: {device_name(device)}; traces: {search.counter.traces}")
    print_table(rows, ["trial", "wall_s", "train_s", "outside_s", "outside_share"])
    print(f"total: {wall:.1f} s of trial wall time, {outside:.2f} s outside training "
          f"= {outside / wall:.1%} (goal ≤ 3% in the GPU study)")


if __name__ == "__main__":
    main()
