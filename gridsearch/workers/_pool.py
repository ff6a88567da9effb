"""Several worker processes on one host, sharing one study.

The parent creates the study once (``Search.init``); each worker is a ``gridsearch worker`` process
that only loads it, so a concurrent first start cannot crash (docs/design.md §5).  Workers are spread
over GPUs round-robin (several per GPU allowed) and share the CPU cores for their torch threads.
A GPU worker sees exactly one GPU: its environment has ``CUDA_VISIBLE_DEVICES`` set to its GPU (the
parent's own ``CUDA_VISIBLE_DEVICES`` entry for it, when the parent was given a subset) and it
trains on ``cuda:0``; ``GRIDSEARCH_DEVICE_LOAD`` tells it how many workers share its device.
Workers run in their own process group: Ctrl-C (or SIGTERM) reaches the parent, which passes one
SIGTERM to each worker (their running trials are failed, not left RUNNING) and waits for them.
SIGTERM, not SIGINT: a worker started by a parent that ignores SIGINT (a shell's background job)
ignores it too, and a SIGTERM'd `run --workers 2` then took 80-90 s (the stop timeout) to exit.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from gridsearch.errors import ConfigError
from gridsearch.training import DEVICE_LOAD_ENV, VISIBLE_ENV, choose_threads

STOP_TIMEOUT_S = 60.0  # after Ctrl-C, a worker that has not stopped by then is killed


@dataclass(frozen=True)
class Slot:
    """One worker: its number, the device it is told (``--device``), its torch thread count, the
    GPU it runs on as this process numbers it (None: the CPU) and the environment it gets on top
    of this process's (``CUDA_VISIBLE_DEVICES``, ``GRIDSEARCH_DEVICE_LOAD``)."""

    index: int
    device: str
    threads: int
    gpu: int | None = None
    env: dict[str, str] = field(default_factory=dict, hash=False)

    @property
    def where(self) -> str:
        """The device in this (the parent's) numbering: ``cuda:N`` or ``cpu``."""
        return "cpu" if self.gpu is None else f"cuda:{self.gpu}"


def parse_gpus(text: str) -> list[int]:
    """'0,1' -> [0, 1]."""
    try:
        gpus = [int(g) for g in text.split(",")]
    except ValueError:
        raise ConfigError(f"--gpus: expected GPU numbers like 0,1, got {text!r}") from None
    if not gpus or any(g < 0 for g in gpus):
        raise ConfigError(f"--gpus: expected GPU numbers like 0,1, got {text!r}")
    return gpus


def placement(n: int, device: str, gpus: Sequence[int] | None, n_cuda: int,
              cores: int, env: Mapping[str, str] | None = None) -> list[Slot]:
    """Where each of ``n`` workers runs. ``device`` is --device or the config's train.device;
    ``gpus`` the --gpus list (this process's CUDA numbering), ``n_cuda`` the GPUs this process
    sees, ``env`` its environment (default ``os.environ``: its ``CUDA_VISIBLE_DEVICES``)."""
    if n < 1:
        raise ConfigError(f"--workers: must be ≥ 1, got {n}")
    if gpus is not None:
        if device == "cpu" or device.startswith("cuda:"):
            raise ConfigError(f"--gpus cannot be combined with device {device!r} "
                              "(use --device auto or cuda)")
        missing = [g for g in gpus if g >= n_cuda]
        if missing:
            raise ConfigError(f"--gpus: no CUDA device {missing[0]} (this host has {n_cuda})")
    elif device in ("auto", "cuda") and n_cuda:
        gpus = list(range(n_cuda))
    elif device.startswith("cuda:") and n_cuda:
        gpus = [int(device[5:])]
        if gpus[0] >= n_cuda:
            raise ConfigError(f"device {device!r}: this host has {n_cuda} CUDA device(s)")
    elif device == "cuda" or device.startswith("cuda:"):
        raise ConfigError(f"device {device!r}: this host has no CUDA device")
    threads = choose_threads(n, cores)  # workers × threads ≤ cores; OMP_NUM_THREADS wins
    if not gpus:
        return [Slot(i, "cpu", threads, env={DEVICE_LOAD_ENV: str(n)}) for i in range(n)]
    chosen = [gpus[i % len(gpus)] for i in range(n)]
    return [Slot(i, "cuda:0", threads, g,
                 {VISIBLE_ENV: visible_id(g, env), DEVICE_LOAD_ENV: str(chosen.count(g))})
            for i, g in enumerate(chosen)]


