"""What went wrong in a training run, as the loop must treat it.

* ``oom``: out of memory — this candidate does not fit (after the trainer's own retry);
* ``device``: the device is unusable for the rest of this process (a sticky CUDA error: a
  device-side assert, an illegal memory access, a launch failure): the worker gives its unit back
  and stops, so a healthy worker trains it;
* ``trial``: anything else — the trial fails with the reason and the study goes on.
"""

from __future__ import annotations

_STICKY = ("device-side assert", "illegal memory access", "unspecified launch failure",
           "misaligned address", "uncorrectable ecc", "an illegal instruction",
           "cuda error: launch failure")


class DeviceLost(RuntimeError):
    """The device this worker trains on can no longer be used (the reason is the message)."""


def fault_kind(exc: BaseException) -> str:
    """``oom``, ``device`` or ``trial`` (see the module docstring)."""
    import torch

    if isinstance(exc, DeviceLost):
        return "device"
    oom = getattr(torch, "OutOfMemoryError", torch.cuda.OutOfMemoryError)
    text = str(exc).lower()
    if isinstance(exc, oom) or "out of memory" in text:
        return "oom"
    if any(s in text for s in _STICKY):
        return "device"
    return "trial"
