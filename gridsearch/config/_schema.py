"""The study config's schema: frozen dataclasses, each numeric key with its declared range."""

from __future__ import annotations

import dataclasses
import math
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gridsearch import scaling as space
from gridsearch.errors import ConfigError

DATA_SOURCES = ("digits", "shapes", "cifar10", "cifar100", "mnist", "fashionmnist", "svhn",
                "imagefolder", "external")
EXTERNAL = "external"      # the training function brings its own data: gridsearch loads none
OPTIMIZERS = ("sgd", "adamw")
AUGMENTS = ("none", "crop", "random_resized_crop")
GENERATED_SOURCES = ("digits", "shapes")   # bundled or generated: no data.root
DIRECTIONS = ("maximize", "minimize")
BUILTIN_METRIC = "accuracy"   # what the built-in trainer reports
DATA_LAYOUTS = ("auto", "classes", "splits")  # an image folder: one tree, or train/ + val/
CROPS = ("center", "stretch")                 # an image folder's images to image_size squares
PRECISIONS = ("auto", "bf16", "fp16", "fp32")  # training/_precision.py chooses for "auto"
BUDGET_MODES = ("reject", "repair")
# What a study may minimise beside accuracy: user attributes every trial records.
MINIMIZABLE = ("activations", "latency_ms", "train_step_ms", "params")

# Limits of the numeric keys: beyond them a value is a typo, or a run that could never finish.
MAX_INT = 2**53 - 1          # every integer survives JSON (the stored config) exactly
MAX_SEED = 2**32 - 1         # numpy's seed range
MAX_PIXELS = 4096
MAX_IMAGES = 10_000_000
MAX_MULT = 16.0              # a multiplier or coefficient
MAX_POINTS = 100_000         # grid points, trials


def device_name(name: str, key: str = "device") -> str:
    """``name`` if it names a device gridsearch takes (auto, cpu, cuda, cuda:N), else a
    :class:`ConfigError` naming ``key``; whether this host has it is
    :func:`gridsearch.training.resolve_device`'s question."""
    text = str(name).strip()
    if not (text in ("auto", "cpu", "cuda") or (text.startswith("cuda:") and text[5:].isdigit())):
        raise ConfigError(f"{key}: must be auto, cpu, cuda or cuda:N, got {name!r}")
    return text


def num(default: float, *, ge: float | None = None, gt: float | None = None,
        le: float | None = None, lt: float | None = None) -> Any:
    """A numeric field with its allowed range (checked by :func:`from_dict`, listed by
    :func:`numeric_keys`). NaN and ±inf are never allowed."""
    bounds = {k: v for k, v in (("ge", ge), ("gt", gt), ("le", le), ("lt", lt)) if v is not None}
    return field(default=default, metadata={"bounds": bounds})


_OPS = {"ge": ("≥", float.__ge__), "gt": (">", float.__gt__),
        "le": ("≤", float.__le__), "lt": ("<", float.__lt__)}


def _check_bounds(key: str, value: float, bounds: dict[str, float]) -> None:
    if not math.isfinite(value):
        raise ConfigError(f"{key}: must be a finite number, got {value}")
    for op, limit in bounds.items():
        sign, ok = _OPS[op]
        if not ok(float(value), float(limit)):
            raise ConfigError(f"{key}: must be {sign} {limit:g}, got {value:g}")


def numeric_keys(cls: type | None = None, prefix: str = "") -> dict[str, tuple[type, dict]]:
    """Every numeric key of the schema: ``{"train.lr": (float, {"gt": 0, "le": 100}), …}``."""
    cls = cls or StudyConfig
    out: dict[str, tuple[type, dict]] = {}
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        hint = hints[f.name]
        inner = [a for a in typing.get_args(hint) if a is not type(None)] or [hint]
        if isinstance(inner[0], type) and dataclasses.is_dataclass(inner[0]):
            out.update(numeric_keys(inner[0], f"{prefix}{f.name}."))
        elif inner[0] in (int, float):
            out[prefix + f.name] = (inner[0], dict(f.metadata.get("bounds", {})))
    return out


@dataclass(frozen=True)
class ModelConfig:
    name: str = "efficientnet_b0"
    base_resolution: int = num(224, gt=0, le=MAX_PIXELS)
    num_classes: int = num(10, ge=2, le=1_000_000)
    # The baseline's own multipliers: a proxy baseline can be a slimmer copy of the real one.
    width_mult: float = num(1.0, gt=0, le=MAX_MULT)
    depth_mult: float = num(1.0, gt=0, le=MAX_MULT)


