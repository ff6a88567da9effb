"""A model's name to its baseline: a built-in name (``REGISTRY``), ``timm:NAME``, or a user's
``package.module:function``."""

from __future__ import annotations

from pathlib import Path

from gridsearch.errors import ModelError as ModelError  # re-exported: the package's error

# The built-in architectures: importing each registers its baselines in REGISTRY, so every
# built-in name is there before this module answers a lookup, and torchvision loads only when a
# name is first asked for (the package attaches this module lazily).  A new architecture is a
# module in this package that calls ``register``, and its name on this line.
from gridsearch.models import _efficientnet, _mobilenet, _regnet, _resnet  # noqa: F401  (see above)
from gridsearch.models._base import Baseline, Realised
from gridsearch.models._custom import is_factory_ref, load_factory
from gridsearch.models._registry import REGISTRY as REGISTRY  # re-exported: full once read here
from gridsearch.models._timm import is_timm_ref, load as load_timm


def get_baseline(name: str, folders: tuple[Path | None, ...] = ()) -> Baseline:
    """The baseline called ``name``, ``timm:NAME`` (timm's generated families), or a user factory
    given as ``package.module:function`` (imported from ``folders`` first: the config's)."""
    if is_timm_ref(name):
        return load_timm(name)
    if is_factory_ref(name):
        return load_factory(name, folders)
    try:
        return REGISTRY[name]
    except KeyError:
        known = ", ".join(sorted(REGISTRY))
        raise ModelError(f"unknown model {name!r} (known: {known}, timm:NAME, or package.module:function)") from None


def build(name: str, width_mult: float = 1.0, depth_mult: float = 1.0,
          num_classes: int = 1000, folders: tuple[Path | None, ...] = ()) -> Realised:
    """Build ``name`` scaled by (width_mult, depth_mult)."""
    if width_mult <= 0 or depth_mult <= 0:
        raise ModelError(f"width and depth multipliers must be positive, got {width_mult}, {depth_mult}")
    return get_baseline(name, folders).build(width_mult, depth_mult, num_classes)

