"""RegNet-Y 400MF through torchvision's ``RegNet`` and ``BlockParams``, scaled by depth and width.

The stage settings are torchvision's own (``BlockParams.from_init_params(depth=16, w_0=48,
w_a=27.89, w_m=2.09, group_width=8, se_ratio=0.25)``: depths [1, 3, 6, 6], widths
[48, 104, 208, 440], group width 8).  Scaling, as pycls's fast-scaling ``scaler.py`` does for
RegNets:

* depth: ceil(depth · d) blocks per stage (as every other baseline here);
* width: stage and stem widths to a multiple of 8 never below 90% (``make_divisible``); the group
  width scales with the width too (so a grouped 3×3 conv grows as w², like a dense one) and is
  rounded pycls's way (1, 2, 4, then multiples of 8);
* then torchvision's own ``_adjust_widths_groups_compatibilty`` makes each stage width a multiple
  of its group width.
"""

from __future__ import annotations

from functools import partial

from torch import nn
from torchvision.models import regnet as tv

from gridsearch import _compat
from gridsearch.models._base import Baseline, Layout, Realised
from gridsearch.models._registry import register
from gridsearch.scaling import make_divisible, round_repeats

# torchvision's regnet_y_400mf.
INIT = dict(depth=16, w_0=48, w_a=27.89, w_m=2.09, group_width=8, se_ratio=0.25)
STEM = 32


def _group_width(g: float) -> int:
    """pycls's rounding of a scaled group width: 1, 2, 4, then multiples of 8."""
    g = max(1, round(g))
    return g if g <= 2 else 4 if g <= 5 else max(8, round(g / 8) * 8)


def block_params(width_mult: float, depth_mult: float) -> tv.BlockParams:
    base = tv.BlockParams.from_init_params(**INIT)
    depths = [round_repeats(n, depth_mult) for n in base.depths]
    widths = [make_divisible(w * width_mult) for w in base.widths]
    groups = [_group_width(g * width_mult) for g in base.group_widths]
    widths, groups = _compat.regnet_adjust_widths(widths, base.bottleneck_multipliers, groups)
    return tv.BlockParams(depths=depths, widths=widths, group_widths=groups,
                          bottleneck_multipliers=list(base.bottleneck_multipliers),
                          strides=list(base.strides), se_ratio=base.se_ratio)


def build(width_mult: float, depth_mult: float, num_classes: int) -> Realised:
    params = block_params(width_mult, depth_mult)
    stem = make_divisible(STEM * width_mult)
    module = tv.RegNet(params, num_classes=num_classes, stem_width=stem,
                       norm_layer=partial(nn.BatchNorm2d, eps=1e-05, momentum=0.1))
    layout = Layout(depths=tuple(params.depths), widths=tuple(params.widths), stem=stem,
                    head=params.widths[-1])
    rebuild = {
        "builder": "torchvision.models.RegNet",
        "block_params": "torchvision.models.regnet.BlockParams",
        "depths": list(params.depths),
        "widths": list(params.widths),
        "group_widths": list(params.group_widths),
        "bottleneck_multipliers": list(params.bottleneck_multipliers),
        "strides": list(params.strides),
        "se_ratio": params.se_ratio,
        "stem_width": stem,
        "num_classes": num_classes,
    }
    return Realised(module, layout, torchvision=rebuild)


REGNET_Y_400MF = register(Baseline("regnet_y_400mf", build,
                                   "torchvision RegNetY-400MF (grouped bottlenecks with SE)"))
