"""Proxy training: a candidate on the data subset at its resolution, accuracy after every epoch.

The whole subset is kept as one tensor on the device (uint8 pixels from the data cache, or the
floats of generated data) and every batch is normalised to floats (:func:`inputs`) and resized
there, so the loop has no DataLoader and no per-step host synchronisation beyond the loss check
once per epoch.  It runs in the precision :mod:`gridsearch.training._precision` picks for the
device (bf16 autocast on recent GPUs, fp16 autocast with a gradient scaler on older ones, fp32 on
the CPU) and with channels_last memory on every device.  Augmentation (``recipe.augment``,
``recipe.hflip``: :mod:`gridsearch.training._augment`) transforms each batch there too, before it
is resized.

Out of memory: a run is retried once, from the same initial weights and seed, after the memory is
released, with every batch split into micro-batches whose gradients are accumulated (the same
effective batch, batch order and optimiser steps; :func:`retry_micro_batch`); if that runs out of
memory too, :class:`TrainingError` says so (batch, micro-batch, resolution, peak memory).  Any other
error propagates as it is (:mod:`gridsearch.training._faults` tells a poisoned device from a failed
run).
"""

from __future__ import annotations

import math
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from gridsearch import _compat
from gridsearch.config import TrainConfig
from gridsearch.errors import TrainingError
from gridsearch.training import _determinism, _faults, _precision as precisions
from gridsearch.training._augment import Augmenter
from gridsearch.training._data import Subsets
from gridsearch.training._memory import PeakMemory, release

RETRY_SPLIT = 4      # after running out of memory: every batch in 4 micro-batches …
BN_MIN_MICRO = 32    # … but none under 32 images in a network with BatchNorm


# A recipe is the config's [train] section itself: the trainer reads the fields it needs (epochs,
# batch_size, optimizer, lr, momentum, weight_decay, label_smoothing, seed, augment, hflip,
# precision, deterministic); one definition, one set of defaults.
Recipe = TrainConfig


@dataclass
class TrainResult:
    accuracy: float
    history: list[float] = field(default_factory=list)  # validation accuracy after each epoch
    seconds: float = 0.0
    images_per_second: float = 0.0
    device: str = "cpu"
    threads: int | None = None              # torch CPU threads (on the CPU)
    precision: str = "fp32"                 # what the run used: bf16, fp16 or fp32
    peak_memory_mb: float | None = None     # the run's peak memory (_memory.PeakMemory) …
    peak_memory_kind: str | None = None     # … cuda: torch's allocations; rss: the process
    micro_batch: int | None = None          # set when it trained in micro-batches after an OOM
    oom_retry: str | None = None            # why the first attempt failed (out of memory)

    def resources(self) -> dict[str, Any]:
        """What the run used, for its trial's record: its CPU threads (on the CPU), precision,
        and how an out-of-memory retry trained.  (The peak memory is the largest over a trial's
        seeds: the caller takes it from each run.)"""
        out: dict[str, Any] = {"precision": self.precision}
        if self.threads is not None:
            out["threads"] = self.threads
        if self.oom_retry is not None:
            out["micro_batch"] = self.micro_batch
            out["oom_retry"] = self.oom_retry
        return out


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


def _channels_last(autocast: bool | str, channels_last: bool | None) -> bool:
    """channels_last defaults to on with mixed precision (the trainer's old ``fast``)."""
    return autocast not in (False, "fp32") if channels_last is None else channels_last


def precise_bn(model: nn.Module, x: torch.Tensor, resolution: int, batch_size: int,
               autocast: bool | str, max_images: int = 256,
               channels_last: bool | None = None,
               norm: tuple[torch.Tensor, torch.Tensor] | None = None) -> None:
    """Recompute BatchNorm running statistics as exact averages over training batches.

    A proxy run takes few steps, so the exponential running averages still remember their
    initial values and eval-mode accuracy collapses to chance although the network has learnt
    (measured: 10% vs 93% in train mode).  pycls's "precise BN" fix: reset, then average.
    ``autocast``: a precision (``"bf16"``, ``"fp16"``, ``"fp32"``; True means bf16).
    """
    bns = _compat.batchnorm_layers(model)
    if not bns:
        return
    cl = _channels_last(autocast, channels_last)
    momenta = [m.momentum for m in bns]
    for m in bns:
        m.reset_running_stats()
        m.momentum = None  # cumulative moving average
    model.train()
    with torch.no_grad(), precisions.precision_autocast(x.device.type, autocast):
        for i in range(0, min(len(x), max_images), batch_size):
            xb = resize(inputs(x[i:i + batch_size], norm), resolution)
            model(xb.contiguous(memory_format=torch.channels_last) if cl else xb)
    for m, mom in zip(bns, momenta, strict=True):
        m.momentum = mom


