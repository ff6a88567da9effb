"""What every baseline provides: a builder from (width_mult, depth_mult, num_classes) to a network,
and the realised layout (stage depths and widths after rounding)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from torch import nn


@dataclass(frozen=True)
class Layout:
    """Stage depths and output widths of a realised network, stem and head widths included.

    ``None`` fields mean the builder cannot tell (a user factory): counts are still measured.
    """

    depths: tuple[int, ...] | None = None
    widths: tuple[int, ...] | None = None
    stem: int | None = None
    head: int | None = None

    def describe(self) -> str:
        if self.depths is None or self.widths is None:
            return "custom"
        return (f"stem {self.stem} | depths {list(self.depths)} | widths {list(self.widths)}"
                f" | head {self.head}")

    def as_dict(self) -> dict[str, Any]:
        return {"depths": list(self.depths) if self.depths else None,
                "widths": list(self.widths) if self.widths else None,
                "stem": self.stem, "head": self.head}


@dataclass(frozen=True)
class Realised:
    """A network built for one (width_mult, depth_mult), with its layout and rebuild recipe."""

    module: nn.Module
    layout: Layout
    # Keyword arguments that rebuild this exact network with torchvision alone, when it can.
    torchvision: dict[str, Any] | None = None
    # The equivalent timm arguments, where timm has the architecture.
    timm: dict[str, Any] | None = None


@dataclass(frozen=True)
class Baseline:
    """A named, scalable baseline network."""

    name: str
    build: Callable[[float, float, int], Realised] = field(repr=False)
    description: str = ""


def signature(module: nn.Module) -> str:
    """A structural fingerprint: module types and parameter/buffer shapes, in order.

    Two networks with the same signature have the same FLOPs, params and activations at the same
    resolution, so counts can be cached by it whatever multipliers produced them.
    """
    h = hashlib.sha1()
    for name, sub in module.named_modules():
        h.update(f"{name}:{type(sub).__name__}:{_hyper(sub)};".encode())
        for pname, p in sub.named_parameters(recurse=False):
            h.update(f"{pname}{tuple(p.shape)};".encode())
    return h.hexdigest()


def _hyper(sub: nn.Module) -> str:
    """Hyper-parameters that change cost without changing parameter shapes."""
    keys = ("stride", "padding", "dilation", "groups", "kernel_size", "output_size", "p")
    return ",".join(f"{k}={getattr(sub, k)}" for k in keys if hasattr(sub, k))
