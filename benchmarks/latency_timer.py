"""measure/_latency's hand-written timing vs torch.utils.benchmark.Timer, side by side.

Both time the same inference call of the same network in the same run, alternating, so load on a
shared machine hits both alike.  Prints each one's per-image median, their ratio, the spread of
each over rounds, and the wall time each spent (warm-up included).  Usage:
    python benchmarks/latency_timer.py [--model efficientnet_b0] [--resolution 96] [--rounds 5]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from torch.utils import benchmark

from common import device_name, print_table
from gridsearch import models
from gridsearch.measure._latency import _timed


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="efficientnet_b0")
    ap.add_argument("--resolution", type=int, default=96)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    a = ap.parse_args()
    device = torch.device(a.device)
    net = models.build(a.model, 1.0, 1.0, 10).module.to(device).eval()
    x = torch.randn(a.batch, 3, a.resolution, a.resolution, device=device)

    def infer():
        with torch.no_grad():
            return net(x)

    ours, timer, ours_s, timer_s = [], [], 0.0, 0.0
    for _ in range(a.rounds):
        t = time.perf_counter()
        ours.append(_timed(infer, 2, a.repeats, device) / a.batch)
        ours_s += time.perf_counter() - t
        t = time.perf_counter()
        # Timer's own warm-up and CUDA sync; its default num_threads is 1: pass the process's.
        m = benchmark.Timer("infer()", globals={"infer": infer},
                            num_threads=torch.get_num_threads()).timeit(a.repeats)
        timer.append(m.median * 1000.0 / a.batch)
        timer_s += time.perf_counter() - t
    rows = [{"timing": "hand-written _timed (median of runs)", "ms_per_image": statistics.median(ours),
             "spread": (max(ours) - min(ours)) / statistics.median(ours), "wall_s": ours_s},
            {"timing": "benchmark.Timer.timeit (mean of runs)", "ms_per_image": statistics.median(timer),
             "spread": (max(timer) - min(timer)) / statistics.median(timer), "wall_s": timer_s}]
    print(f"{a.model} at {a.resolution} px, batch {a.batch}, {a.repeats} runs x {a.rounds} rounds "
          f"on {device_name(device)}")
    print_table(rows, ["timing", "ms_per_image", "spread", "wall_s"])
    print(f"ratio Timer / hand-written: {rows[1]['ms_per_image'] / rows[0]['ms_per_image']:.3f} "
          f"(wall {timer_s / ours_s:.2f}x)")


if __name__ == "__main__":
    main()
