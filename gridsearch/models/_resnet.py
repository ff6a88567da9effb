"""ResNet-18/50 built from torchvision's blocks with scaled channels and blocks per stage.

torchvision's ResNet hard-codes 64·2^i channels, so the stages are assembled here from its own
BasicBlock/Bottleneck; ``forward`` is torchvision's.
"""

from __future__ import annotations

from functools import partial

from torch import nn
from torchvision.models import resnet as tv

from gridsearch.models._base import Baseline, Layout, Realised
from gridsearch.models._registry import register
from gridsearch.scaling import make_divisible, round_repeats


class ScaledResNet(tv.ResNet):
    """torchvision's ResNet (its ``forward``) with stage widths ``widths`` and stem width ``stem``.

    The stages are assembled from torchvision's public blocks in the order its own layer builder
    creates them, so a seed gives the same initial weights."""

    def __init__(self, block, layers, widths, stem, num_classes):
        nn.Module.__init__(self)
        self.conv1 = nn.Conv2d(3, stem, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(stem)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        inplanes = stem
        for i, (planes, blocks) in enumerate(zip(widths, layers, strict=True)):
            stage, inplanes = _stage(block, inplanes, planes, blocks, 1 if i == 0 else 2)
            setattr(self, f"layer{i + 1}", stage)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(widths[3] * block.expansion, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.constant_(m.weight, 1)
                nn.init.constant_(m.bias, 0)


def _stage(block, inplanes: int, planes: int, blocks: int, stride: int) -> tuple[nn.Sequential, int]:
    """One stage of ``blocks`` blocks; the first one strides and projects the shortcut if needed."""
    out = planes * block.expansion
    downsample = None
    if stride != 1 or inplanes != out:
        downsample = nn.Sequential(tv.conv1x1(inplanes, out, stride), nn.BatchNorm2d(out))
    layers = [block(inplanes, planes, stride, downsample)]
    layers += [block(out, planes) for _ in range(1, blocks)]
    return nn.Sequential(*layers), out


def _build(block, layers, arch, width_mult: float, depth_mult: float, num_classes: int) -> Realised:
    depths = [round_repeats(n, depth_mult) for n in layers]
    widths = [make_divisible(64 * 2**i * width_mult) for i in range(4)]
    stem = make_divisible(64 * width_mult)
    module = ScaledResNet(block, depths, widths, stem, num_classes)
    layout = Layout(depths=tuple(depths), widths=tuple(w * block.expansion for w in widths),
                    stem=stem, head=widths[3] * block.expansion)
    rebuild = None
    if width_mult == 1.0:  # torchvision's ResNet itself only scales depth
        rebuild = {"builder": "torchvision.models.ResNet", "block": block.__name__,
                   "layers": depths, "num_classes": num_classes}
    # timm's resnet entry points take ``layers`` (it overrides theirs): depth scaling only.
    timm = {"builder": "timm.create_model",
            "kwargs": {"model_name": arch, "layers": depths, "num_classes": num_classes,
                       "pretrained": False},
            "exact": True, "note": ""} if width_mult == 1.0 else None
    return Realised(module, layout, torchvision=rebuild, timm=timm)


RESNET18 = register(Baseline("resnet18", partial(_build, tv.BasicBlock, (2, 2, 2, 2), "resnet18"),
                             "torchvision ResNet-18 (basic blocks)"))
RESNET50 = register(Baseline("resnet50", partial(_build, tv.Bottleneck, (3, 4, 6, 3), "resnet50"),
                             "torchvision ResNet-50 (bottlenecks)"))
