"""Study configs: TOML files validated into frozen dataclasses.

Every problem is reported as one :class:`ConfigError` line that names the key, e.g.
``studies/x.toml: search.alpha.step: must be > 0``.
"""

from __future__ import annotations

import dataclasses
import tomllib
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gridsearch.scaling import _space as space
from gridsearch.errors import ConfigError

DATA_SOURCES = ("digits", "shapes", "cifar10", "cifar100", "mnist", "fashionmnist", "svhn",
                "imagefolder")
OPTIMIZERS = ("sgd", "adamw")
AUGMENTS = ("none", "crop", "random_resized_crop")
GENERATED_SOURCES = ("digits", "shapes")   # bundled or generated: no data.root
SAMPLERS = ("grid", "tpe", "qmc", "random")
PRUNERS = ("none", "median", "hyperband")
BUDGET_MODES = ("reject", "repair")
# What a study may minimise beside accuracy: user attributes every trial records.
MINIMIZABLE = ("activations", "latency_ms", "train_step_ms", "params")


@dataclass(frozen=True)
class ModelConfig:
    name: str = "efficientnet_b0"
    base_resolution: int = 224
    num_classes: int = 10
    # The baseline's own multipliers: a proxy baseline can be a slimmer copy of the real one.
    width_mult: float = 1.0
    depth_mult: float = 1.0


@dataclass(frozen=True)
class DataConfig:
    source: str = "digits"
    root: str = ""          # folder of the data set on disk (not for digits or shapes)
    train_size: int = 512
    val_size: int = 256
    # shapes are drawn, and ImageFolder images stored, at this size before per-candidate resizing
    image_size: int = 64
    seed: int = 0


@dataclass(frozen=True)
class TrainConfig:
    epochs: int = 2
    batch_size: int = 64
    optimizer: str = "sgd"
    lr: float = 0.05
    momentum: float = 0.9
    weight_decay: float = 5e-5
    label_smoothing: float = 0.0
    seed: int = 0
    device: str = "auto"    # auto | cpu | cuda | cuda:N
    # On-device augmentation of each training batch (seeded): none | crop (a random crop of the
    # image padded by 1/8 of its size) | random_resized_crop; hflip adds a random horizontal flip
    # (only where a mirror image keeps its class: not for digits).
    augment: str = "none"
    hflip: bool = False


@dataclass(frozen=True)
class RangeConfig:
    min: float = 1.0
    max: float = 1.0
    step: float = 0.1

    def to_range(self) -> space.Range:
        return space.Range(self.min, self.max, self.step)


@dataclass(frozen=True)
class SearchConfig:
    alpha: RangeConfig = field(default_factory=lambda: RangeConfig(1.0, 1.4, 0.1))
    beta: RangeConfig = field(default_factory=lambda: RangeConfig(1.0, 1.3, 0.05))
    gamma: RangeConfig = field(default_factory=lambda: RangeConfig(1.0, 1.3, 0.05))
    target: float = 2.0       # FLOPs multiplier at phi = 1
    tolerance: float = 0.05   # on the nominal α·β²·γ²
    phi: float = 1.0
    sampler: str = "grid"
    n_trials: int = 0         # for non-grid samplers; 0 = as many as the grid has points
    pruner: str = "none"
    seed: int = 0
    # Search the width share a of fast compound scaling instead of (α, β, γ): each a is the point
    # (α, β, γ) = (s^((1−a)/2), s^(a/2), s^((1−a)/4)) with s = target; alpha/beta/gamma are unused.
    width_share: RangeConfig | None = None


@dataclass(frozen=True)
class BudgetConfig:
    mode: str = "reject"
    tolerance: float = 0.05   # on the measured FLOPs ratio


@dataclass(frozen=True)
class ObjectivesConfig:
    """What a trial is scored by: accuracy (maximised) alone by default; with ``minimize``, several
    objectives at once (a Pareto front).  ``max_*`` are constraints: a candidate over one is
    infeasible, recorded with the reason, and not trained.  0 means no constraint."""

    minimize: tuple[str, ...] = ()   # e.g. ["activations", "latency_ms"]
    max_activations: int = 0
    max_latency_ms: float = 0.0
    latency: bool = False            # time every trial (implied by a latency objective or limit)
    latency_batch: int = 8
    latency_repeats: int = 5
    latency_warmup: int = 2

    @property
    def multi(self) -> bool:
        return bool(self.minimize)

    @property
    def timed(self) -> bool:
        return (self.latency or self.max_latency_ms > 0
                or any(k in ("latency_ms", "train_step_ms") for k in self.minimize))


