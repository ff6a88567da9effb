"""The naive proxy-training loop: what the trainer is measured against (benchmarks and tests).

CPU tensors through a ``DataLoader``, images resized once on the host (as a transform would), fp32,
a host synchronisation every step (``loss.item()``).  Same recipe as :func:`trainer.train`
(optimizer, cosine schedule, label smoothing, precise BN before the evaluation), so the two differ
only in how the data reaches the network — their accuracies must agree within seed noise.
"""

from __future__ import annotations

import time

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

from gridsearch.training._data import Subsets
from gridsearch.training._trainer import Recipe, TrainResult, cosine, evaluate, inputs, optimizer, precise_bn, resize


def naive_train(model: torch.nn.Module, data: Subsets, resolution: int, recipe: Recipe,
                device: torch.device | str = "cpu") -> TrainResult:
    device = torch.device(device)
    torch.manual_seed(recipe.seed)
    model = model.to(device)
    norm = data.norm()
    x = resize(inputs(data.train_x, norm), resolution)
    loader = DataLoader(TensorDataset(x, data.train_y), batch_size=recipe.batch_size, shuffle=True,
                        drop_last=True, generator=torch.Generator().manual_seed(recipe.seed))
    opt = optimizer(model, recipe)
    sched = cosine(opt, max(1, len(loader)) * recipe.epochs)
    result = TrainResult(accuracy=0.0, device=str(device))
    seen = 0
    start = time.perf_counter()
    for _ in range(recipe.epochs):
        model.train()
        for xb, yb in loader:
            xb, yb = xb.to(device), yb.to(device)
            loss = F.cross_entropy(model(xb), yb, label_smoothing=recipe.label_smoothing)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            loss.item()  # the per-step host sync of a typical loop (logging, NaN checks)
            seen += len(xb)
        if device.type == "cuda":
            torch.cuda.synchronize(device)   # the training device, not the current one
        dev_norm = data.norm(device)
        precise_bn(model, data.train_x.to(device), resolution, max(recipe.batch_size, 128), False,
                   norm=dev_norm)
        result.accuracy = evaluate(model, data.val_x.to(device), data.val_y.to(device), resolution,
                                   max(recipe.batch_size, 256), False, norm=dev_norm)
        result.history.append(result.accuracy)
    result.seconds = time.perf_counter() - start
    result.images_per_second = seen / result.seconds if result.seconds > 0 else 0.0
    return result
