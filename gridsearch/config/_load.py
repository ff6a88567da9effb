"""Reading a study config: TOML → the schema's dataclasses, then semantic checks.

Every problem is one :class:`ConfigError` line that names the key, e.g.
``studies/x.toml: search.alpha.step: must be > 0``.  Also the storage URL's secret file and the
defaults of keys a stored config predates.
"""

from __future__ import annotations

import dataclasses
import math
import tomllib
import typing
from pathlib import Path
from typing import Any

from gridsearch.config._schema import (
    AUGMENTS,
    BUDGET_MODES,
    BUILTIN_METRIC,
    CROPS,
    DATA_LAYOUTS,
    DATA_SOURCES,
    DIRECTIONS,
    EXTERNAL,
    FIDELITY_KEYS,
    FIDELITY_STOPS,
    GENERATED_SOURCES,
    MAX_INT,
    MAX_POINTS,
    MINIMIZABLE,
    OPTIMIZERS,
    PRECISIONS,
    SELECT_MODES,
    RangeConfig,
    StudyConfig,
    _check_bounds,
    device_name,
)
from gridsearch.errors import ConfigError


def with_defaults(stored: dict[str, Any], defaults: dict[str, Any]) -> dict[str, Any]:
    """A stored config (``as_dict``) with the sections and keys it lacks taken from ``defaults``:
    a key added since a study was created reads as its default, which is the old behaviour."""
    out = dict(stored)
    for k, v in defaults.items():
        if k not in out:
            out[k] = v
        elif isinstance(v, dict) and isinstance(out[k], dict):
            out[k] = with_defaults(out[k], v)
    return out


def load(path: str | Path) -> StudyConfig:
    """Read and validate a study config. Raises :class:`ConfigError` with a one-line message."""
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"{p}: no such study config")
    try:
        raw = tomllib.loads(p.read_text())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise ConfigError(f"{p}: not valid TOML ({e})") from None
    try:
        cfg = from_dict(raw, path=str(p))
    except ConfigError as e:
        raise ConfigError(f"{p}: {e}") from None
    return cfg


def from_dict(raw: dict[str, Any], path: str = "", check: bool = True) -> StudyConfig:
    """A config from a dict (a parsed TOML file, or a study's stored config).  ``check=False``
    skips the semantic checks that look at this machine (a stored config's data root may not
    exist here): for reading a study back, never for running one."""
    if "name" not in raw:
        raise ConfigError("name: missing (every study needs a name)")
    cfg = _build(StudyConfig, {**raw, "path": path}, prefix="")
    if check:
        validate(cfg)
    return cfg


def _build(cls: type, raw: Any, prefix: str) -> Any:
    if not isinstance(raw, dict):
        raise ConfigError(f"{prefix.rstrip('.') or 'config'}: expected a table")
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(raw) - names - ({"path"} if cls is StudyConfig else set()))
    if unknown:
        raise ConfigError(f"{prefix}{unknown[0]}: unknown key (known: {', '.join(sorted(names - {'path'}))})")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    kwargs = {}
    for name, value in raw.items():
        kwargs[name] = _coerce(hints[name], value, prefix + name)
        if isinstance(kwargs[name], (int, float)) and not isinstance(kwargs[name], bool):
            _check_bounds(prefix + name, kwargs[name], fields[name].metadata.get("bounds", {}))
    return cls(**kwargs)


def _coerce(hint: Any, value: Any, key: str) -> Any:
    args = typing.get_args(hint)
    if type(None) in args:  # X | None: a table given means X (None only from as_dict())
        if value is None:
            return None
        return _coerce(next(a for a in args if a is not type(None)), value, key)
    if typing.get_origin(hint) is tuple:
        if not isinstance(value, list):
            raise ConfigError(f"{key}: expected a list, got {_typename(value)}")
        return tuple(_coerce(args[0], v, f"{key}[{i}]") for i, v in enumerate(value))
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return _build(hint, value, key + ".")
    if typing.get_origin(hint) is dict:   # a table passed through untouched ([train.args])
        if not isinstance(value, dict):
            raise ConfigError(f"{key}: expected a table, got {_typename(value)}")
        return _plain(value, key)
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{key}: expected a number, got {_typename(value)}")
        return float(value)
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{key}: expected an integer, got {_typename(value)}")
        if abs(value) > MAX_INT:
            raise ConfigError(f"{key}: out of range, got {value}")
        return value
    if hint is str:
        if not isinstance(value, str):
            raise ConfigError(f"{key}: expected a string, got {_typename(value)}")
        return value
    if hint is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{key}: expected true or false, got {_typename(value)}")
        return value
    raise ConfigError(f"{key}: unsupported value")  # pragma: no cover - schema bug


