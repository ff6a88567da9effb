"""timm's generated families as baselines: ``timm:efficientnet_b0``, ``timm:mobilenetv3_large_100``, …

timm builds these families from an architecture string through a generator (``_gen_efficientnet``,
``_gen_mobilenet_v3``, …) that takes a channel and a depth multiplier.  A baseline here calls that
very generator with the model's own multipliers times the requested ones, so channels round with
timm's ``round_chs_fn`` (``round_channels``: multiples of 8, never below 90%) and repeats with the
family's own depth truncation (``ceil`` for EfficientNet and MobileNetV3, ``round`` for MixNet), and
stems and heads stay fixed where timm fixes them (EfficientNet-Lite, small MobileNetV3 widths).
The rebuild recipe is the generator and its keyword arguments: exact by construction.

timm is imported only when such a network is built.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from gridsearch import _compat
from gridsearch.errors import ModelError
from gridsearch.models._base import Baseline, Layout, Realised

PREFIX = "timm:"
_TF = {"bn_eps": 1e-3, "pad_type": "same"}  # timm's tf_* variants: TF BatchNorm eps, "same" padding


@dataclass(frozen=True)
class TimmArch:
    """One timm model name: its generator and the multipliers its registered entry point passes."""

    module: str
    generator: str
    channel: float = 1.0
    depth: float = 1.0
    depth_scalable: bool = True     # mixnet_s's generator takes no depth multiplier
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def builder(self) -> str:
        return f"{self.module}.{self.generator}"


def _architectures() -> dict[str, TimmArch]:
    eff, mnv3 = "timm.models.efficientnet", "timm.models.mobilenetv3"
    out: dict[str, TimmArch] = {}
    b = [(1.0, 1.0), (1.0, 1.1), (1.1, 1.2), (1.2, 1.4), (1.4, 1.8), (1.6, 2.2), (1.8, 2.6),
         (2.0, 3.1), (2.2, 3.6)]
    for i, (c, d) in enumerate(b):
        out[f"efficientnet_b{i}"] = TimmArch(eff, "_gen_efficientnet", c, d)
        out[f"tf_efficientnet_b{i}"] = TimmArch(eff, "_gen_efficientnet", c, d, extra=_TF)
    for i, (c, d) in enumerate(b[:5]):
        out[f"efficientnet_lite{i}"] = TimmArch(eff, "_gen_efficientnet_lite", c, d)
        out[f"tf_efficientnet_lite{i}"] = TimmArch(eff, "_gen_efficientnet_lite", c, d, extra=_TF)
    out["mixnet_s"] = TimmArch(eff, "_gen_mixnet_s", depth_scalable=False)
    out["tf_mixnet_s"] = TimmArch(eff, "_gen_mixnet_s", depth_scalable=False, extra=_TF)
    for name, c, d in (("mixnet_m", 1.0, 1.0), ("mixnet_l", 1.3, 1.0), ("mixnet_xl", 1.6, 1.2),
                       ("mixnet_xxl", 2.4, 1.3)):
        out[name] = TimmArch(eff, "_gen_mixnet_m", c, d)
        if name in ("mixnet_m", "mixnet_l"):
            out[f"tf_{name}"] = TimmArch(eff, "_gen_mixnet_m", c, d, extra=_TF)
    for name, c, d in (("mobilenetv3_large_075", 0.75, 1.0), ("mobilenetv3_large_100", 1.0, 1.0),
                       ("mobilenetv3_large_150d", 1.5, 1.2), ("mobilenetv3_small_050", 0.5, 1.0),
                       ("mobilenetv3_small_075", 0.75, 1.0), ("mobilenetv3_small_100", 1.0, 1.0)):
        out[name] = TimmArch(mnv3, "_gen_mobilenet_v3", c, d)
    return out


ARCHITECTURES: dict[str, TimmArch] = _architectures()


def supported() -> str:
    """The supported names, shortened for one line of an error message."""
    return ("efficientnet_b0…b8, efficientnet_lite0…4, mixnet_s/m/l/xl/xxl, "
            "mobilenetv3_large_075/100/150d, mobilenetv3_small_050/075/100 (and their tf_ variants)")


def is_timm_ref(name: str) -> bool:
    return name.startswith(PREFIX)


def recipe(fam: TimmArch, name: str, width_mult: float, depth_mult: float,
           num_classes: int) -> dict[str, Any]:
    """The generator's keyword arguments for this member (``variant`` included)."""
    kwargs: dict[str, Any] = {"variant": name,
                              "channel_multiplier": round(fam.channel * width_mult, 12)}
    if fam.depth_scalable:
        kwargs["depth_multiplier"] = round(fam.depth * depth_mult, 12)
    kwargs.update(num_classes=num_classes, pretrained=False, **fam.extra)
    return kwargs