@dataclass(frozen=True)
class WorkersConfig:
    """Crash detection, the same for every worker of a study (so it is part of the stored config)."""

    heartbeat_interval: float = 10.0  # seconds between a running trial's heartbeats
    grace_period: float = 30.0        # a trial silent this long is failed and its point retried


@dataclass(frozen=True)
class StudyConfig:
    name: str
    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    search: SearchConfig = field(default_factory=SearchConfig)
    budget: BudgetConfig = field(default_factory=BudgetConfig)
    objectives: ObjectivesConfig = field(default_factory=ObjectivesConfig)
    workers: WorkersConfig = field(default_factory=WorkersConfig)
    storage: str = ""
    path: str = ""            # where the config was read from (not a TOML key)

    @property
    def target_multiplier(self) -> float:
        return self.search.target ** self.search.phi

    def points(self) -> list[space.Point]:
        s = self.search
        if s.width_share is not None:
            return [space.width_share_point(a, s.target) for a in self.width_shares()]
        return space.grid(s.alpha.to_range(), s.beta.to_range(), s.gamma.to_range(),
                          s.target, s.tolerance)

    def width_shares(self) -> list[float]:
        """The grid of width shares a (empty unless ``search.width_share`` is set)."""
        w = self.search.width_share
        return w.to_range().values() if w is not None else []

    def storage_url(self) -> str:
        """The configured storage URL, or a SQLite file next to the config named after the study."""
        if self.storage:
            return self.storage
        folder = Path(self.path).parent if self.path else Path("studies")
        return f"sqlite:///{folder / (self.name + '.db')}"

    def data_root(self) -> Path:
        """The data root; a relative one is taken from the config file's folder."""
        root = Path(self.data.root)
        if not root.is_absolute() and self.path:
            root = Path(self.path).parent / root
        return root

    def as_dict(self) -> dict[str, Any]:
        d = _lists(dataclasses.asdict(self))
        d.pop("path")
        d.pop("storage")  # may hold a password: never stored or exported
        return d


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


