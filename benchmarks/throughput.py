"""Proxy-training throughput: the naive reference loop vs gridsearch's trainer, one trainer and N at once.

    python benchmarks/throughput.py                  # GPU if present (64 px, 8,192 images), else a CPU-sized run
    python benchmarks/throughput.py --concurrency 4  # N trainers at once on one device
    python benchmarks/throughput.py --json           # the rows as one JSON line (gpu_check.py)

Prints images/s of each and the ratio to the naive loop measured in the same run.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import multiprocessing as mp
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from gridsearch import training as threads

threads.prepare_env()  # as the gridsearch command does, before torch loads: OpenMP waits passively

import torch  # noqa: E402

from common import device_name, naive_train, print_table  # noqa: E402
from gridsearch import (  # noqa: E402
    models,
    training as data,
    training as trainer,
)


def _subsets(n: int, val: int) -> data.Subsets:
    # digits has 1,797 images: tile them for a GPU-sized run (throughput, not accuracy, is measured)
    s = data.load_data("digits", train_size=min(n, 1797 - val), val_size=val, seed=0)
    reps = -(-n // len(s.train_x))
    return dataclasses.replace(s, train_x=s.train_x.repeat(reps, 1, 1, 1)[:n],
                               train_y=s.train_y.repeat(reps)[:n])


def _project(args, device: str, seed: int = 0, channels_last: bool | None = None) -> dict:
    s = _subsets(args.images, args.val)
    m = models.build(args.model, args.width, args.depth, 10).module
    r = trainer.Recipe(epochs=args.epochs, batch_size=args.batch, optimizer="adamw", lr=3e-3, seed=seed)
    res = trainer.train(m, s, args.resolution, r, device, channels_last=channels_last)
    return {"images_per_second": res.images_per_second, "seconds": res.seconds, "accuracy": res.accuracy}


def _worker(args, device, seed, start, out, ready):
    if device == "cpu":  # N processes share the cores, as `gridsearch run --workers N` does
        torch.set_num_threads(threads.choose_threads(args.concurrency))
    # warm up this process (imports, kernels, allocator) before the clock starts
    trainer.train(models.build(args.model, args.width, args.depth, 10).module,
                  _subsets(args.batch * 2, args.val), args.resolution,
                  trainer.Recipe(epochs=1, batch_size=args.batch), device)
    ready.put(seed)
    start.wait()
    out.put(_project(args, device, seed))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--device", default="auto")
    p.add_argument("--model", default="efficientnet_b0")
    p.add_argument("--width", type=float, default=1.0)
    p.add_argument("--depth", type=float, default=1.0)
    p.add_argument("--resolution", type=int)
    p.add_argument("--images", type=int)
    p.add_argument("--val", type=int, default=256)
    p.add_argument("--batch", type=int)
    p.add_argument("--naive-batch", type=int, default=128)
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--concurrency", type=int)
    p.add_argument("--json", action="store_true", help="the rows as one JSON line")
    args = p.parse_args()
    device = trainer.resolve_device(args.device)
    gpu = device.type == "cuda"
    # GPU: the H100 figures in docs/design.md §7's setting. CPU: a reduced size that finishes in a minute or two.
    args.resolution = args.resolution or (64 if gpu else 32)
    args.images = args.images or (8192 if gpu else 1024)
    # CPU: the naive loop's batch (a smaller one cost the trainer ~10%: 0.90x, measured)
    args.batch = args.batch or (512 if gpu else args.naive_batch)
    args.concurrency = args.concurrency or (4 if gpu else 2)
    if not gpu:
        args.width = args.width if args.width != 1.0 else 0.5
        args.depth = args.depth if args.depth != 1.0 else 0.5

    s = _subsets(args.images, args.val)
    # Warm-up of both loops at their own batch shapes (cuDNN autotuning, oneDNN primitives, the
    # allocator): a first pass at a new shape costs more than a short CPU run itself.
    small = _subsets(max(args.batch, args.naive_batch) * 2, args.val)
    trainer.train(models.build(args.model, args.width, args.depth, 10).module, small,
                  args.resolution, trainer.Recipe(epochs=1, batch_size=args.batch), device)
    naive_train(models.build(args.model, args.width, args.depth, 10).module, small,
                args.resolution, trainer.Recipe(epochs=1, batch_size=args.naive_batch), device)
    if not gpu:
        trainer.train(models.build(args.model, args.width, args.depth, 10).module, small,
                      args.resolution, trainer.Recipe(epochs=1, batch_size=args.batch), device,
                      channels_last=False)
    where = device_name(device)

    m = models.build(args.model, args.width, args.depth, 10).module
    naive = naive_train(m, s, args.resolution,
                        trainer.Recipe(epochs=args.epochs, batch_size=args.naive_batch,
                                       optimizer="adamw", lr=3e-3), device)
    one = _project(args, str(device))
    # the other memory layout on the CPU (the trainer's default is channels_last)
    other = None if gpu else _project(args, str(device), channels_last=False)

    ctx = mp.get_context("spawn")
    start, out, ready = ctx.Event(), ctx.Queue(), ctx.Queue()
    procs = [ctx.Process(target=_worker, args=(args, str(device), i, start, out, ready))
             for i in range(args.concurrency)]
    for pr in procs:
        pr.start()
    for _ in procs:
        ready.get()
    t0 = time.perf_counter()
    start.set()
    results = [out.get() for _ in procs]
    wall = time.perf_counter() - t0
    for pr in procs:
        pr.join()
    together = args.concurrency * args.images * args.epochs / wall

    rows = [
        {"loop": f"naive (DataLoader, fp32, batch {args.naive_batch})",
         "img/s": naive["images_per_second"], "ratio": 1.0, "val_acc": naive["accuracy"]},
        {"loop": f"gridsearch trainer, channels_last (batch {args.batch})", "img/s": one["images_per_second"],
         "ratio": one["images_per_second"] / naive["images_per_second"], "val_acc": one["accuracy"]},
        *([] if other is None else [
            {"loop": f"gridsearch trainer, NCHW (batch {args.batch})",
             "img/s": other["images_per_second"],
             "ratio": other["images_per_second"] / naive["images_per_second"],
             "val_acc": other["accuracy"]}]),
        {"loop": f"{args.concurrency} gridsearch trainers at once (total)", "img/s": together,
         "ratio": together / naive["images_per_second"],
         "val_acc": sum(r["accuracy"] for r in results) / len(results)},
    ]
    if args.json:
        print(json.dumps({"device": where, "model": args.model, "width": args.width,
                          "depth": args.depth, "resolution": args.resolution,
                          "images": args.images, "concurrency": args.concurrency,
                          "rows": rows}))
        return
    print(f"device: {where}; {args.model} w={args.width:g} d={args.depth:g} at "
          f"{args.resolution} px, {args.images} images x {args.epochs} epoch(s)")
    print_table(rows, ["loop", "img/s", "ratio", "val_acc"])


if __name__ == "__main__":
    main()
