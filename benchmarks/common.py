"""Shared pieces of the benchmarks: the naive reference loop and a table printer."""

from __future__ import annotations

import time

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

from gridsearch.data import Subsets
from gridsearch.trainer import Recipe, evaluate, precise_bn, resize


def naive_train(model, data: Subsets, resolution: int, recipe: Recipe, device) -> dict:
    """The loop most proxy searches start with: CPU tensors through a DataLoader, fp32, a host
    sync every step (loss.item()), images resized once on the host."""
    device = torch.device(device)
    torch.manual_seed(recipe.seed)
    model = model.to(device)
    x = resize(data.train_x, resolution)  # pre-resized on the host, like a transform would
    loader = DataLoader(TensorDataset(x, data.train_y), batch_size=recipe.batch_size, shuffle=True,
                        drop_last=True, generator=torch.Generator().manual_seed(recipe.seed))
    if recipe.optimizer == "adamw":
        opt = torch.optim.AdamW(model.parameters(), lr=recipe.lr, weight_decay=recipe.weight_decay)
    else:
        opt = torch.optim.SGD(model.parameters(), lr=recipe.lr, momentum=recipe.momentum,
                              weight_decay=recipe.weight_decay)
    seen, losses = 0, []
    start = time.perf_counter()
    for _ in range(recipe.epochs):
        model.train()
        for xb, yb in loader:
            xb, yb = xb.to(device), yb.to(device)
            loss = F.cross_entropy(model(xb), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.item())
            seen += len(xb)
    if device.type == "cuda":
        torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    precise_bn(model, data.train_x.to(device), resolution, 128, False)
    acc = evaluate(model, data.val_x.to(device), data.val_y.to(device), resolution, 256, False)
    return {"images_per_second": seen / seconds, "seconds": seconds, "accuracy": acc}


def print_table(rows: list[dict], columns: list[str]) -> None:
    cells = [[(f"{r[c]:.4g}" if isinstance(r[c], float) else str(r[c])) for c in columns] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(columns)]
    print("  ".join(c.ljust(w) for c, w in zip(columns, widths)))
    for row in cells:
        print("  ".join(v.ljust(w) for v, w in zip(row, widths)))


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    import os
    return f"CPU ({os.cpu_count()} cores, {torch.get_num_threads()} torch threads)"