def _lists(obj: Any) -> Any:
    """Tuples as lists, as JSON stores them (so a stored config compares equal)."""
    if isinstance(obj, dict):
        return {k: _lists(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_lists(v) for v in obj]
    return obj


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


def from_dict(raw: dict[str, Any], path: str = "") -> StudyConfig:
    if "name" not in raw:
        raise ConfigError("name: missing (every study needs a name)")
    cfg = _build(StudyConfig, {**raw, "path": path}, prefix="")
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
    kwargs = {}
    for name, value in raw.items():
        kwargs[name] = _coerce(hints[name], value, prefix + name)
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
    if dataclasses.is_dataclass(hint):
        return _build(hint, value, key + ".")
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{key}: expected a number, got {_typename(value)}")
        return float(value)
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{key}: expected an integer, got {_typename(value)}")
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


def _typename(value: Any) -> str:
    return {str: "a string", int: "an integer", float: "a number", bool: "a boolean",
            list: "a list", dict: "a table"}.get(type(value), type(value).__name__) + f" ({value!r})"


def _choice(key: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ConfigError(f"{key}: must be one of {', '.join(choices)}, got {value!r}")


def _positive(key: str, value: float) -> None:
    if value <= 0:
        raise ConfigError(f"{key}: must be > 0, got {value}")


def validate(cfg: StudyConfig) -> None:
    """Semantic checks beyond types; raises :class:`ConfigError`."""
    if not cfg.name or not all(c.isalnum() or c in "-_." for c in cfg.name):
        raise ConfigError(f"name: use letters, digits, '-', '_' or '.', got {cfg.name!r}")
    m, d, t, s, b = cfg.model, cfg.data, cfg.train, cfg.search, cfg.budget
    _positive("model.base_resolution", m.base_resolution)
    if m.num_classes < 2:
        raise ConfigError(f"model.num_classes: must be ≥ 2, got {m.num_classes}")
    _positive("model.width_mult", m.width_mult)
    _positive("model.depth_mult", m.depth_mult)
    _choice("data.source", d.source, DATA_SOURCES)
    for key in ("train_size", "val_size", "image_size"):
        _positive(f"data.{key}", getattr(d, key))
    if d.source == "shapes" and d.image_size < 16:
        raise ConfigError(f"data.image_size: shapes are drawn at 16 px or more, got {d.image_size}")
    if d.source not in GENERATED_SOURCES:
        if not d.root:
            raise ConfigError(f"data.root: required for source {d.source!r}")
        if not cfg.data_root().is_dir():
            raise ConfigError(f"data.root: no such directory: {d.root}")
    for key in ("epochs", "batch_size"):
        _positive(f"train.{key}", getattr(t, key))
    _positive("train.lr", t.lr)
    _choice("train.optimizer", t.optimizer, OPTIMIZERS)
    _choice("train.augment", t.augment, AUGMENTS)
    if not (t.device in ("auto", "cpu", "cuda") or t.device.startswith("cuda:")):
        raise ConfigError(f"train.device: must be auto, cpu, cuda or cuda:N, got {t.device!r}")
    for coef in ("alpha", "beta", "gamma"):
        r: RangeConfig = getattr(s, coef)
        if r.min < 1.0:
            raise ConfigError(f"search.{coef}.min: a coefficient must be ≥ 1, got {r.min}")
        if r.max < r.min:
            raise ConfigError(f"search.{coef}.max: must be ≥ min ({r.min}), got {r.max}")
        _positive(f"search.{coef}.step", r.step)
    _positive("search.target", s.target)
    if s.target < 1:
        raise ConfigError(f"search.target: a FLOPs multiplier must be ≥ 1, got {s.target}")
    if not 0 <= s.tolerance < 1:
        raise ConfigError(f"search.tolerance: must be in [0, 1), got {s.tolerance}")
    _positive("search.phi", s.phi)
    _choice("search.sampler", s.sampler, SAMPLERS)
    _choice("search.pruner", s.pruner, PRUNERS)
    if s.n_trials < 0:
        raise ConfigError(f"search.n_trials: must be ≥ 0, got {s.n_trials}")
    if s.width_share is not None:
        ws = s.width_share
        if not 0 <= ws.min <= ws.max <= 1:
            raise ConfigError(f"search.width_share: need 0 ≤ min ≤ max ≤ 1, got min {ws.min:g}, "
                              f"max {ws.max:g}")
        _positive("search.width_share.step", ws.step)
    _choice("budget.mode", b.mode, BUDGET_MODES)
    _validate_objectives(cfg)
    if not 0 < b.tolerance < 1:
        raise ConfigError(f"budget.tolerance: must be in (0, 1), got {b.tolerance}")
    w = cfg.workers
    _positive("workers.heartbeat_interval", w.heartbeat_interval)
    if w.grace_period <= w.heartbeat_interval:
        raise ConfigError(f"workers.grace_period: must be > heartbeat_interval "
                          f"({w.heartbeat_interval:g}), got {w.grace_period:g}")
    if s.sampler == "grid" and not cfg.points():
        raise ConfigError(
            f"search: empty space: no (alpha, beta, gamma) on the grid has alpha*beta^2*gamma^2 "
            f"within {s.tolerance:.0%} of {s.target:g}")


def _validate_objectives(cfg: StudyConfig) -> None:
    o = cfg.objectives
    for i, name in enumerate(o.minimize):
        _choice(f"objectives.minimize[{i}]", name, MINIMIZABLE)
        if name in o.minimize[:i]:
            raise ConfigError(f"objectives.minimize[{i}]: {name!r} is listed twice")
    for key in ("max_activations", "max_latency_ms"):
        if getattr(o, key) < 0:
            raise ConfigError(f"objectives.{key}: must be ≥ 0 (0: no limit), got {getattr(o, key)}")
    _positive("objectives.latency_batch", o.latency_batch)
    _positive("objectives.latency_repeats", o.latency_repeats)
    if o.latency_warmup < 0:
        raise ConfigError(f"objectives.latency_warmup: must be ≥ 0, got {o.latency_warmup}")
    if o.multi and cfg.search.pruner != "none":
        raise ConfigError(f"search.pruner: {cfg.search.pruner!r} needs a single objective (Optuna "
                          "cannot prune multi-objective trials); use \"none\" with objectives.minimize")


load_config = load  # the name the top-level package exports
