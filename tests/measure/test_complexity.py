import pytest
import torch
import torchvision

from gridsearch import models
from gridsearch.measure import ComplexityCounter, measure_modules


def test_efficientnet_b0_matches_torchvision_and_fvcore():
    r = models.build("efficientnet_b0", 1.0, 1.0, 1000)
    c = ComplexityCounter().count(r.module, 224)
    assert c.params == 5_288_548
    # fvcore's own total on torchvision's stock builder, counted independently here.
    ref, _, _ = measure_modules(torchvision.models.efficientnet_b0(), 224)
    assert abs(c.flops / ref.flops - 1) < 0.01
    assert c.activations == ref.activations
    # conv + linear alone equal torch's flop counter / 2 (it counts a multiply-add as 2).
    from torch.utils.flop_counter import FlopCounterMode
    with FlopCounterMode(display=False) as fc, torch.no_grad():
        r.module.eval()(torch.zeros(1, 3, 224, 224))
    assert 0.95 < c.flops / (fc.get_total_flops() / 2) < 1.06


def test_paper_point_measures_2_55x_not_2x():
    counter = ComplexityCounter()
    base = counter.count(models.build("efficientnet_b0").module, 224)
    cand = counter.count(models.build("efficientnet_b0", 1.1, 1.2).module, 258)
    assert cand.flops / base.flops == pytest.approx(2.553, abs=0.01)


def test_counts_are_cached_by_structure():
    counter = ComplexityCounter()
    a = models.build("resnet18", 0.5, 1.0, 10)
    b = models.build("resnet18", 0.505, 1.0, 10)  # rounds to the same layout
    assert a.layout == b.layout
    counter.count(a.module, 64)
    counter.count(b.module, 64)
    assert counter.traces == 1
    counter.count(b.module, 96)
    assert counter.traces == 2


def test_user_factory(tmp_path, monkeypatch):
    (tmp_path / "mynet.py").write_text(
        "from torch import nn\n"
        "def make(width_mult, depth_mult, num_classes):\n"
        "    c = int(16 * width_mult)\n"
        "    layers = [nn.Conv2d(3, c, 3, padding=1), nn.ReLU()]\n"
        "    layers += [nn.Conv2d(c, c, 3, padding=1), nn.ReLU()] * max(1, round(depth_mult))\n"
        "    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(c, num_classes))\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    r = models.build("mynet:make", 2.0, 1.0, 10)
    c = ComplexityCounter().count(r.module, 32)
    # conv 3->32, conv 32->32 (3x3 at 32x32), the pool reads 32x32x32 inputs, the linear 32x10.
    assert c.flops == 3 * 32 * 9 * 32 * 32 + 32 * 32 * 9 * 32 * 32 + 32 * 32 * 32 + 32 * 10
    with pytest.raises(models.ModelError, match="no function"):
        models.build("mynet:nope")
    with pytest.raises(models.ModelError, match="unknown model"):
        models.build("efficientnet_b9")


@pytest.mark.slow
def test_paper_point_in_both_budget_modes():
    from gridsearch import Realiser
    from gridsearch.scaling import Point, Spec

    r = Realiser("efficientnet_b0", base_resolution=224, num_classes=1000)
    spec = Spec.compound(Point(1.2, 1.1, 1.15), 1)
    rejected = r.realise(spec, target=2.0, mode="reject")
    assert not rejected.verdict.feasible and rejected.verdict.ratio == pytest.approx(2.553, abs=0.01)
    assert rejected.resolution == 258 and rejected.layout.depths == (2, 3, 3, 4, 4, 5, 2)
    repaired = r.realise(spec, target=2.0, mode="repair")
    assert repaired.verdict.feasible and abs(repaired.verdict.ratio / 2 - 1) <= 0.05
    assert repaired.verdict.resolution < 258 and repaired.effective_gamma < 1.15
