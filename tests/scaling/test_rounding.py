import pytest

from gridsearch import models, scaling
from gridsearch.scaling import Point, Spec


@pytest.mark.parametrize("value,expected", [(32, 32), (35.2, 32), (36, 40), (17.6, 16), (4, 8),
                                            (1280 * 1.1, 1408), (112 * 1.1, 120), (80 * 1.1, 88)])
def test_make_divisible(value, expected):
    assert scaling.make_divisible(value) == expected


def test_make_divisible_never_below_90_percent():
    for v in range(8, 600):
        assert scaling.make_divisible(v) >= 0.9 * v
        assert scaling.make_divisible(v) % 8 == 0


def test_round_repeats_is_ceil():
    assert [scaling.round_repeats(n, 1.2) for n in (1, 2, 2, 3, 3, 4, 1)] == [2, 3, 3, 4, 4, 5, 2]
    assert scaling.round_repeats(1, 0.1) == 1


def test_compound_and_effective_gamma():
    s = Spec.compound(Point(1.2, 1.1, 1.15), phi=1)
    assert (round(s.depth, 6), round(s.width, 6), s.pixels(224)) == (1.2, 1.1, 258)
    assert s.effective_gamma(258, 224) == pytest.approx(258 / 224, abs=1e-6)
    s2 = Spec.compound(Point(1.2, 1.1, 1.15), phi=2)
    assert s2.effective_gamma(256, 224) == pytest.approx((256 / 224) ** 0.5, abs=1e-6)


def test_efficientnet_layout_for_paper_point():
    # docs/design.md §2: stages [1,2,2,3,3,4,1] -> [2,3,3,4,4,5,2] at alpha = 1.2.
    r = models.build("efficientnet_b0", width_mult=1.1, depth_mult=1.2)
    assert r.layout.depths == (2, 3, 3, 4, 4, 5, 2)
    assert r.layout.widths == (16, 24, 48, 88, 120, 208, 352)
    assert r.layout.head == 4 * 352


@pytest.mark.parametrize("name", ["mobilenet_v2", "resnet18", "resnet50"])
def test_other_baselines_round_width_and_depth(name):
    r = models.build(name, width_mult=1.3, depth_mult=1.5, num_classes=7)
    base = models.build(name, 1.0, 1.0, 7)
    for w1, w0 in zip(r.layout.widths, base.layout.widths, strict=True):
        assert w1 % 8 == 0 and w1 >= 0.9 * 1.3 * w0
    for d1, d0 in zip(r.layout.depths, base.layout.depths, strict=True):
        assert d1 == -(-d0 * 3 // 2)  # ceil(d0 * 1.5)
