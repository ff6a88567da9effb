"""Measured complexity of a realised network with fvcore: FLOPs, parameters, activations.

FLOPs follow fvcore's convention: one multiply-add counts as ONE FLOP (so they equal the
EfficientNet paper's "FLOPs", which are multiply-adds).  Counts are taken at batch 1 in eval mode
and cached by the network's structural signature and resolution, so a layout that several
candidates round to is traced once.
"""

from __future__ import annotations

import logging
import warnings
from collections import Counter
from dataclasses import asdict, dataclass

import torch
from torch import nn

from gridsearch.models import signature

with warnings.catch_warnings():
    # fvcore's import touches torch.jit.script, deprecated in recent torch: this one warning only.
    warnings.filterwarnings("ignore", category=FutureWarning, message=r".*torch\.jit\.script.*")
    from fvcore.nn import ActivationCountAnalysis, FlopCountAnalysis

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Complexity:
    """What fvcore measured on one network at one resolution."""

    flops: int
    params: int
    activations: int
    resolution: int

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def measure_modules(module: nn.Module, resolution: int,
                    in_channels: int = 3) -> tuple[Complexity, Counter, dict[str, dict[str, int]]]:
    """Trace ``module`` once at ``resolution``: its counts, the operators fvcore skipped, and
    fvcore's count per module ``{"flops": {name: n}, "activations": …}`` (``""``: the whole
    network)."""
    was_training = module.training
    module.eval()
    x = torch.zeros(1, in_channels, resolution, resolution)
    try:
        with torch.no_grad(), warnings.catch_warnings():
            # torch.jit defines TracerWarning publicly but leaves it out of its __all__
            warnings.filterwarnings("ignore", category=torch.jit.TracerWarning)  # type: ignore[attr-defined]
            flops = FlopCountAnalysis(module, x)
            flops.unsupported_ops_warnings(False).uncalled_modules_warnings(False)
            acts = ActivationCountAnalysis(module, x)
            acts.unsupported_ops_warnings(False).uncalled_modules_warnings(False)
            total_flops, total_acts = int(flops.total()), int(acts.total())
            skipped = Counter(flops.unsupported_ops())
            by_module = {"flops": dict(flops.by_module()), "activations": dict(acts.by_module())}
    finally:
        module.train(was_training)
    params = sum(p.numel() for p in module.parameters())
    return Complexity(total_flops, params, total_acts, resolution), skipped, by_module


class ComplexityCounter:
    """Counts networks with fvcore, caching by structure and resolution.

    Skipped operators (silu, sigmoid, mul, add, …: fvcore has no handle for them) are logged once
    per distinct set, not once per network.
    """

    def __init__(self) -> None:
        self._cache: dict[tuple[str, int, int], Complexity] = {}
        self._modules: dict[tuple[str, int, int], dict[str, dict[str, int]]] = {}
        self._skipped: dict[tuple[str, int, int], Counter] = {}
        self._reported: set[frozenset[str]] = set()
        self.traces = 0  # how many networks were actually traced

    def count(self, module: nn.Module, resolution: int, in_channels: int = 3) -> Complexity:
        key = (signature(module), resolution, in_channels)
        hit = self._cache.get(key)
        if hit is not None:
            return hit
        result, skipped, self._modules[key] = measure_modules(module, resolution, in_channels)
        self.traces += 1
        self._skipped[key] = skipped
        names = frozenset(skipped)
        if names and names not in self._reported:
            self._reported.add(names)
            log.info("fvcore skips (counts no FLOPs for): %s",
                     ", ".join(f"{op.removeprefix('aten::')}" for op in sorted(names)))
        self._cache[key] = result
        return result

    def skipped(self, module: nn.Module, resolution: int, in_channels: int = 3) -> Counter:
        """The operators fvcore skipped in ``module`` (from the cache: no second trace)."""
        self.count(module, resolution, in_channels)
        return self._skipped[(signature(module), resolution, in_channels)]

    def by_module(self, module: nn.Module, resolution: int,
                  in_channels: int = 3) -> dict[str, dict[str, int]]:
        """fvcore's FLOPs and activations per module name (from the cache: no second trace)."""
        self.count(module, resolution, in_channels)
        return self._modules[(signature(module), resolution, in_channels)]
