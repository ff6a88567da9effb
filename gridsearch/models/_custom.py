"""A user's own baseline: ``package.module:function``, imported from the config's folder first
(:mod:`gridsearch._imports`).

The contract: gridsearch calls ``function(width_mult=…, depth_mult=…, num_classes=…)`` with the
multipliers as floats — the baseline's own times the candidate's d and w, unrounded — and the
function rounds them itself (channels to a multiple of 8, stage repeats up: whatever the network
is meant to do; the budget is then measured on what it built).  It returns the ``nn.Module``, or
``(module, layout)`` with ``layout`` a dict of the realised ``depths`` and ``widths`` per stage
(lists of ints) and optionally ``stem`` and ``head`` widths, which ``plan``, ``status`` and the
export then show.  The input resolution is not the builder's business: gridsearch measures and
trains the network at the candidate's resolution.
"""

from __future__ import annotations

from pathlib import Path

from torch import nn

from gridsearch._imports import RefError, import_ref
from gridsearch.errors import ModelError
from gridsearch.models._base import Baseline, Layout, Realised


def is_factory_ref(name: str) -> bool:
    return ":" in name


def load_factory(ref: str, folders: tuple[Path | None, ...] = ()) -> Baseline:
    try:
        func = import_ref(ref, folders)
    except RefError as e:
        raise ModelError(f"model {ref!r}: {e}") from None

    def build(width_mult: float, depth_mult: float, num_classes: int) -> Realised:
        try:
            module = func(width_mult=width_mult, depth_mult=depth_mult, num_classes=num_classes)
        except Exception as e:  # noqa: BLE001 - the user's code; report, don't crash
            raise ModelError(f"model {ref!r} failed to build: {type(e).__name__}: {e}") from None
        layout = Layout()
        if isinstance(module, tuple) and len(module) == 2:
            module, layout = module[0], _layout(ref, module[1])
        if not isinstance(module, nn.Module):
            raise ModelError(f"model {ref!r} returned {type(module).__name__}, not an nn.Module "
                             "(or (module, layout))")
        return Realised(module, layout)

    return Baseline(ref, build, f"user factory {ref}")


def _layout(ref: str, d) -> Layout:
    """The layout a user's builder reported: ``depths`` and ``widths`` (ints per stage), with
    ``stem`` / ``head`` optional; a one-line :class:`ModelError` when it is malformed."""
    try:
        depths, widths = tuple(int(x) for x in d["depths"]), tuple(int(x) for x in d["widths"])
        stem = None if d.get("stem") is None else int(d["stem"])
        head = None if d.get("head") is None else int(d["head"])
    except (TypeError, KeyError, ValueError, AttributeError):
        raise ModelError(f"model {ref!r}: its layout must be a dict with 'depths' and 'widths' "
                         f"(lists of ints) and optional 'stem' and 'head', got {d!r}") from None
    if len(depths) != len(widths):
        raise ModelError(f"model {ref!r}: its layout has {len(depths)} depths and {len(widths)} "
                         "widths (one of each per stage)")
    return Layout(depths, widths, stem, head)
