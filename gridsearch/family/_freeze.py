"""Freeze: the selected point's coefficients (α, β, γ), to be scaled over φ.

The choice is :func:`gridsearch.selection.select`'s — a race's decision when one ran, else the
confirmation's best mean when the study has one, else the search's over its seeds — so freeze,
export, compare, report and the dashboard agree; with a fidelity ladder climbed it is the highest
rung's, and the frozen record carries the ladder's verdict and the check one φ up (``checked``).  ``study`` names the study whose trials
``trial`` / ``trials`` number (the confirmation's, when it chose), ``search_study`` the search.
:func:`store_frozen` records it as the study user attribute ``frozen`` (the dashboard shows study
user attributes); :func:`stored_frozen` is the one reader of that attribute.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from gridsearch.errors import GridsearchError
from gridsearch.scaling import Point
from gridsearch.selection import Selection
from gridsearch.study import confirmation_name

FROZEN_ATTR = "frozen"


@dataclass(frozen=True)
class Frozen:
    """The frozen coefficients, where they came from, and how sure the choice was."""

    alpha: float
    beta: float
    gamma: float
    effective_gamma: float     # what the search's realised resolution gave (γ unless repaired)
    trial: int                 # the first trial that trained the point (in ``study``)
    trials: tuple[int, ...]
    value: float               # the metric's mean (accuracy unless [train] metric says otherwise)
    study: str                 # the study those trials belong to
    frozen_at: str = ""
    std: float = 0.0
    n: int = 1
    source: str = "search"     # "search" or "confirmation"
    margin: float | None = None    # mean accuracy over the runner-up's
    p_value: float | None = None   # Welch's t-test against the runner-up (None: no noise estimate)
    ties: tuple[tuple[float, float, float], ...] = field(default_factory=tuple)
    verdict: str = ""
    search_study: str = ""
    metric: str = "accuracy"   # the name of ``value`` ([train] metric)
    ladder: str = ""               # the fidelity ladder's verdict, when the choice climbed one
    checked: str = "not checked"   # one φ up (`gridsearch verify`): "checked at φ = 2: holds", …

    @property
    def point(self) -> Point:
        return Point(self.alpha, self.beta, self.gamma)

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["trials"] = list(self.trials)
        d["ties"] = [list(t) for t in self.ties]
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Frozen:
        """Read a stored ``frozen`` attribute (also one written before seeds existed)."""
        try:
            opt = {k: (None if d.get(k) is None else float(d[k])) for k in ("margin", "p_value")}
            study, source = str(d.get("study", "")), str(d.get("source", "search"))
            search_study = str(d.get("search_study", study))
            if source == "confirmation" and "search_study" not in d:   # written before 0.2:
                study = confirmation_name(study)   # the numbers were the confirmation's
            return cls(alpha=float(d["alpha"]), beta=float(d["beta"]), gamma=float(d["gamma"]),
                       effective_gamma=float(d.get("effective_gamma", d["gamma"])),
                       trial=int(d["trial"]),
                       trials=tuple(int(t) for t in d.get("trials", [d["trial"]])),
                       value=float(d["value"]), study=study,
                       frozen_at=str(d.get("frozen_at", "")), std=float(d.get("std", 0.0)),
                       n=int(d.get("n", len(d.get("trials", [1])))),
                       source=source, **opt,
                       ties=tuple(_triple(t) for t in d.get("ties", [])),
                       verdict=str(d.get("verdict", "")),
                       search_study=search_study, metric=str(d.get("metric", "accuracy")),
                       ladder=str(d.get("ladder", "")),
                       checked=str(d.get("checked", "not checked")))
        except (KeyError, TypeError, ValueError) as e:
            raise GridsearchError(f"the study's stored '{FROZEN_ATTR}' attribute is malformed ({e}); "
                                  "run `gridsearch freeze` again") from None

    def text(self) -> str:
        """One line: α, β, γ (effective γ), the metric with its noise, the margin and p."""
        acc = f"{self.value:.4f}" + (f" ± {self.std:.4f}" if self.n > 1 else "") + f" (n={self.n})"
        out = (f"frozen: {self.point.label()} "
               f"(effective γ {self.effective_gamma:g}), trial {self.study}#{self.trial}, "
               f"{self.metric} {acc} [{self.source}]")
        if self.margin is not None and self.margin < 0:   # a race chose it within δ, for cost
            out += (f", {-self.margin:.4f} below the next point's mean (within the race's δ: "
                    "chosen for fewer FLOPs)")
        elif self.margin is not None:
            out += f", margin {self.margin:+.4f} over the runner-up"
            out += f" (p = {self.p_value:.3g})" if self.p_value is not None else " (no p: n=1)"
        return out + f"; {self.checked}"


def freeze(selection: Selection, search_study: str, metric: str = "accuracy", ladder: str = "",
           checked: str = "not checked") -> Frozen:
    """The selection's winner as frozen coefficients (``search_study``: the search's name;
    ``metric``: what its value is, ``[train] metric``; ``ladder`` / ``checked``: the fidelity
    ladder's verdict and the check one φ up)."""
    w = selection.winner
    s = w.summary
    p = w.point
    return Frozen(p.alpha, p.beta, p.gamma, w.effective_gamma, w.trials[0], w.trials, s.mean,
                  selection.study, std=s.std, n=s.n, source=selection.source,
                  margin=selection.margin, p_value=selection.test.p if selection.test else None,
                  ties=tuple((t.point.alpha, t.point.beta, t.point.gamma) for t in selection.ties),
                  verdict=selection.verdict(), search_study=search_study, metric=metric,
                  ladder=ladder, checked=checked)


def store_frozen(study, frozen: Frozen) -> Frozen:
    """Record the frozen coefficients as the study user attribute ``frozen``."""
    stamped = Frozen(**{**asdict(frozen), "frozen_at": _now()})
    study.set_user_attr(FROZEN_ATTR, stamped.as_dict())
    return stamped


def stored_frozen(study) -> Frozen | None:
    raw = study.user_attrs.get(FROZEN_ATTR)
    return None if raw is None else Frozen.from_dict(raw)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _triple(xs: Any) -> tuple[float, float, float]:
    """A stored tie, (α, β, γ)."""
    a, b, g = (float(x) for x in xs)
    return (a, b, g)
