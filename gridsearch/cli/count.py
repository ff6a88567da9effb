"""gridsearch count: measure one network with fvcore."""

from __future__ import annotations

from gridsearch.cli.common import human, print_json
from gridsearch.errors import ModelError


def register(sub) -> None:
    p = sub.add_parser("count", help="measure a network's FLOPs, params and activations",
                       description="Build MODEL scaled by --width/--depth and count it with fvcore "
                                   "at --resolution (batch 1, eval). FLOPs: one multiply-add = "
                                   "one FLOP.")
    p.add_argument("model", help="a baseline, e.g. efficientnet_b0, resnet18 (an unknown name "
                                 "lists the known ones), timm:NAME (e.g. timm:efficientnet_b0, "
                                 "timm:mobilenetv3_large_100) or package.module:function")
    p.add_argument("--width", type=float, default=1.0, help="width multiplier (default 1)")
    p.add_argument("--depth", type=float, default=1.0, help="depth multiplier (default 1)")
    p.add_argument("--resolution", type=int, default=224, help="input size in pixels (default 224)")
    p.add_argument("--num-classes", type=int, default=1000)
    p.add_argument("--json", action="store_true", help="one JSON object")
    p.set_defaults(func=run)


def run(args) -> int:
    from gridsearch import models
    from gridsearch.measure import ComplexityCounter

    if args.resolution < 1 or args.num_classes < 1:
        raise ModelError("--resolution and --num-classes must be positive")
    realised = models.build(args.model, args.width, args.depth, args.num_classes)
    c = ComplexityCounter().count(realised.module, args.resolution)
    out = {"model": args.model, "flops": c.flops, "params": c.params,
           "activations": c.activations, "resolution": c.resolution,
           "width_mult": args.width, "depth_mult": args.depth,
           "layout": realised.layout.as_dict()}
    if args.json:
        print_json(out)
    else:
        print(f"{args.model}  width {args.width:g}  depth {args.depth:g}  resolution {c.resolution}")
        print(f"  layout       {realised.layout.describe()}")
        print(f"  flops        {c.flops:,} ({human(c.flops)}; multiply-adds)")
        print(f"  params       {c.params:,} ({human(c.params)})")
        print(f"  activations  {c.activations:,} ({human(c.activations)})")
    return 0
