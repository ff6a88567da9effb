"""What an exception that left a training run means for the process that raised it.

:func:`classify` (the loop's :func:`fault_kind`) sorts it into one of three kinds, stored on a
failed trial as ``error_kind``:

* ``"oom"``: out of memory (``torch.OutOfMemoryError``, which is ``torch.cuda.OutOfMemoryError``;
  a CUDA or cuBLAS/cuDNN allocation failure reported as a plain error; the CPU allocator's
  ``can't allocate memory``; Python's ``MemoryError``).  The run may fit with smaller
  micro-batches, or later, when a neighbour on the same GPU has finished.
* ``"device"``: a sticky error, one that leaves the process's CUDA context unusable — a
  device-side assert, an illegal memory access, a launch failure, a misaligned address, an
  uncorrectable ECC error …
  (CUDA's documentation: "the process must be terminated and relaunched") — or a device that is
  gone.  Every later trial of this process would fail at once: the worker must stop, give its unit
  back and exit, so that a healthy worker trains it (:class:`DeviceLost`).
* ``"trial"``: anything else; this candidate failed, the next one may not.

Newer torch (2.14 here) raises CUDA runtime errors as ``torch.AcceleratorError``, a
``RuntimeError`` carrying the CUDA error number (``error_code``); older torch raises a plain
``RuntimeError`` whose message starts with ``CUDA error:``.  Both are recognised, by number where
there is one, else by message.  The cause and context chain is searched too: a wrapper (a user
model's own exception, a ``TrainingError`` raised from it) does not hide a poisoned device.

Importing this module does not import torch; :func:`classify` looks at the exception's class
names and messages, so it is pure and cheap.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

OOM, DEVICE, TRIAL = "oom", "device", "trial"
STICKY = DEVICE     # a sticky CUDA error: the device is lost to this process

# CUDA runtime errors after which "the process must be terminated and relaunched" (cudaError_t),
# or the device is gone.
STICKY_CODES = {
    3: "initialization error",
    4: "CUDA runtime unloading",
    35: "driver too old for this CUDA runtime",
    46: "all CUDA devices are busy or unavailable",
    100: "no CUDA-capable device is detected",
    214: "uncorrectable ECC error",
    220: "uncorrectable NVLink error",
    700: "illegal memory access",
    702: "launch timed out",
    709: "context is destroyed",
    710: "device-side assert triggered",
    714: "hardware stack error",
    715: "illegal instruction",
    716: "misaligned address",
    717: "invalid address space",
    718: "invalid program counter",
    719: "unspecified launch failure",
    999: "unknown CUDA error",
}
OOM_CODES = {2}   # cudaErrorMemoryAllocation

# The same, by message (lower case), for torch versions that raise a plain RuntimeError.
_STICKY_TEXT = (
    "device-side assert", "illegal memory access", "an illegal instruction",
    "unspecified launch failure", "misaligned address", "uncorrectable ecc error",
    "uncorrectable nvlink error", "hardware stack error", "invalid program counter",
    "invalid address space", "the launch timed out", "context is destroyed",
    "cuda error: unknown error", "gpu has fallen off the bus",
    "no cuda-capable device is detected", "cuda-capable device(s) is/are busy or unavailable",
    "cuda driver version is insufficient", "cudnn_status_execution_failed",
    "cublas_status_execution_failed", "cuda error: initialization error",
)
_OOM_TEXT = (
    "out of memory", "cublas_status_alloc_failed", "cudnn_status_alloc_failed",
    "can't allocate memory", "cannot allocate memory",
)
_OOM_TYPES = ("OutOfMemoryError", "MemoryError")


def _chain(exc: BaseException | None) -> Iterator[BaseException]:
    """The exception, then its causes and contexts (each once)."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        yield exc
        exc = exc.__cause__ or exc.__context__


def _kind_of_one(exc: BaseException) -> str:
    if isinstance(exc, DeviceLost):
        return DEVICE
    code = getattr(exc, "error_code", None)   # torch.AcceleratorError
    if isinstance(code, int):
        if code in OOM_CODES:
            return OOM
        if code in STICKY_CODES:
            return STICKY
    if any(t.__name__ in _OOM_TYPES for t in type(exc).__mro__):
        return OOM
    text = str(exc).lower()
    if any(s in text for s in _STICKY_TEXT):
        return STICKY
    if any(s in text for s in _OOM_TEXT):
        return OOM
    return TRIAL


def classify(exc: BaseException) -> str:
    """``"oom"``, ``"device"`` or ``"trial"`` (see the module's docstring).

    The whole cause/context chain counts: sticky anywhere wins (the process is poisoned whatever
    else went wrong), then out of memory anywhere, else a per-trial failure.
    """
    kinds = {_kind_of_one(e) for e in _chain(exc)}
    if STICKY in kinds:
        return STICKY
    if OOM in kinds:
        return OOM
    return TRIAL


def fault_kind(exc: BaseException) -> str:
    """What the loop makes of ``exc`` (:func:`classify`): ``oom``, ``device`` or ``trial``."""
    return classify(exc)


def reason(exc: BaseException, limit: int = 500) -> str:
    """One line for a trial's ``error``: the exception's type and its first non-empty line
    (torch's CUDA messages go on with advice over several lines)."""
    lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
    first = lines[0] if lines else ""
    return (f"{type(exc).__name__}: {first}" if first else type(exc).__name__)[:limit]


class DeviceLost(RuntimeError):
    """The device of this process is unusable (a sticky CUDA error, or the device is gone).

    The worker that catches it must not start another trial: it releases its claim on the unit
    (another worker trains it), records ``reason`` on the trial and exits with :data:`EXIT_CODE`.
    """

    EXIT_CODE = 3

    def __init__(self, reason: str, device: Any = None) -> None:
        self.reason, self.device = reason, None if device is None else str(device)
        where = f" ({self.device})" if self.device else ""
        super().__init__(f"device lost{where}: {reason}")


def probe_device(device: Any) -> str | None:
    """Whether ``device`` still works: None if it does, else why not (the error's first line).

    A tiny kernel and a synchronisation: after a sticky error every CUDA call fails, so this
    settles what the error message alone may not.  Nothing to probe on the CPU.
    """
    import torch

    device = torch.device(device)
    if device.type != "cuda":
        return None
    try:
        x = torch.ones(8, device=device)
        if float((x + 1).sum().item()) != 16.0:
            return "a test kernel computed a wrong result"
        torch.cuda.synchronize(device)
    except Exception as e:  # noqa: BLE001 - any failure here is the answer
        return reason(e)
    return None


def check(exc: BaseException, device: Any = None) -> str:
    """:func:`classify`, made sure: a per-trial or out-of-memory error on a CUDA device is
    followed by :func:`probe_device`, and a device that no longer works turns it into ``"device"``.

    Raises :class:`DeviceLost` (from ``exc``) for a sticky error; returns ``"oom"`` or
    ``"trial"`` otherwise.  (A trial's own ``error_kind`` comes from :func:`classify`: the loop
    decides what to record before it raises.)
    """
    kind = classify(exc)
    if kind != STICKY and device is not None:
        broken = probe_device(device)
        if broken is not None:
            raise DeviceLost(f"{reason(exc)}; then the device failed a check: {broken}",
                             device) from exc
    if kind == STICKY:
        raise DeviceLost(reason(exc), device) from exc
    return kind