def _plain(value: Any, key: str) -> Any:
    """A copy of a TOML value made of what JSON stores (the config is stored with the study):
    tables, lists, strings, numbers and booleans; a date or time is refused."""
    if isinstance(value, dict):
        return {str(k): _plain(v, f"{key}.{k}") for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v, f"{key}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, float) and not math.isfinite(value):
        raise ConfigError(f"{key}: must be a finite number, got {value}")
    if isinstance(value, (str, int, float, bool)):
        return value
    raise ConfigError(f"{key}: a string, number, boolean, list or table, got {_typename(value)}")


def _typename(value: Any) -> str:
    return {str: "a string", int: "an integer", float: "a number", bool: "a boolean",
            list: "a list", dict: "a table"}.get(type(value), type(value).__name__) + f" ({value!r})"


def _choice(key: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ConfigError(f"{key}: must be one of {', '.join(choices)}, got {value!r}")


def _axis(key: str, r: RangeConfig) -> int:
    """How many values a range has; a range of more than MAX_AXIS is refused (a typo of step)."""
    if r.max < r.min:
        raise ConfigError(f"{key}.max: must be ≥ min ({r.min:g}), got {r.max:g}")
    n = math.floor((r.max - r.min) / r.step + 1e-9) + 1
    if n > MAX_AXIS:
        raise ConfigError(f"{key}.step: {n} values from {r.min:g} to {r.max:g}; at most {MAX_AXIS}")
    return n


MAX_AXIS = 1000


def validate(cfg: StudyConfig) -> None:
    """Semantic checks beyond types and the keys' own ranges; raises :class:`ConfigError`."""
    if not cfg.name or not all(c.isalnum() or c in "-_." for c in cfg.name):
        raise ConfigError(f"name: use letters, digits, '-', '_' or '.', got {cfg.name!r}")
    if cfg.storage and cfg.storage_file:
        raise ConfigError("storage_file: give storage or storage_file, not both")
    d, t, s, b = cfg.data, cfg.train, cfg.search, cfg.budget
    _choice("data.source", d.source, DATA_SOURCES)
    _choice("data.layout", d.layout, DATA_LAYOUTS)
    _choice("data.crop", d.crop, CROPS)
    for key in ("train_dir", "val_dir"):
        name = getattr(d, key)
        if name in (".", "..") or "/" in name or "\\" in name:
            raise ConfigError(f"data.{key}: a folder name inside data.root, got {name!r}")
    if d.layout == "splits" and d.train_dir == "":
        raise ConfigError("data.train_dir: required with data.layout = \"splits\"")
    if d.source == "shapes" and d.image_size < 16:
        raise ConfigError(f"data.image_size: shapes are drawn at 16 px or more, got {d.image_size}")
    if d.source == EXTERNAL:
        if not t.function:
            raise ConfigError('data.source: "external" means the training function brings its '
                              'own data; set train.function = "module:function"')
    elif d.source not in GENERATED_SOURCES:
        if not d.root:
            raise ConfigError(f"data.root: required for source {d.source!r}")
        if not cfg.data_root().is_dir():
            tried = f" (looked for {cfg.data_root()})" if str(cfg.data_root()) != d.root else ""
            raise ConfigError(f"data.root: no such directory: {d.root}{tried}")
    _choice("train.optimizer", t.optimizer, OPTIMIZERS)
    _choice("train.augment", t.augment, AUGMENTS)
    device_name(t.device, "train.device")
    _choice("train.precision", t.precision, PRECISIONS)
    _validate_training(cfg)
    size = 1
    for coef in ("alpha", "beta", "gamma"):
        r: RangeConfig = getattr(s, coef)
        if r.min < 1.0:
            raise ConfigError(f"search.{coef}.min: a coefficient must be ≥ 1, got {r.min}")
        size *= _axis(f"search.{coef}", r)
    if s.width_share is None and size > MAX_POINTS * 10:
        raise ConfigError(f"search: {size} (alpha, beta, gamma) combinations; at most "
                          f"{MAX_POINTS * 10} (use larger steps)")
    from gridsearch.study import PRUNERS, SAMPLERS  # the registries (light: no optuna)

    _choice("search.sampler", s.sampler, tuple(SAMPLERS))
    _choice("search.pruner", s.pruner, tuple(PRUNERS))
    if s.width_share is not None:
        ws = s.width_share
        if not 0 <= ws.min <= ws.max <= 1:
            raise ConfigError(f"search.width_share: need 0 ≤ min ≤ max ≤ 1, got min {ws.min:g}, "
                              f"max {ws.max:g}")
        _axis("search.width_share", ws)
    _choice("budget.mode", b.mode, BUDGET_MODES)
    _validate_objectives(cfg)
    _validate_select(cfg)
    _validate_fidelity(cfg)
    w = cfg.workers
    if w.grace_period <= w.heartbeat_interval:
        raise ConfigError(f"workers.grace_period: must be > heartbeat_interval "
                          f"({w.heartbeat_interval:g}), got {w.grace_period:g}")
    for i, p in enumerate(s.points):
        if len(p) != 3 or min(p) <= 0:
            raise ConfigError(f"search.points[{i}]: expected [alpha, beta, gamma], each > 0, got {list(p)}")
    if s.sampler == "grid" and not cfg.points():
        raise ConfigError(
            f"search: empty space: no (alpha, beta, gamma) on the grid has alpha*beta^2*gamma^2 "
            f"within {s.tolerance:.0%} of {s.target:g}")


def _validate_training(cfg: StudyConfig) -> None:
    """[train] function / metric / direction (whether the function imports is checked where it is
    loaded: :func:`gridsearch.training.load_fit`)."""
    t = cfg.train
    _choice("train.direction", t.direction, DIRECTIONS)
    if not t.metric or not all(c.isalnum() or c in "_-." for c in t.metric):
        raise ConfigError(f"train.metric: a name of letters, digits, '_', '-' or '.', got {t.metric!r}")
    if t.function:
        module, _, func = t.function.partition(":")
        if not module or not func:
            raise ConfigError(f"train.function: expected 'module:function', got {t.function!r}")
        return
    if t.metric != BUILTIN_METRIC:
        raise ConfigError(f"train.metric: the built-in trainer reports {BUILTIN_METRIC!r}, got "
                          f"{t.metric!r} (set train.function to train with your own metric)")
    if t.direction != "maximize":
        raise ConfigError("train.direction: the built-in trainer's accuracy is maximised (set "
                          "train.function to minimise a metric of your own)")
    if t.args:
        raise ConfigError("train.args: passed to a training function only; set train.function")


def _validate_select(cfg: StudyConfig) -> None:
    sel = cfg.select
    _choice("select.mode", sel.mode, SELECT_MODES)
    if sel.max_seeds < sel.n0:
        raise ConfigError(f"select.max_seeds: must be ≥ n0 ({sel.n0}), got {sel.max_seeds}")
    if sel.mode != "race":
        return
    if cfg.objectives.multi:
        raise ConfigError("select.mode: \"race\" chooses by accuracy alone; a study with "
                          "objectives.minimize has a Pareto front instead (use \"fixed\")")
    if cfg.search.pruner != "none":
        raise ConfigError(f"search.pruner: {cfg.search.pruner!r} stops trials a race needs "
                          "whole; use \"none\" with select.mode = \"race\"")


def _validate_objectives(cfg: StudyConfig) -> None:
    o = cfg.objectives
    for i, name in enumerate(o.minimize):
        _choice(f"objectives.minimize[{i}]", name, MINIMIZABLE)
        if name in o.minimize[:i]:
            raise ConfigError(f"objectives.minimize[{i}]: {name!r} is listed twice")
    if o.multi and cfg.search.pruner != "none":
        raise ConfigError(f"search.pruner: {cfg.search.pruner!r} needs a single objective (Optuna "
                          "cannot prune multi-objective trials); use \"none\" with objectives.minimize")




def fidelity_of(cfg: StudyConfig, rung: int) -> tuple[int, int, int]:
    """(epochs, train_size, val_size) of ``rung`` of the ladder: the search's, overridden by the
    rung's table (each rung overrides the search's keys, not the rung below's)."""
    over = cfg.fidelity.rungs[rung] if cfg.fidelity is not None and rung else {}
    return (over.get("epochs", cfg.train.epochs), over.get("train_size", cfg.data.train_size),
            over.get("val_size", cfg.data.val_size))


def _validate_fidelity(cfg: StudyConfig) -> None:
    """[fidelity]: known keys in every rung, integers in range, rung 0 the search itself, and a
    fidelity that rises from rung to rung (no key lower, one key higher)."""
    f = cfg.fidelity
    if f is None:
        return
    _choice("fidelity.stop", f.stop, FIDELITY_STOPS)
    if not f.rungs:
        raise ConfigError("fidelity.rungs: empty; list the rungs cheapest first, rung 0 the "
                          "search itself, e.g. [{}, { epochs = 9 }]")
    if f.rungs[0]:
        raise ConfigError(f"fidelity.rungs[0]: rung 0 is the search itself and must be {{}}, got "
                          f"{f.rungs[0]!r}")
    if len(f.rungs) < 2:
        raise ConfigError("fidelity.rungs: only rung 0 (the search): add a rung to climb, e.g. "
                          "{ epochs = 9 }")
    for i, rung in enumerate(f.rungs):
        for k, v in rung.items():
            key = f"fidelity.rungs[{i}].{k}"
            if k not in FIDELITY_KEYS:
                raise ConfigError(f"{key}: unknown key (a rung overrides "
                                  f"{', '.join(FIDELITY_KEYS)})")
            if isinstance(v, bool) or not isinstance(v, int):
                raise ConfigError(f"{key}: expected an integer, got {_typename(v)}")
            if not 0 < v <= FIDELITY_KEYS[k][1]:
                raise ConfigError(f"{key}: must be > 0 and ≤ {FIDELITY_KEYS[k][1]}, got {v}")
    for i in range(1, len(f.rungs)):
        low, high = fidelity_of(cfg, i - 1), fidelity_of(cfg, i)
        for k, a, b in zip(FIDELITY_KEYS, low, high, strict=True):
            if b < a:
                raise ConfigError(f"fidelity.rungs[{i}].{k}: the fidelity must not fall from rung "
                                  f"to rung: {b} after {a} at rung {i - 1}")
        if low == high:
            raise ConfigError(f"fidelity.rungs[{i}]: the same fidelity as rung {i - 1} "
                              f"(epochs, train_size, val_size = {', '.join(map(str, high))}): "
                              "raise at least one")
