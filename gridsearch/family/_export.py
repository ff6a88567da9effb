"""The family as JSON other tools rebuild from, and :func:`load` to rebuild it here.

The document (schema ``gridsearch.family/v1``, shipped as ``gridsearch/schemas/family-v1.json``)
holds the measured baseline, the coefficients, every member with its measured counts and the
arguments that rebuild it (torchvision alone; timm, as ``builder(**kwargs)`` with timm's own counts
and whether it is the exact network), and provenance.  Files are
written atomically (a temporary file in the same folder, then ``os.replace``) and never overwrite
without ``force``.  No storage URL is written, so no password can leak into the file.
"""

from __future__ import annotations

import json
import math
import platform
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata, resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gridsearch._jsonfile import check_writable, write_json  # noqa: F401 - check_writable: used by the CLI
from gridsearch.errors import GridsearchError
from gridsearch.family._freeze import Frozen
from gridsearch.family._scale import Family

if TYPE_CHECKING:
    from torch import nn

    from gridsearch.measure import Measured

SCHEMA = "gridsearch.family/v1"
SCHEMA_FILE = "family-v1.json"
FLOPS_CONVENTION = "fvcore: one multiply-add counts as one FLOP (batch 1, eval)"
_PACKAGES = ("gridsearch", "torch", "torchvision", "fvcore", "optuna")


def schema() -> dict[str, Any]:
    """The JSON Schema of the export, as shipped in the package."""
    return json.loads(resources.files("gridsearch").joinpath("schemas", SCHEMA_FILE).read_text())


def versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name in _PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "unknown"
    return out


def _phi(v: float | None) -> float | int | None:
    return int(v) if v is not None and float(v).is_integer() else v


def member_dict(m: Measured) -> dict[str, Any]:
    """A family member as the export (and the study's ``family`` attribute) stores it: the one
    serialisation of a measured network, with φ written as an integer where it is one."""
    return {**m.as_dict(), "phi": _phi(m.spec.phi)}


def trained_fidelity(cfg, records) -> dict[str, Any]:
    """How the trials that chose a point were trained: their own study's config (``cfg``: a
    confirmation's when a confirmation chose) and their records — epochs, train and val size,
    the resolution and the seeds they trained with."""
    return {"study": cfg.name, "epochs": cfg.train.epochs, "train_size": cfg.data.train_size,
            "val_size": cfg.data.val_size,
            "resolution": next((r.resolution for r in records if r.resolution is not None), None),
            "seeds": sorted(s for r in records for s in r.seeds)}


def provenance(frozen: Frozen | None = None, cfg=None, created: str | None = None,
               data: dict[str, Any] | None = None,
               fidelity: dict[str, Any] | None = None) -> dict[str, Any]:
    """Where a family's coefficients came from: the study, trial(s), accuracy and selection
    (``frozen``), the data, fidelity and budget (``cfg``, a StudyConfig; ``data``, the study's
    record of what was loaded: its classes and layout), versions and time.  ``fidelity``
    (:func:`trained_fidelity`): how the trials that chose were trained; its epochs and sizes
    are the provenance's (a confirmation's, when a confirmation chose), the search's stay under
    ``search``."""
    prov: dict[str, Any] = {
        "study": frozen.study if frozen else None,          # the study whose trials are named
        "trial": frozen.trial if frozen else None,
        "trials": list(frozen.trials) if frozen else [],
        "trial_refs": [f"{frozen.study}#{t}" for t in frozen.trials] if frozen else [],
        "value": frozen.value if frozen else None,
        "selection": ({"source": frozen.source, "std": frozen.std, "n": frozen.n,
                       "margin": frozen.margin, "p_value": frozen.p_value,
                       "ties": [list(t) for t in frozen.ties],
                       "verdict": frozen.verdict, "ladder": frozen.ladder,
                       "checked": frozen.checked} if frozen else None),
        "objective": "validation accuracy (maximize)" if frozen else None,
        "dataset": None, "train_size": None, "val_size": None, "epochs": None,
        "versions": versions(),
        "created": created or datetime.now(UTC).isoformat(timespec="seconds"),
    }
    if cfg is not None:
        prov.update(objective=(f"validation {cfg.train.metric} ({cfg.train.direction})"
                               if frozen else None),
                    metric=cfg.train.metric, direction=cfg.train.direction,
                    training=cfg.train.function or "built-in",
                    config_folder=str(cfg.folder()) if cfg.folder() else None,
                    search_study=cfg.name, dataset=cfg.data.source,
                    data_root=str(cfg.data_root().resolve()) if cfg.data.root else None,
                    image_size=cfg.data.image_size, train_size=cfg.data.train_size,
                    val_size=cfg.data.val_size, epochs=cfg.train.epochs,
                    search={"phi": cfg.search.phi, "target": cfg.search.target,
                            "budget_mode": cfg.budget.mode, "budget_tolerance": cfg.budget.tolerance,
                            "epochs": cfg.train.epochs, "train_size": cfg.data.train_size,
                            "val_size": cfg.data.val_size})
    if fidelity:
        prov.update({k: fidelity[k] for k in ("epochs", "train_size", "val_size")},
                    fidelity=fidelity)
    if data:
        prov.update(classes=data.get("classes"), data_layout=data.get("layout"),
                    data_key=(data.get("cache") or {}).get("key") or None)
    return prov


