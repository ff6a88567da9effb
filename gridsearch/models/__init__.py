"""Baselines: scalable networks built from (width_mult, depth_mult, num_classes) — torchvision's
EfficientNet-B0, MobileNetV2, ResNet-18/50 and RegNetY-400MF, timm's generated families
(``timm:NAME``) and a user's own ``package.module:function`` — with the layout each realised.

Importing the package loads no torch: a name loads its private module on first use.

    >>> from gridsearch import models
    >>> r = models.build("resnet18", width_mult=1.1, depth_mult=1.2, num_classes=10)
    >>> r.module, r.layout.describe()
"""

from typing import TYPE_CHECKING

from gridsearch._lazy import attach

if TYPE_CHECKING:  # the names as an editor and a type checker see them; loaded lazily below
    from gridsearch.models._base import (
        Baseline as Baseline,
        Layout as Layout,
        Realised as Realised,
        signature as signature,
    )
    from gridsearch.models._lookup import (
        REGISTRY as REGISTRY,
        ModelError as ModelError,
        build as build,
        get_baseline as get_baseline,
    )
    from gridsearch.models._timm import measure_timm as measure_timm, timm_network as timm_network

__getattr__, __dir__, __all__ = attach(__name__, {
    "_base": ["Baseline", "Layout", "Realised", "signature"],
    "_lookup": ["REGISTRY", "get_baseline", "build", "ModelError"],
    "_timm": ["measure_timm", "timm_network"],
})
