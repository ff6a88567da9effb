"""How many CPU threads torch gets: gridsearch's choice instead of torch's default.

One process uses the cores it may run on (``os.sched_getaffinity``: a container's or ``taskset``'s
CPU set, not the host's core count); N worker processes on one host share them
(workers × threads ≤ cores, at least one each); an explicit ``--threads`` or ``OMP_NUM_THREADS``
wins.  :func:`choose_threads` is the pure choice; :func:`apply_threads` sets it in this process.

OpenMP's threads spin while they wait for each other (libgomp's default).  On a CPU shared with
other work one of them is often descheduled and the others burn their time slices spinning:
measured on 2 shared cores, 2 spinning threads trained at 0.29 steps/s and 2 passive ones at
3.5 (benchmarks/README.md).  The command line therefore sets ``OMP_WAIT_POLICY=PASSIVE``
(:func:`passive_wait`) before torch loads, unless the user set it.  Importing this module does
not import torch.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from gridsearch.errors import ConfigError

ENV = "OMP_NUM_THREADS"
WAIT_ENV = "OMP_WAIT_POLICY"
WAIT_POLICY = "PASSIVE"


def passive_wait(env=None) -> bool:
    """Set ``OMP_WAIT_POLICY=PASSIVE`` unless already set; True if it was set here.

    OpenMP reads it once, when torch loads: call this before the first ``import torch``.
    """
    env = os.environ if env is None else env
    if env.get(WAIT_ENV):
        return False
    env[WAIT_ENV] = WAIT_POLICY
    return True


def usable_cores() -> int:
    """The CPUs this process may run on (its affinity mask), else the machine's count."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # not on Linux
        return max(1, os.cpu_count() or 1)


def threads_from_env(env: Mapping[str, str] | None = None) -> int | None:
    """``OMP_NUM_THREADS`` as a positive int, or None when unset or empty.

    A malformed value is a :class:`ConfigError` (one line, exit status 2), not torch's silent
    fallback.
    """
    raw = (os.environ if env is None else env).get(ENV, "").strip()
    if not raw:
        return None
    try:
        n = int(raw.split(",")[0])  # OpenMP allows a nesting list "4,2": the outer level counts
    except ValueError:
        raise ConfigError(f"{ENV}: expected a positive integer, got {raw!r}") from None
    if n < 1:
        raise ConfigError(f"{ENV}: expected a positive integer, got {raw!r}")
    return n


def prepare_env(env=None) -> ConfigError | None:
    """Before torch loads: OpenMP waits passively, and a malformed ``OMP_NUM_THREADS`` is taken out
    of the environment (OpenMP would print its own complaint twice) and returned as the error to
    report, in one line, once the command runs."""
    env = os.environ if env is None else env
    passive_wait(env)
    try:
        threads_from_env(env)
    except ConfigError as e:
        env.pop(ENV, None)
        return e
    return None


def choose_threads(workers: int = 1, cores: int | None = None, explicit: int | None = None,
           env: Mapping[str, str] | None = None) -> int:
    """Torch threads for each of ``workers`` processes sharing ``cores`` (default: usable_cores).

    ``explicit`` (``--threads``) wins, then ``OMP_NUM_THREADS``, then ``cores // workers`` (≥ 1).
    """
    if workers < 1:
        raise ConfigError(f"--workers: must be ≥ 1, got {workers}")
    if explicit is not None:
        if explicit < 1:
            raise ConfigError(f"--threads: must be ≥ 1, got {explicit}")
        return explicit
    pinned = threads_from_env(env)
    if pinned is not None:
        return pinned
    cores = usable_cores() if cores is None else cores
    return max(1, cores // workers)


def apply_threads(device, explicit: int | None = None, workers: int = 1) -> int | None:
    """Set this process's torch threads for training on ``device``; returns the count set.

    On the CPU, gridsearch's choice; on a GPU only an explicit count is set (torch's own
    default is left alone there: the GPU does the work).  Returns None when nothing was set.
    """
    kind = getattr(device, "type", str(device).split(":")[0])
    if kind != "cpu" and explicit is None:
        return None
    n = choose_threads(workers, explicit=explicit)
    import torch

    if torch.get_num_threads() != n:
        torch.set_num_threads(n)
    return n
