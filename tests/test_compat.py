"""Every private attribute of another library that gridsearch uses (gridsearch/_compat.py), called
once here: an upgrade that moves one fails in this file first."""

import optuna
import torch
from torch import nn

from gridsearch import _compat


def test_optuna_and_dashboard_private_attributes(tmp_path):
    storage = optuna.storages.RDBStorage(f"sqlite:///{tmp_path}/c.db")
    study = optuna.create_study(study_name="c", storage=storage)
    trial = study.ask()
    assert _compat.trial_id(trial) == _compat.trial_id(study.trials[0])
    assert _compat.study_id(study) == storage.get_study_id_from_name("c")
    assert _compat.study_storage(study).get_study_id_from_name("c") == _compat.study_id(study)
    study.tell(trial, 0.5)
    frozen = study.trials[0]
    assert _compat.trial_note(study, frozen) == ""
    _compat.save_trial_note(study, frozen, "**note**")
    assert _compat.trial_note(study, frozen) == "**note**"


def test_torchvision_timm_and_torch_private_attributes():
    setting, last = _compat.efficientnet_conf("efficientnet_b0", 1.1, 1.2)
    assert [c.num_layers for c in setting] == [2, 3, 3, 4, 4, 5, 2] and last is None
    widths, groups = _compat.regnet_adjust_widths([48, 104], [1.0, 1.0], [8, 8])
    assert all(w % g == 0 for w, g in zip(widths, groups, strict=True))
    gen = _compat.timm_generator("timm.models.efficientnet._gen_efficientnet")
    net = gen(variant="efficientnet_b0", channel_multiplier=1.0, depth_multiplier=1.0,
              num_classes=10, pretrained=False)
    assert isinstance(net, nn.Module)
    model = nn.Sequential(nn.BatchNorm1d(3), nn.Linear(3, 3), nn.BatchNorm2d(3), nn.SyncBatchNorm(3))
    assert len(_compat.batchnorm_layers(model)) == 3
    assert torch.is_tensor(model[0].running_mean)
