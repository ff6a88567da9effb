"""The fidelity ladder's arithmetic: which points climb, whether a rung keeps the previous rung's
top group, and how far two rungs' rankings agree.

A rung is the same points trained at one fidelity with several seeds (:class:`RungResult`). The
ladder carries the best ``top`` points of a rung up to the next (:func:`carry`: a race's survivors
first, then by mean) and stops once a rung keeps the previous rung's top group
(:func:`stability`). "Keeps" is PASHA's soft ranking (Bohdal et al., "PASHA: Efficient HPO and
NAS with Progressive Resource Allocation", ICLR 2023): two points whose means differ by at most ε
are tied, and each rung's order through its top group must hold, up to ties, at the other rung
(PASHA checks one way, the upper rung against the lower; a one-off decision checks both). PASHA
estimates ε from flips it has seen between rungs; here ε comes from the seeds:

    ε = z · √(se_r² + se_{r+1}²),   se_rung² = median over pairs (i, j) of s_i²/n_i + s_j²/n_j

— se_rung is the typical standard error of a difference of two carried points' means at that
rung (Welch's, unpaired: a race leaves the points with unequal seeds), and a pair's order can
change between two rungs by noise of about √(se_r² + se_{r+1}²). :data:`DEFAULT_Z` was chosen by
benchmarks/ladder_simulation.py. Kendall's τ-b between the two rungs' means comes with a
percentile bootstrap interval over seeds (:func:`agreement`). docs/design.md says what "stable"
promises and what it does not. Pure: numpy and the standard library.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Generic, TypeVar

import numpy as np

from gridsearch.selection._kn import _num

DEFAULT_Z = 1.0            # ε in standard errors of a difference between two rungs
DEFAULT_DRAWS = 2000       # bootstrap draws for τ's interval
DEFAULT_LEVEL = 0.95
BOOTSTRAP_SEED = 20_230_501  # fixed: the interval is a function of the data alone

Name = Callable[[Hashable], str]
P = TypeVar("P", bound=Hashable)   # a point of a rung: anything hashable


@dataclass(frozen=True)
class RungResult(Generic[P]):
    """One rung: ``values[point]`` are the point's results, one per seed (seed order). Points keep
    the order given, which breaks exact ties. ``survivors``: a race's survivors at this rung
    (empty when the rung used fixed seeds). ``label``: how the rung reads, e.g. "9 epochs"."""

    rung: int
    values: Mapping[P, Sequence[float]]
    survivors: tuple[P, ...] = ()
    label: str = ""
    _means: dict[P, float] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if isinstance(self.rung, bool) or not isinstance(self.rung, numbers.Integral) \
                or self.rung < 0:
            raise ValueError(f"rung must be an integer ≥ 0 (got {self.rung!r})")
        if not isinstance(self.values, Mapping) or not self.values:
            raise ValueError(f"rung {self.rung}: no points")
        clean = {}
        for p, vs in self.values.items():
            xs = tuple(float(v) for v in vs)
            if not xs or not all(math.isfinite(x) for x in xs):
                raise ValueError(f"rung {self.rung}: {p!r} needs at least one finite value "
                                 f"(got {list(vs)!r})")
            clean[p] = xs
        object.__setattr__(self, "values", clean)
        object.__setattr__(self, "survivors", tuple(self.survivors))
        for s in self.survivors:
            if s not in clean:
                raise ValueError(f"rung {self.rung}: survivor {s!r} has no values")
        self._means.update({p: math.fsum(xs) / len(xs) for p, xs in clean.items()})

    @property
    def points(self) -> tuple[P, ...]:
        return tuple(self.values)

    def mean(self, point: P) -> float:
        return self._means[point]

    def n(self, point: P) -> int:
        return len(self.values[point])

    def var(self, point: P) -> float:
        """Sample variance (n − 1); nan with one value."""
        xs = self.values[point]
        if len(xs) < 2:
            return math.nan
        m = self._means[point]
        return math.fsum((x - m) ** 2 for x in xs) / (len(xs) - 1)

    def order(self, maximize: bool = True, points: Sequence[P] | None = None
              ) -> tuple[P, ...]:
        """``points`` (default: all) best mean first; exact ties keep the given order."""
        ps = self.points if points is None else tuple(points)
        sign = -1.0 if maximize else 1.0
        return tuple(sorted(ps, key=lambda p: sign * self._means[p]))

    def name(self) -> str:
        return f"rung {self.rung}" + (f" ({self.label})" if self.label else "")


def carry(rung: RungResult[P], top: int, maximize: bool = True) -> tuple[P, ...]:
    """The points that climb from ``rung``: its race's survivors first (best mean first), then the
    others by mean, ``top`` of them (all when fewer)."""
    if isinstance(top, bool) or not isinstance(top, numbers.Integral) or top < 1:
        raise ValueError(f"top must be an integer ≥ 1 (got {top!r})")
    kept = set(rung.survivors)
    survivors = rung.order(maximize, [p for p in rung.points if p in kept])
    rest = rung.order(maximize, [p for p in rung.points if p not in kept])
    return (survivors + rest)[:int(top)]


def standard_error(rung: RungResult, points: Sequence[Hashable]) -> float | None:
    """se_rung: the median over pairs of ``points`` of √(s_i²/n_i + s_j²/n_j); pairs with a
    one-seed point are left out; None when no pair has a noise estimate."""
    v = [rung.var(p) / rung.n(p) for p in points]
    pairs = [v[i] + v[j] for i in range(len(v)) for j in range(i + 1, len(v))
             if not (math.isnan(v[i]) or math.isnan(v[j]))]
    return math.sqrt(float(np.median(pairs))) if pairs else None


def epsilon(lower: RungResult, upper: RungResult, points: Sequence[Hashable] | None = None,
            z: float = DEFAULT_Z) -> float | None:
    """ε = z·√(se_lower² + se_upper²) over ``points`` (default: those at both rungs); None when
    neither rung has two points with two seeds or more (no noise measured)."""
    ps = _common(lower, upper) if points is None else tuple(points)
    se = [s for s in (standard_error(lower, ps), standard_error(upper, ps)) if s is not None]
    if not se:
        return None
    return float(z) * math.sqrt(sum(s * s for s in se))


@dataclass(frozen=True)
class Agreement:
    """Kendall's τ-b between two rungs' means over the points at both, with a percentile
    bootstrap interval: each point's seeds resampled with replacement at each rung. ``tau`` is
    None with fewer than 2 points or a constant side; the interval is None then, or with
    ``draws`` = 0."""

    tau: float | None
    low: float | None
    high: float | None
    points: int
    draws: int
    level: float = DEFAULT_LEVEL

    def text(self) -> str:
        """``0.87 [0.33, 1.00]``; ``undefined`` without a τ."""
        if self.tau is None:
            return "undefined"
        if self.low is None or self.high is None:
            return f"{self.tau:.2f}"
        return f"{self.tau:.2f} [{self.low:.2f}, {self.high:.2f}]"

    def as_dict(self) -> dict[str, object]:
        return {"tau": self.tau, "low": self.low, "high": self.high, "points": self.points,
                "draws": self.draws, "level": self.level, "text": self.text()}


def agreement(lower: RungResult, upper: RungResult, *, draws: int = DEFAULT_DRAWS,
              level: float = DEFAULT_LEVEL, seed: int = BOOTSTRAP_SEED) -> Agreement:
    """Kendall's τ-b of the means of the points at both rungs, and its bootstrap interval
    (``draws`` resamples with a fixed ``seed``: the same data give the same interval). Draws where
    τ is undefined (a constant side) are left out of the interval."""
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1) (got {level!r})")
    ps = _common(lower, upper)
    x = np.array([lower.mean(p) for p in ps])
    y = np.array([upper.mean(p) for p in ps])
    tau = _tau_b(x[None, :], y[None, :])[0] if len(ps) >= 2 else math.nan
    if math.isnan(tau):
        return Agreement(None, None, None, len(ps), int(draws), level)
    if draws <= 0:
        return Agreement(float(tau), None, None, len(ps), 0, level)
    rng = np.random.default_rng(seed)
    bx = np.column_stack([_resampled_means(lower.values[p], draws, rng) for p in ps])
    by = np.column_stack([_resampled_means(upper.values[p], draws, rng) for p in ps])
    taus = _tau_b(bx, by)
    taus = taus[~np.isnan(taus)]
    if taus.size == 0:
        return Agreement(float(tau), None, None, len(ps), int(draws), level)
    lo, hi = np.quantile(taus, [(1 - level) / 2, (1 + level) / 2])
    return Agreement(float(tau), float(lo), float(hi), len(ps), int(draws), level)


@dataclass(frozen=True)
class Stability:
    """Whether ``upper`` keeps ``lower``'s top group. ``group``: the points tied with the lower
    rung's best (mean within ε), best first. PASHA's soft ranking over the top group, both ways:
    for every position p < len(group), the upper rung's p-th point is tied, at the lower rung,
    with the lower rung's p-th; and for every p below the size of the upper rung's own top group,
    the lower rung's p-th point is tied, at the upper rung, with the upper rung's p-th.
    ``moved``: the first point that broke it, with its positions (1-based) at the lower and the
    upper rung; None when stable."""

    lower: int
    upper: int
    stable: bool
    epsilon: float                      # 0 when no seed noise was measured
    noise_measured: bool
    group: tuple[Hashable, ...]
    lower_order: tuple[Hashable, ...]
    upper_order: tuple[Hashable, ...]
    moved: tuple[Hashable, int, int] | None
    agreement: Agreement
    z: float = DEFAULT_Z
    lower_label: str = ""
    upper_label: str = ""

    def text(self, name: Name = str) -> str:
        """One sentence, e.g. ``rung 2 (27 epochs) keeps rung 1's top group {A, B} within
        ε = 0.031 (seed noise); τ = 0.87 [0.33, 1.00]``."""
        up = _rung_name(self.upper, self.upper_label)
        group = "{" + ", ".join(name(p) for p in self.group) + "}"
        eps = (f"ε = {_num(self.epsilon)} (seed noise)" if self.noise_measured else
               "ε = 0 (no seed noise measured: one seed per point)")
        tau = f"τ({self.lower}→{self.upper}) = {self.agreement.text()}"
        if self.stable:
            return f"{up} keeps rung {self.lower}'s top group {group} within {eps}; {tau}"
        assert self.moved is not None
        p, was, now = self.moved
        return (f"{up} moves the ranking: {name(p)} is {_ordinal(was)} at rung {self.lower} and "
                f"{_ordinal(now)} at rung {self.upper}, beyond {eps} (rung {self.lower}'s top "
                f"group {group}); {tau}")

    def as_dict(self, name: Callable[[Hashable], object] = str) -> dict[str, object]:
        return {"lower": self.lower, "upper": self.upper, "stable": self.stable,
                "epsilon": self.epsilon, "noise_measured": self.noise_measured, "z": self.z,
                "group": [name(p) for p in self.group],
                "lower_order": [name(p) for p in self.lower_order],
                "upper_order": [name(p) for p in self.upper_order],
                "moved": None if self.moved is None else
                {"point": name(self.moved[0]), "lower": self.moved[1], "upper": self.moved[2]},
                "tau": self.agreement.as_dict(),
                "text": self.text(name=lambda p: str(name(p)))}


def stability(lower: RungResult, upper: RungResult, *, maximize: bool = True,
              z: float = DEFAULT_Z, draws: int = DEFAULT_DRAWS) -> Stability:
    """Does ``upper`` keep ``lower``'s top group? Compared over the points at both rungs (the
    points carried up); ``maximize``: larger values are better (False: smaller, e.g. a loss).
    ``draws``: bootstrap draws for τ's interval (0: τ alone). ValueError with fewer than 2 points
    at both rungs."""
    if not (isinstance(z, numbers.Real) and math.isfinite(z) and z >= 0):
        raise ValueError(f"z must be a finite number ≥ 0 (got {z!r})")
    ps = _common(lower, upper)
    if len(ps) < 2:
        raise ValueError(f"rungs {lower.rung} and {upper.rung} share {len(ps)} point(s): "
                         f"stability needs at least 2")
    eps = epsilon(lower, upper, ps, z)
    measured = eps is not None
    eps = eps if eps is not None else 0.0
    lo, hi = lower.order(maximize, ps), upper.order(maximize, ps)
    tol = eps * (1 + 1e-9) + 1e-12            # "at most ε", robust to rounding of the means
    group, moved = _soft_check(lower, lo, hi, tol)
    if moved is None:                         # and the other way round
        _, back = _soft_check(upper, hi, lo, tol)
        if back is not None:
            moved = (back[0], back[2], back[1])
    return Stability(lower.rung, upper.rung, moved is None, eps, measured, group, lo, hi, moved,
                     agreement(lower, upper, draws=draws), float(z), lower.label, upper.label)


@dataclass(frozen=True)
class Ladder:
    """The checks between consecutive rungs climbed. ``stable_from``: the lowest rung r from
    which every check r→r+1, r+1→r+2, … up to the top climbed is stable (None when the last check
    moved, or with one rung). The answer is always the highest rung's decision."""

    rungs: tuple[int, ...]
    labels: tuple[str, ...]
    checks: tuple[Stability, ...]

    @property
    def top(self) -> int:
        return self.rungs[-1]

    @property
    def stable_from(self) -> int | None:
        start = None
        for c in reversed(self.checks):
            if not c.stable:
                break
            start = c.lower
        return start

    def text(self, name: Name = str) -> str:
        top = _rung_name(self.top, self.labels[-1])
        if not self.checks:
            return f"one rung: nothing to compare; the answer is {top}'s"
        taus = ", ".join(f"τ({c.lower}→{c.upper}) = {c.agreement.text()}" for c in self.checks)
        last = self.checks[-1]
        if self.stable_from is not None:
            i = self.rungs.index(self.stable_from)
            since = _rung_name(self.stable_from, self.labels[i])
            head = f"the answer is stable from {since}: " + last.text(name).split("; τ(")[0]
            return f"{head}; {taus}"
        every = all(not c.stable for c in self.checks)
        moved = ("the ranking moved at every rung: no cheaper rung is faithful" if every else
                 f"the ranking moved at the last rung ({last.text(name).split('; τ(')[0]})")
        return f"{moved}; the answer is {top}'s; {taus}"

    def as_dict(self, name: Callable[[Hashable], object] = str) -> dict[str, object]:
        return {"rungs": list(self.rungs), "labels": list(self.labels),
                "stable_from": self.stable_from, "answer_rung": self.top,
                "checks": [c.as_dict(name) for c in self.checks],
                "text": self.text(name=lambda p: str(name(p)))}