def timm_network(builder: str, kwargs: dict[str, Any]):
    """The network timm builds from an export's ``timm`` entry: ``builder(**kwargs)``."""
    return _compat.timm_generator(builder)(**kwargs)


def _out_channels(block) -> int:
    for attr in ("conv_pwl", "conv_pw", "conv"):  # InvertedResidual, DepthwiseSeparable, ConvBnAct
        conv = getattr(block, attr, None)
        if conv is not None and hasattr(conv, "out_channels"):
            return int(conv.out_channels)
    raise ModelError(f"cannot read the output width of timm block {type(block).__name__}")


def layout(module) -> Layout:
    stages = list(module.blocks)
    return Layout(depths=tuple(len(s) for s in stages),
                  widths=tuple(_out_channels(s[-1]) for s in stages),
                  stem=int(module.conv_stem.out_channels),
                  head=int(getattr(module, "head_hidden_size", None) or module.num_features))


def load(ref: str) -> Baseline:
    """The baseline ``timm:NAME``; a one-line ModelError for names timm cannot scale here."""
    name = ref[len(PREFIX):]
    fam = ARCHITECTURES.get(name)
    if fam is None:
        raise ModelError(f"model {ref!r}: not a supported timm family (timm baselines are the "
                         f"generated families with channel and depth multipliers: {supported()})")

    def build(width_mult: float, depth_mult: float, num_classes: int) -> Realised:
        if not fam.depth_scalable and depth_mult != 1.0:
            raise ModelError(f"model {ref!r}: timm's MixNet-S generator takes no depth multiplier "
                             f"(got depth {depth_mult:g}); use timm:mixnet_m")
        kwargs = recipe(fam, name, width_mult, depth_mult, num_classes)
        try:
            module = timm_network(fam.builder, kwargs)
        except ImportError as e:
            raise ModelError(f"model {ref!r}: timm is not installed ({e})") from None
        rebuild = {"builder": fam.builder, "kwargs": kwargs, "exact": True,
                   "note": "the network gridsearch measured: builder(**kwargs)"}
        return Realised(module, layout(module), torchvision=None, timm=rebuild)

    return Baseline(ref, build, f"timm {name} ({fam.generator}, timm's own rounding)")


def _shapes(module) -> list[tuple[int, ...]]:
    return sorted(tuple(p.shape) for p in module.parameters())


def measure_timm(realised: Realised, model: str, resolution: int, counter) -> dict[str, Any] | None:
    """The member's ``timm`` entry with timm's network measured: ``params`` and ``flops`` are what
    ``builder(**kwargs)`` gives at ``resolution`` (fvcore, as everything else), ``exact`` says
    whether it has the very layers of the measured network (the same parameter shapes), and
    ``note`` says how it differs.  Entries without ``kwargs`` (or none) are returned as they are.
    """
    entry = realised.timm
    if not entry or "kwargs" not in entry:
        return entry
    own = counter.count(realised.module, resolution)
    if is_timm_ref(model):  # the measured network is timm's own
        return {**entry, "exact": True, "params": own.params, "flops": own.flops}
    try:
        net = timm_network(entry["builder"], entry["kwargs"])
    except Exception as e:  # noqa: BLE001 - say so in the file rather than fail the export
        return {**entry, "exact": False, "params": None, "flops": None,
                "note": f"timm cannot build it here: {type(e).__name__}: {e}"}
    c = counter.count(net, resolution)
    exact = _shapes(net) == _shapes(realised.module)
    notes = [entry.get("note") or ""] if not exact else []
    if not exact and not notes[0]:
        notes = [f"timm's network has other layers ({c.params:,} parameters, not {own.params:,})"]
    if exact:
        notes.append("the same layers and parameters")
    if c.flops != own.flops:
        names = lambda m: {op.rstrip("_") for op in counter.skipped(m, resolution)}  # noqa: E731
        extra = sorted(names(net) - names(realised.module))
        why = f"; fvcore skips {', '.join(extra)} in timm's network" if extra else ""
        notes.append(f"fvcore counts {c.flops - own.flops:+,} FLOPs "
                     f"({c.flops / own.flops - 1:+.2%}) on it{why}")
    return {**entry, "exact": exact, "params": c.params, "flops": c.flops, "note": "; ".join(notes)}
