"""Training as a function: ``fit(model, ctx) -> metric``, the built-in trainer one such function.

gridsearch realises and measures every candidate network, then hands it to a training function
with a :class:`TrainContext` saying how to train it: the point, the resolution, the seed, the
fidelity (epochs, subset sizes), the device, gridsearch's data subsets (or None when the function
brings its own data) and the user's ``[train.args]``.  The function returns its metric — a number,
or a dict holding ``[train] metric`` and any other numbers — and may call ``ctx.report(epoch,
value)`` after each epoch (learning curves, the pruner).

The built-in trainer (:func:`builtin_fit`) is one such function and the default: every trial of
every study goes through :func:`load_fit` and :func:`result_of`, whichever function it is.
"""

from __future__ import annotations

import inspect
import math
import numbers
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gridsearch._imports import RefError, import_ref
from gridsearch.errors import ConfigError, TrainingError


class FunctionError(TrainingError):
    """The user's training function raised: the message is its exception's type, message and the
    line of the user's file it came from (a trial's ``error`` as it is, no type prefixed)."""


@dataclass(frozen=True)
class TrainContext:
    """How to train one candidate network once (one point, one seed).  Field by field:

    * ``alpha``, ``beta``, ``gamma``, ``phi`` — the point, or None for a network that is not one
      (a depth-only network of a comparison);
    * ``spec`` — the scaled network (:class:`gridsearch.Spec`: depth, width and resolution
      multipliers, the strategy it came from);
    * ``resolution`` — the input size in pixels the network was measured at: train and evaluate
      at it;
    * ``seed`` — this run's seed (the model's initial weights were drawn from it already);
    * ``epochs``, ``train_size``, ``val_size``, ``batch_size``, ``lr`` — the fidelity and recipe
      of ``[train]`` / ``[data]`` (a confirmation's or a ladder rung's overrides included);
    * ``device`` — where to train (a ``torch.device``: the worker's one visible GPU, or the CPU);
    * ``data`` — gridsearch's subsets (:class:`gridsearch.training.Subsets`: ``train_x``,
      ``train_y``, ``val_x``, ``val_y``, ``norm(device)``), or None with ``data.source =
      "external"``;
    * ``args`` — the ``[train.args]`` table, untouched;
    * ``metric`` — the name of the value to return (``[train] metric``);
    * ``recipe`` — the whole ``[train]`` section with this run's seed;
    * ``report(epoch, value)`` — call after each epoch with the metric so far: the trial's
      learning curve, and the pruner (it raises ``optuna.TrialPruned`` to stop a pruned trial:
      let it propagate).
    """

    alpha: float | None
    beta: float | None
    gamma: float | None
    phi: float | None
    spec: Any
    resolution: int
    seed: int
    epochs: int
    train_size: int
    val_size: int
    batch_size: int
    lr: float
    device: Any
    data: Any
    args: Mapping[str, Any]
    metric: str
    recipe: Any
    report: Callable[[int, float], None] = field(default=lambda epoch, value: None, repr=False)


Fit = Callable[[Any, TrainContext], Any]


@dataclass
class Trained:
    """What one training run gave, whichever function ran: the metric's value, the other numbers
    it returned, and (the built-in trainer's) resources."""

    value: float
    metrics: dict[str, float] = field(default_factory=dict)
    result: Any = None      # the built-in trainer's TrainResult (throughput, precision, …)


def builtin_fit(model: Any, ctx: TrainContext) -> Any:
    """The built-in trainer (:func:`gridsearch.training.train`) as a training function: returns
    its :class:`~gridsearch.training.TrainResult` (the accuracy and what the run used)."""
    from gridsearch.training._trainer import train

    return train(model, ctx.data, ctx.resolution, ctx.recipe, ctx.device, ctx.report)