def document(family: Family, frozen: Frozen | None = None, cfg=None,
             created: str | None = None, data: dict[str, Any] | None = None,
             fidelity: dict[str, Any] | None = None) -> dict[str, Any]:
    """The export as a JSON-ready dict. ``frozen`` and ``cfg`` (a StudyConfig) fill provenance."""
    b, p = family.baseline, family.point
    eff = frozen.effective_gamma if frozen is not None else p.gamma
    return {
        "schema": SCHEMA,
        "flops_convention": FLOPS_CONVENTION,
        "baseline": {
            "model": family.model, "resolution": b["resolution"], "flops": b["flops"],
            "params": b["params"], "activations": b["activations"],
            "width_mult": family.base_width_mult, "depth_mult": family.base_depth_mult,
            "num_classes": family.num_classes, "layout": b["layout"],
        },
        "coefficients": {"alpha": p.alpha, "beta": p.beta, "gamma": p.gamma,
                         "effective_gamma": eff},
        "target_multiplier": family.target_multiplier,
        "scaling": {"repair": family.repair, "tolerance": family.tolerance,
                    "depth": "ceil(repeats * depth_mult) per stage",
                    "width": "channels to a multiple of 8, never below 90%",
                    "resolution": "round(base * gamma^phi)" + (", then solved to the target"
                                                               if family.repair else "")},
        "family": [member_dict(m) for m in family.members],
        "provenance": provenance(frozen, cfg, created, data, fidelity),
    }


STORED_KEYS = ("baseline", "coefficients", "target_multiplier", "scaling", "family")


def from_stored(stored: Any, frozen: Frozen, cfg, phis: list[float], repair: bool,
                tolerance: float, data: dict[str, Any] | None = None,
                fidelity: dict[str, Any] | None = None) -> dict[str, Any] | None:
    """The export document from a family ``gridsearch scale`` stored on the study, when it was
    measured for exactly these coefficients, φ values, repair and tolerance (else None: measure)."""
    if not isinstance(stored, dict) or any(k not in stored for k in STORED_KEYS):
        return None
    c, sc = stored["coefficients"], stored["scaling"]
    same = ([c.get(k) for k in ("alpha", "beta", "gamma")] == [frozen.alpha, frozen.beta,
                                                               frozen.gamma]
            and sorted(m["phi"] for m in stored["family"]) == sorted(phis)
            and sc.get("repair") == repair and sc.get("tolerance") == tolerance)
    if not same:
        return None
    return {"schema": SCHEMA, "flops_convention": FLOPS_CONVENTION,
            **{k: stored[k] for k in STORED_KEYS},
            "provenance": provenance(frozen, cfg, data=data, fidelity=fidelity)}


def write(doc: dict[str, Any], path: str | Path, force: bool = False) -> Path:
    """Write ``doc`` atomically; refuse an existing file unless ``force``."""
    return write_json(path, doc, force=force)


# -- load and rebuild -----------------------------------------------------------------------------
@dataclass(frozen=True)
class Exported:
    """A family read back from its JSON file."""

    doc: dict[str, Any]
    path: str = ""

    @property
    def baseline(self) -> dict[str, Any]:
        return self.doc["baseline"]

    @property
    def coefficients(self) -> dict[str, float]:
        return self.doc["coefficients"]

    @property
    def phis(self) -> list[float]:
        return [m["phi"] for m in self.doc["family"]]

    def member(self, phi: float) -> dict[str, Any]:
        for m in self.doc["family"]:
            if math.isclose(float(m["phi"]), float(phi), abs_tol=1e-9):
                return m
        have = ", ".join(f"{p:g}" for p in self.phis)
        raise GridsearchError(f"{self.path or 'family'}: no member with phi = {phi:g} "
                              f"(it has {have}); export again with --phi")

    def build(self, phi: float) -> nn.Module:
        """The member's network (fresh weights); feed it ``member(phi)['resolution']`` pixels."""
        from gridsearch import models

        m, b = self.member(phi), self.baseline
        return models.build(b["model"], m["width_mult"], m["depth_mult"], b["num_classes"],
                            self.folders).module

    @property
    def folders(self) -> tuple[Path | None, ...]:
        """Where a ``module:function`` model is looked for before sys.path: the export's folder,
        then the folder of the config it was exported from."""
        where = (self.doc.get("provenance") or {}).get("config_folder")
        return (Path(self.path).resolve().parent if self.path else None,
                Path(where) if where else None)


    def build_timm(self, phi: float) -> nn.Module:
        """The member's network built by timm from the file's own ``timm`` arguments
        (``builder(**kwargs)``); ``member(phi)['timm']`` says whether it is exact and its counts."""
        from gridsearch import models

        entry = self.member(phi).get("timm")
        if not entry:
            raise GridsearchError(f"{self.path or 'family'}: phi = {phi:g} has no timm arguments "
                                  f"({self.baseline['model']} at this width is not in timm)")
        if "kwargs" not in entry:
            raise GridsearchError(f"{self.path or 'family'}: its timm arguments predate 'kwargs'; "
                                  "export again to rebuild with timm")
        return models.timm_network(entry["builder"], entry["kwargs"])


def load(path: str | Path) -> Exported:
    """Read an exported family; ``load(path).build(phi)`` returns the network."""
    p = Path(path)
    try:
        doc = json.loads(p.read_text())
    except FileNotFoundError:
        raise GridsearchError(f"{p}: no such file") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise GridsearchError(f"{p}: not valid JSON ({e})") from None
    if not isinstance(doc, dict) or doc.get("schema") != SCHEMA:
        got = doc.get("schema") if isinstance(doc, dict) else type(doc).__name__
        raise GridsearchError(f"{p}: not a gridsearch family export (schema {got!r}, "
                              f"expected {SCHEMA!r})")
    for key in ("baseline", "coefficients", "family"):
        if key not in doc:
            raise GridsearchError(f"{p}: missing {key!r}")
    return Exported(doc, str(p))
