"""A training run's peak memory, and giving memory back after it.

:class:`PeakMemory` measures one run:

* on a CUDA device, ``torch.cuda.max_memory_allocated`` (reset when the run starts): the most
  memory this process's tensors held on the device at once (kind ``"cuda"``); what the caching
  allocator reserved beyond it is not counted (it is given back by :func:`release`);
* on the CPU, the process's peak resident set size during the run (kind ``"rss"``): on Linux the
  kernel's high-water mark ``VmHWM``, reset at the start of the run by writing ``5`` to
  ``/proc/self/clear_refs`` (``method`` ``"hwm"``); where that is not allowed, a thread samples
  ``/proc/self/statm`` every few milliseconds (``method`` ``"sample"``: it can miss a short
  spike).  It is the whole process's figure (the interpreter, the data subset, the network), not
  the run's increase.

:func:`release` runs the garbage collector (a reference cycle can hold tensors) and, on CUDA,
returns the cached blocks to the driver (``torch.cuda.empty_cache``): with several workers on one
GPU, memory one of them cached but no longer uses would otherwise be missing for its neighbours.
"""

from __future__ import annotations

import gc
import os
import re
import threading
from typing import Any

CUDA_KIND, RSS_KIND = "cuda", "rss"
SAMPLE_INTERVAL_S = 0.005

_HWM = re.compile(r"^VmHWM:\s+(\d+)\s+kB", re.M)


def _page_size() -> int:
    try:
        return os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return 4096


def rss_bytes() -> int | None:
    """This process's resident set size now (Linux), else None."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * _page_size()
    except (OSError, ValueError, IndexError):
        return None


def _hwm_bytes() -> int | None:
    try:
        with open("/proc/self/status") as f:
            m = _HWM.search(f.read())
    except OSError:
        return None
    return int(m.group(1)) * 1024 if m else None


def _reset_hwm() -> bool:
    """Reset the kernel's peak RSS of this process to its current RSS; False where not allowed."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        return False
    return _hwm_bytes() is not None


class PeakMemory:
    """Context manager: the peak memory of the code it wraps, on ``device``.

    ``method`` (CPU only): ``"auto"`` (the kernel's high-water mark where it can be reset, else
    sampling), ``"hwm"`` or ``"sample"``; inside the block it says which one measures.  After the
    block: ``bytes`` (None if it cannot be measured here) and ``kind``.
    """

    def __init__(self, device: Any = "cpu", method: str | None = "auto") -> None:
        import torch

        self.device = torch.device(device)
        self.method = method
        self.bytes: int | None = None
        self.kind: str | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._sampled = 0

    def __enter__(self) -> PeakMemory:
        import torch

        if self.device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(self.device)
            self.kind, self.method = CUDA_KIND, "cuda"
            return self
        if self.method in ("auto", "hwm") and _reset_hwm():
            self.kind, self.method = RSS_KIND, "hwm"
            return self
        if self.method == "hwm" or rss_bytes() is None:
            self.method = None
            return self                           # not measurable here
        self.kind, self.method = RSS_KIND, "sample"
        self._sampled = rss_bytes() or 0
        self._thread = threading.Thread(target=self._sample, name="peak-rss", daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.wait(SAMPLE_INTERVAL_S):
            self._sampled = max(self._sampled, rss_bytes() or 0)

    def read(self) -> int | None:
        """The peak so far (also inside the block)."""
        import torch

        if self.method == "cuda":
            return int(torch.cuda.max_memory_allocated(self.device))
        if self.method == "hwm":
            return _hwm_bytes()
        if self.method == "sample":
            return max(self._sampled, rss_bytes() or 0)
        return None

    def __exit__(self, *exc) -> None:
        if self._thread is not None:
            self._stop.set()
            self._thread.join()
        self.bytes = self.read()

    @property
    def megabytes(self) -> float | None:
        return None if self.bytes is None else round(self.bytes / 2**20, 1)


def release(device: Any = None) -> None:
    """Give memory back after a run: collect reference cycles; on CUDA empty the allocator's cache
    (the blocks no live tensor uses) so other processes on the GPU can have them."""
    gc.collect()
    if device is None:
        return
    import torch

    device = torch.device(device)
    if device.type == "cuda" and torch.cuda.is_initialized():
        torch.cuda.empty_cache()