def evaluate(model: nn.Module, x: torch.Tensor, y: torch.Tensor, resolution: int,
             batch_size: int, autocast: bool | str, channels_last: bool | None = None,
             norm: tuple[torch.Tensor, torch.Tensor] | None = None) -> float:
    cl = _channels_last(autocast, channels_last)
    model.eval()
    correct = torch.zeros((), dtype=torch.long, device=x.device)
    with torch.no_grad(), precisions.precision_autocast(x.device.type, autocast):
        for i in range(0, len(x), batch_size):
            xb = resize(inputs(x[i:i + batch_size], norm), resolution)
            if cl:
                xb = xb.contiguous(memory_format=torch.channels_last)
            correct += (model(xb).argmax(1) == y[i:i + batch_size]).sum()
    return correct.item() / len(x)


def train(model: nn.Module, data: Subsets, resolution: int, recipe: Recipe,
          device: torch.device | str = "cpu",
          report: Callable[[int, float], None] | None = None,
          channels_last: bool | None = None, precision: str | None = None) -> TrainResult:
    """Train ``model`` for ``recipe.epochs``; call ``report(epoch, val_accuracy)`` after each.

    ``report`` may raise (a pruner's TrialPruned) to stop early; it is called once per epoch,
    also across an out-of-memory retry (the retry reports only the epochs not reported yet).  A
    non-finite loss raises :class:`TrainingError`; so does running out of memory twice (see the
    module's docstring).  ``precision`` overrides ``recipe.precision`` (``auto``: by the device,
    :mod:`gridsearch.training._precision`); ``channels_last`` (the memory layout) defaults to on,
    on the CPU too (oneDNN's convolutions are faster in NHWC: measured in benchmarks/throughput.py).

    ``model`` is trained in place and then put back where it was: on its own device and in its
    own memory layout (a CPU module given a CUDA device comes back to the CPU, trained), with no
    gradients left.  Nothing of the run stays on the device: its data copies, optimiser state and
    activations are released and, on CUDA, the allocator's cache is emptied (_memory.release), so
    a neighbour on the same GPU can use that memory.  The result carries the run's peak memory
    (its kind: GPU allocated or CPU peak RSS), the precision, and on the CPU the torch threads.
    """
    device = torch.device(device)
    prec = precisions.precision_for(device, precision or recipe.precision)
    cl = True if channels_last is None else channels_last  # CPU too: 1.8x vs 0.9x (throughput.py)
    reported = [0]

    def once(epoch: int, acc: float) -> None:
        if report is not None and epoch > reported[0]:
            reported[0] = epoch
            report(epoch, acc)

    home = _home(model)
    contiguous = all(p.is_contiguous() for p in model.parameters())
    initial = {k: v.detach().clone() for k, v in model.state_dict().items()}
    first_oom: str | None = None     # why the first attempt failed (out of memory)
    try:
        with _determinism.deterministic(recipe.deterministic):
            for micro in (recipe.batch_size, retry_micro_batch(model, recipe.batch_size)):
                if first_oom is not None:
                    model.load_state_dict(initial)           # the same start as the first attempt
                peak = PeakMemory(device)
                oom, result = None, None
                try:
                    with peak:
                        result = _train(model, data, resolution, recipe, device, once, prec, cl,
                                        micro)
                except Exception as e:  # sorted, re-raised unless out of memory
                    if _faults.classify(e) != _faults.OOM:
                        raise
                    oom = _faults.reason(e)
                # here the exception, and with it the failed step's frames and tensors, is gone
                if result is not None:
                    result.precision = prec
                    result.peak_memory_mb, result.peak_memory_kind = peak.megabytes, peak.kind
                    if device.type == "cpu":
                        result.threads = torch.get_num_threads()
                    if first_oom is not None:
                        result.micro_batch = micro
                        result.oom_retry = first_oom
                    return result
                assert oom is not None          # no result: the attempt ran out of memory
                model.zero_grad(set_to_none=True)
                release(device)
                if first_oom is None:
                    first_oom = oom
                    continue
                raise TrainingError(_oom_message(device, recipe.batch_size, micro, resolution,
                                                 peak, oom))
    finally:
        _clean_up(model, home, contiguous, device, failing=sys.exc_info()[0] is not None)
    raise AssertionError("unreachable")  # pragma: no cover


def _clean_up(model: nn.Module, home: torch.device, contiguous: bool, device: torch.device,
              failing: bool) -> None:
    """After a run: no gradients, the module back home, memory released.  While an error is on
    its way out (``failing``) an error here is dropped: after a sticky CUDA error every CUDA call
    fails, and the first error is the one that says why."""
    try:
        model.zero_grad(set_to_none=True)
        _put_back(model, home, contiguous)
        release(device)
    except Exception:  # see above
        if not failing:
            raise


