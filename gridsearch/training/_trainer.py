"""Proxy training: a candidate on the data subset at its resolution, accuracy after every epoch.

The whole subset is kept as one tensor on the device (uint8 pixels from the data cache) and every
batch is normalised to floats (:func:`inputs`) and resized there, so the loop
has no DataLoader and no per-step host synchronisation beyond the loss check once per epoch.  On a
GPU it runs under bf16 autocast; on every device with channels_last memory.  Augmentation
(``recipe.augment``, ``recipe.hflip``: :mod:`gridsearch.training._augment`) transforms each batch
there too, before it is resized.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field, fields
from typing import Any, Callable

import torch
import torch.nn.functional as F
from torch import nn

from gridsearch import _compat
from gridsearch.training._augment import Augmenter
from gridsearch.training._data import Subsets
from gridsearch.errors import ConfigError, TrainingError


@dataclass(frozen=True)
class Recipe:
    epochs: int = 2
    batch_size: int = 64
    optimizer: str = "sgd"
    lr: float = 0.05
    momentum: float = 0.9
    weight_decay: float = 5e-5
    label_smoothing: float = 0.0
    seed: int = 0
    augment: str = "none"     # none | crop | random_resized_crop
    hflip: bool = False

    @classmethod
    def of(cls, train: Any, **overrides: Any) -> "Recipe":
        """The recipe of a ``[train]`` config section: every field of it this class has."""
        names = {f.name for f in fields(cls)}
        return cls(**{**{k: getattr(train, k) for k in names if hasattr(train, k)}, **overrides})


@dataclass
class TrainResult:
    accuracy: float
    history: list[float] = field(default_factory=list)  # validation accuracy after each epoch
    seconds: float = 0.0
    images_per_second: float = 0.0
    device: str = "cpu"
    threads: int | None = None              # torch CPU threads (on the CPU)
    peak_memory_mb: float | None = None     # the run's peak memory
    peak_memory_kind: str | None = None     # cuda: torch's allocations; rss: the process

    def resources(self) -> dict[str, int]:
        """What the run used, for its trial's user attributes: its CPU threads (on the CPU)."""
        return {} if self.threads is None else {"threads": self.threads}


def resolve_device(name: str = "auto") -> torch.device:
    """The device called ``name`` (auto, cpu, cuda or cuda:N), checked against this host: a name
    it cannot use is a one-line :class:`~gridsearch.errors.ConfigError`."""
    if not (name in ("auto", "cpu", "cuda") or (name.startswith("cuda:") and name[5:].isdigit())):
        raise ConfigError(f"device: must be auto, cpu, cuda or cuda:N, got {name!r}")
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device(name)
    if dev.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if not count:
            raise ConfigError(f"device: {name} requested but no CUDA device is available")
        if dev.index is not None and dev.index >= count:
            raise ConfigError(f"device: {name} requested but this host has {count} CUDA "
                              "device(s)")
    return dev


def resize(x: torch.Tensor, resolution: int) -> torch.Tensor:
    if x.shape[-1] == resolution and x.shape[-2] == resolution:
        return x
    return F.interpolate(x, size=(resolution, resolution), mode="bilinear", align_corners=False,
                         antialias=x.shape[-1] > resolution)


def inputs(xb: torch.Tensor, norm: tuple[torch.Tensor, torch.Tensor] | None) -> torch.Tensor:
    """A batch of stored pixels (uint8, or float in [0, 1]) as the network's input: float32
    normalised with the training subset's per-channel statistics, ``norm`` = (scale, shift) from
    :meth:`Subsets.norm` on the batch's device; ``None`` passes a normalised batch through."""
    if norm is None:
        return xb
    return torch.addcmul(norm[1], xb.float(), norm[0])


def optimizer(model: nn.Module, r: Recipe) -> torch.optim.Optimizer:
    if r.optimizer == "adamw":
        return torch.optim.AdamW(model.parameters(), lr=r.lr, weight_decay=r.weight_decay)
    return torch.optim.SGD(model.parameters(), lr=r.lr, momentum=r.momentum,
                           weight_decay=r.weight_decay, nesterov=r.momentum > 0)


def cosine(opt: torch.optim.Optimizer, total_steps: int) -> torch.optim.lr_scheduler.LambdaLR:
    """Cosine decay of the learning rate to zero over ``total_steps`` steps."""
    return torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: 0.5 * (1 + math.cos(math.pi * min(s, total_steps) / total_steps)))


def precise_bn(model: nn.Module, x: torch.Tensor, resolution: int, batch_size: int,
               autocast: bool, max_images: int = 256, channels_last: bool | None = None,
               norm: tuple[torch.Tensor, torch.Tensor] | None = None) -> None:
    """Recompute BatchNorm running statistics as exact averages over training batches.

    A proxy run takes few steps, so the exponential running averages still remember their
    initial values and eval-mode accuracy collapses to chance although the network has learnt
    (measured: 10% vs 93% in train mode).  pycls's "precise BN" fix: reset, then average.
    """
    bns = _compat.batchnorm_layers(model)
    if not bns:
        return
    cl = autocast if channels_last is None else channels_last
    momenta = [m.momentum for m in bns]
    for m in bns:
        m.reset_running_stats()
        m.momentum = None  # cumulative moving average
    model.train()
    with torch.no_grad(), torch.autocast(x.device.type, torch.bfloat16, enabled=autocast):
        for i in range(0, min(len(x), max_images), batch_size):
            xb = resize(inputs(x[i:i + batch_size], norm), resolution)
            model(xb.contiguous(memory_format=torch.channels_last) if cl else xb)
    for m, mom in zip(bns, momenta):
        m.momentum = mom