def shared_timing_note(slots: Sequence[Slot]) -> str | None:
    """A warning for a study that times its candidates (latency) when workers share a device:
    each timing then includes the neighbours' training."""
    most = max((int(s.env.get(DEVICE_LOAD_ENV, "1")) for s in slots), default=1)
    if most <= 1:
        return None
    where = "a GPU" if any(s.gpu is not None for s in slots) else "the CPU"
    return (f"note: up to {most} workers share {where}: latency_ms and train_step_ms are timed "
            "while the others train (recorded as latency_load); for figures of an idle device "
            "use one worker per device")


def visible_id(gpu: int, env: Mapping[str, str] | None = None) -> str:
    """What ``CUDA_VISIBLE_DEVICES`` must say for a child to see this process's GPU ``gpu``: its
    number, or, when this process was itself limited to some GPUs, the entry of its own list (a
    number, a GPU-… UUID or a MIG-… name; CUDA numbers the visible ones from 0 in that order)."""
    env = os.environ if env is None else env
    mine = env.get(VISIBLE_ENV)
    if mine is None:
        return str(gpu)
    entries = [e.strip() for e in mine.split(",") if e.strip()]
    if gpu >= len(entries):
        raise ConfigError(f"GPU {gpu}: {VISIBLE_ENV}={mine} lists {len(entries)} device(s)")
    return entries[gpu]


def worker_command(config: str, slot: Slot, retry_failed: bool = False,
                   command: str = "worker", options: Sequence[str] = ()) -> list[str]:
    """The command line of one slot's worker: ``gridsearch worker`` (or ``command``, e.g. a
    ``confirm … --join``, with its ``options``). The storage URL goes in the environment
    (:class:`Pool`): never on a command line, where ``ps`` shows it."""
    cmd = [sys.executable, "-m", "gridsearch", command, str(config), *options, "--device",
           slot.device, "--threads", str(slot.threads), "--no-progress"]
    if retry_failed:
        cmd.append("--retry-failed")
    return cmd


POOL_ENV = "GRIDSEARCH_POOL_WORKER"   # set for a pool's workers: the parent reports for them


class Pool:
    """Worker processes; their output lines go to ``on_line(worker, line)``.  Each gets this
    process's environment, the storage URL (``GRIDSEARCH_STORAGE``) and its slot's ``env``."""

    def __init__(self, commands: Sequence[Sequence[str]],
                 on_line: Callable[[int, str], None], storage: str | None = None,
                 slots: Sequence[Slot] | None = None) -> None:
        self.commands = [list(c) for c in commands]
        base = {**os.environ, POOL_ENV: "1",
                **({"GRIDSEARCH_STORAGE": storage} if storage else {})}
        slots = list(slots or [])
        # each slot's own environment (its GPU, how many share its device), else the share counted
        self.envs = [{**base, DEVICE_LOAD_ENV: str(sum(t.where == s.where for t in slots)), **s.env}
                     for s in slots] or [base] * len(self.commands)
        self.on_line = on_line
        self.procs: list[subprocess.Popen] = []
        self._readers: list[threading.Thread] = []

    def start(self) -> None:
        for i, cmd in enumerate(self.commands):
            p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                 bufsize=1, start_new_session=True, env=self.envs[i])
            self.procs.append(p)
            t = threading.Thread(target=self._read, args=(i, p), daemon=True)
            t.start()
            self._readers.append(t)

    def _read(self, i: int, p: subprocess.Popen[str]) -> None:
        assert p.stdout is not None         # started with stdout=PIPE
        for line in p.stdout:
            self.on_line(i, line.rstrip("\n"))

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self.procs]

    def alive(self) -> int:
        return sum(p.poll() is None for p in self.procs)

    def wait(self, timeout: float | None = None) -> list[int | None]:
        for p in self.procs:
            try:
                p.wait(timeout)
            except subprocess.TimeoutExpired:
                pass
        for t in self._readers:
            t.join(1.0)
        return [p.returncode for p in self.procs]

    def stop(self, timeout: float = STOP_TIMEOUT_S) -> list[int | None]:
        """Stop every worker once (SIGTERM: like Ctrl-C), wait; kill those still running after
        ``timeout``."""
        for p in self.procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        codes = self.wait(timeout)
        for p in self.procs:
            if p.poll() is None:
                p.kill()
        return [p.wait() for p in self.procs] if None in codes else codes


def exit_code(codes: Sequence[int | None]) -> int:
    """One exit status for the pool: 0 if every worker succeeded, else the first failure's."""
    bad = [c for c in codes if c != 0]
    if not bad:
        return 0
    if 130 in bad:
        return 130
    return next((c for c in bad if c is not None and c > 0), 1)
