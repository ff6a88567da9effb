"""MobileNetV2: width through torchvision's width_mult, depth through the repeats per stage."""

from __future__ import annotations

from torchvision.models import mobilenetv2 as tv

from gridsearch.models._base import Baseline, Layout, Realised
from gridsearch.models._registry import register
from gridsearch.scaling import make_divisible, round_repeats

# t (expansion), c (channels), n (repeats), s (stride): torchvision's default setting.
SETTING = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2),
           (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1))


def build(width_mult: float, depth_mult: float, num_classes: int) -> Realised:
    setting = [[t, c, round_repeats(n, depth_mult), s] for t, c, n, s in SETTING]
    module = tv.MobileNetV2(num_classes=num_classes, width_mult=width_mult,
                            inverted_residual_setting=setting)
    layout = Layout(
        depths=tuple(n for _, _, n, _ in setting),
        widths=tuple(make_divisible(c * width_mult) for _, c, _, _ in setting),
        stem=make_divisible(32 * width_mult),
        head=make_divisible(1280 * max(1.0, width_mult)),
    )
    rebuild = {"builder": "torchvision.models.MobileNetV2", "num_classes": num_classes,
               "width_mult": width_mult, "inverted_residual_setting": setting}
    return Realised(module, layout, torchvision=rebuild)


MOBILENET_V2 = register(Baseline("mobilenet_v2", build, "torchvision MobileNetV2 (inverted residuals)"))
