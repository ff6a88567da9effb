"""The cost of ``[train] deterministic = true``: the trainer with and without it, side by side.

    python benchmarks/determinism.py                  # GPU if present, else a CPU-sized run
    python benchmarks/determinism.py --rounds 3 --json

Each round trains the same network (same seed) once without and once with deterministic
algorithms, in alternating order; prints images/s of each, the ratio (with / without, median over
the rounds), and whether the two deterministic runs of the last round reproduced each other bit
for bit.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from gridsearch import training as threads

threads.prepare_env()

import torch  # noqa: E402

from common import device_name, print_table  # noqa: E402
from gridsearch import (  # noqa: E402
    models,
    training as data,
    training as trainer,
)


def _subsets(n: int, val: int) -> data.Subsets:
    s = data.load_data("digits", train_size=min(n, 1797 - val), val_size=val, seed=0)
    reps = -(-n // len(s.train_x))
    return data.Subsets(s.train_x.repeat(reps, 1, 1, 1)[:n], s.train_y.repeat(reps)[:n],
                        s.val_x, s.val_y, s.num_classes, s.source)


def _run(args, subsets, device, det: bool) -> tuple[float, dict]:
    torch.manual_seed(0)
    net = models.build(args.model, args.width, args.depth, 10).module
    r = trainer.Recipe(epochs=args.epochs, batch_size=args.batch, optimizer="adamw", lr=3e-3,
                       seed=0, deterministic=det)
    res = trainer.train(net, subsets, args.resolution, r, device)
    return res.images_per_second, {k: v.clone() for k, v in net.state_dict().items()}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--device", default="auto")
    p.add_argument("--model", default="efficientnet_b0")
    p.add_argument("--width", type=float)
    p.add_argument("--depth", type=float)
    p.add_argument("--resolution", type=int)
    p.add_argument("--images", type=int)
    p.add_argument("--batch", type=int)
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--json", action="store_true", help="one JSON line instead of a table")
    args = p.parse_args()
    device = trainer.resolve_device(args.device)
    gpu = device.type == "cuda"
    args.width = args.width or (1.0 if gpu else 0.5)
    args.depth = args.depth or (1.0 if gpu else 0.5)
    args.resolution = args.resolution or (64 if gpu else 32)
    args.images = args.images or (8192 if gpu else 512)
    args.batch = args.batch or (512 if gpu else 64)
    if not gpu:
        torch.set_num_threads(threads.choose_threads(1))
    s = _subsets(args.images, 256)
    _run(args, _subsets(args.batch * 2, 256), device, False)     # warm-up: kernels, allocator
    _run(args, _subsets(args.batch * 2, 256), device, True)
    rows, ratios, same = [], [], None
    for i in range(args.rounds):
        order = (False, True) if i % 2 == 0 else (True, False)
        got = {det: _run(args, s, device, det) for det in order}
        again = _run(args, s, device, True)[1] if i == args.rounds - 1 else None
        if again is not None:
            same = all(torch.equal(got[True][1][k], again[k]) for k in again)
        ratios.append(got[True][0] / got[False][0])
        rows.append({"round": i + 1, "default img/s": got[False][0],
                     "deterministic img/s": got[True][0], "ratio": ratios[-1]})
    out = {"device": device_name(device), "ratio": statistics.median(ratios),
           "reproduced": same, "rounds": args.rounds}
    if args.json:
        print(json.dumps(out))
        return
    print(f"device: {out['device']}; {args.model} w={args.width:g} d={args.depth:g} at "
          f"{args.resolution} px, {args.images} images, batch {args.batch}")
    print_table(rows, ["round", "default img/s", "deterministic img/s", "ratio"])
    print(f"deterministic / default throughput: {out['ratio']:.3f} (median of {args.rounds}); "
          f"two deterministic runs identical: {same}")


if __name__ == "__main__":
    main()