def load_fit(cfg: Any) -> Fit:
    """The training function of a study config: ``[train] function`` imported (from the config's
    folder first) and checked to take ``(model, ctx)``, else the built-in trainer.  A
    :class:`ConfigError` naming ``train.function`` when it cannot be used."""
    ref = cfg.train.function
    if not ref:
        return builtin_fit
    try:
        fn = import_ref(ref, (cfg.folder(),))
    except RefError as e:
        raise ConfigError(f"train.function: {e}") from None
    try:
        inspect.signature(fn).bind(object(), object())
    except TypeError:
        raise ConfigError(f"train.function: {ref} must take (model, ctx), its signature is "
                          f"{_signature(fn)}") from None
    except ValueError:        # no signature to read (a builtin): trust it
        pass
    return fn


def _signature(fn: Callable[..., Any]) -> str:
    try:
        return f"{getattr(fn, '__name__', 'function')}{inspect.signature(fn)}"
    except (TypeError, ValueError):
        return "unreadable"


def call_fit(fit: Fit, model: Any, ctx: TrainContext) -> Any:
    """``fit(model, ctx)``; an error of a user's function becomes a :class:`TrainingError` whose
    message names the line of the user's file it came from.  Out of memory, a lost device, a
    pruned trial and Ctrl-C pass as they are (the runner retries, stops or prunes)."""
    import optuna

    from gridsearch.training._faults import classify

    try:
        return fit(model, ctx)
    except optuna.TrialPruned:
        raise
    except Exception as e:  # sorted: the trial's fault unless the device's
        if fit is builtin_fit or classify(e) != "trial" or isinstance(e, TrainingError):
            raise
        raise FunctionError(f"{type(e).__name__}: {_first_line(e)}{_where(e, fit)}") from e


def _first_line(e: BaseException) -> str:
    lines = [ln.strip() for ln in str(e).splitlines() if ln.strip()]
    return lines[0][:300] if lines else ""


def _where(e: BaseException, fit: Fit) -> str:
    """`` (mytrain.py:42 in fit)``: the last frame of the traceback in the function's own file."""
    home = getattr(inspect.getmodule(fit), "__file__", None)
    frames = traceback.extract_tb(e.__traceback__)
    mine = [f for f in frames if home and Path(f.filename) == Path(home)] or frames[-1:]
    if not mine:
        return ""
    f = mine[-1]
    return f" ({Path(f.filename).name}:{f.lineno} in {f.name})"


def result_of(returned: Any, metric: str) -> Trained:
    """What a training function returned, checked: a finite number (the metric), a dict holding
    ``metric`` as a finite number (its other finite numbers kept as extra metrics), or the
    built-in trainer's result.  :class:`TrainingError` saying what is wrong otherwise."""
    from gridsearch.training._trainer import TrainResult

    if isinstance(returned, TrainResult):
        return Trained(_number(returned.accuracy, metric), result=returned)
    if isinstance(returned, Mapping):
        if metric not in returned:
            keys = ", ".join(map(repr, list(returned)[:8])) or "none"
            raise TrainingError(f"the training function returned no {metric!r} (train.metric); "
                                f"its keys: {keys}")
        extras = {}
        for k, v in returned.items():
            if k != metric:
                try:
                    extras[str(k)] = _number(v, str(k))
                except TrainingError:
                    continue       # only finite numbers are kept
        return Trained(_number(returned[metric], metric), extras)
    return Trained(_number(returned, metric))


def _number(v: Any, name: str) -> float:
    if isinstance(v, bool) or isinstance(v, (str, bytes)):
        raise TrainingError(f"the training function's {name!r} is {type(v).__name__} {v!r}, "
                            "not a number")
    if not isinstance(v, numbers.Real):
        item = getattr(v, "item", None)      # a 0-d tensor or numpy scalar
        try:
            x = item() if callable(item) else None
        except (TypeError, ValueError, RuntimeError):
            x = None
        if x is None or isinstance(x, bool) or not isinstance(x, numbers.Real):
            raise TrainingError(f"the training function's {name!r} is not a number "
                                f"(got {type(v).__name__})")
        v = x
    x = float(v)
    if not math.isfinite(x):
        raise TrainingError(f"the training function's {name!r} is {x} (not finite)")
    return x