def retry_micro_batch(model: nn.Module, batch_size: int) -> int:
    """The micro-batch of the retry after running out of memory: a quarter of the batch, but,
    in a network with BatchNorm, at least :data:`BN_MIN_MICRO` images (or the whole batch).

    Accumulated gradients add up to the whole batch's, except through BatchNorm, which normalises
    each micro-batch with its own statistics: measured on digits (resnet18 w0.25 d0.5, 16 px,
    5 seeds), micro-batches of 8 out of 32 cost 0.07 accuracy (0.784 vs 0.850), of 16 out of 32
    0.02; of 32 out of 128 (3 seeds) 0.015, within the seed noise.  Below the floor the retry runs
    the whole batch again, after the memory is released (a neighbour may have given some back).
    """
    micro = max(1, -(-batch_size // RETRY_SPLIT))
    if _compat.batchnorm_layers(model):
        micro = max(micro, min(batch_size, BN_MIN_MICRO))
    return micro


def _shrunk(size: int, batch_size: int, micro: int) -> int:
    """An evaluation batch ``size`` shrunk as the training batch was, to ``micro``."""
    return max(1, -(-size * micro // batch_size))


def _oom_message(device: torch.device, batch: int, micro: int, resolution: int,
                 peak: PeakMemory, reason: str) -> str:
    what = "allocated" if device.type == "cuda" else "RSS"
    at = f" (peak {peak.bytes / 2**30:.2f} GiB {what})" if peak.bytes is not None else ""
    retry = f"also in micro-batches of {micro}" if micro < batch else "also when retried"
    return (f"out of memory on {device}{at} at batch {batch}, {resolution} px, {retry} after "
            f"releasing memory: {reason}")


def _home(model: nn.Module) -> torch.device:
    """Where the module's parameters (or buffers) are."""
    for t in model.parameters():
        return t.device
    for b in model.buffers():
        return b.device
    return torch.device("cpu")


def _put_back(model: nn.Module, home: torch.device, contiguous: bool) -> None:
    model.to(home)
    if contiguous:
        model.to(memory_format=torch.contiguous_format)


def _step(model: nn.Module, opt: torch.optim.Optimizer, scaler, xb: torch.Tensor,
          yb: torch.Tensor, micro: int, precision: str, label_smoothing: float) -> torch.Tensor:
    """One optimiser step on the batch ``xb``, in micro-batches of at most ``micro`` images whose
    gradients add up to the gradient of the batch's mean loss; returns that loss (detached)."""
    opt.zero_grad(set_to_none=True)
    n = len(xb)
    total: torch.Tensor | None = None
    for xm, ym in zip(xb.split(micro), yb.split(micro), strict=True):
        with precisions.precision_autocast(xb.device.type, precision):
            loss = F.cross_entropy(model(xm), ym, label_smoothing=label_smoothing)
        if len(xm) != n:
            loss = loss * (len(xm) / n)
        scaler.scale(loss).backward()
        total = loss.detach() if total is None else total + loss.detach()
    if total is None:
        raise ValueError("an empty batch")
    scaler.step(opt)
    scaler.update()
    return total


def _train(model: nn.Module, data: Subsets, resolution: int, recipe: Recipe,
           device: torch.device, report: Callable[[int, float], None],
           precision: str, cl: bool, micro: int) -> TrainResult:
    """One attempt, every forward pass on at most ``micro`` images (the evaluation's batches
    shrunk by the same factor)."""
    torch.manual_seed(recipe.seed)
    gen = torch.Generator(device="cpu").manual_seed(recipe.seed)
    augment = Augmenter(recipe.augment, recipe.hflip, recipe.seed)
    model.to(device)
    if cl:
        model.to(memory_format=torch.channels_last)
    train_x, train_y = data.train_x.to(device), data.train_y.to(device)
    val_x, val_y = data.val_x.to(device), data.val_y.to(device)
    norm = data.norm(device)   # pixels stay uint8 on the device; each batch becomes floats
    opt = optimizer(model, recipe)
    scaler = precisions.grad_scaler(device.type, precision)
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
            loss = _step(model, opt, scaler, xb, train_y[idx], micro, precision,
                         recipe.label_smoothing)
            if scaler.is_enabled() and epoch == step == 0:
                with warnings.catch_warnings():  # a first fp16 step skipped by the scaler
                    warnings.filterwarnings("ignore", "Detected call of `lr_scheduler.step")
                    sched.step()
            else:
                sched.step()
            loss_sum += loss
            seen += len(idx)
        mean_loss = loss_sum.item() / steps_per_epoch  # one host sync per epoch
        if not math.isfinite(mean_loss):
            raise TrainingError(f"non-finite training loss ({mean_loss}) in epoch {epoch + 1}")
        b = recipe.batch_size
        precise_bn(model, train_x, resolution, _shrunk(max(b, 128), b, micro), precision,
                   channels_last=cl, norm=norm)
        acc = evaluate(model, val_x, val_y, resolution, _shrunk(max(b, 256), b, micro),
                       precision, cl, norm=norm)
        result.history.append(acc)
        result.accuracy = acc
        report(epoch + 1, acc)
    result.seconds = time.perf_counter() - start
    result.images_per_second = seen / result.seconds if result.seconds > 0 else 0.0
    return result