@dataclass(frozen=True)
class DataConfig:
    source: str = "digits"
    root: str = ""          # folder of the data set on disk (not for digits or shapes)
    train_size: int = num(512, gt=0, le=MAX_IMAGES)
    val_size: int = num(256, gt=0, le=MAX_IMAGES)
    # shapes are drawn, and ImageFolder images stored, at this size before per-candidate resizing
    image_size: int = num(64, gt=0, le=MAX_PIXELS)
    seed: int = num(0, ge=0, le=MAX_SEED)
    # imagefolder: "auto" tells one tree of class folders (split here) from a train_dir/ beside a
    # val_dir/ ("" = the first of val, validation, valid, test), each holding the class folders
    layout: str = "auto"
    train_dir: str = "train"
    val_dir: str = ""
    crop: str = "center"    # center: shorter side to image_size, then the centre; or stretch
    skip_bad: bool = False  # leave unreadable images out (listed in the manifest), not fail


@dataclass(frozen=True)
class TrainConfig:
    epochs: int = num(2, gt=0, le=100_000)
    batch_size: int = num(64, gt=0, le=MAX_IMAGES)
    optimizer: str = "sgd"
    lr: float = num(0.05, gt=0, le=100)
    momentum: float = num(0.9, ge=0, lt=1)
    weight_decay: float = num(5e-5, ge=0, le=1)
    label_smoothing: float = num(0.0, ge=0, lt=1)
    seed: int = num(0, ge=0, le=MAX_SEED)
    seeds: int = num(1, ge=1, le=1000)   # train every point this many times: seed, seed+1, …
    device: str = "auto"    # auto | cpu | cuda | cuda:N
    # On-device augmentation of each training batch (seeded): none | crop (a random crop of the
    # image padded by 1/8 of its size) | random_resized_crop; hflip adds a random horizontal flip
    # (only where a mirror image keeps its class: not for digits).
    augment: str = "none"
    hflip: bool = False
    # auto: bf16 autocast on GPUs of compute capability ≥ 8.0, fp16 + a gradient scaler on ≥ 7.0,
    # else fp32 (the CPU: fp32); or bf16 | fp16 | fp32 (training/_precision.py)
    precision: str = "auto"
    # deterministic algorithms (cuDNN, cuBLAS): a retried (point, seed) reproduces on a GPU
    # (training/_determinism.py)
    deterministic: bool = False
    # The training function: "module:function" taking (model, ctx: TrainContext) and returning the
    # metric (a number, or a dict holding it and any other numbers); "" = the built-in trainer.
    # A module beside the config file imports without being installed.
    function: str = ""
    metric: str = BUILTIN_METRIC     # the name every screen shows
    direction: str = "maximize"      # or "minimize" (e.g. metric = "val_loss")
    args: dict[str, Any] = field(default_factory=dict)   # [train.args]: handed over as ctx.args

    @property
    def maximize(self) -> bool:
        return self.direction == "maximize"

    def seed_list(self) -> list[int]:
        """The seeds every point is trained with (weights and batch order)."""
        return [self.seed + i for i in range(self.seeds)]


@dataclass(frozen=True)
class RangeConfig:
    min: float = num(1.0, ge=0, le=MAX_MULT)
    max: float = num(1.0, ge=0, le=MAX_MULT)
    step: float = num(0.1, gt=0, le=MAX_MULT)

    def to_range(self) -> space.Range:
        return space.Range(self.min, self.max, self.step)


@dataclass(frozen=True)
class SearchConfig:
    alpha: RangeConfig = field(default_factory=lambda: RangeConfig(1.0, 1.4, 0.1))
    beta: RangeConfig = field(default_factory=lambda: RangeConfig(1.0, 1.3, 0.05))
    gamma: RangeConfig = field(default_factory=lambda: RangeConfig(1.0, 1.3, 0.05))
    target: float = num(2.0, ge=1, le=1000)   # FLOPs multiplier at phi = 1
    tolerance: float = num(0.05, ge=0, lt=1)    # on the nominal α·β²·γ²
    phi: float = num(1.0, gt=0, le=20)
    sampler: str = "grid"
    n_trials: int = num(0, ge=0, le=MAX_POINTS)  # non-grid samplers; 0 = as many as the grid has
    pruner: str = "none"
    seed: int = num(0, ge=0, le=MAX_SEED)
    # An explicit list of (α, β, γ) instead of the grid (a confirmation study re-trains these).
    points: tuple[tuple[float, ...], ...] = ()
    # Search the width share a of fast compound scaling instead of (α, β, γ): each a is the point
    # (α, β, γ) = (s^((1−a)/2), s^(a/2), s^((1−a)/4)) with s = target; alpha/beta/gamma are unused.
    width_share: RangeConfig | None = None


@dataclass(frozen=True)
class BudgetConfig:
    mode: str = "reject"
    tolerance: float = num(0.05, gt=0, lt=1)   # on the measured FLOPs ratio


