"""Shared pieces of the benchmarks: the naive reference loop and a table printer."""

from __future__ import annotations

import torch

from gridsearch.training import Recipe, Subsets, naive_train as reference_train


def naive_train(model, data: Subsets, resolution: int, recipe: Recipe, device) -> dict:
    """The naive reference loop (:func:`gridsearch.training.naive_train`), as a row of a table."""
    res = reference_train(model, data, resolution, recipe, device)
    return {"images_per_second": res.images_per_second, "seconds": res.seconds,
            "accuracy": res.accuracy}


def print_table(rows: list[dict], columns: list[str]) -> None:
    cells = [[(f"{r[c]:.4g}" if isinstance(r[c], float) else str(r[c])) for c in columns] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(columns)]
    print("  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)))
    for row in cells:
        print("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)))


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    import os
    return f"CPU ({os.cpu_count()} cores, {torch.get_num_threads()} torch threads)"
