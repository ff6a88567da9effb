"""The study store: one study config bound to one storage URL, and the studies derived from it.

A :class:`Store` opens Optuna's RDB storage (SQLite or PostgreSQL, with heartbeats), creates the
study once — whoever comes first; a concurrent first start on a fresh database is retried — or
loads it and checks that the stored config is the same, and reads trials back as
:class:`~gridsearch.study._record.TrialRecord`\\ s.  It knows nothing of training: the loop
(:mod:`gridsearch.study._loop`) runs a plan against it.  A confirmation (``<name>-confirm``), a
comparison (``<name>-compare``), the rungs of a fidelity ladder (``<name>-r1``, …) and a check one
φ up (``<name>-phi2``) are studies of their own in the same store (:meth:`Store.derived`).
"""

from __future__ import annotations

from typing import Any

import optuna

from gridsearch.config import StudyConfig, from_dict, storage_url, with_defaults
from gridsearch.errors import StorageError
from gridsearch.storage import open_storage, redact, sqlite_path
from gridsearch.study import _objectives as objectives, _sampling as sampling
from gridsearch.study._record import TrialRecord, read

# Config keys that may differ between runs of one study without changing what it measures.
# [fidelity] says how far `climb` goes, not what a study measures: added after a search, it
# leaves the search's study as it was (each rung is a study of its own, with its own config).
_VOLATILE = {("train", "device"), ("name",), ("fidelity",)}  # a derived study: its source's name
CONFIRM_SUFFIX = "-confirm"
COMPARE_SUFFIX = "-compare"


def confirmation_name(study_name: str) -> str:
    """The study that confirms ``study_name`` (``gridsearch confirm``), in the same store."""
    return study_name + CONFIRM_SUFFIX


def rung_name(study_name: str, rung: int) -> str:
    """Rung ``rung`` ≥ 1 of ``study_name``'s fidelity ladder (``gridsearch climb``)."""
    return f"{study_name}-r{rung}"


def verify_name(study_name: str, phi: float) -> str:
    """The check of ``study_name``'s choice one φ up (``gridsearch verify --phi``)."""
    return f"{study_name}-phi{phi:g}"


def compare_name(study_name: str) -> str:
    """The study that compares ``study_name``'s compound scaling with single dimensions."""
    return study_name + COMPARE_SUFFIX


class Store:
    """One study config bound to one storage URL (see the module docstring)."""

    def __init__(self, cfg: StudyConfig, url: str | None = None, storage=None,
                 attrs: dict[str, Any] | None = None, check: bool = True) -> None:
        self.cfg = cfg
        self.url = url or storage_url(cfg)
        self._storage = storage
        self._study: optuna.Study | None = None
        self._attrs = attrs or {}          # set on the study when this store creates it
        self._check = check                # compare the stored config with cfg

    @property
    def name(self) -> str:
        return self.cfg.name

    @property
    def storage(self):
        if self._storage is None:
            w = self.cfg.workers
            self._storage = open_storage(self.url, heartbeat_interval=w.heartbeat_interval,
                                         grace_period=w.grace_period)
        return self._storage

    def derived(self, cfg: StudyConfig, attrs: dict[str, Any] | None = None,
                check: bool = True) -> Store:
        """Another study in the same store (a confirmation, a comparison): same storage.
        ``check``: refuse a stored config other than ``cfg`` (a comparison's runs differ in their
        seeds and φ, which are not part of its config)."""
        return Store(cfg, self.url, self._storage if self._storage is not None else self.storage,
                     attrs, check)

    def exists(self, name: str | None = None) -> bool:
        path = sqlite_path(self.url)
        if path is not None and not path.exists():
            return False
        names = [s.study_name for s in optuna.study.get_all_study_summaries(self.storage)]
        return (name or self.name) in names

    def study(self, create: bool = False) -> optuna.Study:
        """Load the study, creating it (once, whoever comes first) when ``create``."""
        if self._study is not None:
            return self._study
        path = sqlite_path(self.url)
        if not create and path is not None and not path.exists():  # don't leave an empty file
            raise StorageError(f"no study {self.name!r} in {redact(self.url)} (no such file; "
                               "run `gridsearch init` or `gridsearch run` first)")
        kwargs = dict(study_name=self.name, storage=self.storage,
                      sampler=sampling.sampler(self.cfg), pruner=sampling.pruner(self.cfg))
        try:
            study = optuna.load_study(**kwargs)
        except KeyError:
            if not create:
                raise StorageError(f"no study {self.name!r} in {redact(self.url)} "
                                   "(run `gridsearch run` first)") from None
            try:
                directions = objectives.directions(self.cfg.objectives, self.cfg.train.direction)
                study = optuna.create_study(
                    directions=[optuna.study.StudyDirection[d.upper()] for d in directions],
                    **kwargs)
            except optuna.exceptions.DuplicatedStudyError:  # another worker created it first
                study = optuna.load_study(**kwargs)
        self._check_config(study)
        self._study = study
        return study

    def load(self, name: str) -> optuna.Study | None:
        """Another study of this store by name, or None (for reading only)."""
        try:
            return optuna.load_study(study_name=name, storage=self.storage)
        except KeyError:
            return None

    def records(self, states=None) -> list[TrialRecord]:
        return read(self.study(), states)

    def _check_config(self, study: optuna.Study) -> None:
        mine = self.cfg.as_dict()
        stored = study.user_attrs.get("config")
        if stored is None:
            study.set_user_attr("config", mine)
            t = self.cfg.train
            study.set_user_attr("objective", "validation " + objectives.describe(
                self.cfg.objectives, t.metric, t.direction))
            study.set_user_attr("objectives", objectives.names(self.cfg.objectives, t.metric))
            for k, v in self._attrs.items():
                study.set_user_attr(k, v)
            return
        if not self._check:
            return
        # Sections and keys added since the study was created read as their defaults.
        stored = with_defaults(stored, from_dict({"name": self.name}).as_dict())
        diff = _first_difference(stored, mine)
        if diff:
            raise StorageError(f"study {self.name!r} already exists in {redact(self.url)} with a "
                               f"different config ({diff} differs): use a new name or the old config")


def stored_config(study: optuna.Study) -> StudyConfig | None:
    """The config a study was created with (its user attribute ``config``), keys added since read
    as their defaults; not checked against this machine (its data root may be elsewhere)."""
    stored = study.user_attrs.get("config")
    if not isinstance(stored, dict):
        return None
    defaults = from_dict({"name": study.study_name}).as_dict()
    return from_dict({**with_defaults(stored, defaults), "name": study.study_name}, check=False)


def _first_difference(a: Any, b: Any, prefix: str = "") -> str:
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b)):
            key = f"{prefix}{k}"
            if tuple(key.split(".")) in _VOLATILE:
                continue
            d = _first_difference(a.get(k), b.get(k), key + ".")
            if d:
                return d
        return ""
    return "" if a == b else prefix.rstrip(".")
