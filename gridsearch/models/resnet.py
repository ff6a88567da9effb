"""ResNet-18/50 built from torchvision's blocks with scaled channels and blocks per stage.

torchvision's ResNet hard-codes 64·2^i channels, so the stages are assembled here with its own
BasicBlock/Bottleneck and ``_make_layer``; ``forward`` is torchvision's.
"""

from __future__ import annotations

from functools import partial

from torch import nn
from torchvision.models import resnet as tv

from gridsearch.scaling._rounding import make_divisible, round_repeats
from gridsearch.models.base import Baseline, Layout, Realised


class ScaledResNet(tv.ResNet):
    """torchvision's ResNet with stage widths ``widths`` and stem width ``stem``."""

    def __init__(self, block, layers, widths, stem, num_classes):
        nn.Module.__init__(self)
        self._norm_layer = nn.BatchNorm2d
        self.dilation, self.groups, self.base_width = 1, 1, 64
        self.inplanes = stem
        self.conv1 = nn.Conv2d(3, stem, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(stem)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = self._make_layer(block, widths[0], layers[0])
        self.layer2 = self._make_layer(block, widths[1], layers[1], stride=2)
        self.layer3 = self._make_layer(block, widths[2], layers[2], stride=2)
        self.layer4 = self._make_layer(block, widths[3], layers[3], stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(widths[3] * block.expansion, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.constant_(m.weight, 1)
                nn.init.constant_(m.bias, 0)


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


RESNET18 = Baseline("resnet18", partial(_build, tv.BasicBlock, (2, 2, 2, 2), "resnet18"),
                    "torchvision ResNet-18 (basic blocks)")
RESNET50 = Baseline("resnet50", partial(_build, tv.Bottleneck, (3, 4, 6, 3), "resnet50"),
                    "torchvision ResNet-50 (bottlenecks)")
