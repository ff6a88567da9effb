"""Which arithmetic a training run uses: bf16 or fp16 autocast, or plain fp32.

``[train] precision = "auto"`` (the default) picks, per device:

* a CUDA GPU of compute capability 8.0 or newer (Ampere, Hopper, Ada, Blackwell…) that supports
  bf16: **bf16** autocast — fp32's range, no loss scaling needed;
* an older GPU of capability 7.0 or newer (V100, T4, Turing consumer cards): **fp16** autocast with
  a gradient scaler (``torch.amp.GradScaler``): their tensor cores do fp16, and bf16 there is
  emulated (torch may still call it "supported");
* anything older, and the CPU: **fp32**.

``"bf16"``, ``"fp16"`` and ``"fp32"`` force one (``bf16`` on a GPU below capability 8.0 is refused:
it would be emulated, slower than fp32).  On the CPU bf16 and fp16 autocast run too (slowly, unless
the CPU has bf16/fp16 matrix units): that is how their code paths are tested without a GPU.

:func:`choose_precision` is the pure rule; :func:`precision_for` asks torch about a device and applies it.
"""

from __future__ import annotations

from typing import Any

from gridsearch.config import PRECISIONS
from gridsearch.errors import ConfigError

BF16_CAPABILITY = (8, 0)   # Ampere: native bf16 tensor cores
FP16_CAPABILITY = (7, 0)   # Volta: fp16 tensor cores


def choose_precision(device_type: str, capability: tuple[int, int] | None = None,
           bf16_supported: bool = False, requested: str = "auto") -> str:
    """The precision a run on this device uses: ``"bf16"``, ``"fp16"`` or ``"fp32"``.

    ``capability`` is the CUDA compute capability (major, minor) and ``bf16_supported`` what
    ``torch.cuda.is_bf16_supported()`` says; both are ignored for other devices.
    """
    if requested not in PRECISIONS:
        raise ConfigError(f"train.precision: must be one of {', '.join(PRECISIONS)}, "
                          f"got {requested!r}")
    cuda = device_type == "cuda"
    cap = tuple(capability) if capability is not None else (0, 0)
    native_bf16 = cuda and bf16_supported and cap >= BF16_CAPABILITY
    if requested == "auto":
        if not cuda:
            return "fp32"
        if native_bf16:
            return "bf16"
        return "fp16" if cap >= FP16_CAPABILITY else "fp32"
    if requested == "bf16" and cuda and not native_bf16:
        raise ConfigError(f"train.precision: bf16 needs a GPU of compute capability 8.0 or newer; "
                          f"this one is {cap[0]}.{cap[1]} (use fp16, fp32 or auto)")
    return requested


def precision_for(device: Any, requested: str = "auto") -> str:
    """:func:`choose_precision` for a torch device (asks torch for its capability)."""
    import torch

    device = torch.device(device)
    if device.type != "cuda":
        return choose_precision(device.type, requested=requested)
    cap = torch.cuda.get_device_capability(device)
    return choose_precision("cuda", cap, torch.cuda.is_bf16_supported(), requested)


def dtype(precision: str):
    """The autocast dtype of a precision (None for fp32)."""
    import torch

    return {"bf16": torch.bfloat16, "fp16": torch.float16}.get(precision)


def precision_autocast(device_type: str, precision: str | bool):
    """The autocast context of a run (``precision`` True: bf16, False: fp32, as the trainer's
    ``fast`` flag used to say)."""
    import torch

    if isinstance(precision, bool):
        precision = "bf16" if precision else "fp32"
    dt = dtype(precision)
    return torch.autocast(device_type, dt or torch.float32, enabled=dt is not None)


def grad_scaler(device_type: str, precision: str):
    """A gradient scaler, enabled for fp16 only (a disabled one passes losses and steps through)."""
    import torch

    return torch.amp.GradScaler(device_type, enabled=precision == "fp16")
