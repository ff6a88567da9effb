"""An own training recipe for gridsearch: its own data pipeline (an ImageFolder over train/ +
val/ with a DataLoader), its own augmentation, a cosine schedule, label smoothing from
[train.args], and precise BatchNorm statistics before each evaluation.

gridsearch hands over the network it realised and measured, and a ``ctx`` (gridsearch.TrainContext)
saying how to train it: ``ctx.resolution``, ``ctx.seed``, ``ctx.epochs``, ``ctx.batch_size``,
``ctx.lr``, ``ctx.device``, ``ctx.args`` (the config's [train.args]), ``ctx.report``.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn
from torch.utils.data import DataLoader, Subset
from torchvision import datasets, transforms as T

MEAN, STD = (0.5, 0.5, 0.5), (0.25, 0.25, 0.25)


def _subset(data, size: int, seed: int):
    """A seeded subset of ``size`` images (all of them when there are fewer)."""
    g = torch.Generator().manual_seed(seed)
    keep = torch.randperm(len(data), generator=g)[:size].tolist()
    return Subset(data, keep)


def _loaders(ctx):
    root = Path(__file__).resolve().parent / ctx.args.get("root", "data")
    r = ctx.resolution
    train_tf = T.Compose([T.Resize(r), T.RandomCrop(r, padding=max(1, r // 8)), T.ToTensor(),
                          T.Normalize(MEAN, STD)])
    val_tf = T.Compose([T.Resize(r), T.CenterCrop(r), T.ToTensor(), T.Normalize(MEAN, STD)])
    train = _subset(datasets.ImageFolder(root / "train", train_tf), ctx.train_size, 0)
    val = _subset(datasets.ImageFolder(root / "val", val_tf), ctx.val_size, 0)
    g = torch.Generator().manual_seed(ctx.seed)
    return (DataLoader(train, batch_size=ctx.batch_size, shuffle=True, drop_last=True,
                       generator=g),
            DataLoader(val, batch_size=256))


@torch.no_grad()
def _precise_bn(model, loader, device, batches: int = 4) -> None:
    """Few steps leave BatchNorm's running averages near their start: recompute them."""
    bns = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    for m in bns:
        m.reset_running_stats()
        m.momentum = None
    model.train()
    for i, (x, _) in enumerate(loader):
        if i == batches:
            break
        model(x.to(device))


@torch.no_grad()
def _evaluate(model, loader, device, loss_fn) -> tuple[float, float]:
    model.eval()
    correct, loss, n = 0, 0.0, 0
    for x, y in loader:
        x, y = x.to(device), y.to(device)
        out = model(x)
        correct += (out.argmax(1) == y).sum().item()
        loss += loss_fn(out, y).item() * len(y)
        n += len(y)
    return correct / n, loss / n


def fit(model: nn.Module, ctx) -> dict[str, float]:
    torch.manual_seed(ctx.seed)
    train, val = _loaders(ctx)
    model.to(ctx.device)
    opt = torch.optim.SGD(model.parameters(), lr=ctx.lr, momentum=0.9, nesterov=True,
                          weight_decay=ctx.args.get("weight_decay", 5e-4))
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=ctx.epochs * len(train))
    loss_fn = nn.CrossEntropyLoss(label_smoothing=ctx.args.get("label_smoothing", 0.0))
    plain = nn.CrossEntropyLoss()
    top1 = val_loss = 0.0
    for epoch in range(1, ctx.epochs + 1):
        model.train()
        for x, y in train:
            opt.zero_grad(set_to_none=True)
            loss_fn(model(x.to(ctx.device)), y.to(ctx.device)).backward()
            opt.step()
            sched.step()
        _precise_bn(model, train, ctx.device)
        top1, val_loss = _evaluate(model, val, ctx.device, plain)
        ctx.report(epoch, top1)          # the learning curve; a pruner may stop the trial here
    return {"top1": top1, "val_loss": val_loss}
