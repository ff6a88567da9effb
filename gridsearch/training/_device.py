"""The device a process trains on: one check for every command, and what the worker pool tells it.

:func:`check_device` is the pure rule (a name and how many CUDA devices this process sees → the device
to use, or a :class:`~gridsearch.errors.ConfigError` in one line); :func:`resolve_device` applies it to
this process.  ``run``, ``worker``, ``confirm`` and ``compare`` all go through :func:`resolve_device`
before they touch the store, so ``--device cuda:7`` on a one-GPU host is ``gridsearch: error: …``
with exit status 2, never an error from deep inside torch.

A worker started by ``run --workers N`` sees one GPU (``CUDA_VISIBLE_DEVICES``, set by the pool)
and is told in :data:`DEVICE_LOAD_ENV` how many workers share that device (itself included):
:func:`device_load` reads it, e.g. to record that a latency was timed under their load.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from gridsearch.config import device_name
from gridsearch.errors import ConfigError

DEVICE_LOAD_ENV = "GRIDSEARCH_DEVICE_LOAD"
VISIBLE_ENV = "CUDA_VISIBLE_DEVICES"


def parse_device(name: str, key: str = "device") -> str:
    """``name`` if it is a device name gridsearch takes (auto, cpu, cuda, cuda:N), else a
    :class:`ConfigError` naming ``key`` (the config's own check)."""
    return device_name(name, key)


def check_device(name: str, n_cuda: int, env: Mapping[str, str] | None = None) -> str:
    """The device ``name`` stands for on a host where this process sees ``n_cuda`` CUDA devices:
    ``"cpu"``, ``"cuda"`` or ``"cuda:N"``.  ``auto`` is ``cuda`` when there is one, else ``cpu``."""
    text = parse_device(name)
    if text == "auto":
        return "cuda" if n_cuda else "cpu"
    if text == "cpu":
        return text
    env = os.environ if env is None else env
    visible = env.get(VISIBLE_ENV)
    seen = f" ({VISIBLE_ENV}={visible})" if visible is not None else ""
    if not n_cuda:
        raise ConfigError(f"device {text}: no CUDA device is available on this host{seen}")
    if text.startswith("cuda:") and int(text[5:]) >= n_cuda:
        have = "cuda:0" if n_cuda == 1 else f"cuda:0 to cuda:{n_cuda - 1}"
        raise ConfigError(f"device {text}: this host has {n_cuda} CUDA device(s), {have}{seen}")
    return text


def cuda_count() -> int:
    """The CUDA devices this process sees (0 without a driver or a CUDA build of torch)."""
    import torch

    return torch.cuda.device_count() if torch.cuda.is_available() else 0


def resolve_device(name: str = "auto"):
    """:func:`check_device` for this process: the ``torch.device`` to train on."""
    import torch

    return torch.device(check_device(name, cuda_count()))


def prepare_device(name: str, train: Any = None):
    """Everything a command checks about its device before it touches the store, in one place
    (``run``, ``worker``, ``confirm``, ``compare``): the device (:func:`resolve_device`); with the
    ``[train]`` section ``train``, that its precision is possible there
    (:func:`~gridsearch.training._precision.precision_for`) and, for ``deterministic = true``,
    cuBLAS's workspace setting in the environment before any CUDA work."""
    dev = resolve_device(name)
    if train is not None:
        from gridsearch.training import _determinism, _precision

        _precision.precision_for(dev, getattr(train, "precision", "auto"))
        _determinism.prepare_env(bool(getattr(train, "deterministic", False)))
    return dev


def device_load(env: Mapping[str, str] | None = None) -> int:
    """How many workers share this process's device (itself included): the pool's
    :data:`DEVICE_LOAD_ENV`, else 1 (a process on its own)."""
    raw = (os.environ if env is None else env).get(DEVICE_LOAD_ENV, "").strip()
    try:
        return max(1, int(raw)) if raw else 1
    except ValueError:
        return 1


def describe_device(device: Any) -> str:
    """A device in words: the GPU's name, or the CPU."""
    import torch

    device = torch.device(device)
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return "CPU"
