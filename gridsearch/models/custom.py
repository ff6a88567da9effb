"""A user's own baseline: ``package.module:function`` taking (width_mult, depth_mult, num_classes),
imported from the config's folder first (:mod:`gridsearch._imports`)."""

from __future__ import annotations

from pathlib import Path

from torch import nn

from gridsearch._imports import RefError, import_ref
from gridsearch.errors import ModelError
from gridsearch.models.base import Baseline, Layout, Realised


def is_factory_ref(name: str) -> bool:
    return ":" in name


def load_factory(ref: str, folders: tuple[Path | None, ...] = ()) -> Baseline:
    try:
        func = import_ref(ref, folders)
    except RefError as e:
        raise ModelError(f"model {ref!r}: {e}") from None

    def build(width_mult: float, depth_mult: float, num_classes: int) -> Realised:
        try:
            module = func(width_mult=width_mult, depth_mult=depth_mult, num_classes=num_classes)
        except Exception as e:  # noqa: BLE001 - the user's code; report, don't crash
            raise ModelError(f"model {ref!r} failed to build: {type(e).__name__}: {e}") from None
        if not isinstance(module, nn.Module):
            raise ModelError(f"model {ref!r} returned {type(module).__name__}, not an nn.Module")
        return Realised(module, Layout())

    return Baseline(ref, build, f"user factory {ref}")
