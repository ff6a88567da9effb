"""Every private attribute of another library that gridsearch touches, in one place.

Supported: Optuna 5.x (``>=5.0,<6``), optuna-dashboard 0.21.x, torchvision ≥ 0.19 and timm 1.x;
tests/test_compat.py calls each of these, so an upgrade that moves one fails there first.
Heavy libraries are imported inside the functions, so importing this module costs nothing.

* ``trial._trial_id`` / ``study._study_id`` / ``study._storage``: the storage keys of a live trial
  and study (the claims table and heartbeats address trials by id; Optuna has no public accessor).
* optuna-dashboard keeps notes in study system attributes; reading one trial's note needs its
  private ``_note.get_note_from_system_attrs``, and ``save_note`` wants a live ``Trial``: for a
  finished one it only reads ``.storage``, ``.study`` and ``._trial_id``, so a stand-in does.
* torchvision: ``efficientnet._efficientnet_conf`` (the stage settings for width and depth
  multipliers: the builder that rounds like the TF reference) and
  ``BlockParams._adjust_widths_groups_compatibilty`` (RegNet's width/group reconciliation).
* timm: the generators of its scalable families (``_gen_efficientnet``, ``_gen_mobilenet_v3``, …),
  which take channel and depth multipliers; ``timm.create_model`` does not.
* torch: ``nn.modules.batchnorm._BatchNorm``, the one base class of every BatchNorm layer.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

OPTUNA = (5,)
OPTUNA_DASHBOARD = (0, 21)


def trial_id(trial: Any) -> int:
    """The storage id of a Trial or FrozenTrial."""
    return trial._trial_id


def study_id(study: Any) -> int:
    return study._study_id


def study_storage(study: Any) -> Any:
    return study._storage


def trial_note(study: Any, trial: Any) -> str:
    """The optuna-dashboard note of a (finished) trial, "" when it has none."""
    from optuna_dashboard._note import get_note_from_system_attrs

    attrs = study_storage(study).get_study_system_attrs(study_id(study))
    return get_note_from_system_attrs(attrs, trial_id(trial))["body"]


def save_trial_note(study: Any, trial: Any, body: str) -> None:
    """Write the optuna-dashboard note of a trial, finished or not."""
    from optuna_dashboard import save_note

    save_note(SimpleNamespace(storage=study_storage(study), study=study,
                              _trial_id=trial_id(trial)), body)


# -- torchvision, timm, torch ---------------------------------------------------------------------
def efficientnet_conf(arch: str, width_mult: float, depth_mult: float):
    """torchvision's EfficientNet stage settings and last channel for these multipliers."""
    from torchvision.models import efficientnet

    return efficientnet._efficientnet_conf(arch, width_mult=width_mult, depth_mult=depth_mult)


def regnet_adjust_widths(widths, bottleneck_multipliers, group_widths):
    """torchvision's reconciliation of RegNet stage widths with their group widths."""
    from torchvision.models import regnet

    return regnet.BlockParams._adjust_widths_groups_compatibilty(
        widths, bottleneck_multipliers, group_widths)


def timm_generator(builder: str):
    """The timm function named ``builder`` (``timm.models.efficientnet._gen_efficientnet``, or a
    public one such as ``timm.create_model``)."""
    import importlib

    module, _, func = builder.rpartition(".")
    return getattr(importlib.import_module(module), func)


def batchnorm_layers(model: Any) -> list:
    """Every BatchNorm layer (1d, 2d, 3d, sync) of ``model``."""
    from torch import nn

    return [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
