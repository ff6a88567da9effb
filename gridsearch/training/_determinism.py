"""``[train] deterministic = true``: the same (network, seed) trains to the same weights.

What holds without it: on the CPU a run is reproducible bit for bit for a given torch build and
thread count (tests/training/test_gpu_ready.py checks it); on a GPU cuDNN may pick a different convolution
algorithm per run and some kernels add with atomics in whatever order the threads arrive, so a
retried (point, seed) lands near its first result, not on it.

With it, for the duration of a run (:func:`deterministic`, restored afterwards):
``torch.use_deterministic_algorithms(True, warn_only=True)``, ``cudnn.deterministic = True``,
``cudnn.benchmark = False``, and ``CUBLAS_WORKSPACE_CONFIG=:4096:8`` (cuBLAS reads it when it
starts: :func:`prepare_env` sets it before the process's first CUDA work).  ``warn_only``: an op
that has no deterministic CUDA implementation warns (naming itself) instead of failing every
trial; such a run is not guaranteed to reproduce.  The cost is measured by
``benchmarks/determinism.py`` (CPU) and ``benchmarks/gpu_check.sh`` (GPU).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, MutableMapping
from contextlib import contextmanager

CUBLAS_ENV = "CUBLAS_WORKSPACE_CONFIG"
CUBLAS_VALUE = ":4096:8"


def prepare_env(enabled: bool, env: MutableMapping[str, str] | None = None) -> bool:
    """Before the process's first CUDA work: set ``CUBLAS_WORKSPACE_CONFIG`` when ``enabled``
    (unless the user set it). True if it was set here."""
    env = os.environ if env is None else env
    if not enabled or env.get(CUBLAS_ENV):
        return False
    env[CUBLAS_ENV] = CUBLAS_VALUE
    return True


@contextmanager
def deterministic(enabled: bool) -> Iterator[None]:
    """Deterministic algorithms inside the block when ``enabled``; torch's flags as they were
    after it."""
    if not enabled:
        yield
        return
    import torch

    prepare_env(True)
    cudnn = torch.backends.cudnn
    before = (torch.are_deterministic_algorithms_enabled(),
              torch.is_deterministic_algorithms_warn_only_enabled(),
              cudnn.deterministic, cudnn.benchmark)
    torch.use_deterministic_algorithms(True, warn_only=True)
    cudnn.deterministic, cudnn.benchmark = True, False
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(before[0], warn_only=before[1])
        cudnn.deterministic, cudnn.benchmark = before[2], before[3]