def evaluate(model: nn.Module, x: torch.Tensor, y: torch.Tensor, resolution: int,
             batch_size: int, autocast: bool, channels_last: bool | None = None,
             norm: tuple[torch.Tensor, torch.Tensor] | None = None) -> float:
    cl = autocast if channels_last is None else channels_last
    model.eval()
    correct = torch.zeros((), dtype=torch.long, device=x.device)
    with torch.no_grad(), torch.autocast(x.device.type, torch.bfloat16, enabled=autocast):
        for i in range(0, len(x), batch_size):
            xb = resize(inputs(x[i:i + batch_size], norm), resolution)
            if cl:
                xb = xb.contiguous(memory_format=torch.channels_last)
            correct += (model(xb).argmax(1) == y[i:i + batch_size]).sum()
    return correct.item() / len(x)


def train(model: nn.Module, data: Subsets, resolution: int, recipe: Recipe,
          device: torch.device | str = "cpu",
          report: Callable[[int, float], None] | None = None,
          fast: bool | None = None, channels_last: bool | None = None) -> TrainResult:
    """Train ``model`` for ``recipe.epochs``; call ``report(epoch, val_accuracy)`` after each.

    ``report`` may raise (a pruner's TrialPruned) to stop early.  A non-finite loss raises
    :class:`TrainingError`, and so does running out of memory (the reason names the batch and
    resolution; the failed step's tensors are released and, on a GPU, the cache emptied, so the
    process can train the next candidate).  ``fast`` (bf16 autocast + channels_last) defaults to
    on for CUDA; ``channels_last`` (the memory layout alone) defaults to on, on the CPU too
    (oneDNN's convolutions are faster in NHWC: measured in benchmarks/throughput.py).  On a GPU the
    result carries the trial's peak allocated memory, on the CPU the torch threads it used.
    """
    device = torch.device(device)
    cuda = device.type == "cuda"
    if cuda:
        torch.cuda.reset_peak_memory_stats(device)
    try:
        result = _train(model, data, resolution, recipe, device, report, fast, channels_last)
    except torch.OutOfMemoryError as e:
        reason = str(e).strip().splitlines()[0] if str(e).strip() else "out of memory"
    else:
        if cuda:
            result.peak_memory_mb = round(torch.cuda.max_memory_allocated(device) / 2**20, 1)
            result.peak_memory_kind = "cuda"
        else:
            result.threads = torch.get_num_threads()
        return result
    # here _train's frame, and with it the failed step's activations, is gone
    peak = torch.cuda.max_memory_allocated(device) if cuda else None
    if cuda:
        torch.cuda.empty_cache()
    where = f"{device} (peak {peak / 2**30:.2f} GiB allocated)" if cuda else str(device)
    raise TrainingError(f"out of memory on {where} at batch {recipe.batch_size}, "
                        f"{resolution} px: {reason}")


def _train(model: nn.Module, data: Subsets, resolution: int, recipe: Recipe,
           device: torch.device, report: Callable[[int, float], None] | None,
           fast: bool | None, channels_last: bool | None) -> TrainResult:
    fast = device.type == "cuda" if fast is None else fast
    cl = True if channels_last is None else channels_last  # CPU too: 1.8x vs 0.9x (throughput.py)
    torch.manual_seed(recipe.seed)
    gen = torch.Generator(device="cpu").manual_seed(recipe.seed)
    augment = Augmenter(recipe.augment, recipe.hflip, recipe.seed)
    model = model.to(device)
    if cl:
        model = model.to(memory_format=torch.channels_last)
    train_x, train_y = data.train_x.to(device), data.train_y.to(device)
    val_x, val_y = data.val_x.to(device), data.val_y.to(device)
    norm = data.norm(device)   # pixels stay uint8 on the device; each batch becomes floats
    opt = optimizer(model, recipe)
    n = len(train_x)
    steps_per_epoch = max(1, n // recipe.batch_size)   # drop the ragged last batch
    total_steps = steps_per_epoch * recipe.epochs
    sched = cosine(opt, total_steps)
    result = TrainResult(accuracy=0.0, device=str(device))
    seen = 0
    start = time.perf_counter()
    for epoch in range(recipe.epochs):
        model.train()
        perm = torch.randperm(n, generator=gen).to(device)
        loss_sum = torch.zeros((), device=device)
        for step in range(steps_per_epoch):
            idx = perm[step * recipe.batch_size:(step + 1) * recipe.batch_size]
            xb = resize(augment(inputs(train_x[idx], norm)), resolution)
            if cl:
                xb = xb.contiguous(memory_format=torch.channels_last)
            with torch.autocast(device.type, torch.bfloat16, enabled=fast):
                loss = F.cross_entropy(model(xb), train_y[idx], label_smoothing=recipe.label_smoothing)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            loss_sum += loss.detach()
            seen += len(idx)
        mean_loss = loss_sum.item() / steps_per_epoch  # one host sync per epoch
        if not math.isfinite(mean_loss):
            raise TrainingError(f"non-finite training loss ({mean_loss}) in epoch {epoch + 1}")
        precise_bn(model, train_x, resolution, max(recipe.batch_size, 128), fast, channels_last=cl,
                   norm=norm)
        acc = evaluate(model, val_x, val_y, resolution, max(recipe.batch_size, 256), fast, cl,
                       norm=norm)
        result.history.append(acc)
        result.accuracy = acc
        if report is not None:
            report(epoch + 1, acc)
    result.seconds = time.perf_counter() - start
    result.images_per_second = seen / result.seconds if result.seconds > 0 else 0.0
    return result
