"""A user's own baseline: ``package.module:function`` taking (width_mult, depth_mult, num_classes)."""

from __future__ import annotations

import importlib

from torch import nn

from gridsearch.errors import ModelError
from gridsearch.models.base import Baseline, Layout, Realised


def is_factory_ref(name: str) -> bool:
    return ":" in name


def load_factory(ref: str) -> Baseline:
    module_name, _, func_name = ref.partition(":")
    if not module_name or not func_name:
        raise ModelError(f"model {ref!r}: expected 'package.module:function'")
    try:
        mod = importlib.import_module(module_name)
    except ImportError as e:
        raise ModelError(f"model {ref!r}: cannot import {module_name!r} ({e})") from None
    func = getattr(mod, func_name, None)
    if not callable(func):
        raise ModelError(f"model {ref!r}: {module_name!r} has no function {func_name!r}")

    def build(width_mult: float, depth_mult: float, num_classes: int) -> Realised:
        try:
            module = func(width_mult=width_mult, depth_mult=depth_mult, num_classes=num_classes)
        except Exception as e:  # noqa: BLE001 - the user's code; report, don't crash
            raise ModelError(f"model {ref!r} failed to build: {type(e).__name__}: {e}") from None
        if not isinstance(module, nn.Module):
            raise ModelError(f"model {ref!r} returned {type(module).__name__}, not an nn.Module")
        return Realised(module, Layout())

    return Baseline(ref, build, f"user factory {ref}")
