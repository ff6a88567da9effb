"""EfficientNet-B0 through torchvision's own builder, which takes width_mult and depth_mult and
rounds like the TF reference (channels to multiples of 8, repeats with ceil)."""

from __future__ import annotations

from torchvision.models import efficientnet as tv

from gridsearch import _compat
from gridsearch.models._base import Baseline, Layout, Realised
from gridsearch.models._registry import register
from gridsearch.scaling import make_divisible

DROPOUT = 0.2


def build(width_mult: float, depth_mult: float, num_classes: int) -> Realised:
    setting, last_channel = _compat.efficientnet_conf("efficientnet_b0", width_mult, depth_mult)
    module = tv.EfficientNet(setting, DROPOUT, last_channel=last_channel, num_classes=num_classes)
    head = last_channel if last_channel is not None else 4 * setting[-1].out_channels
    layout = Layout(
        depths=tuple(c.num_layers for c in setting),
        widths=tuple(c.out_channels for c in setting),
        stem=setting[0].input_channels,
        head=head,
    )
    rebuild = {
        "builder": "torchvision.models.efficientnet.EfficientNet",
        "config": "torchvision.models.efficientnet._efficientnet_conf",
        "arch": "efficientnet_b0",
        "width_mult": width_mult,
        "depth_mult": depth_mult,
        "dropout": DROPOUT,
        "num_classes": num_classes,
    }
    # timm's generator builds the same layers from the same multipliers, except its head:
    # round(1280·w) channels where torchvision's is 4× the last stage.  scale() measures timm's
    # network per member and fills in its counts (gridsearch.models.measure_timm).
    timm_head = make_divisible(1280 * width_mult)
    timm = {
        "builder": "timm.models.efficientnet._gen_efficientnet",
        "kwargs": {"variant": "efficientnet_b0", "channel_multiplier": width_mult,
                   "depth_multiplier": depth_mult, "num_classes": num_classes, "pretrained": False},
        "exact": timm_head == head,
        "note": "" if timm_head == head else
                f"timm builds a {timm_head}-channel head where torchvision has {head}",
    }
    return Realised(module, layout, torchvision=rebuild, timm=timm)


EFFICIENTNET_B0 = register(Baseline("efficientnet_b0", build,
                                    "torchvision EfficientNet-B0 (MBConv, SiLU, SE)"))