def ladder(rungs: Sequence[RungResult], *, maximize: bool = True, z: float = DEFAULT_Z,
           draws: int = DEFAULT_DRAWS) -> Ladder:
    """Every check between consecutive rungs of ``rungs`` (cheapest first, rung numbers
    increasing)."""
    rs = tuple(rungs)
    if not rs:
        raise ValueError("no rungs")
    for a, b in pairwise(rs):
        if b.rung <= a.rung:
            raise ValueError(f"rungs must increase (rung {b.rung} after rung {a.rung})")
    checks = tuple(stability(a, b, maximize=maximize, z=z, draws=draws)
                   for a, b in pairwise(rs))
    return Ladder(tuple(r.rung for r in rs), tuple(r.label for r in rs), checks)


# -- helpers -------------------------------------------------------------------------------------
def _common(lower: RungResult, upper: RungResult) -> tuple[Hashable, ...]:
    """The points at both rungs, in the upper rung's order."""
    return tuple(p for p in upper.points if p in lower.values)


def _soft_check(rung: RungResult, mine: tuple[Hashable, ...], other: tuple[Hashable, ...],
                tol: float) -> tuple[tuple[Hashable, ...], tuple[Hashable, int, int] | None]:
    """PASHA's soft ranking over ``rung``'s top group: ``mine`` is the rung's order, ``other`` the
    other rung's. Returns the group (the points within ``tol`` of the rung's best) and the first
    point of ``other`` that, at its position p < len(group), is not within ``tol`` at this rung of
    this rung's p-th point: (point, its position here, its position there), 1-based; or None."""
    m = {p: rung.mean(p) for p in mine}
    group = tuple(p for p in mine if abs(m[p] - m[mine[0]]) <= tol)
    for pos in range(len(group)):
        p = other[pos]
        if abs(m[p] - m[mine[pos]]) > tol:
            return group, (p, mine.index(p) + 1, pos + 1)
    return group, None


def _resampled_means(xs: Sequence[float], draws: int, rng: np.random.Generator) -> np.ndarray:
    a = np.asarray(xs, dtype=float)
    return a[rng.integers(0, len(a), size=(draws, len(a)))].mean(axis=1)


def _tau_b(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Kendall's τ-b of each row of x (draws × k) against the same row of y; nan where a row is
    constant. Σ sgn(dx)·sgn(dy) / √(Σ sgn(dx)² · Σ sgn(dy)²) over the pairs i < j (the same as
    gridsearch.stats.kendall)."""
    i, j = np.triu_indices(x.shape[1], 1)
    sx, sy = np.sign(x[:, i] - x[:, j]), np.sign(y[:, i] - y[:, j])
    denom = np.sqrt((sx * sx).sum(axis=1) * (sy * sy).sum(axis=1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denom > 0, (sx * sy).sum(axis=1) / denom, np.nan)


def _rung_name(rung: int, label: str) -> str:
    return f"rung {rung}" + (f" ({label})" if label else "")


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"