@dataclass(frozen=True)
class ObjectivesConfig:
    """What a trial is scored by: accuracy (maximised) alone by default; with ``minimize``, several
    objectives at once (a Pareto front).  ``max_*`` are constraints: a candidate over one is
    infeasible, recorded with the reason, and not trained.  0 means no constraint."""

    minimize: tuple[str, ...] = ()   # e.g. ["activations", "latency_ms"]
    max_activations: int = num(0, ge=0, le=MAX_INT)
    max_latency_ms: float = num(0.0, ge=0, le=86_400_000)
    latency: bool = False            # time every trial (implied by a latency objective or limit)
    latency_batch: int = num(8, gt=0, le=4096)
    latency_repeats: int = num(5, gt=0, le=10_000)
    latency_warmup: int = num(2, ge=0, le=10_000)

    @property
    def multi(self) -> bool:
        return bool(self.minimize)

    @property
    def timed(self) -> bool:
        return (self.latency or self.max_latency_ms > 0
                or any(k in ("latency_ms", "train_step_ms") for k in self.minimize))


SELECT_MODES = ("fixed", "race")


@dataclass(frozen=True)
class SelectConfig:
    """How the study chooses its point under seed noise.  ``fixed``: every point is trained
    ``train.seeds`` times and the best mean wins (Welch ties named).  ``race``: ranking and
    selection by Kim & Nelson's sequential procedure — every feasible point ``n0`` seeds, then
    seed rounds only for the points not yet eliminated, until one is left (the best within
    ``delta`` with probability ``confidence``) or ``max_seeds`` is reached."""

    mode: str = "fixed"
    delta: float = num(0.01, gt=0, lt=1)          # indifference zone, in accuracy
    confidence: float = num(0.95, gt=0.5, lt=1)   # P(correct selection) when the best is δ ahead
    n0: int = num(5, ge=2, le=1000)               # first-stage seeds per point
    max_seeds: int = num(12, ge=2, le=1000)       # the cap per point


FIDELITY_STOPS = ("stable", "all")
FIDELITY_KEYS = {"epochs": ("train", 100_000), "train_size": ("data", MAX_IMAGES),
                 "val_size": ("data", MAX_IMAGES)}   # what a rung may override: section, limit


@dataclass(frozen=True)
class FidelityConfig:
    """The fidelity ladder (``gridsearch climb``): ``rungs`` cheapest first, each a table of the
    [train] / [data] keys it overrides (:data:`FIDELITY_KEYS`), rung 0 the search itself (``{}``);
    ``top`` points carried from one rung to the next; ``stop``: ``stable`` (stop once a rung keeps
    the previous rung's top group) or ``all`` (climb every rung)."""

    rungs: tuple[dict[str, Any], ...] = ()
    top: int = num(4, ge=2, le=MAX_POINTS)
    stop: str = "stable"


@dataclass(frozen=True)
class WorkersConfig:
    """Crash detection, the same for every worker of a study (so it is part of the stored config)."""

    heartbeat_interval: float = num(10.0, gt=0, le=86_400)  # seconds between a trial's heartbeats
    grace_period: float = num(30.0, gt=0, le=7 * 86_400)    # silent this long: failed, retried


@dataclass(frozen=True)
class StudyConfig:
    name: str
    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    search: SearchConfig = field(default_factory=SearchConfig)
    budget: BudgetConfig = field(default_factory=BudgetConfig)
    objectives: ObjectivesConfig = field(default_factory=ObjectivesConfig)
    select: SelectConfig = field(default_factory=SelectConfig)
    workers: WorkersConfig = field(default_factory=WorkersConfig)
    fidelity: FidelityConfig | None = None   # [fidelity]: the ladder `gridsearch climb` climbs
    storage: str = ""         # a URL; or storage_file: a file holding it (e.g. /run/secrets/…)
    storage_file: str = ""
    path: str = ""            # where the config was read from (not a TOML key)

    @property
    def target_multiplier(self) -> float:
        return self.search.target ** self.search.phi

    def points(self) -> list[space.Point]:
        s = self.search
        if s.points:
            return [space.Point(*p) for p in s.points]
        if s.width_share is not None:
            return [space.width_share_point(a, s.target) for a in self.width_shares()]
        return space.grid(s.alpha.to_range(), s.beta.to_range(), s.gamma.to_range(),
                          s.target, s.tolerance)

    def width_shares(self) -> list[float]:
        """The grid of width shares a (empty unless ``search.width_share`` is set)."""
        w = self.search.width_share
        return w.to_range().values() if w is not None else []

    def relative(self, name: str) -> Path:
        p = Path(name)
        return Path(self.path).parent / p if not p.is_absolute() and self.path else p

    def folder(self) -> Path | None:
        """The config file's folder (where a user's model or training module may live)."""
        return Path(self.path).resolve().parent if self.path else None

    def data_root(self) -> Path:
        """The data root; a relative one is taken from the config file's folder."""
        return self.relative(self.data.root)

    def as_dict(self) -> dict[str, Any]:
        d = _lists(dataclasses.asdict(self))
        d.pop("path")
        d.pop("storage")  # may hold a password: never stored or exported
        d.pop("storage_file")
        return d


def _lists(obj: Any) -> Any:
    """Tuples as lists, as JSON stores them (so a stored config compares equal)."""
    if isinstance(obj, dict):
        return {k: _lists(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_lists(v) for v in obj]
    return obj
