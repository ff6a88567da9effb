"""Accuracy against resolution alone: one network trained at 1×, 1.5× and 2× its base resolution,
with several seeds, on the generated ``shapes`` (drawn at 96 px: its stripes carry detail up to
72 px) and on scikit-learn's 8×8 digits (upscaled: a larger resolution adds no information).

    python benchmarks/resolution_curve.py [--data shapes,digits] [--seeds 3] [--base 32]
        [--scales 1,1.5,2] [--train-size 1000] [--val-size 500] [--epochs 3] [--device auto]

The network is the quickstart's proxy (efficientnet_b0, width 0.5, depth 0.5), built with the same
seed for every resolution; seed s draws the data (the shapes and the stratified split), the initial
weights and the batch order, and is shared by the resolutions, so each seed gives a paired curve.
Printed: accuracy mean ± sample std (n seeds) per (data, resolution), the paired gain of every
resolution over the base one (mean ± std over seeds), and the time to generate the shapes (N
images at the drawn size, from a cold cache, against the time to train one point).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import device_name, print_table
from gridsearch import (
    models,
    training as data,
    training as trainer,
)
from gridsearch.training import _shapes as shapes


def mean_std(xs: list[float]) -> str:
    sd = statistics.stdev(xs) if len(xs) > 1 else float("nan")
    return f"{statistics.mean(xs):.3f} ± {sd:.3f} (n={len(xs)})"


def generation_times(image_size: int, counts: list[int]) -> list[dict]:
    out = []
    for n in counts:
        shapes.generate.cache_clear()
        start = time.perf_counter()
        shapes.generate(n, image_size, 0)
        out.append({"images": n, "px": image_size, "seconds": time.perf_counter() - start})
    shapes.generate.cache_clear()
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default="shapes,digits")
    p.add_argument("--model", default="efficientnet_b0")
    p.add_argument("--width", type=float, default=0.5)
    p.add_argument("--depth", type=float, default=0.5)
    p.add_argument("--base", type=int, default=32)
    p.add_argument("--scales", default="1,1.5,2")
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--train-size", type=int, default=1000)
    p.add_argument("--val-size", type=int, default=500)
    p.add_argument("--image-size", type=int, default=96, help="shapes are drawn at this size")
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--augment", default="none")
    p.add_argument("--hflip", action="store_true")
    p.add_argument("--device", default="auto")
    args = p.parse_args()
    device = trainer.resolve_device(args.device)
    scales = [float(s) for s in args.scales.split(",")]
    resolutions = [round(args.base * s) for s in scales]
    print(f"device: {device_name(device)}; {args.model} w{args.width:g} d{args.depth:g}; "
          f"{args.train_size} train / {args.val_size} val; {args.epochs} epochs, batch "
          f"{args.batch}, adamw lr {args.lr:g}; augment {args.augment}{' + hflip' if args.hflip else ''}; "
          f"resolutions {resolutions}; seeds 0..{args.seeds - 1}", flush=True)

    gen = generation_times(args.image_size, [args.train_size + args.val_size, 3000])
    acc: dict[tuple[str, int], list[float]] = {}
    secs: dict[tuple[str, int], list[float]] = {}
    for source in args.data.split(","):
        for seed in range(args.seeds):
            subsets = data.load_data(source, train_size=args.train_size, val_size=args.val_size,
                                seed=seed, image_size=args.image_size)
            for res in resolutions:
                torch.manual_seed(seed)
                net = models.build(args.model, args.width, args.depth, subsets.num_classes).module
                recipe = trainer.Recipe(epochs=args.epochs, batch_size=args.batch,
                                        optimizer="adamw", lr=args.lr, weight_decay=1e-4,
                                        seed=seed, augment=args.augment, hflip=args.hflip)
                r = trainer.train(net, subsets, res, recipe, device)
                acc.setdefault((source, res), []).append(r.accuracy)
                secs.setdefault((source, res), []).append(r.seconds)
                print(f"  {source} seed {seed} {res:>3} px: acc {r.accuracy:.3f} "
                      f"history {[round(h, 3) for h in r.history]} ({r.seconds:.1f} s)", flush=True)

    rows = []
    for (source, res), xs in acc.items():
        base = acc[(source, resolutions[0])]
        gain = [a - b for a, b in zip(xs, base, strict=True)]
        rows.append({"data": source, "res": res, "scale": f"{res / resolutions[0]:g}x",
                     "accuracy (mean ± std, n)": mean_std(xs),
                     "gain over 1x (paired)": "-" if res == resolutions[0] else mean_std(gain),
                     "train_s": statistics.mean(secs[(source, res)])})
    print()
    print_table(rows, ["data", "res", "scale", "accuracy (mean ± std, n)", "gain over 1x (paired)",
                       "train_s"])
    one = statistics.mean(secs[(args.data.split(",")[0], resolutions[0])])
    for g in gen:
        g["ratio_to_one_training"] = g["seconds"] / one
    print()
    print(f"generating shapes (cold cache, numpy, this process's threads); one training at "
          f"{resolutions[0]} px took {one:.1f} s:")
    print_table(gen, ["images", "px", "seconds", "ratio_to_one_training"])


if __name__ == "__main__":
    main()
