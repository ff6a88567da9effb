"""Scaling strategies side by side: one baseline scaled to s times its FLOPs by depth only, width
only, resolution only, uniform compound scaling (a = 1/3) and fast scaling (a = 0.8), each member
realised, counted with fvcore and timed.

    python benchmarks/strategies.py [--model efficientnet_b0] [--resolution 224] [--s 4] [--a 0.8]
                                    [--device cpu] [--batch 8] [--repeats 7] [--repair] [--json]

Prints measured FLOPs, params, activations and inference latency (ms per image at a fixed batch,
median of repeats after warm-up) of every member, with ratios against the baseline measured in the
same run, and the exponent each ratio implies (log ratio / log s) next to the design table's.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import device_name, print_table
from gridsearch import scaling as strategies
from gridsearch.measure import Realiser

METRICS = ("flops", "params", "activations")


def rows(scaler: Realiser, s: float, a: float, device: str, timing: dict, repair: bool) -> list[dict]:
    base = scaler.time_baseline(device, **timing)
    out = [{"strategy": "baseline", "a": "-", "d": 1.0, "w": 1.0, "r": 1.0,
            "res": scaler.base_resolution, **scaler.reference.as_dict(),
            "latency_ms": base.inference_ms}]
    for member in scaler.compare(s, strategies.STANDARD, a, repair=repair):
        timed = scaler.time(member, device, **timing)
        m, c = timed.spec, timed.complexity
        row = {"strategy": m.strategy, "a": "-" if m.width_share is None else round(m.width_share, 3),
               "d": m.depth, "w": m.width, "r": m.resolution, "res": timed.resolution,
               "flops": c.flops, "params": c.params, "activations": c.activations,
               "latency_ms": timed.latency.inference_ms,
               "depths": list(timed.realised.layout.depths or [])}
        table = strategies.named(m.strategy, a if m.strategy == "fast" else
                                 strategies.DEFAULT_WIDTH_SHARE).exponents()
        for k in METRICS:
            row[f"{k}_x"] = timed.ratio(k)
            row[f"{k}_exp"] = math.log(timed.ratio(k)) / math.log(s)
            row[f"{k}_table"] = table[k]
        row["latency_x"] = timed.latency.inference_ms / base.inference_ms
        out.append(row)
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="efficientnet_b0")
    p.add_argument("--resolution", type=int, default=224)
    p.add_argument("--s", type=float, default=4.0, help="FLOPs multiplier (default 4)")
    p.add_argument("--a", type=float, default=strategies.DEFAULT_WIDTH_SHARE,
                   help="width share of the fast member (default 0.8)")
    p.add_argument("--device", default="cpu")
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--repeats", type=int, default=7)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--threads", type=int, help="torch CPU threads")
    p.add_argument("--repair", action="store_true",
                   help="solve the resolution of members that scale it, to land at s x FLOPs")
    p.add_argument("--json", action="store_true")
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    timing = {"batch_size": args.batch, "repeats": args.repeats, "warmup": args.warmup,
              "train_step": False}
    scaler = Realiser(args.model, args.resolution)
    table = rows(scaler, args.s, args.a, args.device, timing, args.repair)
    if args.json:
        json.dump(table, sys.stdout, indent=2)
        print()
        return
    print(f"{args.model} at {args.resolution} px scaled to s = {args.s:g}x FLOPs "
          f"({'resolution repaired' if args.repair else 'nominal rounding, not repaired'}); "
          f"latency: ms/image, batch {args.batch}, median of {args.repeats} after {args.warmup} "
          f"warm-up, {device_name(torch.device(args.device))}")
    shown = [{**r, "flops": f"{r['flops'] / 1e9:.3f}G", "params": f"{r['params'] / 1e6:.2f}M",
              "acts": f"{r['activations'] / 1e6:.2f}M",
              **{k: (f"{r[k]:.3f}" if isinstance(r.get(k), float) else r.get(k, "-"))
                 for k in ("d", "w", "r")},
              **{f"{k}_x": f"{r[f'{k}_x']:.2f}" if f"{k}_x" in r else "1"
                 for k in ("flops", "params", "activations", "latency")},
              "acts exp (table)": (f"{r['activations_exp']:.2f} ({r['activations_table']:.2f})"
                                   if "activations_exp" in r else "-"),
              "params exp (table)": (f"{r['params_exp']:.2f} ({r['params_table']:.2f})"
                                     if "params_exp" in r else "-"),
              "ms/img": f"{r['latency_ms']:.2f}"} for r in table]
    print_table(shown, ["strategy", "a", "d", "w", "r", "res", "flops", "flops_x", "params",
                        "params_x", "acts", "activations_x", "ms/img", "latency_x",
                        "params exp (table)", "acts exp (table)"])


if __name__ == "__main__":
    main()
