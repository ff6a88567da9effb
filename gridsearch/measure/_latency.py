"""Measured runtime of a network on a device: inference latency and training step time.

Both are timed on a *copy* of the network, so the weights, BatchNorm statistics and random state
of the network that is then trained are untouched.  A timing is the median of ``repeats`` runs after
``warmup`` runs; on CUDA every run is bracketed by a synchronisation of the timed device, and the
network runs as the trainer runs it there (the precision the trainer picks for the device, see
:mod:`gridsearch.training._precision`, and channels_last).

Timed where the worker trains: with several workers on one device (``run --workers N`` on one GPU)
the others keep training while one times its candidate, so the figure includes their load.  It is
kept with the timing (``load``: the workers on that device, this one included, as the worker pool
tells each worker; a trial records it as ``latency_load``), and a ``max_latency_ms`` verdict holds
for that load: for figures of an idle device, time with one worker per device (or
``gridsearch scale --latency``).

* inference latency: eval mode, no grad, a batch of ``batch_size`` → milliseconds **per image**;
* training step: forward, cross-entropy, backward and an SGD step on a batch → milliseconds
  **per step**.
"""

from __future__ import annotations

import copy
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from gridsearch.errors import ConfigError


@dataclass(frozen=True)
class Latency:
    """What was timed, and how."""

    inference_ms: float          # per image, median
    train_step_ms: float | None  # per step of ``batch_size`` images, median; None if not timed
    batch_size: int
    resolution: int
    repeats: int
    device: str
    precision: str = "fp32"      # the trainer's on this device
    load: int = 1                # workers on the device while it was timed (this one included)

    def attrs(self) -> dict[str, float | int | str | None]:
        """As stored on a trial (the runner adds ``latency_load``)."""
        return {"latency_ms": round(self.inference_ms, 4),
                "train_step_ms": None if self.train_step_ms is None else round(self.train_step_ms, 3),
                "latency_batch": self.batch_size, "latency_repeats": self.repeats,
                "latency_device": self.device}


def _timed(fn: Callable[[], object], warmup: int, repeats: int, device: torch.device) -> float:
    """Median wall time of ``fn`` in milliseconds over ``repeats`` runs, after ``warmup`` runs."""
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda *a: None)
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        sync(device)
        start = time.perf_counter()
        fn()
        sync(device)
        times.append((time.perf_counter() - start) * 1000.0)
    return statistics.median(times)


def measure_latency(module: nn.Module, resolution: int, device: torch.device | str = "cpu",
            batch_size: int = 8, warmup: int = 2, repeats: int = 5, train_step: bool = True,
            num_classes: int | None = None, in_channels: int = 3,
            precision: str = "auto", load: int | None = None) -> Latency:
    """Time ``module`` (a copy of it) at ``resolution`` on ``device``, in ``precision`` (auto: the
    trainer's choice for the device).  ``load``: the workers on the device (default: what the
    worker pool put in this process's environment, else 1)."""
    from gridsearch.training import device_load, grad_scaler, precision_autocast, precision_for, resolve_device

    if batch_size < 1 or repeats < 1 or warmup < 0:
        raise ConfigError(f"latency: batch_size and repeats must be ≥ 1, warmup ≥ 0 (got "
                          f"{batch_size}, {repeats}, {warmup})")
    # a name is checked as every command checks it (cuda:7 on a 1-GPU host: one line, exit 2)
    device = resolve_device(device) if isinstance(device, str) else torch.device(device)
    prec = precision_for(device, precision)
    shared = device_load() if load is None else max(1, int(load))
    fast = device.type == "cuda"     # channels_last, as the trainer (on the CPU: the caller's)
    net = copy.deepcopy(module).to(device)
    if fast:
        net = net.to(memory_format=torch.channels_last)
    gen = torch.Generator(device="cpu").manual_seed(0)
    x = torch.randn(batch_size, in_channels, resolution, resolution, generator=gen).to(device)
    if fast:
        x = x.contiguous(memory_format=torch.channels_last)

    def infer():
        with torch.no_grad(), precision_autocast(device.type, prec):
            return net(x)

    net.eval()
    inference = _timed(infer, warmup, repeats, device) / batch_size
    step_ms = None
    if train_step:
        with torch.no_grad():
            classes = num_classes or int(net(x[:1]).shape[-1])
        y = torch.randint(0, classes, (batch_size,), generator=gen).to(device)
        opt = torch.optim.SGD(net.parameters(), lr=1e-3, momentum=0.9)
        scaler = grad_scaler(device.type, prec)
        net.train()

        def step():
            with precision_autocast(device.type, prec):
                loss = F.cross_entropy(net(x), y)
            opt.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.step(opt)
            scaler.update()

        step_ms = _timed(step, warmup, repeats, device)
    return Latency(inference, step_ms, batch_size, resolution, repeats, str(device), prec, shared)
